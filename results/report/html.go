package report

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"

	"github.com/cutover-dev/cutover/results/analysis"
)

//go:embed report.html.tmpl
var htmlSource string

// htmlTemplate renders report.html: one self-contained page (inline CSS and SVG,
// no script, no external asset), so it works offline and as a CI artefact.
var htmlTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"pct":     pct,
	"ratio":   ratioText,
	"example": analysis.Example.Text,
	"dur":     func(d time.Duration) string { return d.Round(time.Millisecond).String() },
	"time":    func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"share":   func(v float64) string { return fmt.Sprintf("%.0f%%", 100*v) },
	"ms":      func(v float64) string { return fmt.Sprintf("%.2f", v) },
	"cls":     func(s string) string { return strings.ReplaceAll(s, " ", "-") },
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

type htmlView struct {
	S          *analysis.Summary
	Failing    int
	Severities []severityGroup
	Checks     []check
	Evidence   []evidenceRow
	Plots      []plot
	// Untrusted marks the causes measured while the generator was saturated.
	Untrusted map[string]bool
}

// WriteHTML writes report.html.
func WriteHTML(w io.Writer, s *analysis.Summary) error {
	v := htmlView{S: s, Failing: failingCount(s), Checks: parityChecks(s), Untrusted: map[string]bool{}}
	for _, c := range s.Causes {
		v.Untrusted[c.ID] = c.Untrusted
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
	v.Plots = []plot{latencyPlot(s), errorPlot(s)}
	return htmlTemplate.Execute(w, v)
}

// controlStatus folds the checks of a control: the worst of them, and "not
// exercised" only when none ran.
func controlStatus(cs []check) string {
	status := checkNotExercised
	rank := map[string]int{checkNotExercised: 0, checkPass: 1, checkFound: 2, checkFail: 3}
	for _, c := range cs {
		if rank[c.Status] > rank[status] {
			status = c.Status
		}
	}
	return status
}
