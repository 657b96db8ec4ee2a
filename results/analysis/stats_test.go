package analysis_test

import (
	"bytes"
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
	if len(tl.Points) > analysis.MaxTimelinePoint || tl.BucketMS != 3000 || tl.Points[1].T != 3 || tl.Points[0].Legacy.Count != 3 {
		t.Errorf("timeline of 1500s: %d points of %dms, second at %vs with %d samples in the first; want <= %d points of 3000ms",
			len(tl.Points), tl.BucketMS, tl.Points[1].T, tl.Points[0].Legacy.Count, analysis.MaxTimelinePoint)
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
