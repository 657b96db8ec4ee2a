package rehearsal

import (
	"strings"
	"testing"
	"time"

	"github.com/cutover-dev/cutover/results/analysis"
	"github.com/cutover-dev/cutover/results/record"
	"github.com/cutover-dev/cutover/run/config"
	"github.com/cutover-dev/cutover/stacks"
)

// TestOneSidedRun drives the candidate alone (only: candidate), its legacy
// stack left out of the file: no legacy step is run or needed, every report
// says which side ran, the classes that compare the stacks are "not
// comparable", not gaps, and the candidate is held to its own thresholds:
// clean, it is not failed; with a token endpoint 300ms slow and an objective of
// p95 < 150ms for its logins, it fails on that objective.
func TestOneSidedRun(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end runs on the embedded stacks")
	}
	for _, tt := range []struct {
		drift string
		fail  bool
	}{{"none", false}, {"slow-token=300ms", true}} {
		t.Run(tt.drift, func(t *testing.T) {
			d, err := stacks.ParseDrifts(tt.drift)
			if err != nil {
				t.Fatal(err)
			}
			cfg, _ := demoWith(t, stacks.Options{Drifts: d, BreakGlassTTL: 4 * time.Second}, nil, func(cfg *config.File) {
				constant(20, 4*time.Second)(cfg)
				cfg.Load.Drain = 20 * time.Second
				cfg.Only = "candidate"
				cfg.Stacks.Legacy = config.Side{}
				cfg.Load.Raw = nil
				cfg.Thresholds.Steps = map[string]config.StepThreshold{"session/login": {Latency: []string{"p95 < 150ms"}}}
			})
			out := t.TempDir()
			sum, err := Run(t.Context(), cfg, Options{Out: out})
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			for _, st := range sum.Steps {
				if st.Legacy.Count > 0 {
					t.Errorf("legacy ran %s/%s %d times in a candidate-only run", st.Journey, st.Step, st.Legacy.Count)
				}
			}
			if st := stepOf(sum, "session", record.StepLogin); st.Candidate.Count == 0 {
				t.Errorf("no candidate login in a candidate-only run")
			}
			if c := coverageOf(sum, analysis.RoleMappingDrift); c.Status != analysis.CoverageOneSided {
				t.Errorf("ROLE_MAPPING_DRIFT coverage %+v; want not comparable in a one-sided run", c)
			}
			reportsSay(t, out, "one-sided run: only the candidate stack was driven")
			breach := false
			for _, f := range sum.Findings {
				breach = breach || f.Class == analysis.LatencyRegression && f.Step == record.StepLogin && strings.Contains(f.Detail, "> limit 150ms")
			}
			switch {
			case tt.fail && (!breach || sum.Verdict != analysis.VerdictFail):
				t.Errorf("verdict %s, objective broken %v; want a failing breach of p95 < 150ms\n%s", sum.Verdict, breach, describe(sum))
			case !tt.fail && sum.Verdict == analysis.VerdictFail:
				t.Errorf("clean candidate alone: verdict fail\n%s\ninconclusive: %q", describe(sum), sum.Inconclusive)
			}
			t.Logf("%s: verdict %s, inconclusive %q", tt.drift, sum.Verdict, sum.Inconclusive)
		})
	}
}
