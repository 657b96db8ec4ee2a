package analysis

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/cutover-dev/cutover/results/record"
)

// PerfOptions set when a speed or availability difference is a regression.
type PerfOptions struct {
	// LatencyRatio: candidate p50 over legacy p50 beyond which a step regressed,
	// if the lower bound of the 95% confidence interval is beyond it too.
	LatencyRatio float64 `json:"latency_ratio"`
	// LatencyMinDelta is the smallest p50 difference that can be a regression: a
	// step 0.2ms slower at 3x is a ratio, not a problem a user feels.
	LatencyMinDelta time.Duration `json:"latency_min_delta_ns"`
	// MinSamples per side before a latency verdict is given.
	MinSamples int64 `json:"min_samples"`
	// ErrorRateDelta: candidate error rate minus legacy's beyond which availability
	// regressed, if a one-sided two-proportion z-test at 99% agrees.
	ErrorRateDelta float64 `json:"error_rate_delta"`
	// Seed drives the bootstrap, so a report renders the same twice.
	Seed uint64 `json:"seed"`
	// Limits are absolute bounds on percentiles of every step's candidate
	// latency ("p95 < 300ms"), judged beside the comparison with legacy.
	Limits []LatencyLimit `json:"limits,omitempty"`
	// Steps override the latency and error-rate tolerances of single steps, keyed
	// by "journey/step".
	Steps map[string]StepTolerance `json:"steps,omitempty"`
}

// StepTolerance overrides the performance tolerances of one step; zero fields
// keep the run's.
type StepTolerance struct {
	LatencyRatio    float64       `json:"latency_ratio,omitempty"`
	LatencyMinDelta time.Duration `json:"latency_min_delta_ns,omitempty"`
	ErrorRateDelta  float64       `json:"error_rate_delta,omitempty"`
	// Limits, when set, replace the run's absolute limits for the step.
	Limits []LatencyLimit `json:"limits,omitempty"`
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

// forStep returns the tolerances that apply to step k.
func (o PerfOptions) forStep(k StepKey) PerfOptions {
	t, ok := o.Steps[k.String()]
	if !ok {
		return o
	}
	if t.LatencyRatio != 0 {
		o.LatencyRatio = t.LatencyRatio
	}
	if t.LatencyMinDelta != 0 {
		o.LatencyMinDelta = t.LatencyMinDelta
	}
	if t.ErrorRateDelta != 0 {
		o.ErrorRateDelta = t.ErrorRateDelta
	}
	if t.Limits != nil {
		o.Limits = t.Limits
	}
	return o
}

// P50Ratio bootstraps the ratio of medians of the two sides of step k, once per
// step: later calls return the first answer. ok is false when either side has
// fewer than minSamples answered steps.
func (st *Stats) P50Ratio(k StepKey, minSamples int64, seed uint64) (r Ratio, ok bool) {
	p, found := st.steps[k]
	if !found {
		return Ratio{}, false
	}
	if !p.judged {
		p.judged = true
		leg, _, _ := p.sides[0].judged()
		cand, _, _ := p.sides[1].judged()
		if leg.TotalCount() >= minSamples && cand.TotalCount() >= minSamples && minSamples > 0 {
			r := ratioCI(cand, leg, seed^stepSeed(k))
			p.ratio = &r
		}
	}
	if p.ratio == nil {
		return Ratio{}, false
	}
	return *p.ratio, true
}

// stepSeed spreads the bootstrap seed over steps (FNV-1a of the key).
func stepSeed(k StepKey) uint64 {
	h := uint64(14695981039346656037)
	for _, s := range []string{k.Journey, "\x00", k.Step} {
		for i := 0; i < len(s); i++ {
			h = (h ^ uint64(s[i])) * 1099511628211
		}
	}
	return h
}

// PerfFindings returns LATENCY_REGRESSION and ERROR_RATE_REGRESSION findings,
// judged on the samples taken while the generator was healthy (see
// record.Record.Unhealthy): a step is judged when both sides have MinSamples
// such answers; the others are listed by PerfCoverage, never guessed.
func (st *Stats) PerfFindings(opt PerfOptions) []Finding {
	opt = opt.withDefaults()
	var out []Finding
	for _, k := range st.Keys() {
		o := opt.forStep(k)
		leg, cand := st.Side(k, record.Legacy), st.Side(k, record.Candidate)
		lh, ln, le := leg.judged()
		ch, cn, ce := cand.judged()
		r, ok := st.P50Ratio(k, o.MinSamples, o.Seed)
		lp50, cp50 := time.Duration(lh.ValueAtQuantile(50)), time.Duration(ch.ValueAtQuantile(50))
		var details []string
		if ok && r.Low > o.LatencyRatio && cp50-lp50 > o.LatencyMinDelta {
			details = append(details, fmt.Sprintf("p50 %s vs %s: candidate/legacy %.2fx (95%% CI %.2f-%.2f) > tolerance %.2fx and +%s",
				cp50.Round(10*time.Microsecond), lp50.Round(10*time.Microsecond), r.Value, r.Low, r.High, o.LatencyRatio, o.LatencyMinDelta))
		}
		// The absolute limits need only the candidate's answers: a step legacy
		// does not perform is held to them too. A run that drove legacy alone
		// (a capacity test of it) holds legacy to them.
		judged, other := ch, lh
		if ch.TotalCount() == 0 {
			judged, other = lh, ch
		}
		if judged.TotalCount() >= o.MinSamples {
			var breaches []string
			for _, l := range o.Limits {
				obs, low, breached := limitBreach(judged, l)
				if !breached {
					continue
				}
				b := fmt.Sprintf("%s %s (95%% CI from %s) > limit %s", l.name(), roundMs(obs), roundMs(low), l.Max)
				if l.Percentile >= 100 {
					b = fmt.Sprintf("max %s > limit %s", roundMs(obs), l.Max)
				}
				if other.TotalCount() > 0 {
					b += fmt.Sprintf(" (legacy %s)", roundMs(time.Duration(other.ValueAtQuantile(l.Percentile))))
				}
				breaches = append(breaches, b)
			}
			if len(breaches) > 0 {
				details = append(details, limitText(breaches))
			}
		}
		if len(details) > 0 {
			out = append(out, Finding{
				Class: LatencyRegression, Severity: LatencyRegression.Severity(), Journey: k.Journey, Step: k.Step,
				Count: int(judged.TotalCount()), Examples: []Example{}, Detail: strings.Join(details, "; "),
			})
		}
		if ln == 0 || cn == 0 {
			continue
		}
		pl, pc := float64(le)/float64(ln), float64(ce)/float64(cn)
		if pc-pl > o.ErrorRateDelta && zTwoProportion(ce, cn, le, ln) > 2.326 {
			out = append(out, Finding{
				Class: ErrorRateRegression, Severity: ErrorRateRegression.Severity(), Journey: k.Journey, Step: k.Step,
				Count: int(ce), Examples: []Example{},
				Detail: fmt.Sprintf("error rate %.2f%% vs %.2f%% (tolerance +%.2f points)", 100*pc, 100*pl, 100*o.ErrorRateDelta),
			})
		}
	}
	return out
}

// perfJudgement says whether step k got a latency verdict and, when it did
// not, why: a side that did not perform it, too few answers, or too few answers
// from a healthy generator (untrusted: enough were measured, but not soundly).
func (st *Stats) perfJudgement(k StepKey, opt PerfOptions) (judged bool, reason string, untrusted bool) {
	o := opt.withDefaults().forStep(k)
	leg, cand := st.Side(k, record.Legacy), st.Side(k, record.Candidate)
	if leg == nil || cand == nil || leg.Count == 0 || cand.Count == 0 {
		return false, "performed on one side only", false
	}
	lh, _, _ := leg.judged()
	ch, _, _ := cand.judged()
	min := o.MinSamples
	switch {
	case lh.TotalCount() >= min && ch.TotalCount() >= min:
		return true, "", false
	case leg.Hist.TotalCount() >= min && cand.Hist.TotalCount() >= min:
		return false, fmt.Sprintf("only %d legacy and %d candidate answers of %d and %d ran on a healthy generator (min_samples %d)",
			lh.TotalCount(), ch.TotalCount(), leg.Hist.TotalCount(), cand.Hist.TotalCount(), min), true
	}
	return false, fmt.Sprintf("too few answers: legacy %d, candidate %d (min_samples %d)", leg.Hist.TotalCount(), cand.Hist.TotalCount(), min), false
}

// unhealthyShare is the share of step k's performed steps (both sides) that ran
// while the generator was unhealthy.
func (st *Stats) unhealthyShare(k StepKey) float64 {
	p, ok := st.steps[k]
	if !ok {
		return 0
	}
	var all, healthy int64
	for i := range p.sides {
		s := &p.sides[i]
		if s.Healthy == nil {
			return 0
		}
		all += s.Count
		healthy += s.HealthyCount
	}
	if all == 0 {
		return 0
	}
	return float64(all-healthy) / float64(all)
}

// saturatedShare returns the share of step k's answered samples (both sides) that
// started inside the windows, given as offsets from start.
func (st *Stats) saturatedShare(k StepKey, start time.Time, windows []record.Window) float64 {
	p, ok := st.steps[k]
	if !ok || len(windows) == 0 {
		return 0
	}
	shift := st.origin.Sub(start)
	var in, total int64
	for _, s := range p.sides {
		for i, n := range s.perSecond {
			mid := shift + time.Duration(i)*time.Second + time.Second/2
			total += int64(n)
			for _, w := range windows {
				if mid >= w.From && mid < w.To {
					in += int64(n)
					break
				}
			}
		}
	}
	if total == 0 {
		return 0
	}
	return float64(in) / float64(total)
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
