package rehearsal

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cutover-dev/cutover/examples"
	"github.com/cutover-dev/cutover/journeys"
	"github.com/cutover-dev/cutover/personas"
	"github.com/cutover-dev/cutover/results/analysis"
	"github.com/cutover-dev/cutover/results/record"
	"github.com/cutover-dev/cutover/run/config"
)

// TestBrowserDefaults: a browser block with only a share meets each side at the
// embedded stacks' pages, and the A/A run's candidate is the legacy site again.
func TestBrowserDefaults(t *testing.T) {
	env := func(k string) string {
		return map[string]string{"CUTOVER_LEGACY_URL": "http://127.0.0.1:8001", "CUTOVER_CANDIDATE_URL": "http://127.0.0.1:8002", "CUTOVER_INTROSPECTION_SECRET": "s3cret", "CUTOVER_PROVISIONER_SECRET": "s3cret"}[k]
	}
	for _, mode := range []string{config.ModeParity, config.ModeAA} {
		doc := strings.Replace(strings.Replace(string(examples.Demo), "\nload:\n", "\nload:\n  browser: {share: 0.05}\n", 1), "mode: parity", "mode: "+mode, 1)
		f, err := config.Parse("demo.yaml", []byte(doc), env)
		if err != nil {
			t.Fatalf("%s: Parse = %v", mode, err)
		}
		sites, err := browserSites(f)
		if err != nil {
			t.Fatal(err)
		}
		want := map[record.Side][2]string{
			record.Legacy:    {"http://127.0.0.1:8001/login", "http://127.0.0.1:8001/home"},
			record.Candidate: {"http://127.0.0.1:8002/portal/", "http://127.0.0.1:8002/portal/"},
		}
		if mode == config.ModeAA {
			want[record.Candidate] = want[record.Legacy]
		}
		for side, w := range want {
			if s := sites[side]; s.Start != w[0] || s.Landing != w[1] || s.Selectors.LoginForm != "#login-form" {
				t.Errorf("%s: %s site = %+v; want start %s, landing %s, default selectors", mode, side, s, w[0], w[1])
			}
		}
		if got := f.Load.Browser.PersonaKinds(); len(got) != 5 || got[0] != personas.Patient {
			t.Errorf("default kinds = %v; want every human kind", got)
		}
	}
}

// TestSurgeMix: the shift change's extra logins go to the journey it names, the
// base rate to the weighted mix.
func TestSurgeMix(t *testing.T) {
	doc := string(examples.Demo)
	i, j := strings.Index(doc, "\nload:\n"), strings.Index(doc, "\nthresholds:")
	doc = doc[:i] + "\nload:\n  profile: {type: shift-change, rate: 5, cohort: 300, at: 10s, over: 40s, journey: shift}\n  duration: 1m\n" + doc[j:]
	doc = strings.Replace(doc, "\n# Emergency access", "  - name: shift\n    kinds: [clinician]\n    steps: [login, probes]\n    weight: 0\n\n# Emergency access", 1)
	cfg, err := config.Parse("demo.yaml", []byte(doc), examples.DemoEnv(nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	shift := slices.IndexFunc(cfg.Journeys, func(j journeys.Journey) bool { return j.Name == "shift" })
	if shift < 0 {
		t.Fatal("no shift journey")
	}
	counts := mix(cfg).Counts(Pacer(cfg), cfg.Load.Duration)
	if counts[shift] < 250 || counts[shift] > 350 || counts[0] < 180 || counts[0] > 260 {
		t.Errorf("Counts = %v; want about 221 session starts (0.75 of 5/s) and 300 shift starts", counts)
	}
}

// TestAnalysisOptions: the thresholds and the cohort cut reach the analysis.
func TestAnalysisOptions(t *testing.T) {
	doc := strings.Replace(string(examples.Demo), "\npersonas:\n", "\npersonas:\n  cohort_by: hash_scheme\n", 1)
	cfg, err := config.Parse("demo.yaml", []byte(doc), examples.DemoEnv(nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	opt := AnalysisOptions(cfg)
	if opt.Causes.CohortBy != "hash_scheme" || opt.Perf.MinSamples != cfg.Thresholds.MinSamples || len(opt.Gate.FailOn) != len(cfg.Thresholds.FailOn) {
		t.Errorf("AnalysisOptions = %+v; want cohort_by hash_scheme and the file's thresholds", opt)
	}
}

const thresholdOverrides = `  fail_on: [critical, high, medium]
  classes:
    AUTHZ_ERROR: {severity: low}
    TTL_DRIFT: {fail: false}
  steps:
    session/login: {latency_ratio: 2, latency_min_delta: 50ms, error_rate_delta: 0.05}
  ttl_tolerance: 0.1
  min_samples: 50
  examples: 3`

// TestThresholdOverrides: the thresholds section reaches the analysis as written.
func TestThresholdOverrides(t *testing.T) {
	demo, _, _ := strings.Cut(string(examples.Demo), "\nthresholds:\n")
	f, err := config.Parse("demo.yaml", []byte(demo+"\nthresholds:\n"+thresholdOverrides+"\n"), examples.DemoEnv(nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	o := AnalysisOptions(f)
	if r := o.Gate.Classes[analysis.AuthzError]; r.Severity != analysis.Low || r.Fail != nil {
		t.Errorf("AUTHZ_ERROR rule = %+v; want severity low", r)
	}
	if r := o.Gate.Classes[analysis.TTLDrift]; r.Fail == nil || *r.Fail {
		t.Errorf("TTL_DRIFT rule = %+v; want fail false", r)
	}
	if st := o.Perf.Steps["session/login"]; st.LatencyRatio != 2 || st.LatencyMinDelta != 50*time.Millisecond || st.ErrorRateDelta != 0.05 {
		t.Errorf("session/login tolerance = %+v", st)
	}
	if o.Compare.TTLTolerance != 0.1 || o.Perf.MinSamples != 50 || o.Compare.Examples != 3 || o.Perf.Seed != 42 {
		t.Errorf("options = %+v", o)
	}
	g := o.Gate
	if g.Fails(analysis.Finding{Class: analysis.TTLDrift, Severity: analysis.Medium}) || g.Severity(analysis.AuthzError) != analysis.Low ||
		!g.Fails(analysis.Finding{Class: analysis.OverPermission, Severity: analysis.Critical}) {
		t.Errorf("gate %+v judges wrongly", g)
	}
}
