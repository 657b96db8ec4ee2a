package report

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/cutover-dev/cutover/results/analysis"
)

//go:embed report.html.tmpl
var htmlSource string

// htmlTemplate renders report.html: one self-contained page (inline CSS and SVG,
// no script, no external asset), so it works offline and as a CI artefact.
var htmlTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"pct":           pct,
	"ratio":         ratioText,
	"example":       analysis.Example.Text,
	"dur":           func(d time.Duration) string { return d.Round(time.Millisecond).String() },
	"time":          func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"share":         func(v float64) string { return fmt.Sprintf("%.0f%%", 100*v) },
	"ms":            func(v float64) string { return fmt.Sprintf("%.2f", v) },
	"cls":           func(s string) string { return strings.ReplaceAll(s, " ", "-") },
	"unhealthy":     unhealthyText,
	"covReason":     coverageReason,
	"answered":      answered,
	"htmlStepNotes": htmlStepNotes,
	"notPerformed":  notPerformed,
	"evidenceLinks": func(files []string) []string {
		return slices.DeleteFunc(slices.Clone(files), func(f string) bool { return !evidencePath(f) })
	},
	"base":      path.Base,
	"health":    healthText,
	"shortfall": shortfallText,
	"missing":   func(c analysis.Cohort) string { return strings.TrimPrefix(missingText(c, 0), "not judged: ") },
	"units":     unitsText,
}).Parse(htmlSource))

// severityGroup is the findings of one severity.
type severityGroup struct {
	Severity analysis.Severity
	Findings []analysis.Finding
}

// evidenceRow is one control with the checks of this run that evidence it.
type evidenceRow struct {
	Control Control
	Status  string
	Checks  []check
}

// noticeView is a notice of the summary; Shaded when the windows it speaks of
// are shaded on the plots.
type noticeView struct {
	analysis.Notice
	Shaded bool
}

type htmlView struct {
	S *analysis.Summary
	// Units names the cohort table's units: personas, or a shadow run's
	// entitlements.
	Units string
	// Decision is the run's meaning for the cutover in one sentence.
	Decision string
	Failing  int
	// Thresholds says what makes latency and errors a regression.
	Thresholds string
	Severities []severityGroup
	Checks     []check
	Evidence   []evidenceRow
	Notices    []noticeView
	// StepPlots are the small multiples of latency over time, one per step;
	// DistPlots the latency distributions of the steps with a latency
	// finding; Plots the run-wide plots.
	StepPlots, DistPlots, Plots []plot
	// Shots are the screenshots failed browser steps left.
	Shots []shot
	// CoverageCount counts the classes by coverage ("" before v3);
	// NoCoverage says so. Gaps are the classes not judged or judged in part.
	CoverageCount string
	NoCoverage    string
	Gaps          []analysis.ClassCoverage
	// ShortfallDropped counts the starts no idle persona could take.
	ShortfallDropped int64
}

// WriteHTML writes report.html.
func WriteHTML(w io.Writer, s *analysis.Summary) error {
	v := htmlView{S: s, Units: unitPlural(s), Decision: decision(s), Failing: failingCount(s), Thresholds: thresholdsText(s), Checks: parityChecks(s), CoverageCount: coverageCount(s)}
	if v.CoverageCount == "" {
		v.NoCoverage = noCoverage(s)
	}
	for _, sf := range s.Generator.Shortfall {
		v.ShortfallDropped += sf.Dropped
	}
	for _, c := range s.Coverage {
		if c.Status == analysis.CoverageNotJudged || c.Status == analysis.CoveragePartial {
			v.Gaps = append(v.Gaps, c)
		}
	}
	for _, sv := range []analysis.Severity{analysis.Critical, analysis.High, analysis.Medium, analysis.Low} {
		g := severityGroup{Severity: sv}
		for _, f := range s.Findings {
			if f.Severity == sv {
				g.Findings = append(g.Findings, f)
			}
		}
		if len(g.Findings) > 0 {
			v.Severities = append(v.Severities, g)
		}
	}
	for _, c := range Controls {
		row := evidenceRow{Control: c}
		for _, ch := range v.Checks {
			for _, cc := range classControls[ch.Class] {
				if cc.ID == c.ID {
					row.Checks = append(row.Checks, ch)
				}
			}
		}
		row.Status = controlStatus(row.Checks)
		v.Evidence = append(v.Evidence, row)
	}
	v.StepPlots, v.DistPlots = stepPlots(s), distPlots(s)
	v.Plots = []plot{errorPlot(s)}
	if len(v.StepPlots) == 0 {
		// A summary written before the steps' own timelines.
		v.Plots = []plot{latencyPlot(s), errorPlot(s)}
	}
	windows := len(s.Generator.Saturated)+len(s.Generator.Unhealthy) > 0 && len(s.Timeline.Points) > 0
	for _, n := range s.Notices {
		v.Notices = append(v.Notices, noticeView{Notice: n, Shaded: n.Class == analysis.GeneratorSaturated && windows})
	}
	v.Shots = shots(s)
	return htmlTemplate.Execute(w, v)
}

// controlStatus folds the checks of a control: fail, found or on both stacks
// when any check is; pass only when every check of the control was judged and
// passed; partial when some passed and others were not judged, judged only in
// part, or not exercised by the run's journeys (a canary without break-glass
// journeys does not show that break-glass access is audited, whatever its
// sign-ins show); not exercised when none was judged. A control is never
// shown as passing on checks the run did not judge.
func controlStatus(cs []check) string {
	has := func(st string) bool { return slices.ContainsFunc(cs, func(c check) bool { return c.Status == st }) }
	switch {
	case has(checkFail):
		return checkFail
	case has(checkFound):
		return checkFound
	case has(checkShared):
		return checkShared
	case has(checkPartial), has(checkPass) && (has(checkNotJudged) || has(checkNotExercised)):
		return checkPartial
	case has(checkPass):
		return checkPass
	}
	return checkNotExercised
}

// htmlStepNotes says, under a step's row of report.html, what its figures
// leave out: why it got no latency verdict, the steps a side did not perform
// (when it performed others: a side that performed none says why in its
// cells) and the share of samples set apart because the generator was
// unhealthy.
func htmlStepNotes(st analysis.StepSummary) []string {
	var out []string
	if st.Ratio == nil && st.NotJudged != "" {
		out = append(out, "no latency verdict: "+st.NotJudged)
	}
	for _, sd := range []struct {
		side string
		s    analysis.SideSummary
	}{{"legacy", st.Legacy}, {"candidate", st.Candidate}} {
		if np := notPerformed(sd.s); np != "" && sd.s.Count > 0 {
			out = append(out, sd.side+" "+np)
		}
	}
	switch {
	case st.UnhealthyShare > 0:
		out = append(out, unhealthyText(st.UnhealthyShare)+" (those samples are not judged)")
	case st.SaturatedShare > 0:
		out = append(out, fmt.Sprintf("%.0f%% measured while the generator was saturated", 100*st.SaturatedShare))
	}
	return out
}

// unitsText counts the units a class was judged on: "30 personas", "1 step".
func unitsText(c analysis.ClassCoverage) string {
	unit := map[string]string{analysis.LevelStep: "step"}[c.Level]
	if unit == "" {
		unit = "persona"
	}
	return fmt.Sprintf("%d %s", c.Units, plural(c.Units, unit, unit+"s"))
}

// unitPlural names the units of the persona level, in the plural: personas, or
// what the run's options call them (CauseOptions.Unit).
func unitPlural(s *analysis.Summary) string {
	if u := s.Options.Causes.Unit; u != "" {
		return u + "s"
	}
	return "personas"
}
