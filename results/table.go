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
	p("compared: %d candidate steps\tuncomparable: %d\tdisagreed: %d\n", s.Compared, s.Uncomparable, s.Disagreed)
	if nf := s.NoiseFloor; nf != nil {
		p("noise floor (A/A): %d of %d comparisons disagreed (%s)\n", nf.Disagreed, nf.Compared, pct(nf.Rate))
	}
	for _, n := range s.Notices {
		p("%s: %s\n", n.Class, n.Detail)
	}
	p("\n")
	if len(s.Findings) == 0 {
		p("findings: none\n")
	} else {
		p("SEVERITY\tCLASS\tJOURNEY\tSTEP\tKIND\tCOUNT\tEXAMPLE\n")
		for _, f := range s.Findings {
			sev := string(f.Severity)
			if !f.Fails {
				sev += " (passes)"
			}
			p("%s\t%s\t%s\t%s\t%s\t%d\t%s\n", sev, f.Class, f.Journey, f.Step, dash(f.PersonaKind), f.Count, exampleLine(f))
		}
	}
	p("\n")
	p("JOURNEY\tSTEP\tLEGACY n/err\tp50\tp95\tp99\tCANDIDATE n/err\tp50\tp95\tp99\tRATIO p50\n")
	for _, st := range s.Steps {
		l, c := st.Legacy, st.Candidate
		p("%s\t%s\t%d/%d\t%.1fms\t%.1fms\t%.1fms\t%d/%d\t%.1fms\t%.1fms\t%.1fms\t%s\n", st.Journey, st.Step,
			l.Count, l.Errors, l.P50, l.P95, l.P99, c.Count, c.Errors, c.P50, c.P95, c.P99, ratioText(st.Ratio))
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
	return exampleText(f.Examples[0])
}
