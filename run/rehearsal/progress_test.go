package rehearsal

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cutover-dev/cutover/loadgen"
	"github.com/cutover-dev/cutover/results/record"
)

// TestProgressPlainLines: off a terminal the progress is two plain lines of at
// most 80 columns at a steady pace (a twelfth of the run, at least a second):
// the rate of journeys each stack began over the last five seconds or more
// (steady at a steady schedule) against the target, then what went wrong,
// every count with its unit.
func TestProgressPlainLines(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var m meter
		var out bytes.Buffer
		stop := startProgress(context.Background(), &out, &m, loadgen.Constant{PerSecond: 10}, 24*time.Second)
		// Changes land between the samples (every 2s), never at the same instant.
		time.Sleep(time.Second)
		for range 4 {
			m.begun[0].Add(20)
			m.begun[1].Add(19)
			time.Sleep(2 * time.Second)
		}
		m.record(&record.Record{Side: record.Candidate, Outcome: record.Error})
		m.record(&record.Record{Side: record.Candidate, Outcome: record.OK})
		m.findings.Store(7)
		m.live.Late.Store(3)
		m.live.Dropped.Store(123456)
		m.live.InFlight.Store(12)
		time.Sleep(2 * time.Second)
		stop()
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		want := []string{}
		for _, at := range []string{"2s", "4s", "6s", "8s"} {
			want = append(want,
				"cutover: "+at+"/24s journeys/s: legacy 10.0, candidate 9.5 (target 10.0)",
				"cutover:   errors: legacy 0, candidate 0; comparisons disagreed: 0",
				"cutover:   starts: 0 in flight, 0 late, 0 dropped")
		}
		want = append(want,
			// Nothing begun in the last 2s: over the last 6s, two thirds of the rate.
			"cutover: 10s/24s journeys/s: legacy 6.7, candidate 6.3 (target 10.0)",
			"cutover:   errors: legacy 0, candidate 1; comparisons disagreed: 7",
			"cutover:   starts: 12 in flight, 3 late, 123456 dropped")
		if len(lines) != len(want) {
			t.Fatalf("progress printed %d lines; want %d:\n%s", len(lines), len(want), out.String())
		}
		for i := range want {
			if lines[i] != want[i] {
				t.Errorf("line %d = %q; want %q", i, lines[i], want[i])
			}
			if n := len([]rune(lines[i])); n > 80 {
				t.Errorf("line %d is %d columns; want at most 80", i, n)
			}
		}
	})
}

// TestProgressBesideTheBar: in a terminal 80 columns wide the line beside the
// bar keeps the elapsed time, the rates, the errors, the disagreements and
// the dropped starts, and leaves out what matters less; wider, it has all.
func TestProgressBesideTheBar(t *testing.T) {
	s := snapshot{elapsed: 12 * time.Second, total: time.Minute, target: 10, rates: [2]float64{9.9, 9.8}, errors: [2]int64{0, 2}, disagreements: 7, inFlight: 12, late: 3, drop: 1}
	narrow := s.line(80 - barColumns)
	if want := "12s/1m0s  L|C 9.9|9.8/s  errors 0|2  7 disagreed  1 dropped"; narrow != want || len([]rune(narrow)) > 80-barColumns {
		t.Errorf("line at 80 columns = %q; want %q", narrow, want)
	}
	if wide := s.line(200); wide != "12s/1m0s  L|C 9.9|9.8/s  target 10.0/s  errors 0|2  7 disagreed  1 dropped  3 late  12 in flight" {
		t.Errorf("line at 200 columns = %q", wide)
	}
}
