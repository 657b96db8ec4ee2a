package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cutover-dev/cutover/examples"
	"github.com/cutover-dev/cutover/internal/exitcode"
	"github.com/cutover-dev/cutover/results/analysis"
)

// TestSIGINTLeavesAPartialReport builds the binary, starts a minute-long demo,
// sends it a real SIGINT once the run is under way, and wants exit 3 and a valid
// summary.json saying aborted, with every started journey's records.
func TestSIGINTLeavesAPartialReport(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	cmd := exec.Command(buildBinary(t), "demo", "--duration", "1m", "--drift", "none", "--no-browser", "--out", dir)
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	p := launch(t, cmd)
	// The first progress line says the schedule is running.
	p.until(func(line string) bool { return strings.Contains(line, " journeys/s: ") })
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(); code != int(exitcode.Aborted) {
		t.Fatalf("cutover demo after SIGINT: exit %d; want %d\nstderr:\n%s\nstdout:\n%s", code, exitcode.Aborted, p.log.String(), stdout.String())
	}
	s := readSummary(t, dir)
	if s.Verdict != analysis.VerdictAborted || !strings.Contains(s.Meta.Aborted, "interrupt signal received") {
		t.Errorf("summary.json: verdict %q, aborted %q; want aborted by the interrupt", s.Verdict, s.Meta.Aborted)
	}
	if s.Generator.Started == 0 || s.Generator.Scheduled >= 500 {
		t.Errorf("generator %+v; want a run stopped early, with journeys started", s.Generator)
	}
	recs, err := os.ReadFile(filepath.Join(dir, "records.jsonl"))
	if err != nil || int64(bytes.Count(recs, []byte("\n"))) < 2*s.Generator.Started {
		t.Errorf("records.jsonl: %d lines, %v; want at least two per started journey (%d)", bytes.Count(recs, []byte("\n")), err, s.Generator.Started)
	}
	if !strings.Contains(stdout.String(), "verdict: ABORTED") {
		t.Errorf("stdout lacks the aborted verdict:\n%s", stdout.String())
	}
}

// process is a started cutover whose stderr the test reads line by line.
type process struct {
	cmd *exec.Cmd
	sc  *bufio.Scanner
	log strings.Builder
}

// launch starts cmd with its stderr piped to the test, killed after three
// minutes if it has not ended by then.
func launch(t *testing.T, cmd *exec.Cmd) *process {
	t.Helper()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	kill := time.AfterFunc(3*time.Minute, func() { _ = cmd.Process.Kill() })
	t.Cleanup(func() { kill.Stop() })
	return &process{cmd: cmd, sc: bufio.NewScanner(stderr)}
}

// until reads stderr up to the first line done accepts, or its end.
func (p *process) until(done func(line string) bool) {
	for p.sc.Scan() {
		p.log.WriteString(p.sc.Text() + "\n")
		if done(p.sc.Text()) {
			return
		}
	}
}

// wait reads the rest of stderr and returns the exit code (-1: killed).
func (p *process) wait() int {
	p.until(func(string) bool { return false })
	err := p.cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// buildBinary builds the cutover binary once per test binary.
func buildBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "cutover-bin")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "cutover")
		if out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// countingStacks serves both sides of demo.yaml badly on purpose: every request
// is counted; discovery answers only after slow (a provider slow to set up), the
// candidate's authorization endpoint hangs for hang (a stack frozen under
// load), and every other path answers an empty page at once.
func countingStacks(t *testing.T, slow, hang time.Duration) (url string, count func() (setup, traffic int64)) {
	t.Helper()
	var setup, traffic atomic.Int64
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/.well-known/openid-configuration":
			setup.Add(1)
			select {
			case <-time.After(slow):
			case <-r.Context().Done():
				return
			}
			fmt.Fprintf(w, `{"issuer":%q,"authorization_endpoint":"%[1]s/authorize","token_endpoint":"%[1]s/token","jwks_uri":"%[1]s/jwks"}`, srv.URL)
		case "/jwks":
			setup.Add(1)
			_, _ = w.Write([]byte(`{"keys":[]}`))
		case "/authorize":
			traffic.Add(1)
			select {
			case <-time.After(hang):
			case <-r.Context().Done():
			}
		default:
			traffic.Add(1)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL, func() (int64, int64) { return setup.Load(), traffic.Load() }
}

// stacksFile writes demo.yaml pointed at url for both sides, with drain and
// step timeout set, and no directories (no pre-run parity check).
func stacksFile(t *testing.T, url string, drain time.Duration) string {
	t.Helper()
	var kept []string
	skip := false
	for _, l := range strings.Split(string(examples.Demo), "\n") {
		switch {
		case strings.HasPrefix(l, "      directory:"):
			skip = !strings.Contains(l, "{")
			continue
		case skip && strings.HasPrefix(l, "        "):
			continue
		}
		skip = false
		kept = append(kept, l)
	}
	doc := strings.Join(kept, "\n")
	for _, k := range []string{"${CUTOVER_LEGACY_URL}", "${CUTOVER_CANDIDATE_URL}"} {
		doc = strings.ReplaceAll(doc, k, url)
	}
	doc = strings.ReplaceAll(doc, "${CUTOVER_INTROSPECTION_SECRET}", "x")
	doc = strings.ReplaceAll(doc, "${CUTOVER_PROVISIONER_SECRET}", "x")
	doc = strings.Replace(doc, "  step_timeout: 10s\n", fmt.Sprintf("  step_timeout: %s\n", drain), 1)
	doc = strings.Replace(doc, "  drain: 10s ", fmt.Sprintf("  drain: %s ", drain), 1)
	path := filepath.Join(t.TempDir(), "rehearsal.yaml")
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestSIGINTDuringSetupSendsNothing: an interrupt 50ms after launch, while the
// candidate's discovery is still answering, stops the run before any traffic:
// exit 3, and the counting server sees no request beyond the setup's own.
func TestSIGINTDuringSetupSendsNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	url, count := countingStacks(t, 5*time.Second, 0)
	cmd := exec.Command(bin, "run", stacksFile(t, url, 10*time.Second), "--out", t.TempDir())
	cmd.Env = append(os.Environ(), "CUTOVER_INTROSPECTION_SECRET=x", "CUTOVER_PROVISIONER_SECRET=x")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != int(exitcode.Aborted) {
		t.Fatalf("cutover run interrupted during setup: %v; want exit %d\n%s", err, exitcode.Aborted, out.String())
	}
	time.Sleep(200 * time.Millisecond) // anything still on its way arrives
	if setup, traffic := count(); traffic != 0 || setup > 1 {
		t.Errorf("the stacks saw %d setup and %d other requests; want the discovery at most, and nothing after the interrupt\n%s", setup, traffic, out.String())
	}
}

// TestSecondSIGINTEndsTheDrain: with a frozen stack a first interrupt leaves
// the journeys in flight a long drain; a second ends it at once, and what was
// measured is still written (exit 3, an aborted summary).
func TestSecondSIGINTEndsTheDrain(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	url, count := countingStacks(t, 0, 10*time.Minute)
	dir := t.TempDir()
	cmd := exec.Command(buildBinary(t), "run", stacksFile(t, url, 10*time.Minute), "--out", dir)
	cmd.Env = append(os.Environ(), "CUTOVER_INTROSPECTION_SECRET=x", "CUTOVER_PROVISIONER_SECRET=x")
	p := launch(t, cmd)
	p.until(func(line string) bool {
		_, traffic := count()
		return traffic > 0 && strings.Contains(line, " journeys/s: ")
	})
	_ = cmd.Process.Signal(os.Interrupt)
	p.until(func(line string) bool { return strings.Contains(line, "interrupt again to end the drain") })
	_ = cmd.Process.Signal(os.Interrupt)
	if code := p.wait(); code != int(exitcode.Aborted) {
		t.Fatalf("cutover run after two interrupts: exit %d; want %d (killed after 3 minutes means the drain was not ended)\n%s", code, exitcode.Aborted, p.log.String())
	}
	if s := readSummary(t, dir); s.Verdict != analysis.VerdictAborted {
		t.Errorf("summary.json verdict %q; want aborted", s.Verdict)
	}
}
