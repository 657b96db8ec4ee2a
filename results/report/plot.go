package report

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/cutover-dev/cutover/results/analysis"
)

// plot is a line chart ready for the SVG of report.html: every coordinate is
// computed here, so the page needs no script and no external asset.
type plot struct {
	ID, Title string
	W, H      float64
	// The plotting area.
	Left, Top, Right, Bottom float64
	Series                   []series
	XTicks, YTicks           []tick
	// Bands are the windows where the generator was saturated (behind its
	// schedule), Unhealthy those where it was itself unhealthy (its steps set
	// apart from the verdicts).
	Bands, Unhealthy []band
	YUnit            string
	Empty            bool
}

type series struct {
	Name, Class string
	Points      string
	N           int
}

type tick struct {
	Pos   float64
	Label string
}

type band struct{ X, W float64 }

const (
	plotW, plotH                        = 860.0, 260.0
	plotLeft, plotRight                 = 60.0, 845.0
	plotTop, plotBottom                 = 14.0, 228.0
	plotLegacyClass, plotCandidateClass = "legacy", "candidate"
)

func newPlot(id, title, unit string) plot {
	return plot{ID: id, Title: title, W: plotW, H: plotH, Left: plotLeft, Right: plotRight, Top: plotTop, Bottom: plotBottom, YUnit: unit}
}

// latencyPlot draws p50 and p99 of both sides over time on a log scale.
func latencyPlot(s *analysis.Summary) plot {
	p := newPlot("latency-over-time", "Latency over time (p50 solid, p99 dashed; log scale)", "ms")
	type line struct {
		name, class string
		v           func(analysis.TimePoint) (float64, bool)
	}
	val := func(ts func(analysis.TimePoint) analysis.TimeSide, q func(analysis.TimeSide) float64) func(analysis.TimePoint) (float64, bool) {
		return func(tp analysis.TimePoint) (float64, bool) {
			t := ts(tp)
			return q(t), t.Count > 0
		}
	}
	leg := func(tp analysis.TimePoint) analysis.TimeSide { return tp.Legacy }
	cand := func(tp analysis.TimePoint) analysis.TimeSide { return tp.Candidate }
	p50 := func(t analysis.TimeSide) float64 { return t.P50 }
	p99 := func(t analysis.TimeSide) float64 { return t.P99 }
	lines := []line{
		{"legacy p50", plotLegacyClass, val(leg, p50)},
		{"legacy p99", plotLegacyClass + " p99", val(leg, p99)},
		{"candidate p50", plotCandidateClass, val(cand, p50)},
		{"candidate p99", plotCandidateClass + " p99", val(cand, p99)},
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, tp := range s.Timeline.Points {
		for _, l := range lines {
			if v, ok := l.v(tp); ok && v > 0 {
				lo, hi = min(lo, v), max(hi, v)
			}
		}
	}
	if math.IsInf(lo, 1) {
		p.Empty = true
		return p
	}
	ylo, yhi := math.Pow(10, math.Floor(math.Log10(lo))), math.Pow(10, math.Ceil(math.Log10(hi)))
	if ylo == yhi {
		yhi *= 10
	}
	y := func(v float64) float64 {
		f := (math.Log10(v) - math.Log10(ylo)) / (math.Log10(yhi) - math.Log10(ylo))
		return p.Bottom - f*(p.Bottom-p.Top)
	}
	mults := []float64{1, 2, 5}
	if yhi/ylo > 1000 {
		mults = []float64{1}
	}
	for d := ylo; d <= yhi*1.0001; d *= 10 {
		for _, m := range mults {
			if v := d * m; v <= yhi*1.0001 {
				p.YTicks = append(p.YTicks, tick{y(v), fmtMS(v)})
			}
		}
	}
	x := p.timeAxis(s)
	for _, l := range lines {
		var b strings.Builder
		sr := series{Name: l.name, Class: l.class}
		for _, tp := range s.Timeline.Points {
			if v, ok := l.v(tp); ok && v > 0 {
				fmt.Fprintf(&b, "%s,%s ", num(x(tp.T)), num(y(v)))
				sr.N++
			}
		}
		sr.Points = strings.TrimSpace(b.String())
		p.Series = append(p.Series, sr)
	}
	return p
}

// errorPlot draws the availability errors of both sides per bucket.
func errorPlot(s *analysis.Summary) plot {
	p := newPlot("errors-over-time", "Availability errors per bucket", "errors")
	var hi int64
	for _, tp := range s.Timeline.Points {
		hi = max(hi, tp.Legacy.Errors, tp.Candidate.Errors)
	}
	if len(s.Timeline.Points) == 0 {
		p.Empty = true
		return p
	}
	top := float64(max(niceCeil(hi), 1))
	y := func(v float64) float64 { return p.Bottom - v/top*(p.Bottom-p.Top) }
	for i := 0; i <= 4; i++ {
		v := top * float64(i) / 4
		p.YTicks = append(p.YTicks, tick{y(v), strconv.FormatFloat(v, 'f', -1, 64)})
	}
	x := p.timeAxis(s)
	for _, side := range []struct {
		name, class string
		v           func(analysis.TimePoint) int64
	}{
		{"legacy errors", plotLegacyClass, func(tp analysis.TimePoint) int64 { return tp.Legacy.Errors }},
		{"candidate errors", plotCandidateClass, func(tp analysis.TimePoint) int64 { return tp.Candidate.Errors }},
	} {
		var b strings.Builder
		sr := series{Name: side.name, Class: side.class}
		for _, tp := range s.Timeline.Points {
			fmt.Fprintf(&b, "%s,%s ", num(x(tp.T)), num(y(float64(side.v(tp)))))
			sr.N++
		}
		sr.Points = strings.TrimSpace(b.String())
		p.Series = append(p.Series, sr)
	}
	return p
}

// timeAxis sets the x ticks and the saturated and unhealthy bands, and returns the x of an offset
// in seconds.
func (p *plot) timeAxis(s *analysis.Summary) func(float64) float64 {
	end := s.Meta.Duration.Seconds()
	bucket := float64(s.Timeline.BucketMS) / 1000
	if n := len(s.Timeline.Points); n > 0 {
		end = max(end, s.Timeline.Points[n-1].T+bucket)
	}
	end = max(end, 1)
	x := func(t float64) float64 { return p.Left + min(max(t, 0), end)/end*(p.Right-p.Left) }
	step := niceStep(end / 8)
	for t := 0.0; t <= end+1e-9; t += step {
		p.XTicks = append(p.XTicks, tick{x(t), (time.Duration(t * float64(time.Second))).String()})
	}
	for _, w := range s.Generator.Saturated {
		x0, x1 := x(w.From.Seconds()), x(w.To.Seconds())
		p.Bands = append(p.Bands, band{X: x0, W: max(x1-x0, 1)})
	}
	for _, w := range s.Generator.Unhealthy {
		x0, x1 := x(w.From.Seconds()), x(w.To.Seconds())
		p.Unhealthy = append(p.Unhealthy, band{X: x0, W: max(x1-x0, 1)})
	}
	// Points sit at the middle of their bucket.
	return func(t float64) float64 { return x(t + bucket/2) }
}

// niceStep rounds a raw step up to 1, 2 or 5 times a power of ten.
func niceStep(raw float64) float64 {
	if raw <= 0 {
		return 1
	}
	d := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if d*m >= raw {
			return d * m
		}
	}
	return 10 * d
}

func niceCeil(v int64) int64 {
	if v <= 4 {
		return 4
	}
	s := int64(niceStep(float64(v) / 4))
	return (v + s - 1) / s * s
}

func num(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

func fmtMS(v float64) string {
	if v >= 1000 {
		return strconv.FormatFloat(v/1000, 'f', -1, 64) + "s"
	}
	return strconv.FormatFloat(v, 'f', -1, 64) + "ms"
}
