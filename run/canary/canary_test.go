package canary

import (
	"bytes"
	"errors"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cutover-dev/cutover/examples"
	"github.com/cutover-dev/cutover/internal/exitcode"
	"github.com/cutover-dev/cutover/results"
	"github.com/cutover-dev/cutover/results/analysis"
	"github.com/cutover-dev/cutover/results/record"
	"github.com/cutover-dev/cutover/run/config"
	"github.com/cutover-dev/cutover/run/rehearsal"
	"github.com/cutover-dev/cutover/stacks"
)

func TestValidateListen(t *testing.T) {
	for _, tc := range []struct {
		once   bool
		addr   string
		refuse bool
	}{
		{false, "", false},
		{false, ":9464", false},
		{true, "", false},
		{true, ":9464", true},
	} {
		err := ValidateListen(tc.once, tc.addr)
		if got := errors.Is(err, ErrOnceListen); got != tc.refuse {
			t.Errorf("ValidateListen(%t, %q) = %v; want refused %t", tc.once, tc.addr, err, tc.refuse)
		}
		if tc.refuse && (exitcode.Of(err) != exitcode.Usage || !strings.Contains(err.Error(), "--pushgateway")) {
			t.Errorf("ValidateListen(%t, %q) = %v (exit %d); want exit %d and the way out (--pushgateway)", tc.once, tc.addr, err, exitcode.Of(err), exitcode.Usage)
		}
	}
}

// finding is a finding of class c that fails under failOn.
func finding(c analysis.Class) analysis.Finding {
	return analysis.Finding{Class: c, Severity: c.Severity(), Count: 1}
}

var failOn = analysis.Gate{FailOn: []analysis.Severity{analysis.Critical, analysis.High, analysis.Medium}}

func TestResultExitCode(t *testing.T) {
	sum := func(verdict string, pre int, f ...analysis.Finding) *analysis.Summary {
		s := &analysis.Summary{Verdict: verdict, Findings: f, Preconditions: make([]analysis.Precondition, pre)}
		s.Options.Gate = failOn
		return s
	}
	over, latency := finding(analysis.OverPermission), finding(analysis.LatencyRegression)
	for _, tc := range []struct {
		name string
		res  Result
		want exitcode.Code
	}{
		{"pass", Result{Verdict: analysis.VerdictPass, Summary: sum(analysis.VerdictPass, 0)}, exitcode.Pass},
		{"parity fails", Result{Verdict: analysis.VerdictFail, Summary: sum(analysis.VerdictFail, 0, latency, over)}, exitcode.Regression},
		{"only performance fails", Result{Verdict: analysis.VerdictFail, Summary: sum(analysis.VerdictFail, 0, latency)}, exitcode.Performance},
		{"aborted", Result{Verdict: analysis.VerdictAborted, Summary: sum(analysis.VerdictAborted, 0, over)}, exitcode.Aborted},
		{"inconclusive", Result{Verdict: analysis.VerdictInconclusive, Summary: sum(analysis.VerdictInconclusive, 0)}, exitcode.Inconclusive},
		{"precondition", Result{Verdict: analysis.VerdictInconclusive, Summary: sum(analysis.VerdictInconclusive, 1)}, exitcode.Precondition},
		// Against a baseline only the new findings count: the known parity
		// finding does not make a new latency regression a parity one.
		{"new performance finding against a baseline", Result{Verdict: analysis.VerdictFail, Summary: sum(analysis.VerdictFail, 0, over, latency),
			Compared: true, New: []analysis.DiffFinding{{Class: analysis.LatencyRegression, Fails: true}}}, exitcode.Performance},
		{"new parity finding against a baseline", Result{Verdict: analysis.VerdictFail, Summary: sum(analysis.VerdictFail, 0, over),
			Compared: true, New: []analysis.DiffFinding{{Class: analysis.OverPermission, Fails: true}}}, exitcode.Regression},
		{"known finding forgiven by the baseline", Result{Verdict: analysis.VerdictPass, Summary: sum(analysis.VerdictFail, 0, over), Compared: true}, exitcode.Pass},
	} {
		if got := tc.res.ExitCode(); got != tc.want {
			t.Errorf("%s: ExitCode() = %d; want %d", tc.name, got, tc.want)
		}
	}
}

// TestTally: a check's log line speaks of the baseline only when it was compared
// with one.
func TestTally(t *testing.T) {
	sum := &analysis.Summary{Verdict: analysis.VerdictFail, Findings: []analysis.Finding{finding(analysis.OverPermission), finding(analysis.TTLDrift)}}
	sum.Options.Gate = analysis.Gate{FailOn: []analysis.Severity{analysis.Critical}}
	for _, tc := range []struct {
		name     string
		baseline bool
		res      Result
		want     string
	}{
		{"no baseline", false, Result{Verdict: analysis.VerdictFail, Summary: sum}, "2 findings, 1 failing"},
		{"no baseline, aborted", false, Result{Verdict: analysis.VerdictAborted, Summary: sum}, "2 findings, 0 failing"},
		{"nothing new", true, Result{Verdict: analysis.VerdictPass, Summary: sum, Compared: true}, "2 findings, 0 new against the baseline"},
		{"one new", true, Result{Verdict: analysis.VerdictFail, Summary: sum, Compared: true, New: []analysis.DiffFinding{{Class: analysis.OverPermission}}}, "2 findings, 1 new against the baseline"},
		{"aborted, not compared", true, Result{Verdict: analysis.VerdictAborted, Summary: sum}, "2 findings, not compared with the baseline"},
	} {
		c := &Canary{}
		if tc.baseline {
			c.baseline = &analysis.Summary{}
		}
		got := c.tally(&tc.res)
		if got != tc.want {
			t.Errorf("%s: tally = %q; want %q", tc.name, got, tc.want)
		}
		if !tc.baseline && strings.Contains(got, "baseline") {
			t.Errorf("%s: tally = %q speaks of a baseline there is none of", tc.name, got)
		}
	}
}

// sample is one line of a Prometheus text exposition.
type sample struct {
	name   string
	labels map[string]string
	value  float64
}

var (
	sampleLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$`)
	labelPair  = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"`)
)

// scrape serves reg's metrics through the handler the CLI serves them with and
// returns the samples.
func scrape(t *testing.T, reg *prometheus.Registry) []sample {
	t.Helper()
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	var out []sample
	for line := range strings.Lines(rec.Body.String()) {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		m := sampleLine.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("exposition line %q does not parse", line)
		}
		v, err := strconv.ParseFloat(m[3], 64)
		if err != nil {
			t.Fatalf("exposition line %q: %v", line, err)
		}
		s := sample{name: m[1], labels: map[string]string{}, value: v}
		for _, l := range labelPair.FindAllStringSubmatch(m[2], -1) {
			s.labels[l[1]] = l[2]
		}
		out = append(out, s)
	}
	return out
}

// sum adds up the samples of name whose labels include every pair of want.
func sum(samples []sample, name string, want ...string) (total float64, n int) {
next:
	for _, s := range samples {
		if s.name != name {
			continue
		}
		for i := 0; i+1 < len(want); i += 2 {
			if s.labels[want[i]] != want[i+1] {
				continue next
			}
		}
		total, n = total+s.value, n+1
	}
	return total, n
}

// smallCanary returns the demo file cut down to a canary: patients' sessions at
// 2/s for 1s, no raw attack, against the embedded stacks started with drift.
func smallCanary(t *testing.T, drift string) *config.File {
	t.Helper()
	demo := string(examples.Demo)
	i, j := strings.Index(demo, "journeys:\n"), strings.Index(demo, "# Emergency access")
	k, l := strings.Index(demo, "  raw:\n"), strings.Index(demo, "  # A few journeys in a real headless")
	if i < 0 || j < i || k < j || l < k {
		t.Fatal("demo.yaml no longer has its journeys and raw blocks where smallCanary cuts: update it")
	}
	body := demo[:i] + "journeys:\n  - {name: patient, kinds: [patient], steps: [login, probes, logout]}\n\n" + demo[j:k] + demo[l:]
	profile := regexp.MustCompile(`(?m)^  profile: .*$`)
	if len(profile.FindAllString(body, -1)) != 1 {
		t.Fatal("demo.yaml no longer has one load profile line: update smallCanary")
	}
	body = profile.ReplaceAllString(body, "  profile: {type: constant, rate: 2}")
	placeholders, err := config.Parse("canary.yaml", []byte(body), examples.DemoEnv(nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	pop, err := rehearsal.Population(placeholders)
	if err != nil {
		t.Fatal(err)
	}
	drifts, err := stacks.ParseDrifts(drift)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := stacks.Start(t.Context(), stacks.Options{Population: pop, Drifts: drifts, Seed: placeholders.Seed})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pair.Close() })
	cfg, err := config.Parse("canary.yaml", []byte(body), examples.DemoEnv(pair, nil))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Load.Duration = time.Second
	if err := Rails(cfg, DefaultMaxRate, true); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// countRecords counts the step records of a check's folder.
func countRecords(t *testing.T, dir string) float64 {
	t.Helper()
	var n float64
	if err := results.ReadRecords(dir, func(*record.Record) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestCheck runs real checks against the embedded stacks with a patient who
// reads other patients' records: without a baseline the check fails on a parity
// finding and says nothing of a baseline; against that first check as baseline
// two more checks pass, and the last-check gauges hold the last check only while
// the counters add both up.
func TestCheck(t *testing.T) {
	if testing.Short() {
		t.Skip("runs canary checks against the embedded stacks")
	}
	cfg := smallCanary(t, "patient-sees-others")
	dir := t.TempDir()
	var log bytes.Buffer
	reg := prometheus.NewRegistry()
	c, err := New(cfg, Options{Out: dir, Once: true, Log: &log}, reg)
	if err != nil {
		t.Fatal(err)
	}
	first := filepath.Join(dir, "first")
	res, err := c.Check(t.Context(), first)
	if err != nil {
		t.Fatalf("Check: %v\n%s", err, log.String())
	}
	if res.Verdict != analysis.VerdictFail || res.ExitCode() != exitcode.Regression || res.Compared {
		t.Fatalf("check with the drift patient-sees-others: verdict %s, exit code %d, compared %t; want fail, %d, not compared",
			res.Verdict, res.ExitCode(), res.Compared, exitcode.Regression)
	}
	if strings.Contains(log.String(), "baseline") || !regexp.MustCompile(`: fail \(\d+ findings, [1-9]\d* failing\)`).MatchString(log.String()) {
		t.Errorf("log of a check without a baseline:\n%s\nwant its findings and failing ones, and no word of a baseline", log.String())
	}
	got := scrape(t, reg)
	for _, w := range []struct {
		name   string
		labels []string
		min    float64
	}{
		{"cutover_canary_failing_findings", []string{"class", "OVER_PERMISSION", "kind", "parity"}, 1},
		{"cutover_canary_last_exit_code", nil, float64(exitcode.Regression)},
		{"cutover_canary_last_verdict", []string{"verdict", "fail"}, 1},
		{"cutover_canary_last_steps", []string{"side", "candidate", "step", "login", "outcome", "ok"}, 1},
		{"cutover_canary_last_step_latency_seconds", []string{"side", "legacy", "step", "probe", "quantile", "0.95"}, 1e-6},
		{"cutover_canary_last_step_latency_seconds", []string{"side", "candidate", "step", "login", "quantile", "0.5"}, 1e-6},
	} {
		if v, n := sum(got, w.name, w.labels...); n == 0 || v < w.min {
			t.Errorf("%s%v = %g over %d series; want at least %g", w.name, w.labels, v, n, w.min)
		}
	}
	if v, _ := sum(got, "cutover_canary_last_exit_code"); v != float64(exitcode.Regression) {
		t.Errorf("cutover_canary_last_exit_code = %g; want %d", v, exitcode.Regression)
	}
	if _, n := sum(got, "cutover_canary_new_findings"); n != 0 {
		t.Errorf("cutover_canary_new_findings has %d series without a baseline; want none", n)
	}

	// Against the first check the same finding is known: the checks pass.
	log.Reset()
	reg = prometheus.NewRegistry()
	c, err = New(cfg, Options{Out: dir, Once: true, Baseline: first, Log: &log}, reg)
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, name := range []string{"second", "third"} {
		d := filepath.Join(dir, name)
		dirs = append(dirs, d)
		res, err := c.Check(t.Context(), d)
		if err != nil {
			t.Fatalf("Check %s: %v\n%s", name, err, log.String())
		}
		if res.Verdict != analysis.VerdictPass || !res.Compared || res.ExitCode() != exitcode.Pass {
			t.Errorf("%s check against the first: verdict %s, compared %t, exit code %d; want pass, compared, 0\n%s", name, res.Verdict, res.Compared, res.ExitCode(), log.String())
		}
	}
	if !strings.Contains(log.String(), " 0 new against the baseline)") {
		t.Errorf("log of checks against a baseline:\n%s\nwant the new findings against it", log.String())
	}
	got = scrape(t, reg)
	if _, n := sum(got, "cutover_canary_failing_findings"); n != 0 {
		t.Errorf("cutover_canary_failing_findings has %d series after a passing check; want none", n)
	}
	if v, _ := sum(got, "cutover_canary_last_exit_code"); v != 0 {
		t.Errorf("cutover_canary_last_exit_code = %g after a passing check; want 0", v)
	}
	second, third := countRecords(t, dirs[0]), countRecords(t, dirs[1])
	if v, _ := sum(got, "cutover_canary_last_steps"); v != third {
		t.Errorf("cutover_canary_last_steps adds up to %g; want the last check's %g records", v, third)
	}
	if v, _ := sum(got, "cutover_canary_steps_total"); v != second+third {
		t.Errorf("cutover_canary_steps_total adds up to %g; want both checks' %g records", v, second+third)
	}
}
