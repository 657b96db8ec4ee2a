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

// TestProgressPlainLines: off a terminal the progress is a plain line at a steady
// pace (a twelfth of the run, at least a second), with the achieved rate of each
// stack over the last interval against the target.
func TestProgressPlainLines(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var m meter
		var out bytes.Buffer
		stop := startProgress(context.Background(), &out, &m, loadgen.Constant{PerSecond: 10}, 24*time.Second)
		// Changes land between the samples (every 2s), never at the same instant.
		time.Sleep(time.Second)
		for range 2 {
			m.begun[0].Add(20)
			m.begun[1].Add(19)
			time.Sleep(2 * time.Second)
		}
		m.record(&record.Record{Side: record.Candidate, Outcome: record.Error})
		m.record(&record.Record{Side: record.Candidate, Outcome: record.OK})
		m.findings.Store(7)
		m.live.Late.Store(3)
		time.Sleep(2 * time.Second)
		stop()
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		want := []string{
			"cutover: 2s/24s  target 10.0/s  legacy 10.0/s 0 errors  candidate 9.5/s 0 errors  findings 0  in flight 0  late 0  dropped 0",
			"cutover: 4s/24s  target 10.0/s  legacy 10.0/s 0 errors  candidate 9.5/s 0 errors  findings 0  in flight 0  late 0  dropped 0",
			"cutover: 6s/24s  target 10.0/s  legacy 0.0/s 0 errors  candidate 0.0/s 1 errors  findings 7  in flight 0  late 3  dropped 0",
		}
		if len(lines) != len(want) {
			t.Fatalf("progress printed %d lines; want %d:\n%s", len(lines), len(want), out.String())
		}
		for i := range want {
			if lines[i] != want[i] {
				t.Errorf("line %d = %q; want %q", i, lines[i], want[i])
			}
		}
	})
}
