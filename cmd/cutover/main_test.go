package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/cutover-dev/cutover/examples"
	"github.com/cutover-dev/cutover/internal/exitcode"
	"github.com/cutover-dev/cutover/results/analysis"
	"github.com/cutover-dev/cutover/run/config"
	"github.com/cutover-dev/cutover/run/rehearsal"
	"github.com/cutover-dev/cutover/stacks"
)

// cli runs the whole CLI in-process and returns its exit code and output.
func cli(t *testing.T, env map[string]string, args ...string) (exitcode.Code, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	st := &state{args: args, stdout: &stdout, stderr: &stderr, getenv: func(k string) string { return env[k] }}
	code := run(context.Background(), st)
	return code, stdout.String(), stderr.String()
}

func readSummary(t *testing.T, dir string) analysis.Summary {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s analysis.Summary
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("summary.json: %v", err)
	}
	return s
}

// parityClasses returns the distinct parity classes found (not performance, not
// the notes that are no regression, like GENERATOR_SATURATED), sorted.
func parityClasses(s analysis.Summary) []string {
	var out []string
	for _, f := range s.Findings {
		if !f.Class.Performance() && f.Severity != analysis.Info && !slices.Contains(out, string(f.Class)) {
			out = append(out, string(f.Class))
		}
	}
	slices.Sort(out)
	return out
}

// TestDemoEndToEnd runs the demo in-process against the embedded stacks: clean
// stacks give no parity finding; one drift gives exactly its class.
func TestDemoEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end run")
	}
	tests := []struct {
		drift    string
		want     []string
		wantCode []exitcode.Code
	}{
		// A 2s run may not judge every class (too few break-glass journeys):
		// inconclusive is its honest verdict.
		{"none", nil, []exitcode.Code{exitcode.Pass, exitcode.Performance, exitcode.Inconclusive}},
		{"patient-sees-others", []string{"OVER_PERMISSION"}, []exitcode.Code{exitcode.Regression}},
		{"lazy-migration-broken", []string{"LOGIN_FAILED"}, []exitcode.Code{exitcode.Regression}},
	}
	for _, tt := range tests {
		t.Run(tt.drift, func(t *testing.T) {
			out := t.TempDir()
			code, stdout, stderr := cli(t, nil, "demo", "--duration", "2s", "--rate", "20", "--drift", tt.drift, "--no-browser", "--out", out)
			if !slices.Contains(tt.wantCode, code) {
				t.Fatalf("demo --drift %s exited %d; want one of %v\nstdout:\n%s\nstderr:\n%s", tt.drift, code, tt.wantCode, stdout, stderr)
			}
			s := readSummary(t, out)
			if got := parityClasses(s); !slices.Equal(got, tt.want) {
				t.Errorf("demo --drift %s found %v; want %v\n%s", tt.drift, got, tt.want, stdout)
			}
			if s.Generator.Started == 0 || s.Compared == 0 {
				t.Errorf("generator %+v, compared %d; want journeys started and steps compared", s.Generator, s.Compared)
			}
			recs, err := os.ReadFile(filepath.Join(out, "records.jsonl"))
			if err != nil || bytes.Count(recs, []byte("\n")) < int(s.Generator.Started)*2 {
				t.Errorf("records.jsonl: %d lines, %v; want at least two records per started journey", bytes.Count(recs, []byte("\n")), err)
			}
			if !strings.Contains(stdout, "results: "+filepath.Join(out, "summary.json")) {
				t.Errorf("stdout does not name the summary path:\n%s", stdout)
			}
		})
	}
}

// TestDemoSummaryFitsOneScreen runs the demo with its default drifts: the
// terminal summary above the latency table fits one screen and names each
// cause once, with its evidence, and the cohort table.
func TestDemoSummaryFitsOneScreen(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end run")
	}
	out := t.TempDir()
	code, stdout, stderr := cli(t, nil, "demo", "--duration", "8s", "--rate", "30", "--no-browser", "--out", out)
	if code != exitcode.Regression {
		t.Fatalf("demo = %d; want 1\n%s\n%s", code, stdout, stderr)
	}
	above, _, ok := strings.Cut(stdout, "\nJOURNEY ")
	if !ok {
		t.Fatalf("no latency table:\n%s", stdout)
	}
	lines := strings.Split(strings.TrimRight(above, "\n"), "\n")
	if len(lines) > 25 {
		t.Errorf("%d lines above the latency table; want at most 25:\n%s", len(lines), above)
	}
	for i, l := range lines {
		if len(l) > 160 {
			t.Errorf("line %d is %d characters; want at most 160 (it wraps):\n%s", i+1, len(l), l)
		}
	}
	s := readSummary(t, out)
	if len(s.Causes) < 2 {
		t.Fatalf("causes = %+v; want the default drifts' (at least the role mapping and the hash migration)", s.Causes)
	}
	for _, c := range s.Causes {
		if n := strings.Count(above, c.Title); n != 1 {
			t.Errorf("cause %s %q named %d times above the latency table; want once\n%s", c.ID, c.Title, n, above)
		}
	}
	if !strings.Contains(above, "cohorts by wave:") {
		t.Errorf("no cohort table above the latency table:\n%s", above)
	}
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{nil, "no command"},
		{[]string{"fly"}, `unknown command "fly"`},
		{[]string{"run"}, "run takes one FILE"},
		{[]string{"run", "--bogus", "x.yaml"}, "unknown flag: --bogus\nsee 'cutover run --help'"},
		{[]string{"rn", "x.yaml"}, "unknown command \"rn\" for \"cutover\"\n\nDid you mean this?\n\trun"},
		{[]string{"run", "--duration", "20", "x.yaml"}, "20 has no unit; add one: 20s"},
		{[]string{"run", "--rate", "fast", "x.yaml"}, "want journeys per second (15) or a factor"},
		{[]string{"diff", "a"}, "diff takes two results folders: BASELINE NOW"},
		{[]string{"canary", "--once", "--listen", ":0", "x.yaml"}, "with --once: a canary run once cannot serve its metrics"},
		{[]string{"report", "--in-place", "--out", "x", "dir"}, "--in-place and --out: give one"},
		{[]string{"validate", "/nonexistent.yaml"}, "read config: open /nonexistent.yaml"},
		{[]string{"demo", "--drift", "gremlins"}, `unknown drift "gremlins"`},
	}
	for _, tt := range tests {
		code, _, stderr := cli(t, nil, tt.args...)
		if code != exitcode.Usage || !strings.Contains(stderr, tt.want) {
			t.Errorf("cutover %v = %d, %q; want %d and %q", tt.args, code, stderr, exitcode.Usage, tt.want)
		}
	}
}

func TestValidate(t *testing.T) {
	env := map[string]string{"CUTOVER_LEGACY_URL": "http://127.0.0.1:1", "CUTOVER_CANDIDATE_URL": "http://127.0.0.1:2", "CUTOVER_INTROSPECTION_SECRET": "x", "CUTOVER_PROVISIONER_SECRET": "x"}
	code, stdout, stderr := cli(t, env, "validate", "../../examples/demo.yaml")
	if code != exitcode.Pass || !strings.Contains(stdout, "ok (demo") {
		t.Errorf("validate demo.yaml = %d, %q, %q; want 0 and ok", code, stdout, stderr)
	}
	// Without the run's environment the file is still checked; what only the
	// run supplies is listed, not refused (in CI, on a laptop).
	code, stdout, stderr = cli(t, nil, "validate", "../../examples/demo.yaml")
	if code != exitcode.Pass || !strings.Contains(stdout, "ok (demo") || !strings.Contains(stdout, "needed at run time: ../../examples/demo.yaml:") ||
		!strings.Contains(stdout, "CUTOVER_CANDIDATE_URL") || !strings.Contains(stdout, "introspection.client_secret") {
		t.Errorf("validate without env = %d, %q, %q; want 0 listing the URLs and secrets needed at run time", code, stdout, stderr)
	}
	code, _, stderr = cli(t, nil, "validate", "--strict", "../../examples/demo.yaml")
	if code != exitcode.Usage || !strings.Contains(stderr, "CUTOVER_LEGACY_URL is not set") || !strings.Contains(stderr, "CUTOVER_CANDIDATE_URL is not set") {
		t.Errorf("validate --strict without env = %d, %q; want 2 naming both variables", code, stderr)
	}
	// A real mistake is still one without the environment.
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	demo, _ := os.ReadFile("../../examples/demo.yaml")
	if err := os.WriteFile(bad, []byte(strings.Replace(string(demo), "seed: 42", "seed: 42\ncolour: blue", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr = cli(t, nil, "validate", bad); code != exitcode.Usage || !strings.Contains(stderr, "colour: unknown key") {
		t.Errorf("validate a file with an unknown key, without env = %d, %q; want 2 naming it", code, stderr)
	}
}

func TestRunUnreachableStackIsAPreconditionFailure(t *testing.T) {
	env := map[string]string{"CUTOVER_LEGACY_URL": "http://127.0.0.1:1", "CUTOVER_CANDIDATE_URL": "http://127.0.0.1:1", "CUTOVER_INTROSPECTION_SECRET": "x", "CUTOVER_PROVISIONER_SECRET": "x"}
	code, _, stderr := cli(t, env, "run", "../../examples/demo.yaml", "--out", t.TempDir())
	if code != exitcode.Precondition || !strings.Contains(stderr, "candidate stack") || !strings.Contains(stderr, "unavailable") {
		t.Errorf("run against closed ports = %d, %q; want 4 naming the candidate stack as unavailable", code, stderr)
	}
}

// TestStacksServesUntilInterrupted starts `cutover stacks`, runs the rehearsal file
// it writes with `cutover run`, and stops it.
func TestStacksServesUntilInterrupted(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr bytes.Buffer
	done := make(chan exitcode.Code)
	go func() {
		done <- run(ctx, &state{args: []string{"stacks", "--out", dir}, stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }})
	}()
	rf := filepath.Join(dir, "rehearsal.yaml")
	for i := 0; ; i++ {
		if _, err := os.Stat(filepath.Join(dir, "personas.jsonl")); err == nil {
			break
		}
		if i > 600 {
			t.Fatal("cutover stacks wrote no personas file within 60s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The served file is the demo's; a short constant run is enough here.
	body, err := os.ReadFile(rf)
	if err != nil {
		t.Fatal(err)
	}
	short := regexp.MustCompile(`(?m)^  profile: .*$`).ReplaceAll(body, []byte("  profile: {type: constant, rate: 10}"))
	short = bytes.Replace(short, []byte("\n  duration: 60s"), []byte("\n  duration: 3s"), 1)
	if err := os.WriteFile(rf, short, 0o644); err != nil {
		t.Fatal(err)
	}
	prof := filepath.Join(dir, "cpu.pprof")
	code, out, errs := cli(t, nil, "run", rf, "--out", filepath.Join(dir, "run"), "--cpuprofile", prof)
	if code != exitcode.Pass && code != exitcode.Performance && code != exitcode.Inconclusive {
		t.Errorf("run on the served stacks = %d; want no parity regression (no drift)\n%s\n%s", code, out, errs)
	}
	// --cpuprofile: a gzipped pprof profile (what go tool pprof reads).
	if p, err := os.ReadFile(prof); err != nil || len(p) < 100 || p[0] != 0x1f || p[1] != 0x8b {
		t.Errorf("--cpuprofile wrote %d bytes (%v); want a gzipped pprof profile", len(p), err)
	}
	pf, _ := os.ReadFile(filepath.Join(dir, "personas.jsonl"))
	if !bytes.Contains(pf, []byte(`"kind":"clinician"`)) || bytes.Contains(pf, []byte("secret")) {
		t.Errorf("personas.jsonl lacks clinicians or mentions secrets")
	}
	cancel()
	if code := <-done; code != exitcode.Pass {
		t.Errorf("stacks exited %d after interrupt; want 0\n%s", code, stderr.String())
	}
}

// TestHelpAndVersion: help asked for goes to stdout (it pages and greps), and
// so does every command's, which names its arguments and gives an example;
// --version is version, with what it was built from.
func TestHelpAndVersion(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"help"}, {"-h"}} {
		code, stdout, stderr := cli(t, nil, args...)
		if code != exitcode.Pass || !strings.Contains(stdout, "Available Commands:") || !strings.Contains(stdout, "exit codes: 0 pass") || stderr != "" {
			t.Errorf("cutover %v = %d, stdout %q, stderr %q; want the usage on stdout", args, code, stdout, stderr)
		}
	}
	var st state
	var each func(cs []*cobra.Command)
	each = func(cs []*cobra.Command) {
		for _, c := range cs {
			if c.Name() == "help" || c.Name() == "completion" {
				continue
			}
			path := strings.Fields(strings.TrimPrefix(c.CommandPath(), "cutover "))
			code, stdout, stderr := cli(t, nil, append(path, "--help")...)
			if strings.Contains(stdout, "[=true|false]") {
				t.Errorf("%s --help shows a boolean flag as --flag[=true|false]", c.CommandPath())
			}
			if code != exitcode.Pass || stderr != "" || !strings.Contains(stdout, "Usage:\n  "+c.CommandPath()+strings.TrimPrefix(c.Use, c.Name())) || !strings.Contains(stdout, "Examples:\n  ") {
				t.Errorf("%s --help = %d, stderr %q, stdout:\n%s\nwant on stdout its usage naming its arguments (%q) and an example", c.CommandPath(), code, stderr, stdout, c.Use)
			}
			each(c.Commands())
		}
	}
	each(newRoot(&st, new(bool)).Commands())
	code, stdout, _ := cli(t, nil, "validate", "-h")
	if code != exitcode.Pass || !strings.Contains(stdout, "--strict") {
		t.Errorf("cutover validate -h = %d, %q; want its flags on stdout", code, stdout)
	}
	code, stdout, _ = cli(t, nil, "--version")
	if code != exitcode.Pass || !strings.HasPrefix(stdout, "cutover ") || !strings.Contains(stdout, "go1.") {
		t.Errorf("cutover --version = %d, %q; want the version with the Go release", code, stdout)
	}
	if code, stdout, stderr := cli(t, nil); code != exitcode.Usage || stdout != "" || !strings.Contains(stderr, "Available Commands:") || !strings.Contains(stderr, "cutover: no command") {
		t.Errorf("cutover alone = %d, %q, %q; want the usage on stderr and exit 2", code, stdout, stderr)
	}
	code, stdout, _ = cli(t, nil, "completion", "bash")
	if code != exitcode.Pass || !strings.Contains(stdout, "__start_cutover") {
		t.Errorf("cutover completion bash = %d; want a bash completion script", code)
	}
}

// TestVersionFromGit builds the binary from this repository's git checkout:
// --version names the revision it was built from, the provenance a run's
// evidence carries.
func TestVersionFromGit(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	if err := exec.Command("git", "rev-parse", "--git-dir").Run(); err != nil {
		t.Skip("not built from a git checkout")
	}
	head, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "cutover")
	if out, err := exec.Command("go", "build", "-buildvcs=true", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	if meta, err := exec.Command("go", "version", "-m", bin).Output(); err == nil && !bytes.Contains(meta, []byte("vcs.revision=")) {
		if fi, err := os.Stat(filepath.Join(strings.TrimSpace(gitOut(t, "rev-parse", "--show-toplevel")), ".git")); err == nil && !fi.IsDir() {
			t.Skip("a git worktree: the go command stamps no revision into a build from one")
		}
	}
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		t.Fatal(err)
	}
	if want := "revision " + string(head[:12]); !strings.Contains(string(out), want) || !strings.Contains(string(out), "go1.") {
		t.Errorf("--version = %q; want %q and the Go release", out, want)
	}
}

// TestRunDurationScalesTheStorm runs the demo file, a minute with a storm of
// 480 clinician logins, for 15s with --duration: the storm shrinks with the
// run (120 logins over the same share of it), so the schedule keeps its peak
// rate and the embedded stacks take every start.
func TestRunDurationScalesTheStorm(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end run")
	}
	pair, err := stacks.Listen(t.Context(), stacks.Options{BreakGlassTTL: demoBreakGlassTTL})
	if err != nil {
		t.Fatal(err)
	}
	defer pair.Close()
	env := examples.DemoEnv(pair, nil)
	cfg, err := config.Parse("demo.yaml", examples.Demo, env)
	if err != nil {
		t.Fatal(err)
	}
	pop, err := rehearsal.Population(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := pair.Serve(t.Context(), pop); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{}
	for _, k := range []string{examples.EnvLegacyURL, examples.EnvCandidateURL, examples.EnvIntrospectionSecret, examples.EnvProvisionerSecret} {
		vars[k] = env(k)
	}
	out := t.TempDir()
	code, stdout, stderr := cli(t, vars, "run", "../../examples/demo.yaml", "--duration", "15s", "--out", out)
	s := readSummary(t, out)
	// 10 journeys a second for 15s, and a quarter of the storm's 480.
	if want := int64(10*15 + 120); s.Generator.Scheduled < want-5 || s.Generator.Scheduled > want+5 {
		t.Errorf("scheduled %d starts; want about %d (the storm scaled with the run)\n%s\n%s", s.Generator.Scheduled, want, stdout, stderr)
	}
	// The same shape: the scaled schedule peaks where the file's does.
	full, err := rehearsal.Plan(cfg)
	if err != nil {
		t.Fatal(err)
	}
	short := *cfg
	if err := short.Scale(config.Scaling{Duration: 15 * time.Second}); err != nil {
		t.Fatal(err)
	}
	scaled, err := rehearsal.Plan(&short)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(scaled.Peak-full.Peak) > 0.05*full.Peak {
		t.Errorf("the 15s schedule peaks at %.1f/s, the file's at %.1f/s; want the same peak", scaled.Peak, full.Peak)
	}
	// The storm's clinicians are free again as fast as the stacks answer:
	// where they answered in milliseconds, every start found one. A machine
	// slow enough to hold them for seconds (-race beside a busy core) runs
	// short of clinicians whatever the schedule, and says so as a pool
	// shortfall, never as dropped starts.
	var slowest float64
	for _, st := range s.Steps {
		if st.Journey == "shift-change" {
			slowest = max(slowest, st.Legacy.P95, st.Candidate.P95)
		}
	}
	switch {
	case len(s.Generator.Shortfall) > 0 && slowest < 30:
		t.Errorf("pool shortfall %+v with steps of at most %.0fms at p95; want every start taken by an idle persona", s.Generator.Shortfall, slowest)
	case len(s.Generator.Shortfall) > 0:
		t.Logf("pool shortfall %+v: the stacks held clinicians for up to %.0fms a step at p95 on this machine", s.Generator.Shortfall, slowest)
	}
	if s.Generator.Dropped > 0 {
		if len(s.Generator.Unhealthy) == 0 && len(s.Generator.Saturated) == 0 {
			t.Errorf("%d starts dropped on a healthy generator; want none (exit %d)", s.Generator.Dropped, code)
		} else {
			t.Logf("%d starts dropped by a starved generator (a loaded machine): %+v", s.Generator.Dropped, s.Generator.Unhealthy)
		}
	}
}

func gitOut(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("git", args...).Output()
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// TestValidatePlaintextAccounts: an accounts file whose password is written
// out is a warning naming its line and column, never the value; --strict
// refuses it.
func TestValidatePlaintextAccounts(t *testing.T) {
	dir := t.TempDir()
	const secret = "correct-horse-battery"
	accounts := "id,kind,username,password,wave,hash_scheme,roles\npatient-1,patient,pat.one," + secret + ",wave-1,bcrypt,patient\nadmin-1,admin,adm.one,env:ADMIN_PW,wave-1,bcrypt,admin\n"
	if err := os.WriteFile(filepath.Join(dir, "accounts.csv"), []byte(accounts), 0o600); err != nil {
		t.Fatal(err)
	}
	demo, err := os.ReadFile("../../examples/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := string(demo)
	i, j := strings.Index(s, "\npersonas:\n"), strings.Index(s, "\njourneys:\n")
	s = s[:i] + "\npersonas: {file: accounts.csv}\n" + s[j:]
	file := filepath.Join(dir, "rehearsal.yaml")
	if err := os.WriteFile(file, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := cli(t, nil, "validate", file)
	if code != exitcode.Pass || !strings.Contains(stdout, "warning: ") || !strings.Contains(stdout, "accounts.csv:2: patient-1: password holds a plaintext secret") {
		t.Errorf("validate = %d, %q, %q; want ok with a warning naming accounts.csv:2", code, stdout, stderr)
	}
	env := map[string]string{"CUTOVER_LEGACY_URL": "http://127.0.0.1:1", "CUTOVER_CANDIDATE_URL": "http://127.0.0.1:2", "CUTOVER_INTROSPECTION_SECRET": "x", "CUTOVER_PROVISIONER_SECRET": "x", "ADMIN_PW": "admin-password-42"}
	code, stdout, stderr = cli(t, env, "validate", "--strict", file)
	if code != exitcode.Usage || !strings.Contains(stderr, "1 plaintext secret(s) in the accounts file") {
		t.Errorf("validate --strict = %d, %q, %q; want 2 refusing the plaintext secret", code, stdout, stderr)
	}
	if strings.Contains(stdout+stderr, secret) {
		t.Errorf("the plaintext secret is in the output")
	}
}
