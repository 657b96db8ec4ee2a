package rehearsal

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cutover-dev/cutover/results/analysis"
	"github.com/cutover-dev/cutover/results/record"
	"github.com/cutover-dev/cutover/run/config"
)

// causeLine renders a cause as the tests compare it: its level, factor (or how
// it is explained without one) and classes.
func causeLine(c analysis.Cause) string {
	f := c.ExplainedBy
	if len(c.Factors) > 0 {
		f = c.FactorText()
	}
	return c.Level + " " + f + " " + strings.Join(c.ClassNames(), "+")
}

// TestCausesOfDrifts runs the embedded stacks with the faults a cutover most
// often ships with, alone and together: each fault is one root cause whose
// factor is what explains it (the hash scheme of a broken lazy migration, the
// token endpoint of a slow token service, the billing clerks of a wrong role
// mapping), two faults are two causes, and clean stacks give none. Ten seconds
// at 30 journeys a second give the latency verdicts enough steps for the
// endpoint's split to be significant.
func TestCausesOfDrifts(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the embedded stacks once per case")
	}
	billing := "persona kind=billing OVER_PERMISSION+ROLE_MAPPING_DRIFT"
	hash := "persona hash_scheme=sha256-salted LOGIN_FAILED"
	token := "step endpoint=POST /token LATENCY_REGRESSION"
	for _, tt := range []struct {
		drifts string
		want   []string
	}{
		{"none", nil},
		{"lazy-migration-broken", []string{hash}},
		// 600ms rather than 40ms, judged above 200ms: the stacks run in this
		// process, and on a 2-core machine under -race beside a busy core the
		// candidate's heavier steps (a login signs tokens and makes three
		// requests) were seen 430ms slower at p50 with no drift at all. Run
		// longer: the more steps reach a latency verdict, the stronger the split.
		{"slow-token=600ms", []string{token}},
		{"role-map-billing-admin", []string{billing}},
		{"lazy-migration-broken,role-map-billing-admin", []string{billing, hash}},
		{"role-map-billing-admin,patient-sees-others", []string{"persona kind=patient OVER_PERMISSION", billing}},
	} {
		t.Run(tt.drifts, func(t *testing.T) {
			slow := strings.HasPrefix(tt.drifts, "slow-token")
			dur, edit := 10*time.Second, func(*config.File) {}
			if slow {
				dur, edit = 16*time.Second, func(cfg *config.File) { cfg.Thresholds.LatencyMinDelta = 200 * time.Millisecond }
			}
			sum := runDemoWith(t, tt.drifts, dur, edit)
			// Latency and error rates are judged only on steps measured while the
			// generator was healthy: a loaded machine (-race, other packages'
			// tests) takes samples away, it must never add a cause. Where it took
			// so many that the slow token endpoint could not be judged, the run
			// says so (inconclusive coverage) instead of passing.
			// Where the generator was too unhealthy to judge most steps' latency,
			// the few judged steps that show the slow endpoint are too few for
			// its factor to be significant: their cause is then explained by
			// no single factor, and neither its split nor its absence is held
			// against the run (which must not pass).
			unjudged := slow && latencyUnjudged(sum)
			var got []string
			trusted := map[string]bool{}
			for _, c := range sum.Causes {
				if unjudged && len(c.Factors) == 0 && slices.Equal(c.ClassNames(), []string{string(analysis.LatencyRegression)}) {
					t.Logf("drifts %s: %s explained by no single factor: %s", tt.drifts, c.ID, describeCauses(sum))
					continue
				}
				// The parity cases judge the parity causes: the latency of stacks
				// that share the test's cores measures the machine (the slow-token
				// case and TestUnderACPUHog test the latency verdicts).
				if !slow && c.Level == analysis.LevelStep {
					if c.Classes[0].Class != analysis.LatencyRegression {
						t.Errorf("drifts %s: step cause %s %s; want none but latency (the machine's)", tt.drifts, c.ID, c.Title)
					}
					continue
				}
				got = append(got, causeLine(c))
				trusted[c.ID] = true
			}
			want := tt.want
			if unjudged && !slices.Contains(got, token) {
				t.Logf("drifts %s: the generator was too unhealthy to judge latency (%v); the run is %s", tt.drifts, sum.Inconclusive, sum.Verdict)
				if sum.Verdict == analysis.VerdictPass {
					t.Errorf("drifts %s: latency not judged, yet the run passes", tt.drifts)
				}
				want = slices.DeleteFunc(slices.Clone(want), func(w string) bool { return w == token })
			}
			if !slices.Equal(got, want) {
				t.Errorf("drifts %s: causes %q; want %q\n%s", tt.drifts, got, want, describeCauses(sum))
			}
			for _, c := range sum.Causes {
				if !trusted[c.ID] {
					continue
				}
				for _, cc := range c.Classes {
					// The factor explains every unit of its cause, and the units of
					// the class without it are the other causes' (the faults pick
					// out disjoint personas).
					if cc.WithFactorAffected != cc.Affected || cc.OthersAffected != cc.ClassUnits-cc.Affected {
						t.Errorf("cause %s %s: split %+v; want the cause's units with the factor and the rest without", c.ID, cc.Class, cc)
					}
				}
			}
			// Cohorts: failing exactly when blocked; blocked by a trusted cause
			// when personas of theirs show a parity cause's findings (a wave a
			// short run gave no billing clerk is not); every wave blocked by a
			// slow endpoint its personas all call; none blocked on clean stacks.
			anyBlocked := false
			for _, co := range sum.Cohorts {
				blocked := slices.ContainsFunc(co.BlockedBy, func(id string) bool { return trusted[id] })
				anyBlocked = anyBlocked || blocked
				switch {
				case (co.Status == analysis.CohortFail) != (len(co.BlockedBy) > 0):
					t.Errorf("drifts %s: cohort %s is %s, blocked by %v", tt.drifts, co.Name, co.Status, co.BlockedBy)
				case co.Affected > 0 && !blocked:
					t.Errorf("drifts %s: cohort %s has %d affected personas but is blocked by %v", tt.drifts, co.Name, co.Affected, co.BlockedBy)
				case len(tt.want) == 0 && blocked:
					t.Errorf("drifts %s: clean stacks, yet cohort %s is blocked by %v", tt.drifts, co.Name, co.BlockedBy)
				case slow && !blocked && slices.Contains(want, token):
					t.Errorf("drifts %s: cohort %s is not blocked by the slow token endpoint (blocked by %v)", tt.drifts, co.Name, co.BlockedBy)
				}
			}
			if len(want) > 0 && !anyBlocked {
				t.Errorf("drifts %s: no cohort blocked; cohorts %+v", tt.drifts, sum.Cohorts)
			}
			if len(sum.Cohorts) != 3 || sum.CohortBy != record.AttrWave {
				t.Errorf("cohorts by %s: %+v; want the demo's three waves", sum.CohortBy, sum.Cohorts)
			}
		})
	}
}

func describeCauses(s *analysis.Summary) string {
	var b strings.Builder
	for _, c := range s.Causes {
		b.WriteString("\n  " + c.ID + " " + c.Title)
		for _, cc := range c.Classes {
			b.WriteString("\n     " + cc.Evidence)
		}
	}
	return b.String() + describe(s)
}

// latencyUnjudged reports whether the run could not judge latency on some step
// because too few of its samples came from a healthy generator.
func latencyUnjudged(s *analysis.Summary) bool {
	for _, c := range s.Coverage {
		if c.Class == analysis.LatencyRegression && c.Blocking() {
			return true
		}
	}
	return false
}
