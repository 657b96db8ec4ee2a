package results

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteTable writes the terminal summary: verdict, generator accounting, findings and
// per-step latencies side by side.
func WriteTable(w io.Writer, s *Summary) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	p := func(format string, a ...any) { fmt.Fprintf(tw, format, a...) }
	p("verdict: %s\trun: %s\tseed: %d\tduration: %s\n", strings.ToUpper(s.Verdict), s.Meta.Name, s.Meta.Seed, s.Meta.Duration.Round(time.Millisecond))
	if s.Meta.Aborted != "" {
		p("aborted: %s\n", s.Meta.Aborted)
	}
	g := s.Generator
	p("generator: scheduled %d\tstarted %d\tlate %d\tdropped %d\tsaturated windows %d\n", g.Scheduled, g.Started, g.Late, g.Dropped, len(g.Saturated))
	p("compared: %d candidate steps\tuncomparable: %d\n", s.Compared, s.Uncomparable)
	p("\n")
	if len(s.Findings) == 0 {
		p("findings: none\n")
	} else {
		p("SEVERITY\tCLASS\tJOURNEY\tSTEP\tKIND\tCOUNT\tEXAMPLE\n")
		for _, f := range s.Findings {
			p("%s\t%s\t%s\t%s\t%s\t%d\t%s\n", f.Severity, f.Class, f.Journey, f.Step, dash(f.PersonaKind), f.Count, exampleLine(f))
		}
	}
	p("\n")
	p("JOURNEY\tSTEP\tLEGACY n/err\tp50\tp95\tp99\tCANDIDATE n/err\tp50\tp95\tp99\tRATIO p50\n")
	for _, st := range s.Steps {
		ratio := "-"
		if st.Ratio != nil {
			ratio = fmt.Sprintf("%.2fx [%.2f,%.2f]", st.Ratio.Value, st.Ratio.Low, st.Ratio.High)
		}
		l, c := st.Legacy, st.Candidate
		p("%s\t%s\t%d/%d\t%.1fms\t%.1fms\t%.1fms\t%d/%d\t%.1fms\t%.1fms\t%.1fms\t%s\n", st.Journey, st.Step,
			l.Count, l.Errors, l.P50, l.P95, l.P99, c.Count, c.Errors, c.P50, c.P95, c.P99, ratio)
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// exampleLine renders a finding's first example, or its detail.
func exampleLine(f Finding) string {
	if f.Detail != "" {
		return f.Detail
	}
	if len(f.Examples) == 0 {
		return ""
	}
	e := f.Examples[0]
	t := ""
	if e.Target != "" {
		t = " " + e.Target
	}
	line := fmt.Sprintf("%s%s: legacy %s, candidate %s", e.Persona, t, e.Legacy, e.Candidate)
	if len(e.Evidence) > 0 {
		line += " (evidence: " + strings.Join(e.Evidence, " ") + ")"
	}
	return line
}
