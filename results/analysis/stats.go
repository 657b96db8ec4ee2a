package analysis

import (
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/cutover-dev/cutover/results/record"
)

// Latencies are kept in HDR histograms from 1µs to 5 min with 3 significant digits:
// 0.1% precision at every scale, mergeable across runs and machines: every
// verdict and every figure of a table is read from them. The histograms behind
// the latency-over-time plots use one significant digit (HdrHistogram's 16
// sub-buckets, a point drawn at its bucket's middle: within about 3%, less than
// the sampling error of a p99 drawn from one second's few hundred samples) and
// the library's sparse PackedHistogram; a
// bucket the run has moved past is sealed (see secondStats), and the plots
// widen their buckets rather than grow past their caps, so a run's memory does
// not grow with its length.
const (
	histMin          = int64(time.Microsecond)
	histMax          = int64(5 * time.Minute)
	histDigits       = 3
	timelineDigits   = 1
	maxTimelinePoint = 600
	// maxStepPoint caps the points of each step's own timeline: drawn small,
	// one plot per step, it needs far fewer than the run's, and a run of many
	// steps must stay small.
	maxStepPoint = 60
	// maxStepEvidence is how many records' evidence a step keeps per side.
	maxStepEvidence = 5
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
	// hosts counts, per host, the candidate records of the step that sent to
	// it, out of hostCallers, those that list any host.
	hosts       []endpointCount
	hostCallers int64
	// timeline is each side's latency over time for this step alone;
	// evidence the first records of each side that left evidence files.
	timeline [2]series
	evidence [2][]StepEvidence
}

// StepEvidence is what a step left to look at when it failed: the files of one
// record (a browser step's screenshot and redacted DOM excerpt), relative to the
// results folder.
type StepEvidence struct {
	Side      record.Side    `json:"side"`
	Persona   string         `json:"persona"`
	Iteration uint64         `json:"iter"`
	Outcome   record.Outcome `json:"outcome"`
	// Error is the record's error, when it has one (redacted like every record).
	Error string   `json:"error,omitempty"`
	Files []string `json:"files"`
}

type endpointCount struct {
	endpoint string
	n        int64
}

// Stats accumulates per-step, per-side counts, errors and latency histograms, and
// the latencies over time of each side. It is not safe for concurrent use.
type Stats struct {
	steps map[StepKey]*stepStats
	order []StepKey
	// signIns counts, per side, journey, step and persona kind, the sign-ins
	// that should have been allowed and how many were refused.
	signIns map[signInKey]*signInCount
	// origin is the instant second 0 of the timeline starts at.
	origin time.Time
	// overall is each side's latency over time, every step together.
	overall [2]series
}

// NewStats returns empty statistics whose timeline starts at origin; a zero
// origin means the start of the first record added.
func NewStats(origin time.Time) *Stats {
	return &Stats{steps: make(map[StepKey]*stepStats), signIns: make(map[signInKey]*signInCount), origin: origin,
		overall: [2]series{{limit: maxTimelinePoint}, {limit: maxTimelinePoint}}}
}

// signInKey is one kind's sign-in step on one side.
type signInKey struct {
	side          int
	journey, step string
	kind          string
}

// signInCount is how the sign-ins of a signInKey went.
type signInCount struct {
	attempts, refused int64
	reasons           reasonCounts
}

// countSignIn accounts a sign-in that should have been allowed.
func (st *Stats) countSignIn(r *record.Record) {
	if r.Step != record.StepLogin && r.Step != record.StepServiceToken || r.Facts.Expected != record.Allow {
		return
	}
	k := signInKey{sideIndex(r.Side), r.Journey, r.Step, r.Kind}
	c, ok := st.signIns[k]
	if !ok {
		c = &signInCount{}
		st.signIns[k] = c
	}
	c.attempts++
	if r.Facts.Decision == record.Deny {
		c.refused++
		c.reasons.add(r.Error)
	}
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

// Add accounts one record.
func (st *Stats) Add(r *record.Record) {
	if st.origin.IsZero() {
		st.origin = r.Start.Truncate(time.Second)
	}
	p := st.step(StepKey{r.Journey, r.Step})
	si := sideIndex(r.Side)
	s := &p.sides[si]
	if len(r.Evidence) > 0 && len(p.evidence[si]) < maxStepEvidence {
		p.evidence[si] = append(p.evidence[si], StepEvidence{Side: r.Side, Persona: r.Persona, Iteration: r.Iteration,
			Outcome: r.Outcome, Error: r.Error, Files: slices.Clone(r.Evidence)})
	}
	switch r.Outcome {
	case record.Unsupported, record.Unverified:
		// An unverified step is one the stack could not be seen to perform:
		// counted with the unsupported ones, its reason kept as it is.
		s.Unsupported++
		s.NotRun.add(string(r.Outcome) + ": " + r.Error)
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
	if si == 1 && len(r.Hosts) > 0 {
		p.hostCallers++
		p.hosts = countEach(p.hosts, r.Hosts)
	}
	if si == 1 && len(r.Endpoints) > 0 {
		p.callers++
		p.calls = countEach(p.calls, r.Endpoints)
	}
	// A record from before the origin (clock skew, a replay without its summary)
	// counts in the first second rather than vanishing.
	sec := max(int(r.Start.Sub(st.origin)/time.Second), 0)
	ts, own := st.overall[si].at(sec), p.timeline[si].at(sec)
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
		own.errors++
	case record.OK:
		st.countSignIn(r)
		v := clampLatency(r.Latency)
		_ = s.Hist.RecordValue(v) // in range by construction
		if healthy {
			_ = s.Healthy.RecordValue(v)
		}
		ts.record(v)
		own.record(v)
		if sec >= len(s.perSecond) {
			s.perSecond = append(s.perSecond, make([]int32, sec+1-len(s.perSecond))...)
		}
		s.perSecond[sec]++
	}
}

// countEach adds one to the count of each of names.
func countEach(counts []endpointCount, names []string) []endpointCount {
next:
	for _, e := range names {
		for i := range counts {
			if counts[i].endpoint == e {
				counts[i].n++
				continue next
			}
		}
		counts = append(counts, endpointCount{e, 1})
	}
	return counts
}

// Hosts returns the hosts step k sends to on the candidate: those that at
// least half of its records listing any sent to.
func (st *Stats) Hosts(k StepKey) []string {
	p, ok := st.steps[k]
	if !ok {
		return nil
	}
	var out []string
	for _, c := range p.hosts {
		if 2*c.n >= p.hostCallers {
			out = append(out, c.endpoint)
		}
	}
	return out
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
	if st.origin.IsZero() {
		st.origin = o.origin
	}
	shift := int(o.origin.Sub(st.origin) / time.Second)
	if shift < 0 {
		// o starts first: move st's seconds later so both fit.
		for i := range st.overall {
			st.overall[i] = st.overall[i].moved(-shift)
		}
		for _, p := range st.steps {
			for i := range p.timeline {
				p.timeline[i] = p.timeline[i].moved(-shift)
			}
		}
		st.origin, shift = st.origin.Add(time.Duration(shift)*time.Second), 0
	}
	for _, k := range o.order {
		src, dst := o.steps[k], st.step(k)
		dst.judged, dst.ratio = false, nil
		for i := range dst.timeline {
			dst.timeline[i].place(&src.timeline[i], shift)
			dst.evidence[i] = append(dst.evidence[i], src.evidence[i][:min(len(src.evidence[i]), maxStepEvidence-len(dst.evidence[i]))]...)
		}
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
	for i := range st.overall {
		st.overall[i].place(&o.overall[i], shift)
	}
}

// parseStepKey splits "journey/step".
func parseStepKey(s string) (StepKey, bool) {
	j, st, ok := strings.Cut(s, "/")
	return StepKey{j, st}, ok && j != "" && st != ""
}
