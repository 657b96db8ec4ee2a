package analysis

import (
	"slices"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

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

// StepTimeline returns step k's latency over time, both sides, in buckets of
// whole seconds (at most maxStepPoint of them, wider for longer runs); offsets
// are from start (the origin when start is zero). Nil for a step never seen.
func (st *Stats) StepTimeline(k StepKey, start time.Time) *Timeline {
	p, ok := st.steps[k]
	if !ok {
		return nil
	}
	if start.IsZero() {
		start = st.origin
	}
	leg, cand := &p.timeline[0], &p.timeline[1]
	// The two sides may have widened apart: align the narrower on the wider.
	width := max(leg.width, cand.width, 1)
	sides := [2]*stepTimeline{leg, cand}
	for i, tl := range sides {
		if tl.width != width {
			var w stepTimeline
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

// side returns the figures of one bucket.
func (s *secondStats) side() TimeSide {
	out := TimeSide{Count: s.count, Errors: s.errors}
	if s.hist != nil && s.hist.TotalCount() > 0 {
		v := s.hist.ValueAtPercentilesSlice([]float64{50, 99})
		out.P50, out.P99 = ms(time.Duration(v[0])), ms(time.Duration(v[1]))
	}
	return out
}

// evidence returns the evidence step k's records left, legacy's first.
func (st *Stats) evidence(k StepKey) []StepEvidence {
	p, ok := st.steps[k]
	if !ok {
		return nil
	}
	return slices.Concat(p.evidence[0], p.evidence[1])
}

// stepTimeline is one side's latencies over time for one step, in buckets of
// width seconds. Whenever the run outgrows maxStepPoint buckets the width
// doubles, two buckets merging into one, so its size is bounded whatever the
// run's length; and since the width depends only on the latest second seen and
// bucket edges fall on multiples of it, the buckets do not depend on the order
// the records came in.
type stepTimeline struct {
	width   int
	buckets []secondStats
}

// at returns the bucket of second sec, widening the buckets as needed.
func (tl *stepTimeline) at(sec int) *secondStats {
	if tl.width == 0 {
		tl.width = 1
	}
	for sec/tl.width >= maxStepPoint {
		tl.widen()
	}
	i := sec / tl.width
	if i >= len(tl.buckets) {
		tl.buckets = append(tl.buckets, make([]secondStats, i+1-len(tl.buckets))...)
	}
	return &tl.buckets[i]
}

// widen doubles the width, merging the buckets pairwise.
func (tl *stepTimeline) widen() {
	out := make([]secondStats, (len(tl.buckets)+1)/2)
	for i := range tl.buckets {
		out[i/2].merge(&tl.buckets[i])
	}
	tl.buckets, tl.width = out, tl.width*2
}

// place merges o into tl, o's second 0 at second offset of tl. Where offset is
// not a multiple of the wider of the two widths, a bucket of o lands in the
// bucket of tl that holds its first second.
func (tl *stepTimeline) place(o *stepTimeline, offset int) {
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
