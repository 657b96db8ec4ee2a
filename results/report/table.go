package report

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cutover-dev/cutover/results/analysis"
)

// Terminal limits: the summary above the latency table must fit one screen.
const (
	tableCauses     = 6
	tableCohorts    = 8
	tableNoticeText = 150
)

// WriteTable writes the terminal summary: verdict and generator accounting, the
// root causes with their evidence, the cohort readiness, then per-step latencies
// side by side. The finding rows by step are in the reports (WriteFindings
// prints them here).
func WriteTable(w io.Writer, s *analysis.Summary) error {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	tp := func(format string, a ...any) { fmt.Fprintf(tw, format, a...) }
	tp("verdict: %s\trun: %s\tseed: %d\tduration: %s\n", strings.ToUpper(s.Verdict), s.Meta.Name, s.Meta.Seed, s.Meta.Duration.Round(time.Millisecond))
	g := s.Generator
	tp("generator: scheduled %d\tstarted %d\tlate %d\tdropped %d\tsaturated windows %d\n", g.Scheduled, g.Started, g.Late, g.Dropped, len(g.Saturated))
	tp("compared: %d candidate steps\tuncomparable: %d\tdisagreed: %d\n", s.Compared, s.Uncomparable, s.Disagreed)
	tw.Flush()
	if s.Meta.Aborted != "" {
		p("aborted: %s\n", s.Meta.Aborted)
	}
	if nf := s.NoiseFloor; nf != nil {
		p("noise floor (A/A): %d of %d comparisons disagreed (%s)\n", nf.Disagreed, nf.Compared, pct(nf.Rate))
	}
	for _, n := range s.Notices {
		p("%s: %s\n", n.Class, clip(n.Detail, tableNoticeText))
	}
	p("\n")
	writeCausesText(&b, s)
	writeCohortsText(&b, s)
	if err := writeSteps(&b, s); err != nil {
		return err
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeCausesText writes the causes, one header line and one evidence line per
// class each, at most tableCauses of them.
func writeCausesText(b *strings.Builder, s *analysis.Summary) {
	if len(s.Findings) == 0 {
		b.WriteString("findings: none\n\n")
		return
	}
	fmt.Fprintf(b, "causes: %d for %d finding rows (rows by step: report.md, report.html, summary.json)\n", len(s.Causes), len(s.Findings))
	for i, c := range s.Causes {
		if i == tableCauses {
			fmt.Fprintf(b, "  ... %d more cause(s) in report.md\n", len(s.Causes)-i)
			break
		}
		fmt.Fprintf(b, "  %-3s %-8s %s%s\n", c.ID, c.Severity, c.Title, causeMarks(c))
		for _, cc := range c.Classes {
			fmt.Fprintf(b, "      %s\n", cc.Evidence)
		}
	}
	b.WriteString("\n")
}

// causeMarks says when a cause does not fail the run or was measured while the
// generator was saturated.
func causeMarks(c analysis.Cause) string {
	m := ""
	if !c.Fails {
		m += " (passes the thresholds)"
	}
	if c.Untrusted {
		m += " (untrusted: generator saturated)"
	}
	return m
}

// writeCohortsText writes the cohort readiness table.
func writeCohortsText(b *strings.Builder, s *analysis.Summary) {
	if len(s.Cohorts) == 0 {
		return
	}
	ready := 0
	for _, c := range s.Cohorts {
		if c.Status == analysis.CohortPass {
			ready++
		}
	}
	fmt.Fprintf(b, "cohorts by %s: %d of %d ready\n", s.CohortBy, ready, len(s.Cohorts))
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  COHORT\tPERSONAS\tEXERCISED\tSTATUS\tBLOCKED BY\n")
	for i, c := range s.Cohorts {
		if i == tableCohorts {
			fmt.Fprintf(tw, "  ... %d more\t\t\t\t\n", len(s.Cohorts)-i)
			break
		}
		fmt.Fprintf(tw, "  %s\t%d\t%d\t%s\t%s\n", c.Name, c.Personas, c.Exercised, c.Status, cohortCauses(s, c))
	}
	tw.Flush()
	if hasUntrustedCause(s) {
		b.WriteString("  ? measured while the generator was saturated: not trustworthy, run again on a quieter machine\n")
	}
	b.WriteString("\n")
}

// cohortCauses lists the causes blocking a cohort, then those that only warn;
// "?" marks a cause measured while the generator was saturated.
func cohortCauses(s *analysis.Summary, c analysis.Cohort) string {
	untrusted := map[string]bool{}
	for _, cs := range s.Causes {
		untrusted[cs.ID] = cs.Untrusted
	}
	ids := func(l []string) string {
		out := make([]string, len(l))
		for i, id := range l {
			out[i] = id
			if untrusted[id] {
				out[i] += "?"
			}
		}
		return strings.Join(out, " ")
	}
	out := ids(c.BlockedBy)
	if len(c.Warnings) > 0 {
		out = strings.TrimSpace(out + " (warn: " + ids(c.Warnings) + ")")
	}
	return dash(out)
}

func hasUntrustedCause(s *analysis.Summary) bool {
	for _, c := range s.Causes {
		if c.Untrusted {
			return true
		}
	}
	return false
}

// writeSteps writes the per-step latency table.
func writeSteps(w io.Writer, s *analysis.Summary) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	p := func(format string, a ...any) { fmt.Fprintf(tw, format, a...) }
	p("JOURNEY\tSTEP\tLEGACY n/err\tp50\tp95\tp99\tCANDIDATE n/err\tp50\tp95\tp99\tRATIO p50\n")
	for _, st := range s.Steps {
		l, c := st.Legacy, st.Candidate
		p("%s\t%s\t%d/%d\t%.1fms\t%.1fms\t%.1fms\t%d/%d\t%.1fms\t%.1fms\t%.1fms\t%s\n", st.Journey, st.Step,
			l.Count, l.Errors, l.P50, l.P95, l.P99, c.Count, c.Errors, c.P50, c.P95, c.P99, ratioText(st.Ratio))
	}
	return tw.Flush()
}

// WriteFindings writes the finding rows, one per class, step and persona kind,
// with the cause each belongs to.
func WriteFindings(w io.Writer, s *analysis.Summary) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	p := func(format string, a ...any) { fmt.Fprintf(tw, format, a...) }
	if len(s.Findings) == 0 {
		p("findings: none\n")
		return tw.Flush()
	}
	causeOf := causeOfFinding(s)
	p("CAUSE\tSEVERITY\tCLASS\tJOURNEY\tSTEP\tKIND\tCOUNT\tEXAMPLE\n")
	for _, f := range s.Findings {
		sev := string(f.Severity)
		if !f.Fails {
			sev += " (passes)"
		}
		p("%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", dash(causeOf[f.Ref()]), sev, f.Class, f.Journey, f.Step, dash(f.PersonaKind), f.Count, f.ExampleText())
	}
	return tw.Flush()
}

// causeOfFinding maps each finding row to the ids of the causes that fold it.
func causeOfFinding(s *analysis.Summary) map[analysis.FindingRef]string {
	out := map[analysis.FindingRef]string{}
	for _, c := range s.Causes {
		for _, ref := range c.Findings {
			out[ref] = strings.TrimSpace(out[ref] + " " + c.ID)
		}
	}
	return out
}

// clip shortens s to about n characters at a clause boundary, saying where the
// rest is.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := strings.LastIndex(s[:n], "; ")
	if cut < n/2 {
		cut = strings.LastIndex(s[:n], " ")
	}
	if cut <= 0 {
		cut = n
	}
	return s[:cut] + " ... (in full in report.md)"
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
