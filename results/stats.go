package results

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Latencies are kept in HDR histograms from 1µs to 5 min with 3 significant digits:
// 0.1% precision at every scale, mergeable across runs and machines.
const (
	histMin    = int64(time.Microsecond)
	histMax    = int64(5 * time.Minute)
	histDigits = 3
)

func newHist() *hdrhistogram.Histogram { return hdrhistogram.New(histMin, histMax, histDigits) }

// StepKey names a step of a journey.
type StepKey struct{ Journey, Step string }

// SideStats are one side's figures for one step.
type SideStats struct {
	Count  int64 `json:"count"`
	Errors int64 `json:"errors"`
	// Hist holds the latencies of the steps that got an answer (OK outcomes).
	Hist *hdrhistogram.Histogram `json:"-"`
}

func (s *SideStats) add(r *Record) {
	s.Count++
	if r.Outcome == Error {
		s.Errors++
		return
	}
	if r.Outcome != OK {
		return
	}
	v := min(max(int64(r.Latency), histMin), histMax)
	_ = s.Hist.RecordValue(v) // in range by construction
}

// Quantile returns the latency at quantile q (0..100) of the answered steps.
func (s *SideStats) Quantile(q float64) time.Duration {
	if s.Hist.TotalCount() == 0 {
		return 0
	}
	return time.Duration(s.Hist.ValueAtQuantile(q))
}

// Stats accumulates per-step, per-side counts, errors and latency histograms. It is
// not safe for concurrent use.
type Stats struct {
	steps map[StepKey]*[2]SideStats
	order []StepKey
}

// NewStats returns empty statistics.
func NewStats() *Stats { return &Stats{steps: make(map[StepKey]*[2]SideStats)} }

func sideIndex(s Side) int {
	if s == Candidate {
		return 1
	}
	return 0
}

// Add accounts one record.
func (st *Stats) Add(r *Record) {
	k := StepKey{r.Journey, r.Step}
	p, ok := st.steps[k]
	if !ok {
		p = &[2]SideStats{{Hist: newHist()}, {Hist: newHist()}}
		st.steps[k] = p
		st.order = append(st.order, k)
	}
	p[sideIndex(r.Side)].add(r)
}

// Keys returns the steps seen, sorted by journey then first appearance.
func (st *Stats) Keys() []StepKey {
	out := slices.Clone(st.order)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Journey < out[j].Journey })
	return out
}

// Side returns the figures of one side for one step (nil if never seen).
func (st *Stats) Side(k StepKey, s Side) *SideStats {
	p, ok := st.steps[k]
	if !ok {
		return nil
	}
	return &p[sideIndex(s)]
}

// PerfOptions set when a speed or availability difference is a regression.
type PerfOptions struct {
	// LatencyRatio: candidate p50 over legacy p50 beyond which a step regressed,
	// if the lower bound of the 95% confidence interval is beyond it too.
	LatencyRatio float64
	// LatencyMinDelta is the smallest p50 difference that can be a regression: a
	// step 0.2ms slower at 3x is a ratio, not a problem a user feels.
	LatencyMinDelta time.Duration
	// MinSamples per side before a latency verdict is given.
	MinSamples int64
	// ErrorRateDelta: candidate error rate minus legacy's beyond which availability
	// regressed, if a one-sided two-proportion z-test at 99% agrees.
	ErrorRateDelta float64
	// Seed drives the bootstrap, so a report renders the same twice.
	Seed uint64
}

func (o PerfOptions) withDefaults() PerfOptions {
	if o.LatencyRatio == 0 {
		o.LatencyRatio = 1.25
	}
	if o.LatencyMinDelta == 0 {
		o.LatencyMinDelta = 5 * time.Millisecond
	}
	if o.MinSamples == 0 {
		o.MinSamples = 30
	}
	if o.ErrorRateDelta == 0 {
		o.ErrorRateDelta = 0.01
	}
	return o
}

// Ratio is candidate p50 over legacy p50 with a bootstrap 95% confidence interval.
type Ratio struct {
	Value, Low, High float64
}

// P50Ratio bootstraps the ratio of medians of the two sides of step k. ok is false
// when either side has fewer than minSamples answered steps.
func (st *Stats) P50Ratio(k StepKey, minSamples int64, seed uint64) (r Ratio, ok bool) {
	leg, cand := st.Side(k, Legacy), st.Side(k, Candidate)
	if leg == nil || leg.Hist.TotalCount() < minSamples || cand.Hist.TotalCount() < minSamples {
		return Ratio{}, false
	}
	lm, cm := float64(leg.Hist.ValueAtQuantile(50)), float64(cand.Hist.ValueAtQuantile(50))
	rng := rand.New(rand.NewPCG(seed, uint64(len(k.Journey)+len(k.Step))))
	ls, cs := sampler(leg.Hist), sampler(cand.Hist)
	const rounds = 200
	ratios := make([]float64, rounds)
	for i := range ratios {
		ratios[i] = resampledMedian(cs, rng) / resampledMedian(ls, rng)
	}
	slices.Sort(ratios)
	return Ratio{Value: cm / lm, Low: ratios[rounds*25/1000], High: ratios[rounds*975/1000-1]}, true
}

// histSampler draws values from a histogram's distribution.
type histSampler struct {
	values []float64
	cum    []int64
	n      int64
}

func sampler(h *hdrhistogram.Histogram) histSampler {
	var s histSampler
	for _, b := range h.Distribution() {
		if b.Count == 0 {
			continue
		}
		s.n += b.Count
		s.values = append(s.values, float64(b.From+b.To)/2)
		s.cum = append(s.cum, s.n)
	}
	return s
}

// resampledMedian draws a bootstrap sample (capped at 2001 draws: an m-out-of-n
// bootstrap, which only widens the interval) and returns its median.
func resampledMedian(s histSampler, rng *rand.Rand) float64 {
	m := min(s.n, 2001)
	draws := make([]float64, m)
	for i := range draws {
		x := rng.Int64N(s.n)
		j := sort.Search(len(s.cum), func(j int) bool { return s.cum[j] > x })
		draws[i] = s.values[j]
	}
	slices.Sort(draws)
	return draws[m/2]
}

// PerfFindings returns LATENCY_REGRESSION and ERROR_RATE_REGRESSION findings.
// Steps inside windows where the generator was saturated are still measured, but
// the summary marks their latency verdicts untrustworthy.
func (st *Stats) PerfFindings(opt PerfOptions) []Finding {
	opt = opt.withDefaults()
	var out []Finding
	for _, k := range st.Keys() {
		leg, cand := st.Side(k, Legacy), st.Side(k, Candidate)
		r, ok := st.P50Ratio(k, opt.MinSamples, opt.Seed)
		if ok && r.Low > opt.LatencyRatio && cand.Quantile(50)-leg.Quantile(50) > opt.LatencyMinDelta {
			out = append(out, Finding{
				Class: LatencyRegression, Severity: LatencyRegression.Severity(), Journey: k.Journey, Step: k.Step,
				Count: int(cand.Hist.TotalCount()),
				Detail: fmt.Sprintf("p50 %s vs %s: candidate/legacy %.2fx (95%% CI %.2f-%.2f) > tolerance %.2fx and +%s",
					cand.Quantile(50).Round(10*time.Microsecond), leg.Quantile(50).Round(10*time.Microsecond), r.Value, r.Low, r.High, opt.LatencyRatio, opt.LatencyMinDelta),
			})
		}
		if leg.Count == 0 || cand.Count == 0 {
			continue
		}
		pl, pc := float64(leg.Errors)/float64(leg.Count), float64(cand.Errors)/float64(cand.Count)
		if pc-pl > opt.ErrorRateDelta && zTwoProportion(cand.Errors, cand.Count, leg.Errors, leg.Count) > 2.326 {
			out = append(out, Finding{
				Class: ErrorRateRegression, Severity: ErrorRateRegression.Severity(), Journey: k.Journey, Step: k.Step,
				Count:  int(cand.Errors),
				Detail: fmt.Sprintf("error rate %.2f%% vs %.2f%% (tolerance +%.2f points)", 100*pc, 100*pl, 100*opt.ErrorRateDelta),
			})
		}
	}
	return out
}

// zTwoProportion is the z statistic of p1 > p2 with a pooled variance.
func zTwoProportion(x1, n1, x2, n2 int64) float64 {
	p1, p2 := float64(x1)/float64(n1), float64(x2)/float64(n2)
	p := float64(x1+x2) / float64(n1+n2)
	se := math.Sqrt(p * (1 - p) * (1/float64(n1) + 1/float64(n2)))
	if se == 0 {
		return 0
	}
	return (p1 - p2) / se
}
