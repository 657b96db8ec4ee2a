package analysis

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/cutover-dev/cutover/results/record"
)

// Latencies are kept in HDR histograms from 1µs to 5 min with 3 significant digits:
// 0.1% precision at every scale, mergeable across runs and machines. The
// per-second histograms behind the latency-over-time plot use 2 digits (1%) and
// the library's sparse PackedHistogram, so an hour-long run stays small.
const (
	histMin          = int64(time.Microsecond)
	histMax          = int64(5 * time.Minute)
	histDigits       = 3
	timelineDigits   = 2
	maxTimelinePoint = 600
)

func newHist() *hdrhistogram.Histogram { return hdrhistogram.New(histMin, histMax, histDigits) }

func newSecondHist() *hdrhistogram.PackedHistogram {
	return hdrhistogram.NewPacked(histMin, histMax, timelineDigits)
}

func clampLatency(d time.Duration) int64 { return min(max(int64(d), histMin), histMax) }

// StepKey names a step of a journey.
type StepKey struct{ Journey, Step string }

// String returns "journey/step", the form thresholds and reports use.
func (k StepKey) String() string { return k.Journey + "/" + k.Step }

// SideStats are one side's figures for one step.
type SideStats struct {
	// Count is the steps the side performed: answered, errored or invalid. A
	// step the side did not perform (unsupported by the stack, skipped) is
	// counted apart, never as a measurement.
	Count  int64 `json:"count"`
	Errors int64 `json:"errors"`
	// Invalid counts steps whose tokens failed validation (TOKEN_INVALID).
	Invalid int64 `json:"invalid,omitempty"`
	// Unsupported and Skipped count the steps not performed, with the commonest
	// reason of each.
	Unsupported int64        `json:"unsupported,omitempty"`
	Skipped     int64        `json:"skipped,omitempty"`
	NotRun      reasonCounts `json:"-"`
	// Hist holds the latencies of the steps that got an answer (OK outcomes).
	Hist *hdrhistogram.Histogram `json:"-"`
	// Healthy holds the answered latencies measured while the generator was
	// healthy, HealthyCount and HealthyErrors the steps performed then: what the
	// latency and error-rate verdicts are judged on. Nil Healthy (statistics read
	// back from histograms.json) judges on everything.
	Healthy                     *hdrhistogram.Histogram `json:"-"`
	HealthyCount, HealthyErrors int64
	// Failures counts the availability errors by their text, for the steps that
	// fail on (nearly) every attempt (preconditions).
	Failures reasonCounts `json:"-"`
	// perSecond counts answered steps per second of the run, for the share of a
	// step measured inside windows where the generator was saturated.
	perSecond []int32
}

// judged returns the histogram and the counts the verdicts are judged on: the
// samples a healthy generator took. The error rate is judged on every sample
// when no error came while the generator was unhealthy: leaving out answers
// that were fine would only cost the test its power.
func (s *SideStats) judged() (h *hdrhistogram.Histogram, count, errs int64) {
	if s.Healthy == nil {
		return s.Hist, s.Count, s.Errors
	}
	if s.Errors == s.HealthyErrors {
		return s.Healthy, s.Count, s.Errors
	}
	return s.Healthy, s.HealthyCount, s.HealthyErrors
}

// reasonCounts counts texts (why a step did not run, how it failed), keeping at
// most maxReasons distinct ones: a stack that words every error differently
// must not grow it without bound.
type reasonCounts struct {
	texts  []string
	counts []int64
}

const maxReasons = 16

func (rc *reasonCounts) add(text string) {
	for i, t := range rc.texts {
		if t == text {
			rc.counts[i]++
			return
		}
	}
	if len(rc.texts) < maxReasons {
		rc.texts, rc.counts = append(rc.texts, text), append(rc.counts, 1)
	}
}

// Top returns the commonest text and its count.
func (rc reasonCounts) Top() (string, int64) {
	var best string
	var n int64
	for i, t := range rc.texts {
		if rc.counts[i] > n {
			best, n = t, rc.counts[i]
		}
	}
	return best, n
}

func (rc *reasonCounts) merge(o reasonCounts) {
	for i, t := range o.texts {
		for range o.counts[i] {
			rc.add(t)
		}
	}
}

// Quantile returns the latency at quantile q (0..100) of the answered steps.
func (s *SideStats) Quantile(q float64) time.Duration {
	if s.Hist.TotalCount() == 0 {
		return 0
	}
	return time.Duration(s.Hist.ValueAtQuantile(q))
}

// stepStats holds both sides of one step, and the p50 ratio once computed.
type stepStats struct {
	sides [2]SideStats
	ratio *Ratio
	// judged is set when ratio has been computed (it may stay nil: too few samples).
	judged bool
	// calls counts, per endpoint, the candidate records of the step that called
	// it, out of callers, those that list any endpoint.
	calls   []endpointCount
	callers int64
}

type endpointCount struct {
	endpoint string
	n        int64
}

// secondStats is one side's second of the run: every step's latencies together.
type secondStats struct {
	count, errors int64
	hist          *hdrhistogram.PackedHistogram
}

// Stats accumulates per-step, per-side counts, errors and latency histograms, and
// per-second latencies of each side. It is not safe for concurrent use.
type Stats struct {
	steps map[StepKey]*stepStats
	order []StepKey
	// origin is the instant second 0 of the timeline starts at.
	origin  time.Time
	seconds [2][]secondStats
}

// NewStats returns empty statistics whose timeline starts at origin; a zero
// origin means the start of the first record added.
func NewStats(origin time.Time) *Stats {
	return &Stats{steps: make(map[StepKey]*stepStats), origin: origin}
}

func sideIndex(s record.Side) int {
	if s == record.Candidate {
		return 1
	}
	return 0
}

func (st *Stats) step(k StepKey) *stepStats {
	p, ok := st.steps[k]
	if !ok {
		p = &stepStats{sides: [2]SideStats{{Hist: newHist(), Healthy: newHist()}, {Hist: newHist(), Healthy: newHist()}}}
		st.steps[k] = p
		st.order = append(st.order, k)
	}
	return p
}

// second returns the slot of second i of side s, growing the timeline.
func (st *Stats) second(s, i int) *secondStats {
	if i >= len(st.seconds[s]) {
		st.seconds[s] = append(st.seconds[s], make([]secondStats, i+1-len(st.seconds[s]))...)
	}
	return &st.seconds[s][i]
}

// Add accounts one record.
func (st *Stats) Add(r *record.Record) {
	if st.origin.IsZero() {
		st.origin = r.Start.Truncate(time.Second)
	}
	p := st.step(StepKey{r.Journey, r.Step})
	si := sideIndex(r.Side)
	s := &p.sides[si]
	switch r.Outcome {
	case record.Unsupported:
		s.Unsupported++
		s.NotRun.add("unsupported: " + r.Error)
		return
	case record.Skipped:
		s.Skipped++
		s.NotRun.add("skipped: " + r.Error)
		return
	}
	s.Count++
	healthy := !r.Unhealthy
	if healthy {
		s.HealthyCount++
	}
	if si == 1 && len(r.Endpoints) > 0 {
		p.callers++
	next:
		for _, e := range r.Endpoints {
			for i := range p.calls {
				if p.calls[i].endpoint == e {
					p.calls[i].n++
					continue next
				}
			}
			p.calls = append(p.calls, endpointCount{e, 1})
		}
	}
	// A record from before the origin (clock skew, a replay without its summary)
	// counts in the first second rather than vanishing.
	sec := max(int(r.Start.Sub(st.origin)/time.Second), 0)
	ts := st.second(si, sec)
	switch r.Outcome {
	case record.Invalid:
		s.Invalid++
	case record.Error:
		s.Errors++
		s.Failures.add(r.Error)
		if healthy {
			s.HealthyErrors++
		}
		ts.errors++
	case record.OK:
		v := clampLatency(r.Latency)
		_ = s.Hist.RecordValue(v) // in range by construction
		if healthy {
			_ = s.Healthy.RecordValue(v)
		}
		if ts.hist == nil {
			ts.hist = newSecondHist()
		}
		_ = ts.hist.RecordValue(v)
		ts.count++
		if sec >= len(s.perSecond) {
			s.perSecond = append(s.perSecond, make([]int32, sec+1-len(s.perSecond))...)
		}
		s.perSecond[sec]++
	}
}

// Endpoints returns the endpoints step k calls on the candidate: those that at
// least half of its records listing any called, in first-call order. A request
// a step makes only now and then (a lazy sign-in on the first of many) is not
// what the step calls.
func (st *Stats) Endpoints(k StepKey) []string {
	p, ok := st.steps[k]
	if !ok {
		return nil
	}
	var out []string
	for _, c := range p.calls {
		if 2*c.n >= p.callers {
			out = append(out, c.endpoint)
		}
	}
	return out
}

// Keys returns the steps seen, sorted by journey then first appearance.
func (st *Stats) Keys() []StepKey {
	out := slices.Clone(st.order)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Journey < out[j].Journey })
	return out
}

// Side returns the figures of one side for one step (nil if never seen).
func (st *Stats) Side(k StepKey, s record.Side) *SideStats {
	p, ok := st.steps[k]
	if !ok {
		return nil
	}
	return &p.sides[sideIndex(s)]
}

// Origin returns the instant the timeline starts at.
func (st *Stats) Origin() time.Time { return st.origin }

// Merge adds the figures of o, from another run or machine, into st. The
// timelines are aligned on wall-clock seconds.
func (st *Stats) Merge(o *Stats) {
	for _, k := range o.order {
		src, dst := o.steps[k], st.step(k)
		dst.judged, dst.ratio = false, nil
		for i := range dst.sides {
			d, s := &dst.sides[i], &src.sides[i]
			d.Count += s.Count
			d.Errors += s.Errors
			d.Invalid += s.Invalid
			d.Unsupported += s.Unsupported
			d.Skipped += s.Skipped
			d.NotRun.merge(s.NotRun)
			d.Failures.merge(s.Failures)
			d.Hist.Merge(s.Hist)
			switch {
			case s.Healthy == nil:
				d.Healthy = nil // judged on everything from here on
			case d.Healthy != nil:
				d.Healthy.Merge(s.Healthy)
				d.HealthyCount += s.HealthyCount
				d.HealthyErrors += s.HealthyErrors
			}
		}
	}
	if st.origin.IsZero() {
		st.origin = o.origin
	}
	shift := int(o.origin.Sub(st.origin) / time.Second)
	if shift < 0 {
		// o starts first: move st's seconds later so both fit.
		for s := range st.seconds {
			st.seconds[s] = append(make([]secondStats, -shift), st.seconds[s]...)
		}
		st.origin, shift = st.origin.Add(time.Duration(shift)*time.Second), 0
	}
	for s := range o.seconds {
		for i, src := range o.seconds[s] {
			dst := st.second(s, i+shift)
			dst.count += src.count
			dst.errors += src.errors
			if src.hist != nil {
				if dst.hist == nil {
					dst.hist = newSecondHist()
				}
				dst.hist.Merge(src.hist)
			}
		}
	}
}

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
		if ok && r.Low > o.LatencyRatio && cp50-lp50 > o.LatencyMinDelta {
			out = append(out, Finding{
				Class: LatencyRegression, Severity: LatencyRegression.Severity(), Journey: k.Journey, Step: k.Step,
				Count: int(ch.TotalCount()), Examples: []Example{},
				Detail: fmt.Sprintf("p50 %s vs %s: candidate/legacy %.2fx (95%% CI %.2f-%.2f) > tolerance %.2fx and +%s",
					cp50.Round(10*time.Microsecond), lp50.Round(10*time.Microsecond), r.Value, r.Low, r.High, o.LatencyRatio, o.LatencyMinDelta),
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

// Timeline returns the latency over time of both sides, in buckets of whole
// seconds, at most maxTimelinePoint of them; offsets are from start (the origin
// when start is zero).
func (st *Stats) Timeline(start time.Time) Timeline {
	n := max(len(st.seconds[0]), len(st.seconds[1]))
	if n == 0 {
		return Timeline{BucketMS: 1000, Points: []TimePoint{}}
	}
	if start.IsZero() {
		start = st.origin
	}
	width := (n + maxTimelinePoint - 1) / maxTimelinePoint
	shift := st.origin.Sub(start)
	tl := Timeline{BucketMS: int64(width) * 1000, Points: make([]TimePoint, 0, (n+width-1)/width)}
	for b := 0; b < n; b += width {
		tp := TimePoint{T: (shift + time.Duration(b)*time.Second).Seconds()}
		tp.Legacy = st.bucket(0, b, b+width)
		tp.Candidate = st.bucket(1, b, b+width)
		tl.Points = append(tl.Points, tp)
	}
	return tl
}

// bucket merges seconds [from, to) of side s.
func (st *Stats) bucket(s, from, to int) TimeSide {
	var out TimeSide
	var h *hdrhistogram.PackedHistogram
	for i := from; i < to && i < len(st.seconds[s]); i++ {
		sec := &st.seconds[s][i]
		out.Count += sec.count
		out.Errors += sec.errors
		if sec.hist == nil {
			continue
		}
		if h == nil {
			h = sec.hist
			if to-from > 1 {
				h = sec.hist.Clone()
			}
		} else {
			h.Merge(sec.hist)
		}
	}
	if h != nil && h.TotalCount() > 0 {
		v := h.ValueAtPercentilesSlice([]float64{50, 99})
		out.P50, out.P99 = ms(time.Duration(v[0])), ms(time.Duration(v[1]))
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

// parseStepKey splits "journey/step".
func parseStepKey(s string) (StepKey, bool) {
	j, st, ok := strings.Cut(s, "/")
	return StepKey{j, st}, ok && j != "" && st != ""
}
