package analysis_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/cutover-dev/cutover/results/analysis"
	"github.com/cutover-dev/cutover/results/internal/fixture"
	"github.com/cutover-dev/cutover/results/report"
)

// TestDiffCausesAndCohorts compares a clean run with the fixture's drifted one:
// every cause is new, every exercised cohort goes from pass to fail; the other
// way round they are fixed. A v1 baseline, which has no causes, is said to be
// one rather than shown as fixed.
func TestDiffCausesAndCohorts(t *testing.T) {
	drifted, _ := fixture.Golden.Summary(fixture.Options)
	clean := causeRun{wave4: true}.summary(t)
	// Both runs cut their cohorts by wave: wave-1 to wave-3 run, wave-4 does not.
	d := analysis.NewDiff(&clean, &drifted, nil, nil)
	if len(d.NewCauses) != len(drifted.Causes) || len(d.FixedCauses) != 0 || len(d.PersistingCauses) != 0 {
		t.Errorf("clean -> drifted: %d new, %d fixed, %d persisting causes; want %d new", len(d.NewCauses), len(d.FixedCauses), len(d.PersistingCauses), len(drifted.Causes))
	}
	var moved []string
	for _, c := range d.Cohorts {
		moved = append(moved, c.Name+":"+c.StatusA+">"+c.StatusB)
	}
	if want := []string{"wave-1:pass>fail", "wave-2:pass>fail", "wave-3:pass>fail", "wave-4:not exercised>not exercised"}; !slices.Equal(moved, want) {
		t.Errorf("cohorts = %q; want %q", moved, want)
	}
	back := analysis.NewDiff(&drifted, &clean, nil, nil)
	if len(back.FixedCauses) != len(drifted.Causes) || len(back.NewCauses) != 0 {
		t.Errorf("drifted -> clean: %d fixed, %d new causes; want %d fixed", len(back.FixedCauses), len(back.NewCauses), len(drifted.Causes))
	}
	same := analysis.NewDiff(&drifted, &drifted, nil, nil)
	if len(same.PersistingCauses) != len(drifted.Causes) || len(same.NewCauses)+len(same.FixedCauses) != 0 {
		t.Errorf("drifted -> drifted: %d persisting; want all %d", len(same.PersistingCauses), len(drifted.Causes))
	}

	v1 := drifted
	v1.Schema, v1.Causes, v1.Cohorts, v1.CohortBy = analysis.SummarySchemaV1, nil, nil, ""
	old := analysis.NewDiff(&v1, &drifted, nil, nil)
	var b strings.Builder
	if err := report.WriteDiff(&b, old); err != nil {
		t.Fatal(err)
	}
	if !old.NoCausesA || !strings.Contains(b.String(), "predates root causes (schema v1)") || !strings.Contains(b.String(), "causes new in B: 4") {
		t.Errorf("diff against a v1 baseline:\n%s", b.String())
	}
}
