package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cutover-dev/cutover/internal/syncbuf"

	"github.com/cutover-dev/cutover/internal/exitcode"
)

// canaryConfig is a small canary: patients' sessions at 2/s for 1s, no raw attack.
func canaryConfig(t *testing.T) []byte {
	body := string(demoWith(t, "  - {name: patient, kinds: [patient], steps: [login, probes, logout]}\n",
		demoProfile, "profile: {type: constant, rate: 2}",
		"duration: 60s", "duration: 1s"))
	i, j := strings.Index(body, "  raw:\n"), strings.Index(body, "  # A few journeys in a real headless")
	if i < 0 || j < i {
		t.Fatal("demo.yaml no longer has its raw block: update canaryConfig")
	}
	return []byte(body[:i] + body[j:])
}

// metricSum adds up the samples of the metric name (every label set) in a
// Prometheus text exposition.
func metricSum(body, name string) float64 {
	var sum float64
	for _, line := range strings.Split(body, "\n") {
		rest, ok := strings.CutPrefix(line, name)
		if !ok || rest == "" || (rest[0] != '{' && rest[0] != ' ') {
			continue
		}
		if v, err := strconv.ParseFloat(rest[strings.LastIndexByte(rest, ' ')+1:], 64); err == nil {
			sum += v
		}
	}
	return sum
}

// TestCanary runs a canary once against the embedded stacks, pushing to a
// Pushgateway stand-in, to make a baseline; then as a loop against that baseline,
// scraping its /metrics until two checks have run, and sees the counters move.
func TestCanary(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the canary against the embedded stacks")
	}
	dir := t.TempDir()
	path, env := embeddedStacks(t, dir, canaryConfig(t), "patient-sees-others")

	var (
		pushMu   sync.Mutex
		pushes   []string
		pushBody string
	)
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		pushMu.Lock()
		pushes, pushBody = append(pushes, r.Method+" "+r.URL.Path), string(b)
		pushMu.Unlock()
	}))
	defer gw.Close()
	base := filepath.Join(dir, "baseline")
	code, _, stderr := cli(t, env, "canary", path, "--once", "--allow-generated", "--out", base, "--pushgateway", gw.URL)
	if code != exitcode.Regression || !strings.Contains(stderr, "fail the thresholds") {
		t.Fatalf("canary --once with the drift patient-sees-others = %d; want %d\n%s", code, exitcode.Regression, stderr)
	}
	pushMu.Lock()
	if len(pushes) != 1 || pushes[0] != "PUT /metrics/job/cutover_canary/canary/demo" || !strings.Contains(pushBody, "cutover_canary_steps_total") {
		t.Errorf("pushes %v (body %d bytes); want one PUT of the canary's metrics to its job and group", pushes, len(pushBody))
	}
	pushMu.Unlock()

	// Against the baseline the same finding persists: the loop's checks pass.
	ctx, cancel := context.WithCancel(t.Context())
	var errBuf syncbuf.Buffer
	done := make(chan exitcode.Code)
	go func() {
		st := &state{args: []string{"canary", path, "--allow-generated", "--interval", "100ms", "--baseline", base, "--out", filepath.Join(dir, "loop"), "--listen", "127.0.0.1:0"},
			stdout: io.Discard, stderr: &errBuf, getenv: func(k string) string { return env[k] }}
		done <- run(ctx, st)
	}()
	addr := regexp.MustCompile(`metrics on (http://\S+)`)
	scrape := func() string {
		m := addr.FindStringSubmatch(errBuf.String())
		if m == nil {
			return ""
		}
		resp, err := http.Get(m[1])
		if err != nil {
			t.Fatalf("scrape: %v", err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	waitRuns := func(n float64) string {
		for range 600 {
			if body := scrape(); metricSum(body, "cutover_canary_runs_total") >= n {
				return body
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("no %g checks within 30s\n%s", n, errBuf.String())
		return ""
	}
	first := waitRuns(1)
	second := waitRuns(2)
	cancel()
	if code := <-done; code != exitcode.Pass {
		t.Errorf("canary loop exited %d after interrupt; want 0\n%s", code, errBuf.String())
	}
	for _, name := range []string{"cutover_canary_steps_total", "cutover_canary_step_latency_seconds_count"} {
		if a, b := metricSum(first, name), metricSum(second, name); a <= 0 || b <= a {
			t.Errorf("%s: %g after the first check, %g after the second; want it to grow", name, a, b)
		}
	}
	for _, want := range []string{
		`cutover_canary_last_verdict{verdict="pass"} 1`,
		`cutover_canary_findings{class="OVER_PERMISSION"}`,
		`cutover_canary_cohort_status{cohort="`,
		`cutover_canary_steps_total{journey="patient",outcome="ok",side="candidate",step="login"}`,
		`cutover_canary_step_latency_seconds_bucket{journey="patient",side="legacy",step="probe",le=`,
	} {
		if !strings.Contains(second, want) {
			t.Errorf("metrics lack %s:\n%s", want, second)
		}
	}
	if metricSum(second, "cutover_canary_new_findings") != 0 || metricSum(second, "cutover_canary_last_run_timestamp_seconds") <= 0 {
		t.Errorf("new findings %g, last run %g; want none new against the baseline and a timestamp",
			metricSum(second, "cutover_canary_new_findings"), metricSum(second, "cutover_canary_last_run_timestamp_seconds"))
	}
}

// TestCanaryRails: a profile above the ceiling and raw attacks are refused, each
// named.
func TestCanaryRails(t *testing.T) {
	dir := t.TempDir()
	path, env := embeddedStacks(t, dir, demoWith(t, "  - {name: patient, kinds: [patient], steps: [login]}\n  - {name: shift-change, kinds: [clinician], steps: [login], weight: 0}\n"), "none")
	code, _, stderr := cli(t, env, "canary", path, "--once", "--out", filepath.Join(dir, "out"))
	if code != exitcode.Usage || !strings.Contains(stderr, "above the canary ceiling 5/s") || !strings.Contains(stderr, "load.raw has 2 raw attack(s)") ||
		!strings.Contains(stderr, "personas.generate: a canary signs in as dedicated synthetic accounts") {
		t.Errorf("canary on the demo's load = %d, %q; want 2 naming the rate ceiling, the raw attacks and the generated personas", code, stderr)
	}
}
