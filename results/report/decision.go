package report

import (
	"fmt"
	"slices"
	"strings"

	"github.com/cutover-dev/cutover/results/analysis"
)

// decisionNames caps the cohorts a decision names one by one; the rest are
// counted.
const decisionNames = 4

// decision says in one sentence what the run means for the cutover, the line
// report.html and report.md open with: "No-go: 3 causes block all 3 waves",
// "Go for wave-1 and wave-2; wave-3 is blocked by C2", "Inconclusive: <the
// first reason>", "Go: all 3 waves are ready". It reads the verdict and the
// cohort readiness, never anything a report does not show below it.
func decision(s *analysis.Summary) string {
	switch s.Verdict {
	case analysis.VerdictAborted:
		return "No-go: the run was aborted (" + s.Meta.Aborted + "); its figures cover only what ran"
	case analysis.VerdictInconclusive:
		return "Inconclusive: " + firstReason(s)
	}
	var ready, blocked, other []analysis.Cohort
	for _, c := range s.Cohorts {
		switch c.Status {
		case analysis.CohortPass:
			ready = append(ready, c)
		case analysis.CohortFail:
			blocked = append(blocked, c)
		default:
			other = append(other, c)
		}
	}
	unit := cohortUnit(s.CohortBy)
	var b strings.Builder
	switch {
	case s.Verdict == analysis.VerdictFail && len(ready) == 0 && len(blocked) > 0:
		var causes []string
		for _, c := range blocked {
			for _, id := range c.BlockedBy {
				if !slices.Contains(causes, id) {
					causes = append(causes, id)
				}
			}
		}
		fmt.Fprintf(&b, "No-go: %d %s %s ", len(causes), plural(len(causes), "cause", "causes"), plural(len(causes), "blocks", "block"))
		if len(other) == 0 && len(blocked) > 1 {
			fmt.Fprintf(&b, "all %d %s", len(blocked), unit+"s")
		} else {
			b.WriteString(cohortNames(blocked))
		}
	case s.Verdict == analysis.VerdictFail && len(ready) == 0:
		// The failing causes touch no cohort (or there are none: an A/A run,
		// no persona judged).
		if n := countFunc(s.Causes, func(c analysis.Cause) bool { return c.Fails }); n > 0 {
			fmt.Fprintf(&b, "No-go: %d %s %s the run", n, plural(n, "cause", "causes"), plural(n, "fails", "fail"))
		} else {
			n := failingCount(s)
			fmt.Fprintf(&b, "No-go: %d %s %s the thresholds", n, plural(n, "finding", "findings"), plural(n, "fails", "fail"))
		}
	case s.Verdict == analysis.VerdictFail:
		fmt.Fprintf(&b, "Go for %s", cohortNames(ready))
		// Cohorts blocked by the same causes are told together.
		var groups [][]analysis.Cohort
		for _, c := range blocked {
			if i := slices.IndexFunc(groups, func(g []analysis.Cohort) bool { return slices.Equal(g[0].BlockedBy, c.BlockedBy) }); i >= 0 {
				groups[i] = append(groups[i], c)
			} else {
				groups = append(groups, []analysis.Cohort{c})
			}
		}
		for _, g := range groups {
			fmt.Fprintf(&b, "; %s %s blocked by %s", cohortNames(g), plural(len(g), "is", "are"), andList(g[0].BlockedBy))
		}
	case len(s.Cohorts) == 0:
		b.WriteString("Go: no finding fails the thresholds")
	case len(other) == 0:
		if len(ready) == 1 {
			fmt.Fprintf(&b, "Go: %s is ready", ready[0].Name)
		} else {
			fmt.Fprintf(&b, "Go: all %d %s are ready", len(ready), unit+"s")
		}
	case len(ready) == 0:
		fmt.Fprintf(&b, "Go: no finding fails the thresholds, but no %s is ready", unit)
	default:
		fmt.Fprintf(&b, "Go for %s", cohortNames(ready))
	}
	// What is neither ready nor blocked, by status.
	for _, st := range []string{analysis.CohortInconclusive, analysis.CohortIncomplete, analysis.CohortNotExercised} {
		var g []analysis.Cohort
		for _, c := range other {
			if c.Status == st {
				g = append(g, c)
			}
		}
		if len(g) == 0 {
			continue
		}
		verb := plural(len(g), "is", "are")
		if st == analysis.CohortNotExercised {
			verb = plural(len(g), "was", "were")
		}
		fmt.Fprintf(&b, "; %s %s %s", cohortNames(g), verb, st)
	}
	return b.String()
}

// cohortUnit names a cohort by the attribute the cohorts are cut by: "wave",
// else "cohort".
func cohortUnit(by string) string {
	if by == "wave" {
		return "wave"
	}
	return "cohort"
}

// cohortNames lists the cohorts' names: "wave-1, wave-2 and wave-3", the
// first few of a long list and how many more.
func cohortNames(cs []analysis.Cohort) string {
	names := make([]string, 0, len(cs))
	for i, c := range cs {
		if i == decisionNames && len(cs) > decisionNames+1 {
			names = append(names, fmt.Sprintf("%d more", len(cs)-i))
			break
		}
		names = append(names, c.Name)
	}
	return andList(names)
}

// andList joins "a", "a and b", "a, b and c".
func andList(xs []string) string {
	if len(xs) < 2 {
		return strings.Join(xs, "")
	}
	return strings.Join(xs[:len(xs)-1], ", ") + " and " + xs[len(xs)-1]
}

func countFunc[T any](xs []T, f func(T) bool) int {
	n := 0
	for _, x := range xs {
		if f(x) {
			n++
		}
	}
	return n
}
