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
// findings first, latencies folded away.
func WriteMarkdown(w io.Writer, s *analysis.Summary) error {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	icon := map[string]string{analysis.VerdictPass: "✅", analysis.VerdictFail: "❌", analysis.VerdictAborted: "⚠️"}[s.Verdict]
	p("### %s cutover %s: `%s`\n\n", icon, strings.ToUpper(s.Verdict), md(s.Meta.Name))
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
			mark := gateMark(c.Fails, c.Untrusted)
			var ev []string
			for _, cc := range c.Classes {
				ev = append(ev, md(cc.Evidence))
			}
			p("| %s | %s | %s | %s | %s |\n", mark, c.ID, c.Severity, md(c.Title), strings.Join(ev, "<br>"))
		}
		p("\n")
	}
	if len(s.Cohorts) > 0 {
		p("**Cohort readiness** (by %s):\n\n| cohort | status | personas | exercised | blocked by |\n|---|---|---:|---:|---|\n", md(s.CohortBy))
		for _, c := range s.Cohorts {
			icon := map[string]string{analysis.CohortPass: "✅", analysis.CohortFail: "❌", analysis.CohortIncomplete: "⚠️", analysis.CohortNotExercised: "➖"}[c.Status]
			p("| %s | %s %s | %d | %d | %s |\n", md(c.Name), icon, c.Status, c.Personas, c.Exercised, md(cohortCauses(s, c)))
		}
		if hasUntrustedCause(s) {
			p("\n? measured while the generator was saturated: not trustworthy.\n")
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
			mark := gateMark(f.Fails, f.Untrusted)
			p("| %s | %s | %s | `%s` | %s/%s | %s | %d | %s |\n", mark, dash(causeOf[f.Ref()]), f.Severity, f.Class, md(f.Journey), md(f.Step), md(dash(f.PersonaKind)), f.Count, md(f.ExampleText()))
		}
		p("\n</details>\n\n")
	}
	g := s.Generator
	p("Generator: scheduled %d, started %d, late %d, dropped %d. Compared %d candidate steps (%d uncomparable, %d disagreed).\n",
		g.Scheduled, g.Started, g.Late, g.Dropped, s.Compared, s.Uncomparable, s.Disagreed)
	p("Run: seed %d, config `%s`, %s, started %s, cutover %s.\n\n", s.Meta.Seed, md(s.Meta.ConfigHash),
		s.Meta.Duration.Round(time.Millisecond), s.Meta.Start.UTC().Format(time.RFC3339), md(s.Meta.Version))
	if len(s.Steps) > 0 {
		p("<details><summary>Latency per step (ms) and error rates</summary>\n\n")
		p("| journey/step | legacy n | err | p50 | p95 | p99 | candidate n | err | p50 | p95 | p99 | p50 ratio [95%% CI] |\n")
		p("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
		for _, st := range s.Steps {
			l, c := st.Legacy, st.Candidate
			r := ratioText(st.Ratio)
			if st.SaturatedShare > 0 {
				r += " ⚠️"
			}
			p("| %s/%s | %d | %s | %.1f | %.1f | %.1f | %d | %s | %.1f | %.1f | %.1f | %s |\n", md(st.Journey), md(st.Step),
				l.Count, pct(l.ErrorRate()), l.P50, l.P95, l.P99, c.Count, pct(c.ErrorRate()), c.P50, c.P95, c.P99, r)
		}
		p("\n</details>\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// gateMark marks a row that fails the run, or passes it, and one measured while
// the generator was saturated.
func gateMark(fails, untrusted bool) string {
	mark := "❌"
	if !fails {
		mark = "➖"
	}
	if untrusted {
		mark += "⚠️"
	}
	return mark
}

// md escapes text for a Markdown table cell: pipes, emphasis, code spans, HTML
// and line breaks.
var mdEscaper = strings.NewReplacer("|", `\|`, "*", `\*`, "_", `\_`, "`", "'", "<", "&lt;", ">", "&gt;", "[", `\[`, "]", `\]`, "\n", " ", "\r", " ")

func md(s string) string { return mdEscaper.Replace(s) }
