package report

import (
	"encoding/xml"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/cutover-dev/cutover/results/analysis"
	"github.com/cutover-dev/cutover/results/internal/fixture"
)

// renderAll renders the four reports of s: terminal summary, report.md,
// report.html and junit.xml, by name.
func renderAll(t *testing.T, s *analysis.Summary) map[string]string {
	t.Helper()
	return map[string]string{
		"table": string(render(t, s, WriteTable)),
		"md":    string(render(t, s, WriteMarkdown)),
		"html":  string(render(t, s, WriteHTML)),
		"junit": string(render(t, s, WriteJUnit)),
	}
}

// TestInconclusiveRun renders the run that saw too little to pass: every
// report says inconclusive and why, shows the precondition first, never
// passes a class it did not judge, shows the steps a side did not perform as
// such (never as a count with 0.0 ms), its cohorts as inconclusive with the
// classes they miss, what legacy shows too apart from the regressions, and the
// pool shortfall apart from the generator's saturation.
func TestInconclusiveRun(t *testing.T) {
	s, _ := fixture.Thin.Summary(fixture.ThinOptions)
	if s.Verdict != analysis.VerdictInconclusive || len(s.Preconditions) != 1 || len(s.Shared) != 2 || len(s.Findings) != 0 {
		t.Fatalf("thin run: verdict %s, %d preconditions, %d shared, %d findings; want inconclusive, 1, 2, 0 (the fixture changed?)",
			s.Verdict, len(s.Preconditions), len(s.Shared), len(s.Findings))
	}
	out := renderAll(t, &s)
	precond := s.Preconditions[0].Text()
	for _, tt := range []struct {
		report string
		want   []string
	}{
		{"table", []string{"verdict: INCONCLUSIVE", "inconclusive: the run did not see enough to pass it", "  ! precondition: legacy session/logout.introspect failed on 234 of 234",
			"  ! REFRESH_FAILED, REFRESH_NOT_ROTATED, SCOPE_WIDENED_ON_REFRESH: not judged: unsupported: token endpoint",
			"    BREAKGLASS_NOT_EXPIRED (optional): not judged", "13 classes judged, 1 partial, 5 not judged, 8 not in any journey",
			"present on both stacks (not regressions, never failing): TOKEN_INVALID (id_token.nonce) login/clinician x6",
			"pool shortfall (not the generator): journey session dropped 6 starts", "inconclusive   not judged: REFRESH_FAILED",
			"candidate unsupported: token endpoint does not offer the refresh_token grant", "- (too few healthy answers)", "20% set apart: generator unhealthy"}},
		{"md", []string{"### ❔ cutover INCONCLUSIVE: `thin`\n\n**Inconclusive: precondition: " + md(precond) + ".** The run did not see enough to pass it (6 reasons", "- ❗ precondition: " + md(precond),
			"| ❔ inconclusive |", "not judged: REFRESH_FAILED", "**Present on both stacks** (2)", "`TOKEN_INVALID` (`id_token.nonce`)",
			"| unsupported: token endpoint does not offer the refresh_token grant | - | - | - | - |", "Pool shortfall (too few personas, not the generator)"}},
		{"html", []string{`<span class="verdict inconclusive" id="verdict">inconclusive</span>`, `<p class="decision inconclusive" id="decision">Inconclusive: precondition: legacy session/logout.introspect`, `id="inconclusive"`, `<section id="coverage">`,
			`<td colspan="7" class="not-run">unsupported: token endpoint does not offer the refresh_token grant</td>`, `<section id="shared">`,
			`check <code>id_token.nonce</code>`, `<span class="status inconclusive">inconclusive</span>`, `class="info shortfall"`}},
		{"junit", []string{`<failure message="inconclusive: the run did not see enough to pass it (6 reasons)" type="inconclusive">`,
			`<testcase name="precondition: legacy session/logout.introspect" classname="cutover.run">`, `<testcase name="TOKEN_INVALID" classname="cutover.parity">`}},
	} {
		for _, w := range tt.want {
			if !strings.Contains(out[tt.report], w) {
				t.Errorf("%s lacks %q:\n%s", tt.report, w, out[tt.report])
			}
		}
	}
	// Preconditions come first: before any class, in every report.
	for _, r := range []string{"table", "md", "html"} {
		p, c := strings.Index(out[r], "precondition"), strings.Index(out[r], "REFRESH_FAILED")
		if p < 0 || c < 0 || p > c {
			t.Errorf("%s: precondition at %d, first class at %d; want the precondition first", r, p, c)
		}
		// Coverage comes before the causes and the cohorts; report.html opens
		// with the decision (the first reason) and the cohorts, coverage after.
		cov, coh := strings.Index(out[r], "13 classes judged"), strings.Index(strings.ToLower(out[r]), "cohort")
		if r == "html" {
			if dec := strings.Index(out[r], `id="decision"`); dec < 0 || coh < dec || cov < coh {
				t.Errorf("html: decision at %d, cohorts at %d, coverage at %d; want them in that order", dec, coh, cov)
			}
		} else if cov < 0 || coh < cov {
			t.Errorf("%s: coverage at %d, cohorts at %d; want the coverage near the top", r, cov, coh)
		}
	}
	for r, text := range out {
		if strings.Contains(text, "quieter machine") {
			t.Errorf("%s advises a quieter machine for a pool shortfall", r)
		}
		if strings.Contains(text, "untrusted") {
			t.Errorf("%s still speaks of untrusted findings", r)
		}
	}
	// A side that did not perform a step is never shown as a count with 0.0 ms.
	for _, l := range strings.Split(out["table"], "\n") {
		if strings.HasPrefix(l, "session  refresh") && (strings.Contains(l, "0/0") || strings.Contains(l, "0.0ms")) {
			t.Errorf("terminal: a step the candidate did not perform shows figures: %q", l)
		}
	}
	if strings.Contains(out["md"], "| 0 | 0.00% | 0.0 | 0.0 | 0.0 |") {
		t.Errorf("report.md shows a step a side did not perform as 0 with 0.0 ms:\n%s", out["md"])
	}

	// junit: a class the run did not judge is skipped with its reason, never
	// passed; the run's own case fails with every reason.
	var doc junitSuites
	if err := xml.Unmarshal([]byte(out["junit"]), &doc); err != nil {
		t.Fatal(err)
	}
	cases := map[string]junitCase{}
	for _, su := range doc.Suites {
		for _, c := range su.Cases {
			cases[c.Name] = c
		}
	}
	for _, cov := range s.Coverage {
		c, ok := cases[string(cov.Class)]
		if cov.Class.Performance() {
			continue
		}
		switch {
		case !ok:
			t.Errorf("junit: no test case for %s", cov.Class)
		case cov.Status == analysis.CoverageNotJudged || cov.Status == analysis.CoverageNotPlanned:
			if c.Skipped == nil || !strings.HasPrefix(c.Skipped.Message, cov.Status+": ") || (cov.Status == analysis.CoverageNotJudged && !strings.Contains(c.Skipped.Message, coverageReason(cov))) {
				t.Errorf("junit %s (%s): %+v; want skipped with the coverage reason %q", cov.Class, cov.Status, c, coverageReason(cov))
			}
		case c.Skipped != nil || c.Failure != nil:
			t.Errorf("junit %s (%s): %+v; want passed", cov.Class, cov.Status, c)
		}
	}
	if c := cases["latency session/audit"]; c.Skipped == nil || !strings.Contains(c.Skipped.Message, "healthy generator") {
		t.Errorf("junit latency session/audit = %+v; want skipped: too few answers from a healthy generator", c)
	}
	run := cases["run verdict"]
	if run.Failure == nil || run.Failure.Type != analysis.VerdictInconclusive {
		t.Fatalf("junit run verdict = %+v; want failed as inconclusive", run)
	}
	for _, why := range s.Inconclusive {
		if !strings.Contains(run.Failure.Text, why) {
			t.Errorf("junit run verdict does not give the reason %q", why)
		}
	}
	if doc.Failures != 2 {
		t.Errorf("junit: %d failures; want 2 (the verdict, the precondition)", doc.Failures)
	}
}

// TestControlsNeverPassWhatWasNotJudged: a control whose classes the run did
// not judge is not exercised; one with some judged and some not is partial;
// one whose class legacy fails too is not a pass either.
func TestControlsNeverPassWhatWasNotJudged(t *testing.T) {
	s, _ := fixture.Thin.Summary(fixture.ThinOptions)
	html := string(render(t, &s, WriteHTML))
	ev := html[strings.Index(html, `<section id="evidence">`):]
	row := regexp.MustCompile(`(?s)<tr>\s*<td><strong>[^<]* ([^ <]+)</strong>.*?<span class="status [^"]*">([^<]*)</span>`)
	got := map[string]string{}
	for _, m := range row.FindAllStringSubmatch(ev, -1) {
		got[m[1]] = m[2]
	}
	for id, want := range map[string]string{
		"164.312(a)(2)(ii)": checkPartial, // BREAKGLASS_DENIED passed, BREAKGLASS_NOT_EXPIRED planned but not judged
		"PR.AA-05":          checkPartial, // SCOPE_WIDENED_ON_REFRESH not judged, OVER_PERMISSION passed
		"164.312(d)":        checkShared,  // TOKEN_INVALID on both stacks
		"164.312(a)(1)":     checkShared,
		"NHI7:2025":         checkNotExercised,
	} {
		if got[id] != want {
			t.Errorf("control %s = %q; want %q (all: %v)", id, got[id], want, got)
		}
	}
	for _, ch := range parityChecks(&s) {
		if ch.Coverage != nil && ch.Coverage.Status != analysis.CoverageJudged && ch.Status == checkPass {
			t.Errorf("%s: %s but passed", ch.Class, ch.Coverage.Status)
		}
	}
}

// TestControlStatus folds the checks of a control: never a pass on checks
// the run did not judge.
func TestControlStatus(t *testing.T) {
	for _, tt := range []struct {
		checks []string
		want   string
	}{
		{[]string{checkNotJudged}, checkNotExercised},
		{[]string{checkNotJudged, checkNotExercised}, checkNotExercised},
		{[]string{checkNotExercised}, checkNotExercised},
		{nil, checkNotExercised},
		{[]string{checkPass}, checkPass},
		{[]string{checkPass, checkPass}, checkPass},
		// Some of its checks no journey of the run exercised: no pass.
		{[]string{checkPass, checkNotExercised}, checkPartial},
		{[]string{checkPass, checkNotJudged}, checkPartial},
		{[]string{checkPartial}, checkPartial},
		{[]string{checkPass, checkShared}, checkShared},
		{[]string{checkPass, checkFound, checkShared}, checkFound},
		{[]string{checkNotJudged, checkFail, checkFound}, checkFail},
	} {
		cs := make([]check, len(tt.checks))
		for i, st := range tt.checks {
			cs[i] = check{Status: st}
		}
		if got := controlStatus(cs); got != tt.want {
			t.Errorf("controlStatus(%q) = %q; want %q", tt.checks, got, tt.want)
		}
	}
}

// TestCoverageOneLineWhenAllJudged: a run that judged every class its
// journeys could keeps the coverage to one line of the terminal summary,
// right under the verdict's header.
func TestCoverageOneLineWhenAllJudged(t *testing.T) {
	s, _ := fixture.Golden.Summary(fixture.Options)
	lines := strings.Split(string(render(t, &s, WriteTable)), "\n")
	var cov []string
	for _, l := range lines {
		if strings.Contains(l, "judged") || strings.Contains(l, "precondition") || strings.HasPrefix(l, "coverage") {
			cov = append(cov, l)
		}
	}
	if want := []string{"coverage: 12 classes judged, 15 not in any journey"}; !slices.Equal(cov, want) || lines[3] != want[0] {
		t.Errorf("coverage lines %q (line 4: %q); want %q on line 4", cov, lines[3], want)
	}
}

// TestTokenInvalidNamesItsCheck: a TOKEN_INVALID regression names the check
// the tokens failed in every report, folded into a cause or, when what both
// stacks show is made to fail the run (no cause folds it), listed as it is.
func TestTokenInvalidNamesItsCheck(t *testing.T) {
	drift := fixture.Thin
	drift.NonceDrift = true // the candidate alone fails the nonce check
	lenient := fixture.ThinOptions
	lenient.SharedFails = true // what legacy shows too counts as a regression
	for _, tt := range []struct {
		name  string
		run   fixture.ThinRun
		opt   analysis.Options
		table string
	}{
		{"candidate only", drift, fixture.ThinOptions, "TOKEN_INVALID (id_token.nonce) on 6 personas"},
		{"both stacks, failing", fixture.Thin, lenient, "-   critical TOKEN_INVALID (id_token.nonce) session/login clinician x6"},
	} {
		s, _ := tt.run.Summary(tt.opt)
		if s.Verdict != analysis.VerdictFail || !slices.ContainsFunc(s.Findings, func(f analysis.Finding) bool { return f.Class == analysis.TokenInvalid && f.Check == "id_token.nonce" }) {
			t.Fatalf("%s: verdict %s, findings %+v; want fail on TOKEN_INVALID with its check", tt.name, s.Verdict, s.Findings)
		}
		out := renderAll(t, &s)
		for r, want := range map[string]string{
			"md":    "`TOKEN_INVALID` (`id_token.nonce`)",
			"html":  "<code>TOKEN_INVALID</code><br>check <code>id_token.nonce</code>",
			"junit": "critical TOKEN_INVALID (id_token.nonce) session/login kind=clinician count=6",
			"table": tt.table,
		} {
			if !strings.Contains(out[r], want) {
				t.Errorf("%s: %s lacks %q:\n%s", tt.name, r, want, out[r])
			}
		}
		var findings strings.Builder
		if err := WriteFindings(&findings, &s); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(findings.String(), "TOKEN_INVALID (id_token.nonce)") {
			t.Errorf("%s: finding rows lack the check:\n%s", tt.name, findings.String())
		}
	}
}

// TestSummaryBeforeCoverage: a v2 summary, which has no coverage, says so and
// judges its checks as before (a class no step could raise is not exercised).
func TestSummaryBeforeCoverage(t *testing.T) {
	s, _ := fixture.Golden.Summary(fixture.Options)
	s.Schema, s.Coverage, s.Preconditions, s.Shared, s.Inconclusive = analysis.SummarySchemaV2, nil, nil, nil, nil
	out := renderAll(t, &s)
	for r, want := range map[string]string{
		"table": "coverage: not in this summary (schema v2): `cutover report DIR` judges it from the records",
		"md":    "**Coverage:** not in this summary (schema v2)",
		"html":  "Coverage: not in this summary (schema v2)",
		"junit": `<skipped message="not exercised: no step of this run can raise it">`,
	} {
		if !strings.Contains(out[r], want) {
			t.Errorf("%s lacks %q", r, want)
		}
	}
}

// TestMarkdownEscape: text in report.md cannot open emphasis, code, links or
// HTML, nor end a table cell; an underscore inside a word, which cannot open
// emphasis, stays as written.
func TestMarkdownEscape(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"grant_types_supported", "grant_types_supported"},
		{"_init_ and __x__", `\_init\_ and \_\_x\_\_`},
		{"a|b *c* `d` <e> [f]", `a\|b \*c\* 'd' &lt;e&gt; \[f\]`},
		{"REFRESH_FAILED_", `REFRESH_FAILED\_`},
		{"ünïcode_wörd", "ünïcode_wörd"},
		{"line\nbreak", "line break"},
	} {
		if got := md(tt.in); got != tt.want {
			t.Errorf("md(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

// TestCauseCarriesItsCheck: a class that a provider's documented behaviour
// commonly explains carries its advice into report.md and report.html, beside
// the cause's evidence.
func TestCauseCarriesItsCheck(t *testing.T) {
	s, _ := fixture.Golden.Summary(fixture.Options)
	if len(s.Causes) == 0 {
		t.Fatal("the golden run has no cause")
	}
	c := &s.Causes[0]
	c.Classes = append(c.Classes, analysis.CauseClass{Class: analysis.RefreshReuseAccepted, Evidence: "3 of 3 personas",
		Check: analysis.RefreshReuseAccepted.Info().Check})
	if !strings.Contains(c.Classes[len(c.Classes)-1].Check, "stacks.candidate.waits.before_replay") {
		t.Fatalf("REFRESH_REUSE_ACCEPTED's check %q does not name waits.before_replay", c.Classes[len(c.Classes)-1].Check)
	}
	out := renderAll(t, &s)
	for _, name := range []string{"md", "html"} {
		if !strings.Contains(out[name], "check: some providers accept a rotated refresh token again") {
			t.Errorf("%s lacks the cause's check", name)
		}
	}
}
