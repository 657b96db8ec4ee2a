package loadgen

import (
	"fmt"
	"math"
	"time"

	"github.com/cutover-dev/cutover/results/record"
)

// AbortRule stops a run that hurts the stacks it rehearses: too many availability
// errors, or a p99 too slow, on either side, over a sliding window, once a grace
// period from the start has passed. A zero limit is off.
type AbortRule struct {
	// Grace is how long after the start no verdict is given (connections warm up).
	Grace time.Duration
	// Window is the sliding window the figures are taken over (default 10s).
	Window time.Duration
	// MaxErrorRate is the highest share of steps that may end in an availability
	// error (5xx, timeout, refused), in (0, 1].
	MaxErrorRate float64
	// MaxP99 is the slowest the 99th percentile of answered steps may be.
	MaxP99 time.Duration
	// MinSamples is how many steps a side needs in the window before it is judged
	// (default 20).
	MinSamples int
}

// AbortError says which rule stopped the run and on what figures.
type AbortError struct {
	Side record.Side
	// What is "error rate" or "p99".
	What          string
	Value, Limit  string
	Errors, Steps int
	Window        time.Duration
}

func (e *AbortError) Error() string {
	if e.What == "p99" {
		return fmt.Sprintf("abort rule: %s p99 %s over the last %s (%d answered steps) exceeds max_p99 %s", e.Side, e.Value, e.Window, e.Steps, e.Limit)
	}
	return fmt.Sprintf("abort rule: %s error rate %s (%d of %d steps) over the last %s exceeds max_error_rate %s", e.Side, e.Value, e.Errors, e.Steps, e.Window, e.Limit)
}

// Watch applies an AbortRule to a stream of records. It is not safe for concurrent
// use: feed it from one goroutine (the record pipeline).
type Watch struct {
	rule  AbortRule
	start time.Time
	slot  time.Duration
	sides [2]sideWindow
	err   *AbortError
}

// slots per window: the window slides by a tenth of itself.
const slots = 10

// Latencies are binned on a log scale from 100µs, 8 bins per doubling (9% wide),
// up to 100µs·2^24 (about 28 min): a p99 to within 9%, in 1.5KB per slot.
const (
	binFloor = 100 * time.Microsecond
	binsPer2 = 8
	nbins    = 24 * binsPer2
)

type sideWindow struct {
	ring [slots]slotCounts
	// sum is the total of the ring: kept as slots come and go, so a check is cheap.
	sum  slotCounts
	seen int // records since the p99 was last looked at
}

type slotCounts struct {
	idx         int64
	steps, errs int
	answered    int
	bins        [nbins]uint32
}

// NewWatch returns a watch of rule for a run that started at start.
func NewWatch(rule AbortRule, start time.Time) *Watch {
	if rule.Window <= 0 {
		rule.Window = 10 * time.Second
	}
	if rule.MinSamples <= 0 {
		rule.MinSamples = 20
	}
	w := &Watch{rule: rule, start: start, slot: max(rule.Window/slots, time.Millisecond)}
	for s := range w.sides {
		for i := range w.sides[s].ring {
			w.sides[s].ring[i].idx = -1
		}
	}
	return w
}

// Observe accounts r, finished at now, and returns an *AbortError the first time a
// limit is exceeded (and nil after that: the run is already stopping).
func (w *Watch) Observe(now time.Time, r *record.Record) error {
	if w.err != nil || (r.Outcome != record.OK && r.Outcome != record.Error) {
		return nil
	}
	side := &w.sides[sideIndex(r.Side)]
	idx := int64(now.Sub(w.start) / w.slot)
	side.advance(idx)
	sc := &side.ring[idx%slots]
	sc.steps++
	side.sum.steps++
	if r.Outcome == record.Error {
		sc.errs++
		side.sum.errs++
	} else {
		b := bin(r.Latency)
		sc.bins[b]++
		side.sum.bins[b]++
		sc.answered++
		side.sum.answered++
	}
	if now.Sub(w.start) < w.rule.Grace || side.sum.steps < w.rule.MinSamples {
		return nil
	}
	if limit := w.rule.MaxErrorRate; limit > 0 {
		if rate := float64(side.sum.errs) / float64(side.sum.steps); rate > limit {
			w.err = &AbortError{Side: r.Side, What: "error rate", Value: pct(rate), Limit: pct(limit),
				Errors: side.sum.errs, Steps: side.sum.steps, Window: w.rule.Window}
			return w.err
		}
	}
	// The p99 scans the bins: look at most every 16 records, and when a slot turns.
	side.seen++
	if limit := w.rule.MaxP99; limit > 0 && side.sum.answered >= w.rule.MinSamples && side.seen >= 16 {
		side.seen = 0
		if p99 := side.sum.quantile(0.99); p99 > limit {
			w.err = &AbortError{Side: r.Side, What: "p99", Value: p99.Round(time.Millisecond).String(), Limit: limit.String(),
				Steps: side.sum.answered, Window: w.rule.Window}
			return w.err
		}
	}
	return nil
}

// advance retires the slots that slid out of the window before slot idx.
func (s *sideWindow) advance(idx int64) {
	sc := &s.ring[idx%slots]
	if sc.idx == idx {
		return
	}
	if sc.idx >= 0 {
		s.sum.steps -= sc.steps
		s.sum.errs -= sc.errs
		s.sum.answered -= sc.answered
		for i, n := range sc.bins {
			s.sum.bins[i] -= n
		}
	}
	*sc = slotCounts{idx: idx}
	s.seen = 16 // a new slot: look at the p99 at the next chance
	// Slots skipped over (nothing was recorded in them) are stale too.
	for i := range s.ring {
		if o := &s.ring[i]; o.idx >= 0 && o.idx <= idx-slots {
			s.sum.steps -= o.steps
			s.sum.errs -= o.errs
			s.sum.answered -= o.answered
			for j, n := range o.bins {
				s.sum.bins[j] -= n
			}
			*o = slotCounts{idx: -1}
		}
	}
}

// quantile returns the upper edge of the bin holding quantile q of the answered
// steps: never below the true value, at most 9% above.
func (c *slotCounts) quantile(q float64) time.Duration {
	rank := int(math.Ceil(q * float64(c.answered)))
	seen := 0
	for i, n := range c.bins {
		seen += int(n)
		if seen >= rank {
			return binTop(i)
		}
	}
	return binTop(nbins - 1)
}

func bin(d time.Duration) int {
	if d <= binFloor {
		return 0
	}
	return min(int(math.Ceil(binsPer2*math.Log2(float64(d)/float64(binFloor)))), nbins-1)
}

func binTop(i int) time.Duration {
	return time.Duration(float64(binFloor) * math.Exp2(float64(i)/binsPer2))
}

func sideIndex(s record.Side) int {
	if s == record.Candidate {
		return 1
	}
	return 0
}

func pct(x float64) string { return fmt.Sprintf("%.1f%%", 100*x) }
