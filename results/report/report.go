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
	"slices"
	"strings"

	"github.com/cutover-dev/cutover/results/analysis"
)

// Check states, as every report shows them.
const (
	checkFail         = "fail"
	checkFound        = "found"
	checkPass         = "pass"
	checkNotExercised = "not exercised"
)

// check is one regression class judged over a run.
type check struct {
	Class    analysis.Class
	Status   string
	Findings []analysis.Finding
	Count    int
}

// parityChecks judges every parity class of DOMAIN.md over the summary: failed,
// found without failing the thresholds, passed, or not exercised by the run's
// steps.
func parityChecks(s *analysis.Summary) []check {
	steps := stepNames(s)
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
		switch {
		case slices.ContainsFunc(ch.Findings, func(f analysis.Finding) bool { return f.Fails }):
			ch.Status = checkFail
		case len(ch.Findings) > 0:
			ch.Status = checkFound
		case !c.Exercised(steps):
			ch.Status = checkNotExercised
		}
		out = append(out, ch)
	}
	return out
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

func pct(v float64) string { return fmt.Sprintf("%.2f%%", 100*v) }
