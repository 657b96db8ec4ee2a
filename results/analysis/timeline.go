package analysis

import (
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
