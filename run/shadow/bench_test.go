package shadow_test

import (
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"
)

// streamRun is what one shadow run of the benchmark measured.
type streamRun struct {
	lines   int64
	elapsed time.Duration
	// peak is the highest live heap seen while the run went on, above the
	// live heap before it.
	peak      uint64
	saved     float64
	questions int64
	requests  int64
}

// liveHeap is the heap the last garbage collection found live.
func liveHeap() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// measureStream judges n lines of w against a real OPA with the reference
// policy, sampling the live heap as it goes.
func measureStream(b *testing.B, w *world, n uint64) streamRun {
	b.Helper()
	runtime.GC()
	base := liveHeap()
	var peak uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				peak = max(peak, liveHeap())
			}
		}
	})
	start := time.Now()
	res, _ := synthRun(b, w, n, policy(b), 200, "")
	elapsed := time.Since(start)
	close(stop)
	wg.Wait()
	if len(res.Summary.Findings) != 0 {
		b.Fatalf("findings %+v; want none", res.Summary.Findings)
	}
	return streamRun{lines: res.Report.Lines, elapsed: elapsed, peak: peak - min(peak, base), saved: res.Report.Saved, questions: res.Report.Questions,
		requests: res.Report.Requests}
}

// BenchmarkShadowStream1M judges a synthetic production's decision log of
// 100,000 lines and of 1,000,000 lines (5,000 subjects, generated as it is
// read) against a real Open Policy Agent behind an AuthZEN endpoint, batches
// of 200 evaluations, and reports the decisions compared per second on the
// long log, the highest live heap of each run and their ratio (streamed:
// memory holds a chunk of lines, the cache, the subjects and the counters,
// not the log, so ten times the lines must not take ten times the memory),
// and the share of PDP calls the cache saved. What memory does grow with is
// the distinct questions (the cache's entries, up to cache.size, and the
// exact distinct count, up to 131072 of them) and the units (a subject
// asking one action on one resource type), never the lines. `make bench` runs
// it and prints its line (internal/benchratios).
//
//	go test -run '^$' -bench ShadowStream1M -benchtime 1x ./run/shadow
func BenchmarkShadowStream1M(b *testing.B) {
	w := newWorld(5000, 42)
	var short, long streamRun
	for b.Loop() {
		short = measureStream(b, w, 100_000)
		long = measureStream(b, w, 1_000_000)
	}
	b.Logf("100k lines: %s, %d distinct questions in %d requests, peak live heap %d B, %.1f%% of PDP calls saved; 1M lines: %s, %d distinct questions in %d requests, peak %d B, %.1f%% saved",
		short.elapsed, short.questions, short.requests, short.peak, 100*short.saved, long.elapsed, long.questions, long.requests, long.peak, 100*long.saved)
	b.ReportMetric(float64(long.lines)/long.elapsed.Seconds(), "lines/s")
	b.ReportMetric(float64(short.peak)/(1<<20), "heap-100k-MiB")
	b.ReportMetric(float64(long.peak)/(1<<20), "heap-1M-MiB")
	b.ReportMetric(float64(long.peak)/float64(max(short.peak, 1)), "heap-1M/100k")
	b.ReportMetric(long.saved, "saved-1M")
	b.ReportMetric(short.saved, "saved-100k")
}
