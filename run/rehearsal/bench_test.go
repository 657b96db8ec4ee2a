package rehearsal

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/cutover-dev/cutover/personas"
	"github.com/cutover-dev/cutover/results/analysis"
	"github.com/cutover-dev/cutover/results/record"
)

// memRun describes a synthetic run fed to the record pipeline: journeys per second
// for a duration, each journey the paired steps of both sides.
type memRun struct {
	rate     int // journeys per second
	duration time.Duration
	personas int
	seed     uint64
}

var memKinds = []string{"patient", "clinician", "billing", "admin"}

// memTargets are each kind's probes, as journeys emit them.
var memTargets = map[string][]string{
	"patient":   {"read record:{self}", "read record:{other}", "read notes:{self}", "write record:{self}"},
	"clinician": {"read notes:{panel}", "read record:{unassigned}", "write notes:{panel}", "read claims:all"},
	"billing":   {"read claims:all", "read users:all", "write claims:all", "read record:{other}"},
	"admin":     {"read users:all", "read notes:{other}", "write users:all", "read claims:all"},
}

// feed emits the run's records in the order a live run produces them: journeys in
// flight overlap, so a candidate's steps arrive a few journeys after its legacy
// twin. 1% of candidate probes fail, so findings and their examples exist. It
// returns how many records it emitted; none is kept.
func (m memRun) feed(start time.Time, emit func(*record.Record)) (n int) {
	const lag = 32 // journeys in flight between a legacy journey and its candidate twin
	rng := rand.New(rand.NewPCG(m.seed, 1))
	journeys := int(m.duration.Seconds() * float64(m.rate))
	every := time.Second / time.Duration(m.rate)
	lat := func(median time.Duration) time.Duration {
		return time.Duration(float64(median) * math.Exp(0.35*rng.NormFloat64()))
	}
	side := func(s record.Side, j int) {
		kind := memKinds[j%len(memKinds)]
		persona := fmt.Sprintf("%s-%05d", kind, (j/len(memKinds))%(m.personas/len(memKinds)))
		intended := start.Add(time.Duration(j) * every)
		at := intended
		step := func(name, target string, d time.Duration, out record.Outcome, f record.Facts) {
			emit(&record.Record{Side: s, Persona: persona, Kind: kind, Cohort: "wave-1/bcrypt", Journey: "session",
				Iteration: uint64(j), Step: name, Target: target, Intended: intended, Start: at, Latency: d, Outcome: out, Facts: f})
			at = at.Add(d)
			n++
		}
		step(record.StepLogin, "", lat(4*time.Millisecond), record.OK,
			record.Facts{Decision: record.Allow, Expected: record.Allow, Roles: []string{kind}, TTL: 900})
		for i, t := range memTargets[kind] {
			decision := record.Allow
			if i%2 == 1 {
				decision = record.Deny
			}
			if s == record.Candidate && rng.Float64() < 0.01 {
				step(record.StepProbe, t, lat(2*time.Millisecond), record.Error, record.Facts{Expected: decision})
				continue
			}
			step(record.StepProbe, t, lat(time.Millisecond), record.OK, record.Facts{Decision: decision, Expected: decision, Status: 200})
		}
		step(record.StepLogout, "", lat(time.Millisecond), record.OK, record.Facts{Decision: record.Allow})
		step(record.StepLogoutProbe, memTargets[kind][0], lat(time.Millisecond), record.OK,
			record.Facts{Decision: record.Deny, Expected: record.Deny, Status: 401})
	}
	for j := range journeys + lag {
		if j < journeys {
			side(record.Legacy, j)
		}
		if j >= lag {
			side(record.Candidate, j-lag)
		}
	}
	return n
}

// liveHeap is the heap still reachable after a full collection.
func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// pipelineHeap drives m through the pipeline Run uses (records redacted and
// written, here to io.Discard, then analysed) and returns the heap the run's
// state holds at its end, before the summary, and the records fed.
func pipelineHeap(b *testing.B, m memRun) (heap uint64, records int) {
	b.Helper()
	pop := make([]personas.Persona, m.personas)
	for i := range pop {
		pop[i] = personas.Persona{ID: fmt.Sprintf("p-%05d", i), Secret: personas.NewSecret(fmt.Sprintf("pw-%05d", i))}
	}
	rw := record.NewWriter(io.Discard, record.WithRedactor(redactor(personas.Population{Personas: pop})))
	before := liveHeap()
	start := time.Date(2026, 1, 15, 9, 0, 0, 0, time.UTC)
	a := analysis.New(analysis.Options{}, start)
	p := newPipeline(rw, a, nil, nil)
	records = m.feed(start, p.emit)
	if err := p.close(); err != nil {
		b.Fatal(err)
	}
	after := liveHeap()
	runtime.KeepAlive(a)
	if after < before {
		return 0, records
	}
	return after - before, records
}

// BenchmarkPipelineMemoryLongVsShort feeds the record pipeline of a run (writer
// and analysis, as Run wires them) a short run and a run 8 times as long at the
// same rate, and reports the live heap each leaves and their ratio: the harness's
// memory must not grow with the number of records. What may grow is the
// latency over time (the run's and each step's, per side: a sealed bucket of a
// few hundred bytes a second until the plots' caps make the buckets wider), so
// the ratio is above 1 by that much, not by 8; the goal is at most 1.1. Synthetic records rather than a real run
// against the embedded stacks: the pipeline is where state per record could
// pile up, and a real run's heap is dominated by what is in flight (connections,
// journeys, the stacks themselves in the same process), which does not depend
// on the run's length and would drown the growth this measures.
//
//	go test -run '^$' -bench PipelineMemory -benchtime 1x ./run/rehearsal
func BenchmarkPipelineMemoryLongVsShort(b *testing.B) {
	short := memRun{rate: 100, duration: 30 * time.Second, personas: 2000, seed: 11}
	long := short
	long.duration *= 8
	var hs, hl uint64
	var ns, nl int
	for b.Loop() {
		h, n := pipelineHeap(b, short)
		hs, ns = max(hs, h), n
		h, n = pipelineHeap(b, long)
		hl, nl = max(hl, h), n
	}
	b.Logf("short: %d records, %d B live; long: %d records, %d B live", ns, hs, nl, hl)
	b.ReportMetric(float64(hs)/(1<<20), "heap-short-MiB")
	b.ReportMetric(float64(hl)/(1<<20), "heap-long-MiB")
	b.ReportMetric(float64(hl-min(hl, hs))/float64(nl-ns), "growth-B/record")
	b.ReportMetric(float64(hl)/float64(hs), "heap-long/short")
}
