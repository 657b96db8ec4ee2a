package main

import (
	"os"
	"strings"
	"testing"
)

// lines parses the captured output in file and returns what write prints, by
// figure name, and how many figures are missing.
func lines(t *testing.T, file string) (map[string]string, int) {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := parse(f)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	missing := write(&out, res)
	got := map[string]string{}
	for l := range strings.Lines(out.String()) {
		for _, fg := range figures {
			if strings.HasPrefix(l, fg.name+" ") {
				got[fg.name] = strings.Join(strings.Fields(strings.TrimPrefix(l, fg.name)), " ")
			}
		}
	}
	if len(got) != len(figures) {
		t.Fatalf("%d figure lines in\n%s\nwant %d", len(got), out.String(), len(figures))
	}
	return got, missing
}

func TestPlainOutput(t *testing.T) {
	got, missing := lines(t, "testdata/bench.txt")
	want := map[string]string{
		figures[0].name:  "0.75x harness 96.7 µs, vegeta 129 µs; goal <= 1.15",
		figures[1].name:  "missing BenchmarkPipelineMemoryLongVsShort did not report heap-long/short (failed or did not run)",
		figures[2].name:  "1.04x p50 20.8 ms; goal just above 1",
		figures[3].name:  "3.74x p99 74.7 ms, raw vegeta p99/true 5.82x; goal just above 1; no worse than raw vegeta",
		figures[4].name:  "1.66x 20ms latency 2.51x, 50ms latency 3.53x; goal >= 3",
		figures[5].name:  "3.87x cutover 1.69 s, vegeta 0.436 s; goal cutover <= 10 s",
		figures[6].name:  "1.05x ungrouped 1.6 s, 100k personas 1.45x; goal <= 1.10",
		figures[7].name:  "6.22x cutover 18 s, vegeta 2.9 s; goal cutover <= 10 s",
		figures[8].name:  "1.26x 100k 32.3 MiB, 1M 40.9 MiB, compared 91254 lines/s, PDP calls saved by the cache 94.7%; goal far below 10 (streamed: no growth per line)",
		figures[9].name:  "0.45x lean 63.1 ms, before 139 ms, Chromium alone 0.45x; goal <= 0.33 (3x less)",
		figures[10].name: "0.69x guard's 43.6 µs, net/http 63.1 µs; goal < 1 (no more than net/http's)",
	}
	for name, w := range want {
		if got[name] != w {
			t.Errorf("%q:\n got %q\nwant %q", name, got[name], w)
		}
	}
	if missing != 1 {
		t.Errorf("missing = %d; want 1 (the memory benchmark is not in the sample)", missing)
	}
}

// TestJSONOutput reads `go test -json`, where the result line arrives in two
// events.
func TestJSONOutput(t *testing.T) {
	got, missing := lines(t, "testdata/memory.json")
	name := figures[1].name
	if w := "1.83x short 1.44 MiB, long 2.65 MiB, growth 4.3 B/record; goal <= 1.10 (no growth per record)"; got[name] != w {
		t.Errorf("%q:\n got %q\nwant %q", name, got[name], w)
	}
	if missing != len(figures)-1 {
		t.Errorf("missing = %d; want %d", missing, len(figures)-1)
	}
}

// TestFailedBenchmarkIsMissing: a failed benchmark prints no result line, and its
// figure must not come from a stale or partial line.
func TestFailedBenchmarkIsMissing(t *testing.T) {
	out := "BenchmarkLatencyAccuracy\n    bench_test.go:280: step probe: error connection refused\n--- FAIL: BenchmarkLatencyAccuracy\nFAIL\n" +
		"BenchmarkSchedulerAndJourneysVsVegeta-2 \t 1\t 12 ns/op\t oops cost-ratio\n"
	res, err := parse(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 0 {
		t.Errorf("parse(failed run) = %v; want no results", res)
	}
	var sb strings.Builder
	if n := write(&sb, res); n != len(figures) {
		t.Errorf("write(no results) = %d missing; want %d", n, len(figures))
	}
}
