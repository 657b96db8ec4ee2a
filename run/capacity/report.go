package capacity

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
)

// Files a search writes into its folder.
const (
	JSONFile     = "capacity.json"
	MarkdownFile = "capacity.md"
	PlotFile     = "capacity.svg"
)

// Sentence is the search's answer in one sentence: each stack's highest
// passing rate, what broke first, and the candidate's share of legacy's.
func (r *Result) Sentence() string {
	var parts []string
	for _, s := range r.Sides {
		parts = append(parts, s.sentence())
	}
	out := strings.Join(parts, "; ")
	if r.Ratio > 0 {
		bound := ""
		for _, s := range r.Sides {
			if s.Side == "legacy" && s.Outcome == Passed {
				bound = "at most " // legacy's own limit lies above the search
			}
		}
		out = fmt.Sprintf("The candidate keeps %s%.0f%% of legacy's throughput: %s", bound, 100*r.Ratio, out)
	}
	return out + "."
}

func (s SideResult) sentence() string {
	switch s.Outcome {
	case Passed:
		return fmt.Sprintf("%s passed every step up to %.4g journeys/s (the search's ceiling)", s.Side, s.Highest)
	case HarnessBound:
		return fmt.Sprintf("%s passed %.4g journeys/s; at %.4g/s the harness, not the stack, was the bottleneck (%s), so its capacity is at least %.4g/s", s.Side, s.Highest, s.BrokeAt, s.Broke, s.Highest)
	case Aborted:
		return fmt.Sprintf("%s passed %.4g journeys/s; the step at %.4g/s was stopped (%s)", s.Side, s.Highest, s.BrokeAt, s.Broke)
	}
	if s.Highest == 0 {
		return fmt.Sprintf("%s broke at the first step, %.4g journeys/s: %s", s.Side, s.BrokeAt, s.Broke)
	}
	return fmt.Sprintf("%s holds %.4g journeys/s and breaks at %.4g/s: %s", s.Side, s.Highest, s.BrokeAt, s.Broke)
}

// Write writes capacity.json, capacity.md and capacity.svg into dir.
func Write(dir string, r *Result) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, JSONFile), append(b, '\n'), 0o644); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, MarkdownFile))
	if err != nil {
		return err
	}
	werr := WriteMarkdown(f, r)
	if err := f.Close(); werr == nil {
		werr = err
	}
	if werr != nil {
		return werr
	}
	return os.WriteFile(filepath.Join(dir, PlotFile), []byte(Plot(r)), 0o644)
}

// WriteMarkdown writes the search as a table per stack.
func WriteMarkdown(w io.Writer, r *Result) error {
	p := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }
	p("# Capacity: %s\n\n%s\n\n", r.Name, r.Sentence())
	p("Each step ran one stack alone at a constant rate, judged against %s and at most %.1f%% errors on any step; a step the generator could not keep on schedule is harness-bound, not the stack's limit.\n\n",
		strings.Join(r.Limits, ", "), 100*r.MaxErrorRate)
	p("![latency against rate](%s)\n\n", PlotFile)
	for _, s := range r.Sides {
		p("## %s\n\n| rate /s | achieved /s | outcome | slowest p95 | max error rate | why |\n|---:|---:|---|---|---:|---|\n", s.Side)
		for _, st := range s.Steps {
			p("| %.4g | %.4g | %s | %.1f ms (%s) | %.2f%% | %s |\n", st.Rate, st.Achieved, st.Outcome, st.P95, st.Slowest, 100*st.ErrorRate, strings.ReplaceAll(st.Why, "|", "\\|"))
		}
		p("\n")
	}
	return nil
}

// Plot draws the slowest step's p95 against the rate, one line per stack,
// on a logarithmic rate axis, as a self-contained SVG.
func Plot(r *Result) string {
	const w, h, left, bottom, top, right = 640.0, 320.0, 60.0, 40.0, 20.0, 110.0
	var minR, maxR, maxP = math.Inf(1), 0.0, 1.0
	for _, s := range r.Sides {
		for _, st := range s.Steps {
			minR, maxR, maxP = math.Min(minR, st.Rate), math.Max(maxR, st.Rate), math.Max(maxP, st.P95)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" font-family="sans-serif" font-size="11">`, w, h)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`)
	if maxR == 0 {
		return b.String() + `<text x="20" y="40">no step ran</text></svg>`
	}
	if maxR == minR {
		minR, maxR = minR/2, maxR*2
	}
	x := func(rate float64) float64 {
		return left + (w-left-right)*math.Log(rate/minR)/math.Log(maxR/minR)
	}
	y := func(p float64) float64 { return h - bottom - (h-bottom-top)*p/(maxP*1.1) }
	fmt.Fprintf(&b, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="black"/>`, left, h-bottom, w-right, h-bottom)
	fmt.Fprintf(&b, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="black"/>`, left, top, left, h-bottom)
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" text-anchor="middle">journeys per second (log scale)</text>`, (left+w-right)/2, h-8)
	fmt.Fprintf(&b, `<text transform="translate(14 %.0f) rotate(-90)" text-anchor="middle">slowest step p95 (ms)</text>`, (top+h-bottom)/2)
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" text-anchor="end">%.0f</text>`, left-4, y(maxP)+4, maxP)
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" text-anchor="end">0</text>`, left-4, h-bottom+4)
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" text-anchor="middle">%.4g</text>`, left, h-bottom+14, minR)
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" text-anchor="middle">%.4g</text>`, w-right, h-bottom+14, maxR)
	styles := map[string]string{"legacy": `stroke="#1f77b4"`, "candidate": `stroke="#ff7f0e" stroke-dasharray="6 3"`}
	for i, s := range r.Sides {
		var pts []string
		for _, st := range s.Steps {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(st.Rate), y(st.P95)))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke-width="2" %s points="%s"/>`, styles[s.Side], strings.Join(pts, " "))
		for _, st := range s.Steps {
			mark := "circle"
			if st.Outcome != Passed {
				mark = "cross"
			}
			if mark == "circle" {
				fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="white" %s/>`, x(st.Rate), y(st.P95), styles[s.Side])
			} else {
				fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle" font-size="14" fill="#b00">×</text>`, x(st.Rate), y(st.P95)+5)
			}
		}
		fmt.Fprintf(&b, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke-width="2" %s/><text x="%.0f" y="%.0f">%s</text>`,
			w-right+10, top+10+float64(i)*16, w-right+34, top+10+float64(i)*16, styles[s.Side], w-right+38, top+14+float64(i)*16, s.Side)
	}
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" fill="#b00">× did not pass</text>`, w-right+10, top+50)
	b.WriteString("</svg>")
	return b.String()
}
