package report

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cutover-dev/cutover/results/analysis"
	"github.com/cutover-dev/cutover/results/internal/fixture"
)

// TestTableFitsOneScreen grows the failing fixture run the way a noisy machine
// or a large population grows it (more notices, causes and cohorts): the
// summary above the latency table stays within one screen, every cause it
// shows keeps its title, evidence gives way before titles and cohort rows,
// and whatever is left out is counted and sent to the reports, never dropped
// silently.
func TestTableFitsOneScreen(t *testing.T) {
	base, _ := fixture.Golden.Summary(fixture.Options)
	if len(base.Causes) < 3 || len(base.Cohorts) < 3 {
		t.Fatalf("fixture: %d causes, %d cohorts; want at least 3 of each (the fixture changed?)", len(base.Causes), len(base.Cohorts))
	}
	grow := func(notices, causes, cohorts int) analysis.Summary {
		s := base
		s.Notices = append([]analysis.Notice(nil), base.Notices...)
		for i := range notices {
			s.Notices = append(s.Notices, analysis.Notice{Class: analysis.Class(fmt.Sprintf("NOTICE_%d", i)), Detail: "something the run saw"})
		}
		s.Causes = append([]analysis.Cause(nil), base.Causes...)
		for i := range causes {
			c := base.Causes[i%len(base.Causes)]
			c.ID = fmt.Sprintf("C%d", len(s.Causes)+1)
			c.Title = fmt.Sprintf("grown cause %d", i)
			s.Causes = append(s.Causes, c)
		}
		s.Cohorts = append([]analysis.Cohort(nil), base.Cohorts...)
		for i := range cohorts {
			c := base.Cohorts[0]
			c.Name = fmt.Sprintf("grown-%d", i)
			s.Cohorts = append(s.Cohorts, c)
		}
		return s
	}
	for _, tt := range []struct {
		name                     string
		notices, causes, cohorts int
		wantAllEvidence          bool
	}{
		{"fixture", 0, 0, 0, true},
		{"noisy machine", 3, 0, 0, false},
		{"many causes", 2, 6, 0, false},
		{"many cohorts", 2, 0, 20, false},
		{"everything", 4, 10, 20, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := grow(tt.notices, tt.causes, tt.cohorts)
			out := string(render(t, &s, WriteTable))
			above, _, ok := strings.Cut(out, "\nJOURNEY ")
			if !ok {
				t.Fatalf("no latency table:\n%s", out)
			}
			lines := strings.Split(strings.TrimRight(above, "\n"), "\n")
			if len(lines) > tableLines {
				t.Errorf("%d lines above the latency table; want at most %d:\n%s", len(lines), tableLines, above)
			}
			shown := 0
			for _, c := range s.Causes {
				if strings.Contains(above, " "+c.Title) {
					shown++
				}
			}
			if shown < min(len(s.Causes), tableMinCauses) {
				t.Errorf("%d cause titles shown of %d; want at least %d:\n%s", shown, len(s.Causes), tableMinCauses, above)
			}
			if shown < len(s.Causes) && !strings.Contains(above, fmt.Sprintf("... %d more cause(s) in report.md", len(s.Causes)-shown)) {
				t.Errorf("%d causes not shown and not counted:\n%s", len(s.Causes)-shown, above)
			}
			rows := 0
			for _, c := range s.Cohorts {
				if strings.Contains(above, "  "+c.Name+" ") {
					rows++
				}
			}
			if rows < min(len(s.Cohorts), tableMinCohorts) {
				t.Errorf("%d cohort rows of %d; want at least %d:\n%s", rows, len(s.Cohorts), tableMinCohorts, above)
			}
			if rows < len(s.Cohorts) && !strings.Contains(above, fmt.Sprintf("... %d more (report.md)", len(s.Cohorts)-rows)) {
				t.Errorf("%d cohorts not shown and not counted:\n%s", len(s.Cohorts)-rows, above)
			}
			// Evidence goes round by round: a cause's first line before
			// any cause's second, each line in its order.
			all, most, least := true, 0, len(s.Causes)
			for _, c := range s.Causes[:shown] {
				n := 0
				for _, e := range c.Classes {
					if !strings.Contains(above, e.Evidence) {
						break
					}
					n++
				}
				for _, e := range c.Classes[n:] {
					if strings.Contains(above, e.Evidence) {
						t.Errorf("cause %s: evidence %q shown after an earlier line was left out", c.ID, e.Evidence)
					}
				}
				all = all && n == len(c.Classes)
				most, least = max(most, n), min(least, n)
			}
			if most > 1 && least == 0 {
				t.Errorf("one cause shows %d evidence lines while another shows none:\n%s", most, above)
			}
			if all != tt.wantAllEvidence {
				t.Errorf("all evidence shown = %v; want %v:\n%s", all, tt.wantAllEvidence, above)
			}
			if !all && !strings.Contains(above, "(evidence and rows by step: report.md") {
				t.Errorf("evidence left out and the causes' line does not say where it is:\n%s", above)
			}
			for i, l := range lines {
				if len(l) > tableWidth+2 {
					t.Errorf("line %d is %d characters; want at most %d:\n%s", i+1, len(l), tableWidth+2, l)
				}
			}
		})
	}
}
