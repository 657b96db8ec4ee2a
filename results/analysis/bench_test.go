package analysis_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/cutover-dev/cutover/results/analysis"
	"github.com/cutover-dev/cutover/results/internal/fixture"
	"github.com/cutover-dev/cutover/results/record"
	"github.com/cutover-dev/cutover/results/report"
)

const benchRecords = 1_000_000

// benchFixture yields about a million step records over an hour.
var benchFixture = fixture.Run{Journeys: 102_000, Duration: time.Hour, Seed: 11}

func millionRecords(b *testing.B) []*record.Record {
	b.Helper()
	recs := benchFixture.Records()
	if len(recs) < benchRecords {
		b.Fatalf("fixture yields %d records; want %d", len(recs), benchRecords)
	}
	return recs[:benchRecords]
}

// vegetaResults returns n results shaped like the records: an hour of requests,
// log-normal latencies, 1% errors.
func vegetaResults(n int) []vegeta.Result {
	rng := rand.New(rand.NewPCG(11, 1))
	out := make([]vegeta.Result, n)
	every := time.Hour / time.Duration(n)
	for i := range out {
		r := vegeta.Result{Attack: "bench", Seq: uint64(i), Code: 200, Timestamp: fixture.Start.Add(time.Duration(i) * every),
			Latency: time.Duration(float64(2*time.Millisecond) * math.Exp(0.5*rng.NormFloat64())), BytesIn: 512, BytesOut: 64, Method: "GET", URL: "http://127.0.0.1/api"}
		if rng.Float64() < 0.01 {
			r.Code, r.Error = 503, "503 Service Unavailable"
		}
		out[i] = r
	}
	return out
}

// cutoverReport compares and renders every report of the records, as the end of
// a run and `cutover report` do (minus the disk); grouping false leaves out the
// root causes and cohorts, to measure what they cost.
func cutoverReport(b *testing.B, grouping bool, feed func(add func(*record.Record))) {
	a := analysis.New(fixture.Options, fixture.Start)
	a.SetPersonas(benchFixture.Personas())
	analysis.SetGrouping(a, grouping)
	feed(a.Add)
	s := a.Summary(benchFixture.Meta(), benchFixture.Accounting())
	if _, err := json.Marshal(s); err != nil {
		b.Fatal(err)
	}
	for _, render := range []func(io.Writer, *analysis.Summary) error{report.WriteMarkdown, report.WriteJUnit, report.WriteHTML, report.WriteTable} {
		if err := render(io.Discard, &s); err != nil {
			b.Fatal(err)
		}
	}
	if err := a.Stats().WriteHistograms(io.Discard); err != nil {
		b.Fatal(err)
	}
}

func vegetaReport(b *testing.B, res []vegeta.Result) {
	var m vegeta.Metrics
	for i := range res {
		m.Add(&res[i])
	}
	m.Close()
	if err := vegeta.NewTextReporter(&m).Report(io.Discard); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkReport1M compares and renders a million step records (both sides,
// paired, judged, bootstrapped, grouped into causes and cohorts, every report),
// and, in the same loop, the same without root-cause grouping and vegeta's text
// report over a million vegeta results. After a warm-up round (not counted), it
// reports each figure as the median over the iterations (make bench runs 5):
// the times, the ratio to vegeta and the grouping's overhead (grouped/ungrouped,
// goal <= 1.10), each ratio taken within one iteration.
func BenchmarkReport1M(b *testing.B) {
	recs := millionRecords(b)
	res := vegetaResults(benchRecords)
	feed := func(add func(*record.Record)) {
		for _, r := range recs {
			add(r)
		}
	}
	timed := func(f func()) time.Duration {
		runtime.GC()
		t0 := time.Now()
		f()
		return time.Since(t0)
	}
	cutoverReport(b, true, feed)
	cutoverReport(b, false, feed)
	var ours, plain, theirs, toVegeta, grouping []float64
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		// Each from a collected heap, the two cutover reports in alternating
		// order, so neither always pays for the other's garbage.
		var g, p time.Duration
		for _, grouped := range []bool{n%2 == 0, n%2 != 0} {
			d := timed(func() { cutoverReport(b, grouped, feed) })
			if grouped {
				g = d
			} else {
				p = d
			}
		}
		v := timed(func() { vegetaReport(b, res) })
		ours, plain, theirs = append(ours, g.Seconds()), append(plain, p.Seconds()), append(theirs, v.Seconds())
		toVegeta, grouping = append(toVegeta, g.Seconds()/v.Seconds()), append(grouping, g.Seconds()/p.Seconds())
		n++
	}
	b.ReportMetric(median(ours), "cutover-s/op")
	b.ReportMetric(median(plain), "ungrouped-s/op")
	b.ReportMetric(median(theirs), "vegeta-s/op")
	b.ReportMetric(median(toVegeta), "cutover/vegeta")
	b.ReportMetric(median(grouping), "grouped/ungrouped")
	b.ReportMetric(float64(n), "iterations")
}

// BenchmarkReportFromJSONL1M is the same from encoded input, as the two
// commands run: `cutover report` streaming records.jsonl into the analysis,
// `vegeta report` decoding its JSON results.
func BenchmarkReportFromJSONL1M(b *testing.B) {
	recs := fixture.WriteRecords(b, millionRecords(b))
	var resBuf bytes.Buffer
	enc := vegeta.NewJSONEncoder(&resBuf)
	for _, r := range vegetaResults(benchRecords) {
		if err := enc.Encode(&r); err != nil {
			b.Fatal(err)
		}
	}
	var ours, theirs time.Duration
	n := 0
	for b.Loop() {
		t0 := time.Now()
		cutoverReport(b, true, func(add func(*record.Record)) {
			err := record.ReadRecords(bytes.NewReader(recs), "records.jsonl", func(r *record.Record) error {
				add(r)
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		})
		t1 := time.Now()
		dec := vegeta.NewJSONDecoder(bytes.NewReader(resBuf.Bytes()))
		var m vegeta.Metrics
		for {
			var r vegeta.Result
			if err := dec.Decode(&r); err == io.EOF {
				break
			} else if err != nil {
				b.Fatal(err)
			}
			m.Add(&r)
		}
		m.Close()
		if err := vegeta.NewTextReporter(&m).Report(io.Discard); err != nil {
			b.Fatal(err)
		}
		ours, theirs, n = ours+t1.Sub(t0), theirs+time.Since(t1), n+1
	}
	b.ReportMetric(ours.Seconds()/float64(n), "cutover-s/op")
	b.ReportMetric(theirs.Seconds()/float64(n), "vegeta-s/op")
	b.ReportMetric(ours.Seconds()/theirs.Seconds(), "cutover/vegeta")
}

// BenchmarkGrouping100kPersonas measures root-cause grouping where it costs
// most: a population of 100,000 personas, each seen on a few steps (about a
// million records), a tenth of them on the older hash scheme and unable to log
// in on candidate, and billing clerks over-permitted. It reports the grouped
// and ungrouped times of compare-and-summarise and their ratio, each the
// median over the iterations after a warm-up (make bench runs 5).
func BenchmarkGrouping100kPersonas(b *testing.B) {
	const n = 100_000
	kinds := []string{"patient", "patient", "patient", "clinician", "billing"}
	table := &record.PersonaTable{Schema: record.PersonasSchema}
	var recs []*record.Record
	for i := range n {
		id, kind := fmt.Sprintf("p-%06d", i), kinds[i%len(kinds)]
		hash := "bcrypt"
		if i%10 == 3 {
			hash = "sha256-salted"
		}
		wave := fmt.Sprintf("wave-%d", 1+i%4)
		table.Personas = append(table.Personas, record.PersonaAttrs{ID: id, Attrs: map[string]string{record.AttrKind: kind, record.AttrWave: wave, record.AttrHashScheme: hash, record.AttrCohort: wave + "/" + hash}})
		at := fixture.Start.Add(time.Duration(i) * 30 * time.Millisecond)
		for _, side := range []record.Side{record.Legacy, record.Candidate} {
			add := func(step, target string, f record.Facts) {
				recs = append(recs, &record.Record{Side: side, Persona: id, Kind: kind, Cohort: wave + "/" + hash, Journey: "session", Iteration: uint64(i),
					Step: step, Target: target, Intended: at, Start: at, Latency: time.Duration(1+i%5) * time.Millisecond, Outcome: record.OK,
					Endpoints: []string{"POST /token"}, Facts: f})
			}
			login := record.Facts{Decision: record.Allow, Expected: record.Allow, Roles: []string{kind}, TTL: 900}
			if side == record.Candidate && hash == "sha256-salted" {
				login = record.Facts{Decision: record.Deny, Expected: record.Allow, Status: 401}
			}
			add(record.StepLogin, "", login)
			if login.Decision != record.Allow {
				continue
			}
			over := record.Deny
			if side == record.Candidate && kind == "billing" {
				over = record.Allow
			}
			add(record.StepProbe, "read record:{self}", record.Facts{Decision: record.Allow, Expected: record.Allow})
			add(record.StepProbe, "read users:all", record.Facts{Decision: over, Expected: record.Deny})
			add(record.StepLogout, "", record.Facts{Decision: record.Allow})
			add(record.StepLogoutProbe, "read record:{self}", record.Facts{Decision: record.Deny, Expected: record.Deny})
		}
	}
	run := func(grouping bool) analysis.Summary {
		a := analysis.New(fixture.Options, fixture.Start)
		a.SetPersonas(table)
		analysis.SetGrouping(a, grouping)
		for _, r := range recs {
			a.Add(r)
		}
		return a.Summary(benchFixture.Meta(), record.Accounting{})
	}
	if s := run(true); len(s.Causes) != 2 {
		b.Fatalf("causes = %d; want 2 (hash scheme, billing)", len(s.Causes))
	}
	// A warm-up pair first (caches, heap growth), not counted; then each
	// iteration times both, in alternating order so neither always pays for
	// the other's garbage, and the figures are the medians over iterations:
	// one slow outlier on a shared machine moves a mean, not a median.
	run(true)
	run(false)
	var grouped, plain, ratio []float64
	i := 0
	for b.Loop() {
		var g, p time.Duration
		for _, grouping := range []bool{i%2 == 0, i%2 != 0} {
			runtime.GC()
			t0 := time.Now()
			run(grouping)
			if grouping {
				g = time.Since(t0)
			} else {
				p = time.Since(t0)
			}
		}
		grouped, plain, ratio = append(grouped, g.Seconds()), append(plain, p.Seconds()), append(ratio, g.Seconds()/p.Seconds())
		i++
	}
	b.ReportMetric(median(grouped), "grouped-s/op")
	b.ReportMetric(median(plain), "ungrouped-s/op")
	b.ReportMetric(median(ratio), "grouped/ungrouped")
	b.ReportMetric(float64(i), "iterations")
}

// median is the middle of xs (the mean of the middle two for an even count).
func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
