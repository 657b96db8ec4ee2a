package loadgen

import (
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/cutover-dev/cutover/internal/splitmix"
	"github.com/cutover-dev/cutover/results/record"
)

// Mix chooses the journey each start runs: by weight, from the seed and the start's
// number, so a run is reproducible start for start. A surge (a shift change, a
// refresh storm) sends its share of the starts due at each instant to its own
// journey, on top of the weighted mix. A Mix is a value, safe for concurrent use.
type Mix struct {
	weights []float64
	total   float64
	seed    uint64
	surge   Surge
	surgeTo int
}

// Draws of a start, so that two choices made for one start are independent.
const (
	drawJourney uint64 = iota + 1
	drawSurge
	drawSide
	drawShare
)

// NewMix returns a mix of journeys with the given weights (>= 0; a journey of
// weight 0 runs only as a surge's journey). surge, if not nil, sends its share of
// the starts to journey surgeTo.
func NewMix(weights []float64, seed uint64, surge Surge, surgeTo int) Mix {
	m := Mix{weights: weights, seed: seed, surge: surge, surgeTo: surgeTo}
	for _, w := range weights {
		m.total += w
	}
	return m
}

// Pick returns the index of the journey start t runs.
func (m Mix) Pick(t Tick) int {
	return m.pick(t.N, t.Offset)
}

func (m Mix) pick(n uint64, at time.Duration) int {
	if m.surge != nil && unit(m.seed, n, drawSurge) < m.surge.SurgeShare(at) {
		return m.surgeTo
	}
	x := unit(m.seed, n, drawJourney) * m.total
	last := 0
	for i, w := range m.weights {
		if w <= 0 {
			continue
		}
		if x < w {
			return i
		}
		x -= w
		last = i
	}
	return last // x landed on total itself through rounding
}

// Counts returns how many of the starts of p within d run each journey: exact, as
// the run will choose them.
func (m Mix) Counts(p vegeta.Pacer, d time.Duration) []int {
	out := make([]int, len(m.weights))
	Schedule(p, d, func(n uint64, at time.Duration) bool {
		out[m.pick(n, at)]++
		return true
	})
	return out
}

// FirstSide is the side that goes first for start n when the pairing is in
// randomised order: a fair coin drawn from the seed.
func FirstSide(seed, n uint64) record.Side {
	if unit(seed, n, drawSide) < 0.5 {
		return record.Legacy
	}
	return record.Candidate
}

// InShare reports whether start n belongs to a share (0..1) of the starts, drawn
// from the seed independently of the journey mix and the pairing: e.g. the starts
// that run in a real browser.
func InShare(seed, n uint64, share float64) bool { return unit(seed, n, drawShare) < share }

// unit is a uniform draw in [0, 1) from the seed, the start and what it is for.
func unit(seed, n, draw uint64) float64 {
	return float64(splitmix.Mix64(seed^splitmix.Mix64(n^draw<<56))>>11) / (1 << 53)
}
