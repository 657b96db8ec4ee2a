package analysis

import (
	"slices"
	"time"
)

// Timeline returns the latency over time of both sides, every step together,
// in buckets of whole seconds (at most maxTimelinePoint of them, wider for
// longer runs); offsets are from start (the origin when start is zero).
func (st *Stats) Timeline(start time.Time) Timeline {
	return *st.timeline(&st.overall[0], &st.overall[1], start)
}

// StepTimeline returns step k's latency over time, both sides, in buckets of
// whole seconds (at most maxStepPoint of them, wider for longer runs); offsets
// are from start (the origin when start is zero). Nil for a step never seen.
func (st *Stats) StepTimeline(k StepKey, start time.Time) *Timeline {
	p, ok := st.steps[k]
	if !ok {
		return nil
	}
	return st.timeline(&p.timeline[0], &p.timeline[1], start)
}

// timeline returns the points of two sides' series.
func (st *Stats) timeline(leg, cand *series, start time.Time) *Timeline {
	if start.IsZero() {
		start = st.origin
	}
	// The two sides may have widened apart: align the narrower on the wider.
	width := max(leg.width, cand.width, 1)
	sides := [2]*series{leg, cand}
	for i, tl := range sides {
		if tl.width != width {
			w := series{limit: tl.limit}
			w.place(tl, 0)
			for w.width < width {
				w.widen()
			}
			sides[i] = &w
		}
	}
	n := max(len(sides[0].buckets), len(sides[1].buckets))
	shift := st.origin.Sub(start)
	tl := &Timeline{BucketMS: int64(width) * 1000, Points: make([]TimePoint, n)}
	for b := range n {
		tp := &tl.Points[b]
		tp.T = (shift + time.Duration(b*width)*time.Second).Seconds()
		if b < len(sides[0].buckets) {
			tp.Legacy = sides[0].buckets[b].side()
		}
		if b < len(sides[1].buckets) {
			tp.Candidate = sides[1].buckets[b].side()
		}
	}
	return tl
}

// evidence returns the evidence step k's records left, legacy's first.
func (st *Stats) evidence(k StepKey) []StepEvidence {
	p, ok := st.steps[k]
	if !ok {
		return nil
	}
	return slices.Concat(p.evidence[0], p.evidence[1])
}

// series is one side's latencies over time, in buckets of width seconds.
// Whenever the run outgrows limit buckets (maxStepPoint when unset) the width
// doubles, two buckets merging into one, so its size is bounded whatever the
// run's length; and since the width depends only on the latest second seen and
// bucket edges fall on multiples of it, the buckets do not depend on the order
// the records came in. A bucket the run has moved sealLag seconds past is
// sealed: its histogram's spare capacity released, as few more records
// will come to it (one that does still counts).
type series struct {
	width, limit int
	buckets      []secondStats
	// sealed is how many of the first buckets were sealed.
	sealed int
}

// sealLag is how far behind the latest second a bucket must end before it is
// sealed: longer than a step usually takes, as records come in when their
// step ends but count in the second it started.
const sealLag = 10

// at returns the bucket of second sec, widening the buckets as needed.
func (tl *series) at(sec int) *secondStats {
	if tl.width == 0 {
		tl.width = 1
	}
	if tl.limit == 0 {
		tl.limit = maxStepPoint
	}
	for sec/tl.width >= tl.limit {
		tl.widen()
	}
	i := sec / tl.width
	if i >= len(tl.buckets) {
		tl.buckets = append(tl.buckets, make([]secondStats, i+1-len(tl.buckets))...)
		tl.seal()
	}
	return &tl.buckets[i]
}

// seal seals the buckets that end sealLag seconds or more before the start
// of the latest one.
func (tl *series) seal() {
	upto := len(tl.buckets) - 1 - (sealLag+tl.width-1)/tl.width
	for ; tl.sealed < upto; tl.sealed++ {
		tl.buckets[tl.sealed].seal()
	}
}

// widen doubles the width, merging the buckets pairwise.
func (tl *series) widen() {
	out := make([]secondStats, (len(tl.buckets)+1)/2)
	for i := range tl.buckets {
		out[i/2].merge(&tl.buckets[i])
	}
	tl.buckets, tl.width, tl.sealed = out, tl.width*2, 0
	tl.seal()
}

// place merges o into tl, o's second 0 at second offset of tl. Where offset is
// not a multiple of the wider of the two widths, a bucket of o lands in the
// bucket of tl that holds its first second.
func (tl *series) place(o *series, offset int) {
	if tl.width == 0 {
		tl.width = 1
	}
	for tl.width < o.width {
		tl.widen()
	}
	for i := range o.buckets {
		if b := &o.buckets[i]; b.count > 0 || b.errors > 0 {
			tl.at(max(i*o.width+offset, 0)).merge(b)
		}
	}
}

// moved returns a copy of tl whose second 0 is at second offset.
func (tl *series) moved(offset int) series {
	out := series{limit: tl.limit}
	out.place(tl, offset)
	return out
}
