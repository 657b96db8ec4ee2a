// Command benchratios reads the output of `make bench` (`go test -bench`, plain or
// -json) and prints one line per figure of the README's Benchmarks table: the
// figure, its ratio, the measurements behind it and its goal. A figure whose
// benchmark did not run or failed is printed as missing, and the exit status is 1.
//
//	go test -run '^$' -bench ... ./... | go run ./internal/benchratios
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
)

// ref names one metric of one benchmark (its name without the -GOMAXPROCS suffix).
type ref struct{ bench, unit string }

// detail is a measurement printed beside a ratio.
type detail struct {
	label string
	ref   ref
	unit  string // "x" prints the value as a ratio, "%" a share as a percentage
}

// figure is one line of the output.
type figure struct {
	name    string
	ratio   ref
	details []detail
	goal    string
}

var figures = []figure{
	{name: "harness vs raw vegeta, CPU per request", ratio: ref{"BenchmarkSchedulerAndJourneysVsVegeta", "cost-ratio"},
		details: []detail{
			{"harness", ref{"BenchmarkSchedulerAndJourneysVsVegeta", "harness-cpu-µs/req"}, "µs"},
			{"vegeta", ref{"BenchmarkSchedulerAndJourneysVsVegeta", "vegeta-cpu-µs/req"}, "µs"},
		}, goal: "<= 1.15"},
	{name: "memory, 8x longer run vs short, same rate", ratio: ref{"BenchmarkPipelineMemoryLongVsShort", "heap-long/short"},
		details: []detail{
			{"short", ref{"BenchmarkPipelineMemoryLongVsShort", "heap-short-MiB"}, "MiB"},
			{"long", ref{"BenchmarkPipelineMemoryLongVsShort", "heap-long-MiB"}, "MiB"},
			{"growth", ref{"BenchmarkPipelineMemoryLongVsShort", "growth-B/record"}, "B/record"},
		}, goal: "<= 1.10 (no growth per record)"},
	{name: "latency accuracy p50, 20ms fixed delay", ratio: ref{"BenchmarkLatencyAccuracy", "p50/true"},
		details: []detail{{"p50", ref{"BenchmarkLatencyAccuracy", "p50-ms"}, "ms"}}, goal: "just above 1"},
	{name: "latency accuracy p99, 20ms fixed delay", ratio: ref{"BenchmarkLatencyAccuracy", "p99/true"},
		details: []detail{
			{"p99", ref{"BenchmarkLatencyAccuracy", "p99-ms"}, "ms"},
			{"raw vegeta p99/true", ref{"BenchmarkLatencyAccuracy", "vegeta-p99/true"}, "x"},
		}, goal: "just above 1; no worse than raw vegeta"},
	{name: "browser pool (8 tabs) vs one tab, loopback", ratio: ref{"BenchmarkJourneys/latency=0s", "speedup"},
		details: []detail{
			{"20ms latency", ref{"BenchmarkJourneys/latency=20ms", "speedup"}, "x"},
			{"50ms latency", ref{"BenchmarkJourneys/latency=50ms", "speedup"}, "x"},
		}, goal: ">= 3"},
	{name: "compare-and-render 1M records vs vegeta report", ratio: ref{"BenchmarkReport1M", "cutover/vegeta"},
		details: []detail{
			{"cutover", ref{"BenchmarkReport1M", "cutover-s/op"}, "s"},
			{"vegeta", ref{"BenchmarkReport1M", "vegeta-s/op"}, "s"},
		}, goal: "cutover <= 10 s"},
	{name: "  root-cause grouping, grouped vs not", ratio: ref{"BenchmarkReport1M", "grouped/ungrouped"},
		details: []detail{
			{"ungrouped", ref{"BenchmarkReport1M", "ungrouped-s/op"}, "s"},
			{"100k personas", ref{"BenchmarkGrouping100kPersonas", "grouped/ungrouped"}, "x"},
		}, goal: "<= 1.10"},
	{name: "  the same from records.jsonl", ratio: ref{"BenchmarkReportFromJSONL1M", "cutover/vegeta"},
		details: []detail{
			{"cutover", ref{"BenchmarkReportFromJSONL1M", "cutover-s/op"}, "s"},
			{"vegeta", ref{"BenchmarkReportFromJSONL1M", "vegeta-s/op"}, "s"},
		}, goal: "cutover <= 10 s"},
	{name: "shadow, 1M log lines vs 100k, peak live heap", ratio: ref{"BenchmarkShadowStream1M", "heap-1M/100k"},
		details: []detail{
			{"100k", ref{"BenchmarkShadowStream1M", "heap-100k-MiB"}, "MiB"},
			{"1M", ref{"BenchmarkShadowStream1M", "heap-1M-MiB"}, "MiB"},
			{"compared", ref{"BenchmarkShadowStream1M", "lines/s"}, "lines/s"},
			{"PDP calls saved by the cache", ref{"BenchmarkShadowStream1M", "saved-1M"}, "%"},
		}, goal: "far below 10 (streamed: no growth per line)"},
	{name: "CPU per browser journey, lean vs before", ratio: ref{"BenchmarkBrowserCPU", "cpu-ratio"},
		details: []detail{
			{"lean", ref{"BenchmarkBrowserCPU", "lean-cpu-ms/journey"}, "ms"},
			{"before", ref{"BenchmarkBrowserCPU", "baseline-cpu-ms/journey"}, "ms"},
			{"Chromium alone", ref{"BenchmarkBrowserCPU", "chromium-ratio"}, "x"},
		}, goal: "<= 0.33 (3x less)"},
	{name: "the guard's transport vs net/http's, CPU per request", ratio: ref{"BenchmarkTransportCPU", "conn/nethttp"},
		details: []detail{
			{"guard's", ref{"BenchmarkTransportCPU", "conn-cpu-µs/req"}, "µs"},
			{"net/http", ref{"BenchmarkTransportCPU", "nethttp-cpu-µs/req"}, "µs"},
		}, goal: "< 1 (no more than net/http's)"},
}

func main() {
	in := io.Reader(os.Stdin)
	if len(os.Args) > 1 {
		f, err := os.Open(os.Args[1])
		if err != nil {
			fmt.Fprintln(os.Stderr, "benchratios:", err)
			os.Exit(2)
		}
		defer f.Close()
		in = f
	}
	res, err := parse(in)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchratios:", err)
		os.Exit(2)
	}
	if missing := write(os.Stdout, res); missing > 0 {
		os.Exit(1)
	}
}

// results maps a benchmark's name to its metrics by unit.
type results map[string]map[string]float64

// procSuffix is the -GOMAXPROCS suffix go test appends to a benchmark's name.
var procSuffix = regexp.MustCompile(`-\d+$`)

// parse reads benchmark result lines from go test output. Lines of `go test
// -json` are unwrapped first: their Output fields, concatenated, are the plain
// output (a result line may arrive in several events).
func parse(r io.Reader) (results, error) {
	var text strings.Builder
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		var ev struct{ Action, Output string }
		if strings.HasPrefix(line, "{") && json.Unmarshal([]byte(line), &ev) == nil {
			if ev.Action == "output" {
				text.WriteString(ev.Output)
			}
			continue
		}
		text.WriteString(line + "\n")
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading the benchmark output: %w", err)
	}
	res := results{}
	for line := range strings.Lines(text.String()) {
		f := strings.Fields(line)
		// BenchmarkX-2  1  2315939908 ns/op  4.3 growth-B/record ...
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") || len(f)%2 != 0 {
			continue
		}
		if _, err := strconv.ParseUint(f[1], 10, 64); err != nil {
			continue
		}
		m := map[string]float64{}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				m = nil
				break
			}
			m[f[i+1]] = v
		}
		if m != nil {
			res[procSuffix.ReplaceAllString(f[0], "")] = m
		}
	}
	return res, nil
}

// write prints one line per figure and returns how many figures are missing.
func write(w io.Writer, res results) (missing int) {
	get := func(r ref) (float64, bool) {
		v, ok := res[r.bench][r.unit]
		return v, ok
	}
	fmt.Fprintf(w, "%-48s %8s  %s\n", "figure", "ratio", "detail; goal")
	for _, f := range figures {
		ratio, ok := get(f.ratio)
		if !ok {
			missing++
			fmt.Fprintf(w, "%-48s %8s  %s did not report %s (failed or did not run)\n", f.name, "missing", f.ratio.bench, f.ratio.unit)
			continue
		}
		var ds []string
		for _, d := range f.details {
			v, ok := get(d.ref)
			if !ok {
				continue
			}
			switch {
			case d.unit == "x":
				ds = append(ds, fmt.Sprintf("%s %.2fx", d.label, v))
			case d.unit == "%":
				ds = append(ds, fmt.Sprintf("%s %.1f%%", d.label, 100*v))
			case v >= 1000:
				ds = append(ds, fmt.Sprintf("%s %.0f %s", d.label, v, d.unit))
			default:
				ds = append(ds, fmt.Sprintf("%s %.3g %s", d.label, v, d.unit))
			}
		}
		fmt.Fprintf(w, "%-48s %7.2fx  %s; goal %s\n", f.name, ratio, strings.Join(ds, ", "), f.goal)
	}
	return missing
}
