package record

import (
	"fmt"
	"time"
)

// Accounting is the load generator's honesty: what it meant to do and what it did.
type Accounting struct {
	Scheduled int64 `json:"scheduled"`
	Started   int64 `json:"started"`
	// Late counts journeys started more than the lateness threshold after their
	// intended start; their latency runs from the intended start.
	Late int64 `json:"late"`
	// Dropped counts journeys the generator could not start: too many in flight
	// for longer than load.max_delay.
	Dropped int64 `json:"dropped"`
	// Saturated lists the windows where the generator could not keep the
	// schedule (late or dropped starts).
	Saturated []Window `json:"saturated,omitempty"`
	// Shortfall lists the journeys dropped because every persona that could run
	// them was busy with an earlier journey: the population is too small for the
	// schedule, which says nothing about the generator or the stacks.
	Shortfall []Shortfall `json:"shortfall,omitempty"`
	// Health is what the generator's own health monitor saw; Unhealthy its
	// unhealthy windows, whose steps are set apart from the verdicts.
	Health    *Health  `json:"health,omitempty"`
	Unhealthy []Window `json:"unhealthy,omitempty"`
}

// Shortfall is a pool of personas too small for the schedule.
type Shortfall struct {
	// Journey and Kinds name the journey and the persona kinds that run it.
	Journey string   `json:"journey"`
	Kinds   []string `json:"kinds"`
	// Dropped counts its starts that found no idle persona; Pool the personas of
	// its kinds; More how many more would have been busy at once at the worst
	// moment (so how many more would have let every start run).
	Dropped int64 `json:"dropped"`
	Pool    int   `json:"pool"`
	More    int   `json:"more"`
}

// Health summarises the load generator's health over a run (see loadgen.Health).
type Health struct {
	Intervals int `json:"intervals"`
	Unhealthy int `json:"unhealthy"`
	// The worst of each signal: the latest a timer fired, the scheduler latency's
	// 99th percentile, the longest GC pause, the share of its cores in use.
	WorstHiccup   time.Duration `json:"worst_hiccup_ns"`
	WorstSchedP99 time.Duration `json:"worst_sched_p99_ns"`
	WorstGCPause  time.Duration `json:"worst_gc_pause_ns"`
	WorstCPU      float64       `json:"worst_cpu"`
	// Reasons lists what made intervals unhealthy, once each.
	Reasons []string `json:"reasons,omitempty"`
}

// Window is a span of a run, as offsets from its start.
type Window struct {
	From time.Duration `json:"from_ns"`
	To   time.Duration `json:"to_ns"`
}

// String returns "3s-5s".
func (w Window) String() string {
	return fmt.Sprintf("%s-%s", w.From.Round(time.Millisecond), w.To.Round(time.Millisecond))
}
