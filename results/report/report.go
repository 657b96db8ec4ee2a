// Package report renders a judged run: report.md (short enough for a
// pull-request comment), junit.xml for CI, the self-contained report.html with
// its plots and compliance evidence (the controls each class evidences), the
// terminal tables (WriteTable, WriteFindings) and the text of a diff
// (WriteDiff). Every report is rendered from the summary alone. It imports
// results/record and results/analysis of this module, nothing else: never
// results (the folder, above it), loadgen or journeys.
package report

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/cutover-dev/cutover/results/analysis"
	"github.com/cutover-dev/cutover/results/record"
)

// Check states, as every report shows them.
const (
	checkFail  = "fail"
	checkFound = "found"
	// checkShared: no regression, but findings legacy shows too (present on
	// both stacks): reported, never failing, never a pass either.
	checkShared = "on both stacks"
	checkPass   = "pass"
	// checkPartial: no finding, but the class was judged for some of the
	// persona kinds (or steps) that ran its steps only.
	checkPartial = "partial"
	// checkNotJudged: the journeys should have judged the class and did not.
	checkNotJudged = "not judged"
	// checkNotExercised: no step of the run could raise the class.
	checkNotExercised = "not exercised"
)

// check is one regression class judged over a run.
type check struct {
	Class    analysis.Class
	Status   string
	Findings []analysis.Finding
	Count    int
	// Coverage is how well the run judged the class; nil in summaries before
	// v3, which do not say.
	Coverage *analysis.ClassCoverage
	// Shared are the class's findings legacy shows too: no regression.
	Shared []analysis.Finding
}

// SharedCount counts the occurrences present on both stacks.
func (c check) SharedCount() int {
	n := 0
	for _, f := range c.Shared {
		n += f.Count
	}
	return n
}

// JudgedOn counts the units the run judged the class on ("30 personas"); ""
// when it judged none or the summary does not say (before v3).
func (c check) JudgedOn() string {
	if c.Coverage == nil || c.Coverage.Units == 0 {
		return ""
	}
	return unitsText(*c.Coverage)
}

// Why says why the run did not judge the class, or where it judged it only
// in part; "" when it judged it.
func (c check) Why() string {
	switch {
	case c.Coverage != nil && c.Coverage.Status == analysis.CoverageJudged && c.Status == checkNotJudged:
		return "judged on no unit"
	case c.Coverage != nil:
		return coverageReason(*c.Coverage)
	case c.Status == checkNotExercised:
		return "no step of this run can raise it"
	case c.Status == checkNotJudged:
		return "no candidate step that can raise it got an answer"
	}
	return ""
}

// parityChecks judges every parity class of DOMAIN.md over the summary: failed,
// found without failing the thresholds, passed, judged in part, not judged
// although the journeys should have, or not exercised by the run's steps. A
// class the run did not judge never passes: nor one judged on no unit, nor,
// in a summary without coverage, one whose steps no candidate answer came
// from.
func parityChecks(s *analysis.Summary) []check {
	steps := stepNames(s)
	cov := coverageByClass(s)
	var out []check
	for _, c := range analysis.Classes {
		if c.Performance() || c.Severity() == analysis.Info {
			continue
		}
		ch := check{Class: c, Status: checkPass}
		for _, f := range s.Findings {
			if f.Class == c {
				ch.Findings = append(ch.Findings, f)
				ch.Count += f.Count
			}
		}
		for _, f := range s.Shared {
			if f.Class == c {
				ch.Shared = append(ch.Shared, f)
			}
		}
		cc, known := cov[c]
		if known {
			ch.Coverage = &cc
		}
		switch {
		case slices.ContainsFunc(ch.Findings, func(f analysis.Finding) bool { return f.Fails }):
			ch.Status = checkFail
		case len(ch.Findings) > 0:
			ch.Status = checkFound
		case len(ch.Shared) > 0:
			ch.Status = checkShared
		case known && cc.Status == analysis.CoverageJudged && cc.Units == 0:
			// Judged on nothing is not judged, whatever the summary says.
			ch.Status = checkNotJudged
		case known:
			ch.Status = map[string]string{analysis.CoverageJudged: checkPass, analysis.CoveragePartial: checkPartial,
				analysis.CoverageNotJudged: checkNotJudged, analysis.CoverageNotPlanned: checkNotExercised}[cc.Status]
		case !c.Exercised(steps):
			ch.Status = checkNotExercised
		case !slices.ContainsFunc(s.Steps, func(st analysis.StepSummary) bool {
			return slices.Contains(c.Info().Steps, st.Step) && answered(st.Candidate)
		}):
			// A summary without coverage (before v3): the run recorded the
			// class's steps, but the candidate answered none of them.
			ch.Status = checkNotJudged
		}
		out = append(out, ch)
	}
	return out
}

// coverageByClass indexes the summary's coverage by class.
func coverageByClass(s *analysis.Summary) map[analysis.Class]analysis.ClassCoverage {
	out := make(map[analysis.Class]analysis.ClassCoverage, len(s.Coverage))
	for _, c := range s.Coverage {
		out[c.Class] = c
	}
	return out
}

// coverageText is a class's coverage in one line: ClassCoverage.Text, with
// the gaps that share one reason folded together ("not judged: unsupported:
// no refresh_token grant (admin 0 of 60, billing 0 of 60)").
func coverageText(c analysis.ClassCoverage) string {
	if len(c.Gaps) < 2 || slices.ContainsFunc(c.Gaps, func(g analysis.CoverageGap) bool { return g.Reason != c.Gaps[0].Reason }) {
		return c.Text()
	}
	who := make([]string, len(c.Gaps))
	for i, g := range c.Gaps {
		who[i] = g.Kind + g.Step
		if g.Ran > 0 {
			who[i] += fmt.Sprintf(" %d of %d", g.Judged, g.Ran)
		}
	}
	folded := c
	folded.Gaps = nil
	folded.Reason = c.Gaps[0].Reason + " (" + strings.Join(who, ", ") + ")"
	return folded.Text()
}

// coverageReason is why a class was not judged, or where it was judged only
// in part, without its status: "" for a judged class.
func coverageReason(c analysis.ClassCoverage) string {
	switch c.Status {
	case analysis.CoverageJudged:
		return ""
	case analysis.CoverageNotPlanned:
		return "no configured journey runs a step that could raise it"
	}
	_, why, _ := strings.Cut(coverageText(c), ": ")
	return why
}

// coverageItem is one line of a report's coverage block: a precondition, or
// the classes (not judged or judged in part) whose coverage reads the same.
type coverageItem struct {
	Precondition *analysis.Precondition
	Classes      []analysis.Class
	Text         string
	// Blocking: it keeps the run from passing. Optional: a class configured as
	// optional, whose gaps do not.
	Blocking, Optional bool
}

// Names renders the item's classes, or "precondition".
func (it coverageItem) Names() string {
	if it.Precondition != nil {
		return "precondition"
	}
	out := make([]string, len(it.Classes))
	for i, c := range it.Classes {
		out[i] = string(c)
	}
	return strings.Join(out, ", ")
}

// coverageItems lists what the run did not see, in the order the reports show
// it: the preconditions first (every step behind them went unmeasured), then
// the classes not judged or judged in part, those with the same coverage text
// on one line.
func coverageItems(s *analysis.Summary) []coverageItem {
	var out []coverageItem
	for i := range s.Preconditions {
		p := &s.Preconditions[i]
		out = append(out, coverageItem{Precondition: p, Text: p.Text(), Blocking: true})
	}
	for _, c := range s.Coverage {
		if c.Status != analysis.CoverageNotJudged && c.Status != analysis.CoveragePartial {
			continue
		}
		text := coverageText(c)
		if i := slices.IndexFunc(out, func(it coverageItem) bool {
			return it.Precondition == nil && it.Text == text && it.Blocking == c.Blocking() && it.Optional == c.Optional
		}); i >= 0 {
			out[i].Classes = append(out[i].Classes, c.Class)
			continue
		}
		out = append(out, coverageItem{Classes: []analysis.Class{c.Class}, Text: text, Blocking: c.Blocking(), Optional: c.Optional})
	}
	return out
}

// coverageCount counts the classes by coverage status: "23 classes judged, 4
// not in any journey"; "" for a summary without coverage (before v3).
func coverageCount(s *analysis.Summary) string {
	if len(s.Coverage) == 0 {
		return ""
	}
	n := map[string]int{}
	for _, c := range s.Coverage {
		n[c.Status]++
	}
	out := fmt.Sprintf("%d %s judged", n[analysis.CoverageJudged], plural(n[analysis.CoverageJudged], "class", "classes"))
	for _, st := range []string{analysis.CoveragePartial, analysis.CoverageNotJudged, analysis.CoverageNotPlanned} {
		if n[st] > 0 {
			out += fmt.Sprintf(", %d %s", n[st], st)
		}
	}
	return out
}

// noCoverage says what a summary without coverage cannot tell.
func noCoverage(s *analysis.Summary) string {
	return fmt.Sprintf("not in this summary (schema %s): `cutover report DIR` judges it from the records", strings.TrimPrefix(s.Schema, "cutover.summary/"))
}

// hasBlocking reports whether any item keeps the run from passing.
func hasBlocking(items []coverageItem) bool {
	return slices.ContainsFunc(items, func(it coverageItem) bool { return it.Blocking })
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// stepNames lists the distinct steps the run recorded.
func stepNames(s *analysis.Summary) []string {
	var out []string
	for _, st := range s.Steps {
		if !slices.Contains(out, st.Step) {
			out = append(out, st.Step)
		}
	}
	return out
}

// finding returns the finding of class c on step st, if any.
func finding(s *analysis.Summary, c analysis.Class, st analysis.StepSummary) (analysis.Finding, bool) {
	for _, f := range s.Findings {
		if f.Class == c && f.Journey == st.Journey && f.Step == st.Step {
			return f, true
		}
	}
	return analysis.Finding{}, false
}

// failingCount counts the findings that fail the run.
func failingCount(s *analysis.Summary) int {
	n := 0
	for _, f := range s.Findings {
		if f.Fails {
			n++
		}
	}
	return n
}

// severityList renders the severities that fail the run.
func severityList(s *analysis.Summary) string {
	if len(s.Options.Gate.FailOn) == 0 {
		return "none"
	}
	out := make([]string, len(s.Options.Gate.FailOn))
	for i, sv := range s.Options.Gate.FailOn {
		out[i] = string(sv)
	}
	return strings.Join(out, ", ")
}

// ratioText renders a p50 ratio with its interval.
func ratioText(r *analysis.Ratio) string {
	if r == nil {
		return "-"
	}
	return fmt.Sprintf("%.2fx [%.2f, %.2f]", r.Value, r.Low, r.High)
}

// shortNotJudged shortens why a step got no latency verdict for the terminal:
// "too few answers", "too few healthy answers", "one side only".
func shortNotJudged(why string) string {
	switch {
	case why == "":
		return ""
	case strings.Contains(why, "healthy generator"):
		return "too few healthy answers"
	case strings.HasPrefix(why, "performed on one side only"):
		return "one side only"
	}
	if i := strings.IndexAny(why, ":("); i > 0 {
		return strings.TrimSpace(why[:i])
	}
	return why
}

// notPerformed says what a side did not perform of a step: "" when it
// performed every one; the commonest reason ("unsupported: discovery has no
// revocation_endpoint") when it performed none; else how many it did not and
// why ("6 skipped: login failed").
func notPerformed(sd analysis.SideSummary) string {
	n := sd.Unsupported + sd.Skipped
	switch {
	case n == 0:
		return ""
	case sd.Count == 0:
		return dash(sd.NotRun)
	case sd.Unsupported == 0 || sd.Skipped == 0:
		return fmt.Sprintf("%d %s", n, dash(sd.NotRun))
	}
	return fmt.Sprintf("%d not performed (%d unsupported, %d skipped), most often %s", n, sd.Unsupported, sd.Skipped, dash(sd.NotRun))
}

// answered reports whether any of the steps a side performed got an answer,
// so that its latency percentiles measure something.
func answered(sd analysis.SideSummary) bool { return sd.Count-sd.Errors-sd.Invalid > 0 }

// notPerformedWord is what a step table shows in the figures of a side that
// performed none of a step: "unsupported", "skipped", or "-".
func notPerformedWord(sd analysis.SideSummary) string {
	if word, _, ok := strings.Cut(sd.NotRun, ":"); ok {
		return word
	}
	return "-"
}

// stepNotes says what a step's figures do not show: the sides that did not
// perform it (or all of it), the tokens that failed validation, and the share
// of samples set apart because the generator was unhealthy.
func stepNotes(st analysis.StepSummary) []string {
	var out []string
	l, c := notPerformed(st.Legacy), notPerformed(st.Candidate)
	switch {
	case l != "" && l == c:
		out = append(out, "each side "+l)
	default:
		if l != "" {
			out = append(out, "legacy "+l)
		}
		if c != "" {
			out = append(out, "candidate "+c)
		}
	}
	switch li, ci := st.Legacy.Invalid, st.Candidate.Invalid; {
	case li > 0 && li == ci:
		out = append(out, fmt.Sprintf("%d invalid tokens on each side", li))
	case li > 0 || ci > 0:
		out = append(out, fmt.Sprintf("invalid tokens: legacy %d, candidate %d", li, ci))
	}
	if st.UnhealthyShare > 0 {
		out = append(out, unhealthyText(st.UnhealthyShare))
	}
	if st.SaturatedShare > 0 {
		out = append(out, fmt.Sprintf("%.0f%% measured while the generator was saturated", 100*st.SaturatedShare))
	}
	return out
}

// unhealthyText says what share of a step's samples was set apart.
func unhealthyText(share float64) string {
	return fmt.Sprintf("%.0f%% set apart: generator unhealthy", 100*share)
}

// shortfallText says what a pool shortfall cost and what would have avoided it.
func shortfallText(sf record.Shortfall) string {
	return fmt.Sprintf("journey %s dropped %d %s: all %d personas of kinds %s busy; about %d more would have let every start run",
		sf.Journey, sf.Dropped, plural(int(sf.Dropped), "start", "starts"), sf.Pool, strings.Join(sf.Kinds, ", "), sf.More)
}

// healthText summarises the generator's own health: how many of its intervals
// were unhealthy, the worst of each signal and what made them unhealthy.
func healthText(h *record.Health) string {
	t := fmt.Sprintf("unhealthy in %d of %d intervals; worst timer hiccup %s, scheduler p99 %s, GC pause %s, CPU %.0f%%",
		h.Unhealthy, h.Intervals, h.WorstHiccup.Round(time.Millisecond), h.WorstSchedP99.Round(time.Millisecond),
		h.WorstGCPause.Round(time.Millisecond), 100*h.WorstCPU)
	if len(h.Reasons) > 0 {
		t += " (" + strings.Join(h.Reasons, ", ") + ")"
	}
	return t
}

// classCheck renders a finding's class with the token check it failed.
func classCheck(f analysis.Finding) string {
	if f.Check == "" {
		return string(f.Class)
	}
	return string(f.Class) + " (" + f.Check + ")"
}

// missingText lists the classes a cohort was not judged for, at most n of
// them (n <= 0: all).
func missingText(c analysis.Cohort, n int) string {
	if len(c.Missing) == 0 {
		return ""
	}
	names := make([]string, 0, len(c.Missing))
	for i, m := range c.Missing {
		if n > 0 && i == n {
			names = append(names, fmt.Sprintf("+%d", len(c.Missing)-n))
			break
		}
		names = append(names, string(m))
	}
	return "not judged: " + strings.Join(names, ", ")
}

func pct(v float64) string { return fmt.Sprintf("%.2f%%", 100*v) }

// thresholdsText says in one line what makes latency and errors a regression:
// the comparison with legacy and the absolute limits, as the run judged them.
func thresholdsText(s *analysis.Summary) string {
	o := s.Options.Perf
	var b strings.Builder
	fmt.Fprintf(&b, "Latency: candidate p50 against legacy's beyond %gx (lower 95%% bound) and +%s", o.LatencyRatio, o.LatencyMinDelta)
	var limits []string
	for _, l := range o.Limits {
		limits = append(limits, l.String())
	}
	if len(limits) > 0 {
		fmt.Fprintf(&b, "; absolute limits on every step: %s", strings.Join(limits, ", "))
	}
	for _, k := range slices.Sorted(maps.Keys(o.Steps)) {
		t := o.Steps[k]
		var own []string
		if t.LatencyRatio != 0 {
			own = append(own, fmt.Sprintf("%gx", t.LatencyRatio))
		}
		if t.LatencyMinDelta != 0 {
			own = append(own, "+"+t.LatencyMinDelta.String())
		}
		for _, l := range t.Limits {
			own = append(own, l.String())
		}
		if t.ErrorRateDelta != 0 {
			own = append(own, fmt.Sprintf("errors +%.2f points", 100*t.ErrorRateDelta))
		}
		if len(own) > 0 {
			fmt.Fprintf(&b, "; %s: %s", k, strings.Join(own, ", "))
		}
	}
	fmt.Fprintf(&b, ". Errors: candidate's error rate beyond legacy's by +%.2f points (at 99%%).", 100*o.ErrorRateDelta)
	return b.String()
}
