package report

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cutover-dev/cutover/results/analysis"
	"github.com/cutover-dev/cutover/results/record"
)

// Terminal limits: the summary above the latency table must fit one screen
// (tableLines lines), and no line of it may wrap at tableWidth characters.
const (
	tableLines  = 25
	tableCauses = 6
	// The causes' evidence lines stop at this many (the causes' titles go on).
	tableEvidence = 6
	tableCohorts  = 8
	tableWidth    = 158
	// What fitting the screen never takes below: this many cohort rows and
	// cause titles (the rest are counted, named in the reports).
	tableMinCohorts = 3
	tableMinCauses  = 3
	// At most this many classes a cohort misses, findings present on both
	// stacks and coverage lines are named; the rest are counted.
	tableMissing    = 3
	tableShared     = 3
	tableCoverageAt = 6
)

// WriteTable writes the terminal summary: verdict and generator accounting,
// what the run did not see (coverage: one line when it saw everything), the
// root causes with their evidence, the cohort readiness, then per-step
// latencies side by side. The finding rows by step are in the reports
// (WriteFindings prints them here).
func WriteTable(w io.Writer, s *analysis.Summary) error {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	line := func(prefix, text string) { p("%s\n", clipLine(prefix, text, tableWidth)) }
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	tp := func(format string, a ...any) { fmt.Fprintf(tw, format, a...) }
	tp("verdict: %s\trun: %s\tseed: %d\tduration: %s\n", strings.ToUpper(s.Verdict), s.Meta.Name, s.Meta.Seed, s.Meta.Duration.Round(time.Millisecond))
	g := s.Generator
	gen := fmt.Sprintf("generator: scheduled %d\tstarted %d\tlate %d\tdropped %d\tsaturated windows %d", g.Scheduled, g.Started, g.Late, g.Dropped, len(g.Saturated))
	if h := g.Health; h != nil {
		gen += fmt.Sprintf("\tunhealthy %d of %d intervals", h.Unhealthy, h.Intervals)
	}
	tp("%s\n", gen)
	tp("compared: %d candidate steps\tuncomparable: %d\tdisagreed: %d\tnot compared for their state: %d\n", s.Compared, s.Uncomparable, s.Disagreed, s.NotComparable)
	tw.Flush()
	writeCoverageText(&b, s, line)
	if len(s.Shared) > 0 {
		var rows []string
		for i, f := range s.Shared {
			if i == tableShared {
				rows = append(rows, fmt.Sprintf("%d more", len(s.Shared)-i))
				break
			}
			rows = append(rows, fmt.Sprintf("%s %s/%s x%d", classCheck(f), f.Step, dash(f.PersonaKind), f.Count))
		}
		line("present on both stacks (not regressions, never failing): ", strings.Join(rows, ", "))
	}
	if s.Meta.Aborted != "" {
		p("aborted: %s\n", s.Meta.Aborted)
	}
	if nf := s.NoiseFloor; nf != nil {
		p("noise floor (A/A): %d of %d comparisons disagreed (%s)\n", nf.Disagreed, nf.Compared, pct(nf.Rate))
	}
	// One line per notice class: the generator's schedule and its health are
	// one story (report.md tells each in full).
	var classes []analysis.Class
	details := map[analysis.Class][]string{}
	for _, n := range s.Notices {
		if _, ok := details[n.Class]; !ok {
			classes = append(classes, n.Class)
		}
		details[n.Class] = append(details[n.Class], n.Detail)
	}
	for _, c := range classes {
		line(string(c)+": ", strings.Join(details[c], "; "))
	}
	if len(g.Shortfall) > 0 {
		line("pool shortfall (not the generator): ", shortfallsText(g.Shortfall))
	}
	p("\n")
	fit := fitScreen(s, tableLines-strings.Count(b.String(), "\n"))
	writeCausesText(&b, s, fit)
	writeCohortsText(&b, s, fit.cohorts)
	if err := writeSteps(&b, s); err != nil {
		return err
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeCoverageText writes what the run did not see: one line counting the
// judged classes when it saw everything; else the preconditions and the
// classes not judged or judged in part, "!" marking what keeps the run from
// passing, then the count.
func writeCoverageText(b *strings.Builder, s *analysis.Summary, line func(prefix, text string)) {
	count := coverageCount(s)
	if count == "" {
		line("coverage: ", noCoverage(s))
		return
	}
	items := coverageItems(s)
	if len(items) == 0 {
		line("coverage: ", count)
		return
	}
	switch {
	case s.Verdict == analysis.VerdictInconclusive:
		b.WriteString("inconclusive: the run did not see enough to pass it (! below)\n")
	case hasBlocking(items):
		b.WriteString("coverage (! would keep the run from passing):\n")
	default:
		b.WriteString("coverage:\n")
	}
	for i, it := range items {
		if i == tableCoverageAt {
			fmt.Fprintf(b, "  ... %d more in report.md\n", len(items)-i)
			break
		}
		mark := "  "
		if it.Blocking {
			mark = "! "
		}
		name := it.Names()
		if it.Optional {
			name += " (optional)"
		}
		line("  "+mark+name+": ", it.Text)
	}
	line("  ", count)
}

// clipLine joins prefix and text, shortening text so that the line stays
// within width characters.
func clipLine(prefix, text string, width int) string {
	if len(prefix)+len(text) <= width {
		return prefix + text
	}
	return prefix + clip(text, max(width-len(prefix)-len(clipMore), 20))
}

// screenFit is how much of the causes and cohorts the summary shows: the
// causes' titles with the evidence lines shown under each, the finding rows
// no cause folds, and the cohort rows.
type screenFit struct {
	causes   int
	evidence [][]string // per cause shown
	partial  bool       // some evidence is left to the reports
	loose    []analysis.Finding
	shown    int // of loose
	cohorts  int
}

// fitScreen plans the causes and cohorts into the lines left on the screen.
// What gives way first is evidence (one line per cause before any second
// line), then cohort rows, then cause titles, down to their minimums: a
// cause's title and the cohort table stay, detail moves to the reports.
func fitScreen(s *analysis.Summary, left int) screenFit {
	f := screenFit{loose: looseFindings(s), cohorts: min(len(s.Cohorts), tableCohorts)}
	f.causes, f.shown = min(len(s.Causes), tableCauses), min(len(f.loose), tableCauses)
	lines := func() int {
		n := 2 // the causes' header and blank, or "findings: none" and blank
		if len(s.Findings) > 0 {
			n += f.causes + f.shown
			if f.causes < len(s.Causes) {
				n++
			}
			if f.shown < len(f.loose) {
				n++
			}
		}
		if len(s.Cohorts) > 0 {
			n += 2 + f.cohorts // header, column names, rows
			if f.cohorts < len(s.Cohorts) {
				n++
			}
		}
		return n
	}
	for f.cohorts > min(tableMinCohorts, len(s.Cohorts)) && lines() > left {
		f.cohorts--
	}
	for f.causes > min(tableMinCauses, len(s.Causes)) && lines() > left {
		f.causes--
	}
	all := make([][]string, len(s.Causes))
	for i, c := range s.Causes {
		all[i] = evidenceLines(c)
	}
	// Evidence takes what is left, round by round: each cause's first line,
	// then its second...
	f.evidence = make([][]string, f.causes)
	budget := min(left-lines(), tableEvidence)
	for round := 0; budget > 0; round++ {
		added := false
		for i := range f.evidence {
			if budget > 0 && round < len(all[i]) {
				f.evidence[i] = all[i][:round+1]
				budget--
				added = true
			}
		}
		if !added {
			break
		}
	}
	for i := range all {
		shown := 0
		if i < f.causes {
			shown = len(f.evidence[i])
		}
		f.partial = f.partial || shown < len(all[i])
	}
	return f
}

// evidenceLines is what the summary can say under a cause's title: one
// line of evidence per class, then the consequences.
func evidenceLines(c analysis.Cause) []string {
	var out []string
	for _, cc := range c.Classes {
		out = append(out, "      "+cc.Evidence)
	}
	if len(c.Consequences) > 0 {
		out = append(out, clipLine("      consequences: ", consequencesText(c.Consequences), tableWidth))
	}
	return out
}

// looseFindings is the finding rows no cause folds (what both stacks show,
// made to fail the run by thresholds.shared; a v1 summary).
func looseFindings(s *analysis.Summary) []analysis.Finding {
	causeOf := causeOfFinding(s)
	var loose []analysis.Finding
	for _, f := range s.Findings {
		if causeOf[f.Ref()] == "" {
			loose = append(loose, f)
		}
	}
	return loose
}

// writeCausesText writes the causes as fit plans them: a title line each,
// their evidence lines, then the rows no cause folds, listed rather than
// lost.
func writeCausesText(b *strings.Builder, s *analysis.Summary, fit screenFit) {
	if len(s.Findings) == 0 {
		b.WriteString("findings: none\n\n")
		return
	}
	where := "rows by step"
	if fit.partial {
		where = "evidence and rows by step"
	}
	fmt.Fprintf(b, "causes: %d for %d finding rows (%s: report.md, report.html, summary.json)\n", len(s.Causes), len(s.Findings), where)
	for i, c := range s.Causes {
		if i == fit.causes {
			fmt.Fprintf(b, "  ... %d more cause(s) in report.md\n", len(s.Causes)-i)
			break
		}
		fmt.Fprintf(b, "  %-3s %-8s %s%s\n", c.ID, c.Severity, c.Title, causeMarks(c))
		for _, l := range fit.evidence[i] {
			fmt.Fprintf(b, "%s\n", l)
		}
	}
	for i, f := range fit.loose {
		if i == fit.shown {
			fmt.Fprintf(b, "  ... %d more finding row(s) in report.md\n", len(fit.loose)-i)
			break
		}
		sev := string(f.Severity)
		if !f.Fails {
			sev += " (passes)"
		}
		fmt.Fprintf(b, "  -   %-8s %s %s/%s %s x%d\n", sev, classCheck(f), f.Journey, f.Step, dash(f.PersonaKind), f.Count)
	}
	b.WriteString("\n")
}

// causeMarks says when a cause does not fail the run.
func causeMarks(c analysis.Cause) string {
	if !c.Fails {
		return " (passes the thresholds)"
	}
	return ""
}

// writeCohortsText writes the cohort readiness table, its first rows of
// them.
func writeCohortsText(b *strings.Builder, s *analysis.Summary, rows int) {
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
	fmt.Fprintf(tw, "  COHORT\t%s\tEXERCISED\tSTATUS\tBLOCKED BY\n", strings.ToUpper(unitPlural(s)))
	for _, c := range s.Cohorts[:min(rows, len(s.Cohorts))] {
		fmt.Fprintf(tw, "  %s\t%d\t%d\t%s\t%s\n", c.Name, c.Personas, c.Exercised, c.Status, cohortCauses(c, tableMissing))
	}
	tw.Flush()
	if rows < len(s.Cohorts) {
		fmt.Fprintf(b, "  ... %d more (report.md)\n", len(s.Cohorts)-rows)
	}
	b.WriteString("\n")
}

// cohortCauses lists the causes blocking a cohort, then those that only warn,
// then the classes it was not judged for (at most missing of them; <= 0: all).
func cohortCauses(c analysis.Cohort, missing int) string {
	var parts []string
	if len(c.BlockedBy) > 0 {
		parts = append(parts, strings.Join(c.BlockedBy, " "))
	}
	if len(c.Warnings) > 0 {
		parts = append(parts, "(warn: "+strings.Join(c.Warnings, " ")+")")
	}
	if m := missingText(c, missing); m != "" {
		if len(parts) > 0 {
			m = "(" + m + ")"
		}
		parts = append(parts, m)
	}
	return dash(strings.Join(parts, " "))
}

// writeSteps writes the per-step latency table. A side that did not perform
// a step shows why instead of figures; NOTE says what the figures leave out.
func writeSteps(w io.Writer, s *analysis.Summary) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	p := func(format string, a ...any) { fmt.Fprintf(tw, format, a...) }
	p("JOURNEY\tSTEP\tLEGACY n/err\tp50\tp95\tp99\tCANDIDATE n/err\tp50\tp95\tp99\tRATIO p50\tNOTE\n")
	side := func(sd analysis.SideSummary) string {
		switch {
		case sd.Count == 0:
			return notPerformedWord(sd) + "\t-\t-\t-"
		case !answered(sd):
			return fmt.Sprintf("%d/%d\t-\t-\t-", sd.Count, sd.Errors)
		}
		return fmt.Sprintf("%d/%d\t%.1fms\t%.1fms\t%.1fms", sd.Count, sd.Errors, sd.P50, sd.P95, sd.P99)
	}
	for _, st := range s.Steps {
		ratio := ratioText(st.Ratio)
		if st.Ratio == nil && st.NotJudged != "" {
			ratio += " (" + shortNotJudged(st.NotJudged) + ")"
		}
		p("%s\t%s\t%s\t%s\t%s\t%s\n", st.Journey, st.Step, side(st.Legacy), side(st.Candidate), ratio, strings.Join(stepNotes(st), "; "))
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
		p("%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", dash(causeOf[f.Ref()]), sev, classCheck(f), f.Journey, f.Step, dash(f.PersonaKind), f.Count, f.ExampleText())
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

// clipMore is what clip appends to a shortened text.
const clipMore = " ... (in full in report.md)"

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
	return s[:cut] + clipMore
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// shortfallsText folds a run's pool shortfalls into one line: one is told in
// full; several are counted, the journeys that dropped most first, each with
// about how many more personas it needed (report.md tells each in full).
func shortfallsText(sfs []record.Shortfall) string {
	if len(sfs) == 1 {
		return shortfallText(sfs[0])
	}
	sfs = slices.Clone(sfs)
	slices.SortStableFunc(sfs, func(a, b record.Shortfall) int { return cmp.Compare(b.Dropped, a.Dropped) })
	var total int64
	parts := make([]string, len(sfs))
	for i, sf := range sfs {
		total += sf.Dropped
		parts[i] = fmt.Sprintf("%s %d (about %d more personas)", sf.Journey, sf.Dropped, sf.More)
	}
	return fmt.Sprintf("%d starts dropped, every persona they could use busy: %s (each in report.md)", total, strings.Join(parts, ", "))
}

// consequencesText tells a cause's consequences on one line: how many steps
// were not compared for the state it left, and where.
func consequencesText(qs []analysis.Consequence) string {
	n := 0
	parts := make([]string, len(qs))
	for i, q := range qs {
		n += q.Count
		parts[i] = fmt.Sprintf("%s/%s %d (%s)", q.Journey, q.Step, q.Count, q.State)
	}
	return fmt.Sprintf("%d %s not compared for the state it left the candidate in: %s", n, plural(n, "step", "steps"), strings.Join(parts, ", "))
}
