package analysis_test

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/cutover-dev/cutover/results/analysis"
	"github.com/cutover-dev/cutover/results/internal/fixture"
	"github.com/cutover-dev/cutover/results/record"
)

func TestBinomialTailAtLeast(t *testing.T) {
	exact := func(n, k int64, p float64) float64 {
		// Direct sum of the binomial pmf, for small n only.
		s := 0.0
		for i := k; i <= n; i++ {
			c := 1.0
			for j := int64(0); j < i; j++ {
				c *= float64(n-j) / float64(j+1)
			}
			s += c * math.Pow(p, float64(i)) * math.Pow(1-p, float64(n-i))
		}
		return s
	}
	for _, tt := range []struct {
		n, k int64
		p    float64
	}{{1, 1, 0.5}, {10, 5, 0.3}, {31, 16, 0.5}, {31, 16, 0.62}, {200, 101, 0.45}, {999, 500, 0.51}} {
		got, want := analysis.BinomialTailAtLeast(tt.n, tt.k, tt.p), exact(tt.n, tt.k, tt.p)
		if math.Abs(got-want) > 1e-9 {
			t.Errorf("binomialTailAtLeast(%d, %d, %v) = %v; want %v", tt.n, tt.k, tt.p, got, want)
		}
	}
	// Beyond 1000 draws the normal approximation takes over: it must stay close to
	// the exact sum where both apply.
	if got, want := analysis.BinomialTailAtLeast(1001, 501, 0.49), analysis.BinomialTailAtLeast(1000, 501, 0.49); math.Abs(got-want) > 0.03 {
		t.Errorf("normal approximation at n=1001: %v; exact at n=1000: %v", got, want)
	}
}

func histOf(rng *rand.Rand, n int, median time.Duration) *hdrhistogram.Histogram {
	h := analysis.NewHist()
	for range n {
		_ = h.RecordValue(analysis.ClampLatency(time.Duration(float64(median) * math.Exp(0.4*rng.NormFloat64()))))
	}
	return h
}

// TestRatioCI checks the interval's coverage: two samples of one distribution
// give an interval holding 1 in about 95% of trials, and a 20% slow-down is told
// apart at a few hundred samples.
func TestRatioCI(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	covered := 0
	const trials = 200
	for i := range trials {
		r := analysis.RatioCI(histOf(rng, 300, 10*time.Millisecond), histOf(rng, 300, 10*time.Millisecond), uint64(i))
		if r.Low <= 1 && 1 <= r.High {
			covered++
		}
		if !(r.Low <= r.Value && r.Value <= r.High) {
			t.Fatalf("ratio %v outside its own interval", r)
		}
	}
	if covered < trials*88/100 || covered > trials*99/100 {
		t.Errorf("interval held the true ratio 1 in %d of %d trials; want about 95%%", covered, trials)
	}
	r := analysis.RatioCI(histOf(rng, 400, 12*time.Millisecond), histOf(rng, 400, 10*time.Millisecond), 9)
	if r.Low <= 1.05 || r.High >= 1.4 {
		t.Errorf("20%% slow-down: ratio %+v; want an interval above 1.05 around 1.2", r)
	}
}

func TestP50RatioIsComputedOnce(t *testing.T) {
	fx := fixture.Run{Journeys: 200, Duration: 10 * time.Second, Seed: 1}
	st := analysis.NewStats(fixture.Start)
	for _, r := range fx.Records() {
		st.Add(r)
	}
	k := analysis.StepKey{"session", record.StepLogin}
	a, ok := st.P50Ratio(k, 30, 5)
	b, _ := st.P50Ratio(k, 30, 5)
	if !ok || a != b {
		t.Errorf("P50Ratio = %v, %v (ok %v); want the same answer twice", a, b, ok)
	}
	if allocs := testing.AllocsPerRun(10, func() { st.P50Ratio(k, 30, 5) }); allocs != 0 {
		t.Errorf("a second P50Ratio allocates %v times; want the cached answer", allocs)
	}
}

// TestHistogramsRoundTripAndMerge writes histograms.json, reads it back and
// checks that the summary figures survive, and that merging two halves of a run
// gives the histograms and the timeline of the whole.
func TestHistogramsRoundTripAndMerge(t *testing.T) {
	fx := fixture.Run{Journeys: 300, Duration: 15 * time.Second, Seed: 4}
	recs := fx.Records()
	whole, first, second := analysis.NewStats(fixture.Start), analysis.NewStats(time.Time{}), analysis.NewStats(time.Time{})
	for i, r := range recs {
		whole.Add(r)
		if i < len(recs)/2 {
			first.Add(r)
		} else {
			second.Add(r)
		}
	}
	var buf bytes.Buffer
	if err := whole.WriteHistograms(&buf); err != nil {
		t.Fatal(err)
	}
	back, err := analysis.ReadHistograms(&buf, "histograms.json")
	if err != nil {
		t.Fatal(err)
	}
	// Merge out of order: the later half first, so the timeline must grow backwards.
	merged := analysis.NewStats(time.Time{})
	merged.Merge(second)
	merged.Merge(first)
	for _, k := range whole.Keys() {
		for _, side := range []record.Side{record.Legacy, record.Candidate} {
			w := analysis.SideSummaryOf(whole.Side(k, side))
			if got := analysis.SideSummaryOf(back.Side(k, side)); got != w {
				t.Errorf("%s %s after round trip = %+v; want %+v", k, side, got, w)
			}
			if got := analysis.SideSummaryOf(merged.Side(k, side)); got != w {
				t.Errorf("%s %s merged from halves = %+v; want %+v", k, side, got, w)
			}
		}
	}
	wt, mt := whole.Timeline(fixture.Start), merged.Timeline(fixture.Start)
	if len(wt.Points) == 0 || len(mt.Points) != len(wt.Points) {
		t.Fatalf("timeline points: whole %d, merged %d", len(wt.Points), len(mt.Points))
	}
	for i := range wt.Points {
		if mt.Points[i] != wt.Points[i] {
			t.Errorf("timeline point %d: whole %+v, merged %+v", i, wt.Points[i], mt.Points[i])
		}
	}
	for _, k := range whole.Keys() {
		w, m := whole.StepTimeline(k, fixture.Start), merged.StepTimeline(k, fixture.Start)
		if w == nil || m == nil || len(w.Points) == 0 || !slices.Equal(m.Points, w.Points) || m.BucketMS != w.BucketMS {
			t.Errorf("%s timeline: merged from halves %+v; want the whole run's %+v", k, m, w)
		}
	}
}

// TestStepTimeline: each step keeps its own latency over time, its buckets
// widening (two into one) so that a long run stays within the cap, the same
// whatever order the records come in; a slower candidate shows in its own
// step's points only.
func TestStepTimeline(t *testing.T) {
	login, probe := analysis.StepKey{"j", "login"}, analysis.StepKey{"j", "probe"}
	var recs []*record.Record
	for s := range 1500 {
		at := fixture.Start.Add(time.Duration(s) * time.Second)
		for _, side := range []record.Side{record.Legacy, record.Candidate} {
			d := 10 * time.Millisecond
			if side == record.Candidate {
				d += 40 * time.Millisecond
			}
			recs = append(recs, &record.Record{Side: side, Journey: login.Journey, Step: login.Step, Start: at, Latency: d, Outcome: record.OK},
				&record.Record{Side: side, Journey: probe.Journey, Step: probe.Step, Start: at, Latency: time.Millisecond, Outcome: record.OK})
		}
	}
	recs = append(recs, &record.Record{Side: record.Candidate, Journey: probe.Journey, Step: probe.Step, Start: fixture.Start.Add(7 * time.Second), Outcome: record.Error})
	inOrder, reversed := analysis.NewStats(fixture.Start), analysis.NewStats(fixture.Start)
	for i := range recs {
		inOrder.Add(recs[i])
		reversed.Add(recs[len(recs)-1-i])
	}
	tl := inOrder.StepTimeline(login, fixture.Start)
	// 1500s at most 60 points: 32s buckets (1500/32 = 46.9), 47 points.
	if tl == nil || len(tl.Points) != 47 || tl.BucketMS != 32000 || tl.Points[1].T != 32 || tl.Points[0].Legacy.Count != 32 {
		t.Fatalf("login timeline of 1500s = %d points of %dms (%+v); want 47 of 32000ms", len(tl.Points), tl.BucketMS, tl.Points[:min(2, len(tl.Points))])
	}
	for _, p := range tl.Points {
		if p.Legacy.P50 < 9.5 || p.Legacy.P50 > 10.5 || p.Candidate.P50 < 49 || p.Candidate.P50 > 51 {
			t.Errorf("login at %vs: p50 legacy %v, candidate %v; want 10ms and 50ms", p.T, p.Legacy.P50, p.Candidate.P50)
			break
		}
	}
	pt := inOrder.StepTimeline(probe, fixture.Start)
	if p := pt.Points[0]; p.Candidate.P50 > 1.1 || p.Candidate.Errors != 1 || p.Legacy.Errors != 0 {
		t.Errorf("probe's first bucket = %+v; want 1ms on both sides and the candidate's one error", p)
	}
	if got := reversed.StepTimeline(login, fixture.Start); !slices.Equal(got.Points, tl.Points) || got.BucketMS != tl.BucketMS {
		t.Errorf("login timeline fed in reverse differs: %d points of %dms; want %d of %dms", len(got.Points), got.BucketMS, len(tl.Points), tl.BucketMS)
	}
	if got := inOrder.StepTimeline(analysis.StepKey{"j", "none"}, fixture.Start); got != nil {
		t.Errorf("timeline of a step never seen = %+v; want nil", got)
	}
}

// TestStepEvidence: a step keeps the first few evidence files its records
// left on each side, legacy's first, and merging keeps the cap.
func TestStepEvidence(t *testing.T) {
	k := analysis.StepKey{"browser", record.StepBrowserLogin}
	st := analysis.NewStats(fixture.Start)
	for i := range 8 {
		for _, side := range []record.Side{record.Candidate, record.Legacy} {
			st.Add(&record.Record{Side: side, Persona: fmt.Sprintf("patient-%05d", i), Iteration: uint64(i), Journey: k.Journey, Step: k.Step,
				Start: fixture.Start, Outcome: record.Error, Error: "landing page did not show",
				Evidence: []string{fmt.Sprintf("evidence/%s-%d.png", side, i), fmt.Sprintf("evidence/%s-%d.html", side, i)}})
		}
		st.Add(&record.Record{Side: record.Candidate, Journey: k.Journey, Step: k.Step, Start: fixture.Start, Outcome: record.OK})
	}
	ev := analysis.StepEvidenceOf(st, k)
	if len(ev) != 10 || ev[0].Side != record.Legacy || ev[5].Side != record.Candidate || ev[5].Files[0] != "evidence/candidate-0.png" ||
		ev[9].Persona != "patient-00004" || ev[9].Error != "landing page did not show" || ev[9].Outcome != record.Error {
		t.Errorf("evidence = %+v; want the first 5 of each side, legacy's first", ev)
	}
	merged := analysis.NewStats(time.Time{})
	merged.Merge(st)
	merged.Merge(st)
	if got := analysis.StepEvidenceOf(merged, k); !slices.EqualFunc(got, ev, func(a, b analysis.StepEvidence) bool { return a.Persona == b.Persona && a.Side == b.Side }) {
		t.Errorf("evidence merged twice = %d entries; want the same first 5 of each side", len(got))
	}
}

func TestReadHistogramsRejectsBadInput(t *testing.T) {
	for _, in := range []string{`{`, `{"schema":"other/v9","unit":"ns"}`, `{"schema":"cutover.histograms/v1","unit":"ms"}`,
		`{"schema":"cutover.histograms/v1","unit":"ns","steps":[{"journey":"j","step":"s","legacy":{"hdr":"bm90IGhkcg=="}}]}`} {
		if _, err := analysis.ReadHistograms(bytes.NewBufferString(in), "h.json"); err == nil {
			t.Errorf("ReadHistograms(%q) = nil error; want one", in)
		}
	}
}

func TestTimelineCapsPoints(t *testing.T) {
	st := analysis.NewStats(fixture.Start)
	for s := range 1500 {
		st.Add(&record.Record{Side: record.Legacy, Journey: "j", Step: "s", Start: fixture.Start.Add(time.Duration(s) * time.Second), Latency: time.Millisecond, Outcome: record.OK})
	}
	tl := st.Timeline(fixture.Start)
	// 1500 s outgrow 600 one-second buckets and 600 of two: four seconds each.
	if len(tl.Points) != 375 || tl.BucketMS != 4000 || tl.Points[1].T != 4 || tl.Points[0].Legacy.Count != 4 {
		t.Errorf("timeline of 1500s: %d points of %dms, second at %vs with %d samples in the first; want 375 points of 4000ms",
			len(tl.Points), tl.BucketMS, tl.Points[1].T, tl.Points[0].Legacy.Count)
	}
}

// TestStepEndpoints: a step calls what at least half of its candidate records
// called; a request one record in many made (a lazy sign-in) is not a factor.
func TestStepEndpoints(t *testing.T) {
	st := analysis.NewStats(fixture.Start)
	k := analysis.StepKey{"session", record.StepAudit}
	for i := range 10 {
		eps := []string{"GET /api/audit"}
		if i == 0 {
			eps = []string{"GET /authorize", "POST /login", "POST /token", "GET /api/audit"}
		}
		st.Add(&record.Record{Side: record.Candidate, Journey: k.Journey, Step: k.Step, Start: fixture.Start, Outcome: record.OK, Endpoints: eps})
		st.Add(&record.Record{Side: record.Legacy, Journey: k.Journey, Step: k.Step, Start: fixture.Start, Outcome: record.OK, Endpoints: []string{"GET /legacy/audit"}})
	}
	if got, want := st.Endpoints(k), []string{"GET /api/audit"}; !slices.Equal(got, want) {
		t.Errorf("Endpoints(%s) = %q; want %q (the candidate's, called by most records)", k, got, want)
	}
	if got := st.Endpoints(analysis.StepKey{"session", "nothing"}); got != nil {
		t.Errorf("Endpoints of an unknown step = %q; want none", got)
	}
}
