package results

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

const benchRecords = 1_000_000

// benchFixture yields about a million step records over an hour.
var benchFixture = fixture{Journeys: 102_000, Duration: time.Hour, Seed: 11}

func millionRecords(b *testing.B) []*Record {
	b.Helper()
	recs := benchFixture.records()
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
		r := vegeta.Result{Attack: "bench", Seq: uint64(i), Code: 200, Timestamp: fixtureStart.Add(time.Duration(i) * every),
			Latency: time.Duration(float64(2*time.Millisecond) * math.Exp(0.5*rng.NormFloat64())), BytesIn: 512, BytesOut: 64, Method: "GET", URL: "http://127.0.0.1/api"}
		if rng.Float64() < 0.01 {
			r.Code, r.Error = 503, "503 Service Unavailable"
		}
		out[i] = r
	}
	return out
}

// cutoverReport compares and renders every report of the records, as the end of
// a run and `cutover report` do (minus the disk).
func cutoverReport(b *testing.B, feed func(add func(*Record))) {
	a := NewAnalysis(fixtureOptions, fixtureStart)
	feed(a.Add)
	s := a.Summary(benchFixture.meta(), benchFixture.accounting())
	if _, err := json.Marshal(s); err != nil {
		b.Fatal(err)
	}
	for _, render := range []func(io.Writer, *Summary) error{WriteMarkdown, WriteJUnit, WriteHTML, WriteTable} {
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
// paired, judged, bootstrapped, every report), and, in the same loop, runs
// vegeta's text report over a million vegeta results. It reports both times per
// iteration and their ratio.
func BenchmarkReport1M(b *testing.B) {
	recs := millionRecords(b)
	res := vegetaResults(benchRecords)
	var ours, theirs time.Duration
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		t0 := time.Now()
		cutoverReport(b, func(add func(*Record)) {
			for _, r := range recs {
				add(r)
			}
		})
		t1 := time.Now()
		vegetaReport(b, res)
		ours, theirs, n = ours+t1.Sub(t0), theirs+time.Since(t1), n+1
	}
	b.ReportMetric(ours.Seconds()/float64(n), "cutover-s/op")
	b.ReportMetric(theirs.Seconds()/float64(n), "vegeta-s/op")
	b.ReportMetric(ours.Seconds()/theirs.Seconds(), "cutover/vegeta")
}

// BenchmarkReportFromJSONL1M is the same from encoded input, as the two
// commands run: `cutover report` streaming records.jsonl into the analysis,
// `vegeta report` decoding its JSON results.
func BenchmarkReportFromJSONL1M(b *testing.B) {
	recs := writeRecords(b, millionRecords(b))
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
		cutoverReport(b, func(add func(*Record)) {
			err := ReadRecords(bytes.NewReader(recs), "records.jsonl", func(r *Record) error {
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

// BenchmarkWriter writes the records of a fixture run, redacting and encoding
// each, one core.
func BenchmarkWriter(b *testing.B) {
	recs := (fixture{Journeys: 1000, Duration: time.Minute, Seed: 3}).records()
	w := NewWriter(io.Discard)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		r := *recs[i%len(recs)]
		if err := w.Write(&r); err != nil {
			b.Fatal(err)
		}
		i++
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
}
