package report

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/cutover-dev/cutover/results/analysis"
)

// markdownFindings caps the findings table of report.md, which must fit a
// pull-request comment; the rest are in report.html and summary.json.
const markdownFindings = 20

// WriteMarkdown writes report.md: short enough for a pull-request comment,
// the verdict and the decision for the cutover in one sentence, what the run
// did not see first, findings next, latencies folded away.
func WriteMarkdown(w io.Writer, s *analysis.Summary) error {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	icon := map[string]string{analysis.VerdictPass: "✅", analysis.VerdictFail: "❌", analysis.VerdictInconclusive: "❔", analysis.VerdictAborted: "⚠️"}[s.Verdict]
	p("### %s cutover %s: `%s`\n\n", icon, strings.ToUpper(s.Verdict), md(s.Meta.Name))
	// The decision, in the sentence report.html opens with.
	p("**%s.**", md(decision(s)))
	if s.Verdict == analysis.VerdictInconclusive {
		p(" The run did not see enough to pass it (%d %s, marked ❗ under coverage).", len(s.Inconclusive), plural(len(s.Inconclusive), "reason", "reasons"))
	}
	p("\n\n")
	switch n := failingCount(s); {
	case s.Meta.Aborted != "":
		p("**Aborted:** %s. The figures below cover what ran.\n\n", md(s.Meta.Aborted))
	case n > 0:
		p("**%d finding(s) fail the thresholds** (fail on: %s).\n\n", n, severityList(s))
	case len(s.Findings) > 0:
		p("No finding fails the thresholds (fail on: %s); %d reported.\n\n", severityList(s), len(s.Findings))
	default:
		p("No regression found (fail on: %s).\n\n", severityList(s))
	}
	p("%s\n\n", md(thresholdsText(s)))
	writeCoverageMarkdown(&b, s)
	if nf := s.NoiseFloor; nf != nil {
		p("**A/A noise floor:** %d of %d comparisons disagreed (%s); ideally none.\n\n", nf.Disagreed, nf.Compared, pct(nf.Rate))
	}
	for _, n := range s.Notices {
		p("> ⚠️ **%s**: %s.\n\n", n.Class, md(n.Detail))
	}
	if len(s.Causes) > 0 {
		p("**Root causes** (%d for %d finding rows):\n\n| | cause | severity | factor | evidence |\n|---|---|---|---|---|\n", len(s.Causes), len(s.Findings))
		for i, c := range s.Causes {
			if i == markdownFindings {
				p("\n%d more cause(s) in report.html and summary.json.\n", len(s.Causes)-i)
				break
			}
			var ev []string
			for _, cc := range c.Classes {
				ev = append(ev, md(cc.Evidence))
				if cc.Check != "" {
					ev = append(ev, "check: "+md(cc.Check))
				}
			}
			for _, q := range c.Consequences {
				ev = append(ev, "consequence: "+md(q.Text()))
			}
			p("| %s | %s | %s | %s | %s |\n", gateMark(c.Fails), c.ID, c.Severity, md(c.Title), strings.Join(ev, "<br>"))
		}
		p("\n")
	}
	if len(s.Cohorts) > 0 {
		p("**Cohort readiness** (by %s):\n\n| cohort | status | %s | exercised | blocked by |\n|---|---|---:|---:|---|\n", md(s.CohortBy), unitPlural(s))
		for _, c := range s.Cohorts {
			icon := map[string]string{analysis.CohortPass: "✅", analysis.CohortFail: "❌", analysis.CohortInconclusive: "❔", analysis.CohortIncomplete: "⚠️", analysis.CohortNotExercised: "➖"}[c.Status]
			p("| %s | %s %s | %d | %d | %s |\n", md(c.Name), icon, c.Status, c.Personas, c.Exercised, md(cohortCauses(c, 0)))
		}
		p("\n")
	}
	if len(s.Findings) > 0 {
		p("<details><summary>Finding rows by step (%d)</summary>\n\n", len(s.Findings))
		p("| | cause | severity | class | journey/step | kind | count | first example |\n|---|---|---|---|---|---|---:|---|\n")
		causeOf := causeOfFinding(s)
		for i, f := range s.Findings {
			if i == markdownFindings {
				p("\n%d more finding row(s) in report.html and summary.json.\n", len(s.Findings)-i)
				break
			}
			p("| %s | %s | %s | %s | %s/%s | %s | %d | %s |\n", gateMark(f.Fails), dash(causeOf[f.Ref()]), f.Severity, mdClass(f), md(f.Journey), md(f.Step), md(dash(f.PersonaKind)), f.Count, md(f.ExampleText()))
		}
		p("\n</details>\n\n")
	}
	if len(s.Shared) > 0 {
		p("**Present on both stacks** (%d): legacy shows these too, so the cutover does not introduce them; reported, never failing the run.\n\n", len(s.Shared))
		p("| severity | class | journey/step | kind | count | first example |\n|---|---|---|---|---:|---|\n")
		for i, f := range s.Shared {
			if i == markdownFindings {
				p("\n%d more in report.html and summary.json.\n", len(s.Shared)-i)
				break
			}
			p("| %s | %s | %s/%s | %s | %d | %s |\n", f.Severity, mdClass(f), md(f.Journey), md(f.Step), md(dash(f.PersonaKind)), f.Count, md(f.ExampleText()))
		}
		p("\n")
	}
	if len(s.StateApart) > 0 {
		p("**Not compared: state the run created** (%d %s): their two sides ran under different state (a break-glass grant one side holds, an account one side locked), so a difference would be the state's, not a regression; where a cause's step made it, the cause lists it as a consequence.\n\n",
			s.NotComparable, plural(s.NotComparable, "step", "steps"))
		p("| journey/step | kind | side | state | from | count | first example |\n|---|---|---|---|---|---:|---|\n")
		for i, g := range s.StateApart {
			if i == markdownFindings {
				p("\n%d more in report.html and summary.json.\n", len(s.StateApart)-i)
				break
			}
			ex := ""
			if len(g.Examples) > 0 {
				ex = g.Examples[0].Text()
			}
			p("| %s/%s | %s | %s | %s | %s | %d | %s |\n", md(g.Journey), md(g.Step), md(dash(g.PersonaKind)), g.Side, md(g.State), md(dash(g.From)), g.Count, md(ex))
		}
		p("\n")
	}
	g := s.Generator
	p("Generator: scheduled %d, started %d, late %d, dropped %d. Compared %d candidate steps (%d uncomparable, %d disagreed).\n",
		g.Scheduled, g.Started, g.Late, g.Dropped, s.Compared, s.Uncomparable, s.Disagreed)
	if h := g.Health; h != nil {
		p("Generator health: %s.\n", md(healthText(h)))
	}
	for _, sf := range g.Shortfall {
		p("Pool shortfall (too few personas, not the generator): %s.\n", md(shortfallText(sf)))
	}
	p("Run: seed %d, config `%s`, %s, started %s, cutover %s.\n\n", s.Meta.Seed, md(s.Meta.ConfigHash),
		s.Meta.Duration.Round(time.Millisecond), s.Meta.Start.UTC().Format(time.RFC3339), md(s.Meta.Version))
	if len(s.Steps) > 0 {
		p("<details><summary>Latency per step (ms) and error rates</summary>\n\n")
		p("| journey/step | legacy n | err | p50 | p95 | p99 | candidate n | err | p50 | p95 | p99 | p50 ratio [95%% CI] |\n")
		p("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
		side := func(sd analysis.SideSummary) string {
			if sd.Count == 0 {
				return md(dash(sd.NotRun)) + " | - | - | - | -"
			}
			n := fmt.Sprint(sd.Count)
			if np := notPerformed(sd); np != "" {
				n += " (" + md(np) + ")"
			}
			if !answered(sd) {
				return fmt.Sprintf("%s | %s | - | - | -", n, pct(sd.ErrorRate()))
			}
			return fmt.Sprintf("%s | %s | %.1f | %.1f | %.1f", n, pct(sd.ErrorRate()), sd.P50, sd.P95, sd.P99)
		}
		for _, st := range s.Steps {
			r := ratioText(st.Ratio)
			if st.Ratio == nil && st.NotJudged != "" {
				r += " (" + md(st.NotJudged) + ")"
			}
			switch {
			case st.UnhealthyShare > 0:
				r += " ⚠️ " + unhealthyText(st.UnhealthyShare)
			case st.SaturatedShare > 0:
				r += fmt.Sprintf(" ⚠️ %.0f%% measured while the generator was saturated", 100*st.SaturatedShare)
			}
			p("| %s/%s | %s | %s | %s |\n", md(st.Journey), md(st.Step), side(st.Legacy), side(st.Candidate), r)
		}
		p("\n</details>\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeCoverageMarkdown writes what the run did not see: one line counting the
// judged classes when it saw everything; else the preconditions and the
// classes not judged or judged in part, ❗ marking what keeps the run from
// passing, then the count.
func writeCoverageMarkdown(b *strings.Builder, s *analysis.Summary) {
	count := coverageCount(s)
	if count == "" {
		fmt.Fprintf(b, "**Coverage:** %s.\n\n", md(noCoverage(s)))
		return
	}
	items := coverageItems(s)
	if len(items) == 0 {
		fmt.Fprintf(b, "**Coverage:** %s.\n\n", count)
		return
	}
	b.WriteString("**Coverage**")
	if hasBlocking(items) {
		b.WriteString(" (❗ keeps the run from passing)")
	}
	b.WriteString(":\n\n")
	for _, it := range items {
		mark := ""
		if it.Blocking {
			mark = "❗ "
		}
		names := "precondition"
		if it.Precondition == nil {
			quoted := make([]string, len(it.Classes))
			for i, c := range it.Classes {
				quoted[i] = "`" + string(c) + "`"
			}
			names = strings.Join(quoted, ", ")
		}
		if it.Optional {
			names += " (optional)"
		}
		fmt.Fprintf(b, "- %s%s: %s\n", mark, names, md(it.Text))
	}
	fmt.Fprintf(b, "\n%s.\n\n", count)
}

// firstReason is the first reason an inconclusive run could not pass.
func firstReason(s *analysis.Summary) string {
	if len(s.Inconclusive) == 0 {
		return "the summary does not say why"
	}
	return s.Inconclusive[0]
}

// gateMark marks a row that fails the run, or passes it.
func gateMark(fails bool) string {
	if fails {
		return "❌"
	}
	return "➖"
}

// mdClass renders a finding's class as code, with the token check it failed.
func mdClass(f analysis.Finding) string {
	out := "`" + string(f.Class) + "`"
	if f.Check != "" {
		out += " (`" + codeEscaper.Replace(f.Check) + "`)"
	}
	return out
}

// md escapes text for a Markdown table cell: pipes, emphasis, code spans, HTML
// and line breaks. An underscore inside a word (grant_types_supported,
// REFRESH_FAILED) cannot start emphasis in GitHub Markdown and stays as it is,
// so the text reads the same raw and rendered; one at a word's edge is escaped.
var mdEscaper = strings.NewReplacer("|", `\|`, "*", `\*`, "`", "'", "<", "&lt;", ">", "&gt;", "[", `\[`, "]", `\]`, "\n", " ", "\r", " ")

func md(s string) string {
	s = mdEscaper.Replace(s)
	if !strings.Contains(s, "_") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '_' && !(i > 0 && wordByte(s[i-1]) && i+1 < len(s) && wordByte(s[i+1])) {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// wordByte reports whether c is a letter or digit (or any byte of a UTF-8
// sequence): an underscore between two of them is inside a word.
func wordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
}

// codeEscaper escapes text for a code span in a Markdown table cell, where a
// backslash shows as itself but a pipe still ends the cell.
var codeEscaper = strings.NewReplacer("`", "'", "|", `\|`, "\n", " ", "\r", " ")
