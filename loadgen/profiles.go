package loadgen

import (
	"fmt"
	"math"
	"strings"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// The load shapes of a rehearsal. Each is a vegeta.Pacer and is exact: hit n
// (counting from 0) is due at the instant the expected number of hits, the integral
// of the rate from the start, reaches n+1. That is how vegeta's ConstantPacer and
// k6's ramping-arrival-rate executor place their hits, so a shape keeps its area
// (its number of starts) whatever its rate, and a fraction of a hit left at the end
// of one stage carries into the next.
//
// Pace(elapsed, hits) returns how long after elapsed hit number hits is due: 0 when
// it is already overdue, stop when the shape ends before it. Rate(elapsed) is the
// instantaneous rate in hits per second.

// shape is what every profile here knows: when each hit is due.
type shape interface {
	// due returns when hit n (from 0) is due, or false when the shape ends first.
	due(n uint64) (time.Duration, bool)
}

// pace answers vegeta.Pacer.Pace from a shape.
func pace(s shape, elapsed time.Duration, hits uint64) (time.Duration, bool) {
	at, ok := s.due(hits)
	if !ok {
		return 0, true
	}
	return max(at-elapsed, 0), false
}

// seconds converts a float number of seconds to a Duration, or false when it does
// not fit.
func seconds(s float64) (time.Duration, bool) {
	ns := s * 1e9
	if math.IsNaN(ns) || ns < 0 || ns >= math.MaxInt64 {
		return 0, false
	}
	return time.Duration(math.Round(ns)), true
}

// Constant starts Rate hits per second, forever. Unlike vegeta.ConstantPacer its
// rate need not be a whole number of hits per period.
type Constant struct {
	PerSecond float64
}

var _ vegeta.Pacer = Constant{}

// String describes the shape: Constant{20/s}.
func (c Constant) String() string { return fmt.Sprintf("Constant{%s}", perSecond(c.PerSecond)) }

// Pace implements vegeta.Pacer.
func (c Constant) Pace(elapsed time.Duration, hits uint64) (time.Duration, bool) {
	return pace(c, elapsed, hits)
}

// Rate implements vegeta.Pacer.
func (c Constant) Rate(time.Duration) float64 { return max(c.PerSecond, 0) }

func (c Constant) due(n uint64) (time.Duration, bool) {
	if !(c.PerSecond > 0) {
		return 0, false
	}
	return seconds(float64(n+1) / c.PerSecond)
}

// PeakRate implements PeakRater.
func (c Constant) PeakRate(time.Duration) float64 { return c.PerSecond }

// Stage is one leg of a Stages profile: the rate moves linearly to Target (hits per
// second) over Duration.
type Stage struct {
	Duration time.Duration
	Target   float64
}

// Stages is k6's ramping-arrival-rate: the rate starts at Start and moves linearly
// to each stage's target over that stage's duration; a stage whose target equals
// the previous one holds the rate. The schedule ends with the last stage. Rates
// must be >= 0 and durations > 0; an invalid profile stops at once.
type Stages struct {
	Start  float64
	Stages []Stage
}

var _ vegeta.Pacer = Stages{}

// String describes the shape: Stages{0/s, 10s→20/s, 30s→20/s}.
func (s Stages) String() string {
	parts := []string{perSecond(s.Start)}
	for _, st := range s.Stages {
		parts = append(parts, fmt.Sprintf("%s→%s", st.Duration, perSecond(st.Target)))
	}
	return "Stages{" + strings.Join(parts, ", ") + "}"
}

// Pace implements vegeta.Pacer.
func (s Stages) Pace(elapsed time.Duration, hits uint64) (time.Duration, bool) {
	return pace(s.piecewise(), elapsed, hits)
}

// Rate implements vegeta.Pacer.
func (s Stages) Rate(elapsed time.Duration) float64 { return s.piecewise().rate(elapsed) }

// PeakRate implements PeakRater.
func (s Stages) PeakRate(within time.Duration) float64 { return s.piecewise().peak(within) }

// Total returns the length of the profile: the sum of its stages.
func (s Stages) Total() time.Duration {
	var d time.Duration
	for _, st := range s.Stages {
		d += st.Duration
	}
	return d
}

func (s Stages) piecewise() piecewise { return piecewise{start: s.Start, legs: s.Stages} }

// piecewise is a piecewise-linear rate: legs from start, then, if tail, the last
// rate forever.
type piecewise struct {
	start float64
	legs  []Stage
	tail  bool
}

func (p piecewise) valid() bool {
	if !(p.start >= 0) {
		return false
	}
	for _, l := range p.legs {
		if l.Duration <= 0 || !(l.Target >= 0) || math.IsInf(l.Target, 0) {
			return false
		}
	}
	return !math.IsInf(p.start, 0)
}

// due solves, leg by leg, for the instant the area under the rate reaches n+1.
// Within a leg of length d from rate a to rate b, the area after s seconds is
// a·s + (b-a)·s²/2d; the root is written 2r / (a + sqrt(a² + 2r(b-a)/d)), which is
// stable for flat legs, ramps up and ramps down alike.
func (p piecewise) due(n uint64) (time.Duration, bool) {
	if !p.valid() {
		return 0, false
	}
	want := float64(n + 1)
	var (
		area  float64
		begin float64 // seconds since the start of the current leg
		from  = p.start
	)
	for _, l := range p.legs {
		d := l.Duration.Seconds()
		legArea := (from + l.Target) / 2 * d
		if area+legArea >= want && legArea > 0 {
			r := want - area
			disc := max(from*from+2*r*(l.Target-from)/d, 0)
			s := min(2*r/(from+math.Sqrt(disc)), d)
			return seconds(begin + s)
		}
		area += legArea
		begin += d
		from = l.Target
	}
	if !p.tail || from <= 0 {
		return 0, false
	}
	return seconds(begin + (want-area)/from)
}

func (p piecewise) rate(elapsed time.Duration) float64 {
	if !p.valid() || elapsed < 0 {
		return 0
	}
	from := p.start
	for _, l := range p.legs {
		if elapsed < l.Duration {
			return from + (l.Target-from)*elapsed.Seconds()/l.Duration.Seconds()
		}
		elapsed -= l.Duration
		from = l.Target
	}
	if p.tail {
		return from
	}
	return 0
}

// peak is the highest rate before within (0: ever). Rates are linear between the
// leg ends, so the peak is at a leg end or at within.
func (p piecewise) peak(within time.Duration) float64 {
	if !p.valid() {
		return 0
	}
	best := p.start
	var at time.Duration
	for _, l := range p.legs {
		if within > 0 && at+l.Duration > within {
			return max(best, p.rate(within))
		}
		at += l.Duration
		best = max(best, l.Target)
	}
	return best
}

// Spike holds Base, climbs to Peak over Ramp from At, holds Peak for Hold, comes
// back to Base over Ramp and holds Base for the rest of the run: a campaign email,
// a TV mention, a reconnect after an outage.
type Spike struct {
	Base, Peak     float64
	At, Ramp, Hold time.Duration
}

var _ vegeta.Pacer = Spike{}

// String describes the shape: Spike{10/s, at 20s 5s↑ 80/s for 10s 5s↓}.
func (s Spike) String() string {
	return fmt.Sprintf("Spike{%s, at %s %s↑ %s for %s %s↓}", perSecond(s.Base), s.At, s.Ramp, perSecond(s.Peak), s.Hold, s.Ramp)
}

// Pace implements vegeta.Pacer.
func (s Spike) Pace(elapsed time.Duration, hits uint64) (time.Duration, bool) {
	return pace(s.piecewise(), elapsed, hits)
}

// Rate implements vegeta.Pacer.
func (s Spike) Rate(elapsed time.Duration) float64 { return s.piecewise().rate(elapsed) }

// PeakRate implements PeakRater.
func (s Spike) PeakRate(within time.Duration) float64 { return s.piecewise().peak(within) }

func (s Spike) piecewise() piecewise {
	var legs []Stage
	for _, l := range []Stage{{s.At, s.Base}, {s.Ramp, s.Peak}, {s.Hold, s.Peak}, {s.Ramp, s.Base}} {
		if l.Duration > 0 {
			legs = append(legs, l)
		}
	}
	return piecewise{start: s.Base, legs: legs, tail: true}
}

// Surge is a profile that adds a wave of starts to a base rate, all of one kind of
// journey: the logins of a shift change, the refreshes of tokens that expire
// together. SurgeShare says which share of the starts due at elapsed belong to the
// wave, so the journey mix can send them to the wave's journey.
type Surge interface {
	vegeta.Pacer
	SurgeShare(elapsed time.Duration) float64
}

// ShiftChange is a login storm: over a base rate, a Cohort of extra starts arrives
// within Over from At, building up to the shift's start (the middle of Over) and
// ebbing after it, as when every clinician of a 7am shift logs in between 6:50 and
// 7:10. The wave is a triangle of area Cohort: its peak adds 2·Cohort/Over to Base.
type ShiftChange struct {
	Base     float64
	Cohort   int
	At, Over time.Duration
}

var (
	_ vegeta.Pacer = ShiftChange{}
	_ Surge        = ShiftChange{}
)

// String describes the shape: ShiftChange{5/s + 300 within 2m0s at 30s}.
func (s ShiftChange) String() string {
	return fmt.Sprintf("ShiftChange{%s + %d within %s at %s}", perSecond(s.Base), s.Cohort, s.Over, s.At)
}

// Pace implements vegeta.Pacer.
func (s ShiftChange) Pace(elapsed time.Duration, hits uint64) (time.Duration, bool) {
	return pace(s.piecewise(), elapsed, hits)
}

// Rate implements vegeta.Pacer.
func (s ShiftChange) Rate(elapsed time.Duration) float64 { return s.piecewise().rate(elapsed) }

// PeakRate implements PeakRater.
func (s ShiftChange) PeakRate(within time.Duration) float64 { return s.piecewise().peak(within) }

// SurgeShare implements Surge.
func (s ShiftChange) SurgeShare(elapsed time.Duration) float64 {
	return surgeShare(s.Base, s.Rate(elapsed))
}

func (s ShiftChange) piecewise() piecewise {
	up := s.Over / 2
	return wave(s.Base, s.Cohort, s.At, []time.Duration{up, s.Over - up})
}

// RefreshStorm is a wave of refreshes as a Cohort of tokens, issued together (at a
// login storm, after an outage, by a key rotation), expires together at At: the
// rate jumps within the first tenth of Over as every client finds its token
// expired, then decays over the rest as clients come back at their own pace. The
// wave is a triangle of area Cohort over a base rate.
type RefreshStorm struct {
	Base     float64
	Cohort   int
	At, Over time.Duration
}

var (
	_ vegeta.Pacer = RefreshStorm{}
	_ Surge        = RefreshStorm{}
)

// String describes the shape: RefreshStorm{5/s + 500 within 1m0s at 40s}.
func (s RefreshStorm) String() string {
	return fmt.Sprintf("RefreshStorm{%s + %d within %s at %s}", perSecond(s.Base), s.Cohort, s.Over, s.At)
}

// Pace implements vegeta.Pacer.
func (s RefreshStorm) Pace(elapsed time.Duration, hits uint64) (time.Duration, bool) {
	return pace(s.piecewise(), elapsed, hits)
}

// Rate implements vegeta.Pacer.
func (s RefreshStorm) Rate(elapsed time.Duration) float64 { return s.piecewise().rate(elapsed) }

// PeakRate implements PeakRater.
func (s RefreshStorm) PeakRate(within time.Duration) float64 { return s.piecewise().peak(within) }

// SurgeShare implements Surge.
func (s RefreshStorm) SurgeShare(elapsed time.Duration) float64 {
	return surgeShare(s.Base, s.Rate(elapsed))
}

func (s RefreshStorm) piecewise() piecewise {
	up := s.Over / 10
	return wave(s.Base, s.Cohort, s.At, []time.Duration{up, s.Over - up})
}

// wave is base, then a triangle of area cohort from at, rising over the first leg
// and falling over the second, then base forever.
func wave(base float64, cohort int, at time.Duration, legs []time.Duration) piecewise {
	over := legs[0] + legs[1]
	if over <= 0 || cohort <= 0 {
		return piecewise{start: base, tail: true}
	}
	top := base + 2*float64(cohort)/over.Seconds()
	p := piecewise{start: base, tail: true}
	for _, l := range []Stage{{at, base}, {legs[0], top}, {legs[1], base}} {
		if l.Duration > 0 {
			p.legs = append(p.legs, l)
		}
	}
	return p
}

func surgeShare(base, rate float64) float64 {
	if rate <= 0 || rate <= base {
		return 0
	}
	return (rate - base) / rate
}

// Sine swings the rate around Mean by Amp with the given Period, starting at Phase
// radians (vegeta's MeanUp, Peak, MeanDown and Trough name the usual ones): the
// daily tide of a patient portal. Amp may equal Mean (the rate touches zero at the
// trough) but not exceed it; an invalid profile stops at once.
type Sine struct {
	Mean, Amp float64
	Period    time.Duration
	Phase     float64
}

var _ vegeta.Pacer = Sine{}

// String describes the shape: Sine{20/s ± 15/s every 1m0s from 1.5π}.
func (s Sine) String() string {
	return fmt.Sprintf("Sine{%s ± %s every %s from %gπ}", perSecond(s.Mean), perSecond(s.Amp), s.Period, s.Phase/math.Pi)
}

func (s Sine) valid() bool {
	return s.Period > 0 && s.Mean > 0 && s.Amp >= 0 && s.Amp <= s.Mean && !math.IsInf(s.Mean, 0) && !math.IsNaN(s.Phase)
}

// Pace implements vegeta.Pacer.
func (s Sine) Pace(elapsed time.Duration, hits uint64) (time.Duration, bool) {
	return pace(s, elapsed, hits)
}

// Rate implements vegeta.Pacer.
func (s Sine) Rate(elapsed time.Duration) float64 {
	if !s.valid() {
		return 0
	}
	return s.Mean + s.Amp*math.Sin(s.Phase+2*math.Pi*elapsed.Seconds()/s.Period.Seconds())
}

// PeakRate implements PeakRater.
func (s Sine) PeakRate(within time.Duration) float64 {
	if !s.valid() {
		return 0
	}
	if within <= 0 || within >= s.Period {
		return s.Mean + s.Amp
	}
	// Sample finely enough to be within 0.1% of the true peak of a short run.
	best := 0.0
	for i := 0; i <= 1000; i++ {
		best = max(best, s.Rate(within*time.Duration(i)/1000))
	}
	return best
}

// hits is the area under the rate after t seconds:
// Mean·t + (Amp·P/2π)(cos φ − cos(φ + 2πt/P)).
func (s Sine) hits(t float64) float64 {
	p := s.Period.Seconds()
	return s.Mean*t + s.Amp*p/(2*math.Pi)*(math.Cos(s.Phase)-math.Cos(s.Phase+2*math.Pi*t/p))
}

// due finds the first nanosecond at which the area reaches n+1 by bisection: the
// area is within ±Amp·P/π of Mean·t, which brackets the answer in one period.
func (s Sine) due(n uint64) (time.Duration, bool) {
	if !s.valid() {
		return 0, false
	}
	want := float64(n + 1)
	slack := s.Amp * s.Period.Seconds() / math.Pi
	lo, ok1 := seconds(max((want-slack)/s.Mean, 0))
	hi, ok2 := seconds((want + slack) / s.Mean)
	if !ok1 || !ok2 {
		return 0, false
	}
	for lo < hi {
		mid := lo + (hi-lo)/2
		if s.hits(mid.Seconds()) >= want {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo, true
}

// PeakRater is implemented by profiles that know their highest rate before within
// (0: over their whole life). The profiles of this package all do.
type PeakRater interface {
	PeakRate(within time.Duration) float64
}

// Peak returns the highest rate p reaches within d: exact for a PeakRater,
// otherwise sampled every millisecond of d (every d/100000 for long runs).
func Peak(p vegeta.Pacer, d time.Duration) float64 {
	if pk, ok := p.(PeakRater); ok {
		return pk.PeakRate(d)
	}
	step := max(time.Millisecond, d/100000)
	best := 0.0
	for t := time.Duration(0); t <= d; t += step {
		best = max(best, p.Rate(t))
	}
	return best
}

func perSecond(r float64) string { return fmt.Sprintf("%g/s", r) }
