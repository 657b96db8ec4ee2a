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
// computed here, so the page needs no script and no external asset. Legacy is
// drawn solid blue and candidate dashed orange, so the sides differ by more
// than their colour.
type plot struct {
	ID, Title string
	W, H      float64
	// The plotting area.
	Left, Top, Right, Bottom float64
	// XTitle and YTitle name the axes, with their units.
	XTitle, YTitle string
	Series         []series
	XTicks, YTicks []tick
	// Bands are the windows where the generator was saturated (behind its
	// schedule), Unhealthy those where it was itself unhealthy (its steps set
	// apart from the verdicts).
	Bands, Unhealthy []band
	Empty            bool
	// Note says what the plot leaves out, under it.
	Note string
}

type series struct {
	Name, Class string
	Points      string
	N           int
	// Marks are the points drawn as markers (the percentile plots).
	Marks []mark
}

// mark is one marker of a series, with its value as a tooltip.
type mark struct {
	X, Y  float64
	Title string
}

type tick struct {
	Pos   float64
	Label string
}

type band struct{ X, W float64 }

// PlotHeight is the height of the plotting area.
func (p plot) PlotHeight() float64 { return p.Bottom - p.Top }

// XMid is the middle of the x axis, where its title goes.
func (p plot) XMid() float64 { return (p.Left + p.Right) / 2 }

// YMid is the middle of the y axis, where its title goes.
func (p plot) YMid() float64 { return (p.Top + p.Bottom) / 2 }

const (
	plotLegacyClass, plotCandidateClass = "legacy", "candidate"
	xTitleTime                          = "time since the run's start"
)

// newPlot returns a run-wide plot, the width of the page.
func newPlot(id, title string) plot {
	return plot{ID: id, Title: title, W: 860, H: 282, Left: 66, Right: 845, Top: 14, Bottom: 228, XTitle: xTitleTime}
}

// newSmallPlot returns one of the small multiples, a few to a row.
func newSmallPlot(id, title string) plot {
	return plot{ID: id, Title: title, W: 320, H: 196, Left: 50, Right: 310, Top: 10, Bottom: 148, XTitle: xTitleTime}
}

// stepPlots draws, for every step with answers, the p50 latency of both sides
// over time, each on its own scale: a slower candidate on one endpoint shows
// on its step even when the run's other steps dwarf it. Nil when the summary
// has no per-step timelines (written before they were).
func stepPlots(s *analysis.Summary) []plot {
	var out []plot
	for i, st := range s.Steps {
		if st.Timeline == nil {
			continue
		}
		p := newSmallPlot(fmt.Sprintf("latency-step-%d", i), st.Journey+"/"+st.Step)
		p.YTitle = "p50 latency (ms)"
		hi := 0.0
		for _, tp := range st.Timeline.Points {
			for _, sd := range []analysis.TimeSide{tp.Legacy, tp.Candidate} {
				if sd.Count > 0 {
					hi = max(hi, sd.P50)
				}
			}
		}
		if hi == 0 {
			p.Empty = true
			out = append(out, p)
			continue
		}
		y := p.linearY(hi, 4, plainNum)
		x := p.timeAxis(s, st.Timeline, 4)
		for _, sd := range []struct {
			name, class string
			side        func(analysis.TimePoint) analysis.TimeSide
		}{
			{"legacy p50", plotLegacyClass, func(tp analysis.TimePoint) analysis.TimeSide { return tp.Legacy }},
			{"candidate p50", plotCandidateClass, func(tp analysis.TimePoint) analysis.TimeSide { return tp.Candidate }},
		} {
			var b strings.Builder
			sr := series{Name: sd.name, Class: sd.class}
			for _, tp := range st.Timeline.Points {
				if t := sd.side(tp); t.Count > 0 {
					fmt.Fprintf(&b, "%s,%s ", num(x(tp.T)), num(y(t.P50)))
					sr.N++
				}
			}
			sr.Points = strings.TrimSpace(b.String())
			p.Series = append(p.Series, sr)
		}
		out = append(out, p)
	}
	return out
}

// percentiles are the points of a latency distribution plot: x is
// -log10(1-q), so the tail spreads out (p50 at 0.3, p99 at 2), and max sits
// where p99.9 would.
var percentiles = []struct {
	label string
	x     float64
	v     func(analysis.SideSummary) float64
}{
	{"p50", math.Log10(2), func(s analysis.SideSummary) float64 { return s.P50 }},
	{"p90", 1, func(s analysis.SideSummary) float64 { return s.P90 }},
	{"p95", math.Log10(20), func(s analysis.SideSummary) float64 { return s.P95 }},
	{"p99", 2, func(s analysis.SideSummary) float64 { return s.P99 }},
	{"max", 3, func(s analysis.SideSummary) float64 { return s.Max }},
}

// distPlots draws the latency distribution of both sides, percentile by
// percentile, for every step with a LATENCY_REGRESSION finding.
func distPlots(s *analysis.Summary) []plot {
	var out []plot
	for i, st := range s.Steps {
		f, ok := finding(s, analysis.LatencyRegression, st)
		if !ok || !answered(st.Legacy) || !answered(st.Candidate) {
			continue
		}
		p := plot{ID: fmt.Sprintf("latency-dist-%d", i), Title: st.Journey + "/" + st.Step, W: 420, H: 236, Left: 58, Right: 405, Top: 12, Bottom: 184,
			XTitle: "percentile (log scale of the tail)", YTitle: "latency (ms)", Note: f.Detail}
		lo, hi := math.Inf(1), 0.0
		for _, sd := range []analysis.SideSummary{st.Legacy, st.Candidate} {
			for _, q := range percentiles {
				if v := q.v(sd); v > 0 {
					lo, hi = min(lo, v), max(hi, v)
				}
			}
		}
		var y func(float64) float64
		if hi > 50*lo {
			// A tail far above the median would flatten a linear scale.
			y = p.logY(lo, hi)
			p.YTitle = "latency (ms, log scale)"
		} else {
			y = p.linearY(hi, 4, plainNum)
		}
		x0, x1 := percentiles[0].x, percentiles[len(percentiles)-1].x
		x := func(v float64) float64 { return p.Left + 12 + (v-x0)/(x1-x0)*(p.Right-p.Left-24) }
		for _, q := range percentiles {
			p.XTicks = append(p.XTicks, tick{x(q.x), q.label})
		}
		for _, sd := range []struct {
			name, class string
			s           analysis.SideSummary
		}{{"legacy", plotLegacyClass, st.Legacy}, {"candidate", plotCandidateClass, st.Candidate}} {
			var b strings.Builder
			sr := series{Name: sd.name, Class: sd.class}
			for _, q := range percentiles {
				v := q.v(sd.s)
				if v <= 0 {
					continue
				}
				px, py := x(q.x), y(v)
				fmt.Fprintf(&b, "%s,%s ", num(px), num(py))
				sr.Marks = append(sr.Marks, mark{px, py, fmt.Sprintf("%s %s %.2fms", sd.name, q.label, v)})
				sr.N++
			}
			sr.Points = strings.TrimSpace(b.String())
			p.Series = append(p.Series, sr)
		}
		out = append(out, p)
	}
	return out
}

// latencyPlot draws p50 and p99 of both sides over time on a log scale, every
// step together: report.html shows it only for summaries without per-step
// timelines.
func latencyPlot(s *analysis.Summary) plot {
	p := newPlot("latency-over-time", "Latency over time, every step together (p50 and the thinner p99; log scale)")
	p.YTitle = "latency (ms, log scale)"
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
	y := p.logY(lo, hi)
	x := p.timeAxis(s, &s.Timeline, 8)
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
	p := newPlot("errors-over-time", "Availability errors over time, every step together")
	p.YTitle = fmt.Sprintf("errors per %s bucket", time.Duration(s.Timeline.BucketMS)*time.Millisecond)
	var hi int64
	for _, tp := range s.Timeline.Points {
		hi = max(hi, tp.Legacy.Errors, tp.Candidate.Errors)
	}
	if len(s.Timeline.Points) == 0 {
		p.Empty = true
		return p
	}
	// Whole errors: ticks a whole number apart.
	step := max(niceStep(float64(hi)/4), 1)
	top := max(math.Ceil(float64(hi)/step), 1) * step
	y := func(v float64) float64 { return p.Bottom - v/top*(p.Bottom-p.Top) }
	for v := 0.0; v <= top; v += step {
		p.YTicks = append(p.YTicks, tick{y(v), plainNum(v)})
	}
	x := p.timeAxis(s, &s.Timeline, 8)
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

// linearY sets n+1 y ticks from 0 to a round value above hi and returns the
// y of a value.
func (p *plot) linearY(hi float64, n int, label func(float64) string) func(float64) float64 {
	step := niceStep(hi / float64(n))
	top := math.Ceil(hi/step) * step
	if top <= 0 {
		top = 1
	}
	y := func(v float64) float64 { return p.Bottom - v/top*(p.Bottom-p.Top) }
	for v := 0.0; v <= top*1.0001; v += step {
		p.YTicks = append(p.YTicks, tick{y(v), label(roundTick(v))})
	}
	return y
}

// logY sets y ticks at 1, 2 and 5 times the powers of ten between lo and hi
// (1 only over a wide range) and returns the y of a value.
func (p *plot) logY(lo, hi float64) func(float64) float64 {
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
				p.YTicks = append(p.YTicks, tick{y(v), fmtMS(roundTick(v))})
			}
		}
	}
	return y
}

// timeAxis sets about n x ticks and the saturated and unhealthy bands, and
// returns the x of a bucket of tl that starts at an offset in seconds.
func (p *plot) timeAxis(s *analysis.Summary, tl *analysis.Timeline, n int) func(float64) float64 {
	end := s.Meta.Duration.Seconds()
	bucket := float64(tl.BucketMS) / 1000
	if k := len(tl.Points); k > 0 {
		end = max(end, tl.Points[k-1].T+bucket)
	}
	end = max(end, 1)
	x := func(t float64) float64 { return p.Left + min(max(t, 0), end)/end*(p.Right-p.Left) }
	// Ticks in seconds, minutes or hours, whichever keeps their labels short.
	unit, per := "s", 1.0
	switch {
	case end > 10*3600:
		unit, per = "h", 3600
	case end > 600:
		unit, per = "min", 60
	}
	p.XTitle = xTitleTime + " (" + unit + ")"
	step := niceStep(end / per / float64(n))
	for t := 0.0; t <= end/per+1e-9; t += step {
		p.XTicks = append(p.XTicks, tick{x(t * per), plainNum(roundTick(t))})
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

// roundTick drops the float noise of a tick computed by repeated addition
// (0.30000000000000004).
func roundTick(v float64) float64 {
	r, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 9, 64), 64)
	return r
}

func num(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

func plainNum(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func fmtMS(v float64) string {
	if v >= 1000 {
		return strconv.FormatFloat(v/1000, 'f', -1, 64) + "s"
	}
	return strconv.FormatFloat(v, 'f', -1, 64) + "ms"
}
