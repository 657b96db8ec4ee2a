package report

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cutover-dev/cutover/results/analysis"
	"github.com/cutover-dev/cutover/results/internal/fixture"
	"github.com/cutover-dev/cutover/results/record"
)

// TestDecision: the one sentence report.html and report.md open with, for
// every shape of cohort readiness.
func TestDecision(t *testing.T) {
	cohort := func(name, status string, blockedBy ...string) analysis.Cohort {
		return analysis.Cohort{Name: name, Status: status, BlockedBy: blockedBy}
	}
	fail, pass := analysis.CohortFail, analysis.CohortPass
	waves := func(n int, status string, blockedBy ...string) []analysis.Cohort {
		var out []analysis.Cohort
		for i := range n {
			out = append(out, cohort(fmt.Sprintf("wave-%d", i+1), status, blockedBy...))
		}
		return out
	}
	fixtureRun, _ := fixture.Golden.Summary(fixture.Options)
	for _, tt := range []struct {
		name string
		s    analysis.Summary
		want string
	}{
		{"every wave blocked", analysis.Summary{Verdict: analysis.VerdictFail, CohortBy: "wave",
			Cohorts: []analysis.Cohort{cohort("wave-1", fail, "C1", "C2"), cohort("wave-2", fail, "C1", "C3"), cohort("wave-3", fail, "C2")}},
			"No-go: 3 causes block all 3 waves"},
		{"one cause, one wave", analysis.Summary{Verdict: analysis.VerdictFail, CohortBy: "wave", Cohorts: []analysis.Cohort{cohort("wave-1", fail, "C1")}},
			"No-go: 1 cause blocks wave-1"},
		{"some waves ready", analysis.Summary{Verdict: analysis.VerdictFail, CohortBy: "wave",
			Cohorts: []analysis.Cohort{cohort("wave-1", pass), cohort("wave-2", pass), cohort("wave-3", fail, "C2")}},
			"Go for wave-1 and wave-2; wave-3 is blocked by C2"},
		{"blocked by different causes", analysis.Summary{Verdict: analysis.VerdictFail, CohortBy: "wave",
			Cohorts: []analysis.Cohort{cohort("wave-1", pass), cohort("wave-2", fail, "C1"), cohort("wave-3", fail, "C1", "C2"), cohort("wave-4", fail, "C1")}},
			"Go for wave-1; wave-2 and wave-4 are blocked by C1; wave-3 is blocked by C1 and C2"},
		{"the fixture", fixtureRun, "No-go: 4 causes block wave-1, wave-2 and wave-3; wave-4 was not exercised"},
		{"many cohorts", analysis.Summary{Verdict: analysis.VerdictFail, CohortBy: "hash_scheme",
			Cohorts: append(waves(7, fail, "C1"), cohort("wave-8", analysis.CohortInconclusive))},
			"No-go: 1 cause blocks wave-1, wave-2, wave-3, wave-4 and 3 more; wave-8 is inconclusive"},
		{"no cohorts", analysis.Summary{Verdict: analysis.VerdictFail, Causes: []analysis.Cause{{ID: "C1", Fails: true}, {ID: "C2"}}},
			"No-go: 1 cause fails the run"},
		{"no causes", analysis.Summary{Verdict: analysis.VerdictFail, Findings: []analysis.Finding{{Fails: true}, {Fails: true}}},
			"No-go: 2 findings fail the thresholds"},
		{"inconclusive", analysis.Summary{Verdict: analysis.VerdictInconclusive, Inconclusive: []string{"precondition: legacy login failed", "REFRESH_FAILED not judged"},
			Cohorts: waves(3, analysis.CohortInconclusive)},
			"Inconclusive: precondition: legacy login failed"},
		{"aborted", analysis.Summary{Verdict: analysis.VerdictAborted, Meta: analysis.Meta{Aborted: "error rate above 20%"}, Cohorts: waves(2, analysis.CohortIncomplete)},
			"No-go: the run was aborted (error rate above 20%); its figures cover only what ran"},
		{"every wave ready", analysis.Summary{Verdict: analysis.VerdictPass, CohortBy: "wave", Cohorts: waves(3, pass)}, "Go: all 3 waves are ready"},
		{"by another attribute", analysis.Summary{Verdict: analysis.VerdictPass, CohortBy: "hash_scheme",
			Cohorts: []analysis.Cohort{cohort("bcrypt", pass), cohort("sha256", pass)}}, "Go: all 2 cohorts are ready"},
		{"one ready, one not exercised", analysis.Summary{Verdict: analysis.VerdictPass, CohortBy: "wave",
			Cohorts: []analysis.Cohort{cohort("wave-1", pass), cohort("wave-2", analysis.CohortNotExercised), cohort("wave-3", analysis.CohortNotExercised)}},
			"Go for wave-1; wave-2 and wave-3 were not exercised"},
		{"pass without cohorts", analysis.Summary{Verdict: analysis.VerdictPass}, "Go: no finding fails the thresholds"},
	} {
		if got := decision(&tt.s); got != tt.want {
			t.Errorf("%s: decision = %q; want %q", tt.name, got, tt.want)
		}
	}
	// report.html and report.md open with the same sentence.
	want := decision(&fixtureRun) + "."
	html, md := string(render(t, &fixtureRun, WriteHTML)), string(render(t, &fixtureRun, WriteMarkdown))
	if !strings.Contains(html, `<p class="decision fail" id="decision">`+want+"</p>") {
		t.Errorf("report.html does not open with %q", want)
	}
	if lines := strings.Split(md, "\n"); len(lines) < 3 || lines[2] != "**"+want+"**" {
		t.Errorf("report.md's line 3 = %q; want **%s**", lines[min(2, len(lines)-1)], want)
	}
}

// controlRows reads the status of every control of report.html's evidence
// section, by control id.
func controlRows(t *testing.T, s *analysis.Summary) map[string]string {
	t.Helper()
	html := string(render(t, s, WriteHTML))
	ev := html[strings.Index(html, `<section id="evidence">`):]
	row := regexp.MustCompile(`(?s)<tr>\s*<td><strong>[^<]* ([^ <]+)</strong>.*?<span class="status [^"]*">([^<]*)</span>`)
	got := map[string]string{}
	for _, m := range row.FindAllStringSubmatch(ev, -1) {
		got[m[1]] = m[2]
	}
	if len(got) != len(Controls) {
		t.Fatalf("evidence section: %d controls read; want %d", len(got), len(Controls))
	}
	return got
}

// canary returns the fixture run without its break-glass journeys, as a
// canary that does not break the glass runs, with an audit step after every
// login whose events both stacks record when audited is set.
func canary(t *testing.T, audited bool) analysis.Summary {
	t.Helper()
	a := analysis.New(fixture.Options, fixture.Start)
	a.SetPersonas(fixture.Golden.Personas())
	for _, r := range fixture.Golden.Records() {
		if strings.HasPrefix(r.Step, "breakglass") || r.Facts.State != "" {
			continue
		}
		a.Add(r)
		if audited && r.Step == record.StepLogin && r.Facts.Decision == record.Allow {
			au := *r
			au.Step, au.Facts, au.Endpoints = record.StepAudit, record.Facts{Decision: record.Allow}, nil
			a.Add(&au)
		}
	}
	return a.Summary(fixture.Golden.Meta(), fixture.Golden.Accounting())
}

// TestControlsOfJourneysNotRun: in a canary that runs no break-glass journey,
// the emergency-access and audit controls are not exercised; with an audit
// step that passes, the audit control is partial (its break-glass checks did
// not run), never pass; and a summary without coverage does not pass a class
// whose steps got no candidate answer.
func TestControlsOfJourneysNotRun(t *testing.T) {
	got := controlRows(t, ptr(canary(t, false)))
	for id, want := range map[string]string{"164.312(b)": checkNotExercised, "164.312(a)(2)(ii)": checkNotExercised, "164.312(d)": checkPass} {
		if got[id] != want {
			t.Errorf("canary without break-glass: control %s = %q; want %q (all: %v)", id, got[id], want, got)
		}
	}
	audited := canary(t, true)
	got = controlRows(t, &audited)
	if got["164.312(b)"] != checkPartial {
		t.Errorf("canary with a passing audit step, no break-glass: control 164.312(b) = %q; want %q", got["164.312(b)"], checkPartial)
	}
	html := string(render(t, &audited, WriteHTML))
	if !regexp.MustCompile(`<code>AUDIT_EVENT_MISSING</code>: <span class="status pass">pass</span> <span class="meta">judged on \d+ personas</span>`).MatchString(html) {
		t.Errorf("the audit control does not say what its passing check was judged on")
	}

	// Before v3: no coverage. The audit step ran, but the candidate answered
	// none of it (the stack has no audit feed).
	old := canary(t, false)
	old.Schema, old.Coverage = analysis.SummarySchemaV2, nil
	old.Steps = append(old.Steps, analysis.StepSummary{Journey: "session", Step: record.StepAudit,
		Legacy: analysis.SideSummary{Count: 40, P50: 3}, Candidate: analysis.SideSummary{Unsupported: 40, NotRun: "unsupported: no audit feed"}})
	got = controlRows(t, &old)
	if got["164.312(b)"] != checkNotExercised {
		t.Errorf("v2 summary, audit step unanswered: control 164.312(b) = %q; want %q", got["164.312(b)"], checkNotExercised)
	}
	for _, ch := range parityChecks(&old) {
		if ch.Class == analysis.AuditEventMissing && (ch.Status != checkNotJudged || ch.Why() == "") {
			t.Errorf("v2 summary: AUDIT_EVENT_MISSING %q (%q); want not judged, with why", ch.Status, ch.Why())
		}
	}
	// Coverage that says judged on no unit is not a pass either.
	odd := canary(t, true)
	for i := range odd.Coverage {
		if odd.Coverage[i].Class == analysis.AuditEventMissing {
			odd.Coverage[i].Units = 0
		}
	}
	for _, ch := range parityChecks(&odd) {
		if ch.Class == analysis.AuditEventMissing && ch.Status == checkPass {
			t.Errorf("AUDIT_EVENT_MISSING judged on no unit passes")
		}
	}
}

func ptr[T any](v T) *T { return &v }

// polyline reads the points of the polyline of a series inside the SVG of id.
func polyline(t *testing.T, html, id, series string) [][2]float64 {
	t.Helper()
	i := strings.Index(html, `id="`+id+`"`)
	if i < 0 {
		t.Fatalf("no plot %s", id)
	}
	svg := html[i : i+strings.Index(html[i:], "</svg>")]
	m := regexp.MustCompile(`data-series="` + series + `" data-points="\d+" points="([^"]*)"`).FindStringSubmatch(svg)
	if m == nil {
		t.Fatalf("plot %s has no series %q", id, series)
	}
	var out [][2]float64
	for _, p := range strings.Fields(m[1]) {
		x, y, _ := strings.Cut(p, ",")
		fx, _ := strconv.ParseFloat(x, 64)
		fy, _ := strconv.ParseFloat(y, 64)
		out = append(out, [2]float64{fx, fy})
	}
	return out
}

// TestStepPlotsShowASlowerStep: the fixture's candidate login is 10ms slower,
// its probes are not. Login's own plot draws the candidate above legacy in
// every bucket; the probe's lines cross; both have titled axes and the
// generator's windows shaded; login, with its latency finding, has a
// distribution plot with the candidate above legacy at every percentile.
func TestStepPlotsShowASlowerStep(t *testing.T) {
	s, _ := fixture.Golden.Summary(fixture.Options)
	html := string(render(t, &s, WriteHTML))
	index := map[string]int{}
	for i, st := range s.Steps {
		index[st.Step] = i
	}
	above := func(id string) (n, of int) {
		leg, cand := polyline(t, html, id, "legacy p50"), polyline(t, html, id, "candidate p50")
		if len(leg) != len(cand) || len(leg) < 10 {
			t.Fatalf("plot %s: %d legacy and %d candidate points; want one per bucket each", id, len(leg), len(cand))
		}
		for i := range leg {
			if leg[i][0] != cand[i][0] {
				t.Fatalf("plot %s: point %d at x %v and %v", id, i, leg[i][0], cand[i][0])
			}
			if cand[i][1] < leg[i][1] { // SVG y grows downwards
				n++
			}
		}
		return n, len(leg)
	}
	login, probe := fmt.Sprintf("latency-step-%d", index[record.StepLogin]), fmt.Sprintf("latency-step-%d", index[record.StepProbe])
	if n, of := above(login); n != of {
		t.Errorf("login: the candidate is drawn above legacy in %d of %d buckets; want all", n, of)
	}
	if n, of := above(probe); n == 0 || n == of {
		t.Errorf("probe: the candidate is drawn above legacy in %d of %d buckets; want the lines to cross", n, of)
	}
	for _, id := range []string{login, probe} {
		i := strings.Index(html, `id="`+id+`"`)
		svg := html[i : i+strings.Index(html[i:], "</svg>")]
		for _, want := range []string{`>time since the run&#39;s start (s)</text>`, `>p50 latency (ms)</text>`, `<rect class="band"`, `<rect class="unhealthy"`} {
			if !strings.Contains(svg, want) {
				t.Errorf("plot %s lacks %s", id, want)
			}
		}
	}
	dist := fmt.Sprintf("latency-dist-%d", index[record.StepLogin])
	leg, cand := polyline(t, html, dist, "legacy"), polyline(t, html, dist, "candidate")
	if len(leg) != 5 || len(cand) != 5 {
		t.Fatalf("distribution of login: %d and %d points; want p50, p90, p95, p99 and max on each side", len(leg), len(cand))
	}
	for i := range leg {
		if cand[i][1] >= leg[i][1] || (i > 0 && (leg[i][0] <= leg[i-1][0] || leg[i][1] > leg[i-1][1])) {
			t.Errorf("distribution of login, point %d: legacy %v, candidate %v; want percentiles rising left to right, the candidate's above", i, leg[i], cand[i])
		}
	}
	if n := strings.Count(html, `id="latency-dist-`); n != 1 {
		t.Errorf("%d distribution plots; want 1, for the one step with a latency finding", n)
	}
	if strings.Contains(html, `id="latency-over-time"`) {
		t.Errorf("the plot mixing every step is drawn although every step has its own")
	}
	// A summary written before the steps' own timelines falls back on it.
	for i := range s.Steps {
		s.Steps[i].Timeline = nil
	}
	if old := string(render(t, &s, WriteHTML)); !strings.Contains(old, `id="latency-over-time"`) || !strings.Contains(old, `id="no-step-timelines"`) {
		t.Errorf("without per-step timelines: no plot of every step together, or no word on why")
	}
}

// TestNoticesShaded: only a notice about the generator's windows says they
// are shaded, and only when the plots have windows to shade.
func TestNoticesShaded(t *testing.T) {
	s, _ := fixture.Golden.Summary(fixture.Options)
	s.Notices = append(s.Notices, analysis.Notice{Class: analysis.ProvisioningDrift, Detail: "3 personas hold other roles in the candidate's directory"})
	html := string(render(t, &s, WriteHTML))
	notices := regexp.MustCompile(`<p class="notice"><strong>([A-Z_]+)</strong>: [^\n]*`).FindAllStringSubmatch(html, -1)
	if len(notices) != 3 {
		t.Fatalf("%d notices; want 3", len(notices))
	}
	for _, n := range notices {
		if shaded := strings.Contains(n[0], "Shaded on the"); shaded != (n[1] == string(analysis.GeneratorSaturated)) {
			t.Errorf("notice %s says shaded: %t: %s", n[1], shaded, n[0])
		}
	}
	s.Generator.Saturated, s.Generator.Unhealthy = nil, nil
	if html := string(render(t, &s, WriteHTML)); strings.Contains(html, "Shaded on the") {
		t.Errorf("a notice says shaded although the plots shade no window")
	}
}

// TestScreenshotsOfFailedSteps: report.html shows and links the screenshot
// of each failed browser step (from a finding's examples or the step's own
// evidence, each once, the DOM excerpt linked beside it), and never links a
// path that leaves the results folder.
func TestScreenshotsOfFailedSteps(t *testing.T) {
	s, _ := fixture.Golden.Summary(fixture.Options)
	login := "browser/" + record.StepBrowserLogin
	s.Findings = append(s.Findings, analysis.Finding{Class: analysis.LoginFailed, Severity: analysis.High, Journey: "browser", Step: record.StepBrowserLogin, PersonaKind: "patient",
		Count: 1, Examples: []analysis.Example{{Persona: "patient-00007", Iteration: 7, Legacy: "allow", Candidate: "deny",
			Evidence: []string{"evidence/a.png", "evidence/a.html"}}}})
	s.Steps = append(s.Steps, analysis.StepSummary{Journey: "browser", Step: record.StepBrowserLogin, Evidence: []analysis.StepEvidence{
		{Side: record.Candidate, Persona: "patient-00007", Iteration: 7, Outcome: record.OK, Files: []string{"evidence/a.png", "evidence/a.html"}},
		{Side: record.Candidate, Persona: "patient-00001", Iteration: 1, Outcome: record.Error, Error: "landing page did not show", Files: []string{"evidence/b.png", "evidence/b.html"}},
		{Side: record.Legacy, Persona: "patient-00002", Iteration: 2, Outcome: record.Error, Files: []string{"../../etc/passwd.png", "javascript:alert(1).png", "/tmp/x.png"}},
	}})
	got := shots(&s)
	if len(got) != 2 || got[0].Image != "evidence/a.png" || got[0].Files[0] != "evidence/a.html" || got[0].Step != login ||
		got[1].Image != "evidence/b.png" || got[1].What != "landing page did not show" {
		t.Fatalf("shots = %+v; want a.png (the finding's example) and b.png (the step's error), once each", got)
	}
	html := string(render(t, &s, WriteHTML))
	for _, want := range []string{`<a href="evidence/a.png"><img src="evidence/a.png"`, `<a href="evidence/b.png"><img src="evidence/b.png"`,
		`<a href="evidence/b.html">evidence/b.html</a>`, `candidate <strong>deny</strong> · <a href="evidence/a.png">a.png</a>`} {
		if !strings.Contains(html, want) {
			t.Errorf("report.html lacks %s", want)
		}
	}
	for _, bad := range []string{"passwd", "javascript:", "/tmp/x.png"} {
		if strings.Contains(html, bad) {
			t.Errorf("report.html links %s, outside the results folder", bad)
		}
	}
	for p, want := range map[string]bool{"evidence/a.png": true, "a.png": true, "": false, "../a.png": false, "evidence/../../a.png": false,
		"/etc/a.png": false, "http://example.com/a.png": false, `evidence\a.png`: false, "evidence//a.png": false, "evidence/a.png?x": false} {
		if got := evidencePath(p); got != want {
			t.Errorf("evidencePath(%q) = %t; want %t", p, got, want)
		}
	}
}

// TestStepTimelineInSummary: the timelines a summary holds per step are
// those the analysis computed: the fixture's 20s, a point a second.
func TestStepTimelineInSummary(t *testing.T) {
	s, _ := fixture.Golden.Summary(fixture.Options)
	for _, st := range s.Steps {
		if st.Timeline == nil || st.Timeline.BucketMS != int64(time.Second/time.Millisecond) || len(st.Timeline.Points) != 20 {
			t.Errorf("%s/%s timeline = %+v; want 20 points of 1s", st.Journey, st.Step, st.Timeline)
		}
	}
}
