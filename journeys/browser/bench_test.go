package browser

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cutover-dev/cutover/journeys"
	"github.com/cutover-dev/cutover/personas"
	"github.com/cutover-dev/cutover/results/record"
)

// batch is how many journeys one benchmark iteration runs: enough to keep a pool of
// tabs busy, few enough to keep the benchmark short.
const batch = 16

// poolTabs is the pool's cap in the benchmark.
const poolTabs = 8

// runBatch runs batch journeys (alternating sides, distinct personas) through r, as
// many at once as r allows, and fails the benchmark on any journey that did not
// complete.
func runBatch(ctx context.Context, b *testing.B, r *Runner, ps []personas.Persona, n uint64) {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		done int
	)
	emit := func(rec *record.Record) {
		if rec.Outcome != record.OK {
			b.Errorf("%s %s %s: %s %s", rec.Persona, rec.Side, rec.Step, rec.Outcome, rec.Error)
		}
		if rec.Step == StepTotal {
			mu.Lock()
			done++
			mu.Unlock()
		}
	}
	for i := range batch {
		side := record.Legacy
		if i%2 == 1 {
			side = record.Candidate
		}
		wg.Go(func() { r.Run(ctx, side, ps[i%len(ps)], journeys.Iteration{N: n*batch + uint64(i)}, emit) })
	}
	wg.Wait()
	if done != batch {
		b.Fatalf("%d of %d journeys completed", done, batch)
	}
}

// BenchmarkJourneys measures browser journeys per second through one browser with
// a pool of tabs against one tab at a time, and reports the speed-up of the pool:
// with the embedded stacks on loopback (where the browser's own CPU is the bound),
// and with a network latency emulated in the browser, as users and remote stacks
// have (where the pool overlaps the waits).
//
//	go test -run '^$' -bench Journeys -benchtime 3x ./journeys/browser
func BenchmarkJourneys(b *testing.B) {
	for _, latency := range []time.Duration{0, 20 * time.Millisecond, 50 * time.Millisecond} {
		b.Run(fmt.Sprintf("latency=%s", latency), func(b *testing.B) { benchJourneys(b, latency) })
	}
}

func benchJourneys(b *testing.B, latency time.Duration) {
	pair := startStacks(b, "")
	ps := humans(batch, "")
	run := func(tabs int) func(ctx context.Context, n uint64) {
		r := NewRunner(shared, RunnerOptions{Sites: sites(pair), MaxTabs: tabs, Latency: latency})
		return func(ctx context.Context, n uint64) { runBatch(ctx, b, r, ps, n) }
	}
	serial, pool := run(1), run(poolTabs)
	var ts, tp time.Duration
	var n uint64
	for b.Loop() {
		t0 := time.Now()
		serial(b.Context(), n)
		t1 := time.Now()
		pool(b.Context(), n)
		ts, tp = ts+t1.Sub(t0), tp+time.Since(t1)
		n++
	}
	jobs := float64(n * batch)
	b.ReportMetric(jobs/ts.Seconds(), "serial-journeys/s")
	b.ReportMetric(jobs/tp.Seconds(), fmt.Sprintf("pool%d-journeys/s", poolTabs))
	b.ReportMetric(ts.Seconds()/tp.Seconds(), "speedup")
}
