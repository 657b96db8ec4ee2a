package loadgen_test

import (
	"fmt"
	"time"

	"github.com/cutover-dev/cutover/loadgen"
)

// A k6-style ramp: 0 to 4 starts a second over 2s, held for 1s. Schedule walks it
// as Run would, without waiting.
func ExampleSchedule() {
	ramp := loadgen.Stages{Start: 0, Stages: []loadgen.Stage{{Duration: 2 * time.Second, Target: 4}, {Duration: time.Second, Target: 4}}}
	fmt.Println(ramp)
	loadgen.Schedule(ramp, ramp.Total(), func(n uint64, at time.Duration) bool {
		fmt.Printf("start %d at %s\n", n, at)
		return true
	})
	// Output:
	// Stages{0/s, 2s→4/s, 1s→4/s}
	// start 0 at 1s
	// start 1 at 1.414213562s
	// start 2 at 1.732050808s
	// start 3 at 2s
	// start 4 at 2.25s
	// start 5 at 2.5s
	// start 6 at 2.75s
}

// A shift change sends its extra starts to the journey it names; here journey 1,
// of weight 0, runs only in the storm.
func ExampleNewMix() {
	storm := loadgen.ShiftChange{Base: 2, Cohort: 60, At: 10 * time.Second, Over: 20 * time.Second}
	mix := loadgen.NewMix([]float64{1, 0}, 42, storm, 1)
	counts := mix.Counts(storm, time.Minute)
	fmt.Printf("%s: %d base starts, %d shift logins\n", storm, counts[0], counts[1])
	fmt.Printf("peak %.0f/s\n", loadgen.Peak(storm, time.Minute))
	// Output:
	// ShiftChange{2/s + 60 within 20s at 10s}: 124 base starts, 55 shift logins
	// peak 8/s
}
