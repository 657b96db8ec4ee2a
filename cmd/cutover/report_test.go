package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/cutover-dev/cutover/internal/exitcode"
	"github.com/cutover-dev/cutover/results"
	"github.com/cutover-dev/cutover/results/analysis"
)

// demoRun runs the demo once per test binary and drift set, into a fresh folder.
func demoRun(t *testing.T, drift string, extra ...string) string {
	t.Helper()
	out := t.TempDir()
	args := append([]string{"demo", "--duration", "2s", "--rate", "15", "--drift", drift, "--no-browser", "--out", out}, extra...)
	code, stdout, stderr := cli(t, nil, args...)
	// A 2s demo may reach too few break-glass journeys to judge them:
	// inconclusive, as it should be.
	if code != exitcode.Pass && code != exitcode.Regression && code != exitcode.Performance && code != exitcode.Inconclusive {
		t.Fatalf("demo --drift %s exited %d\n%s\n%s", drift, code, stdout, stderr)
	}
	return out
}

// TestReportReRendersTheSameRun re-renders a finished run from its records:
// a plain report writes nothing; --in-place rewrites every report, and
// summary.json comes out byte for byte the same; --out writes elsewhere; a
// cut by another attribute is that rendering's only; an attribute nobody has
// is an error naming those that exist; the run's setup notices survive.
func TestReportReRendersTheSameRun(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end run")
	}
	dir := demoRun(t, "patient-sees-others", "--gzip")
	files := []string{results.SummaryFile, results.HistogramsFile, results.MarkdownFile, results.JUnitFile, results.HTMLFile}
	before := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatalf("the run did not write %s: %v", f, err)
		}
		before[f] = b
		if f != results.SummaryFile {
			if err := os.Remove(filepath.Join(dir, f)); err != nil {
				t.Fatal(err)
			}
		}
	}
	code, stdout, stderr := cli(t, nil, "report", dir)
	if code != exitcode.Regression || !strings.Contains(stdout, "OVER_PERMISSION") || !strings.Contains(stdout, "no report written: --out DIR") {
		t.Fatalf("report = %d; want 1, the OVER_PERMISSION finding and no report written\n%s\n%s", code, stdout, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, results.HTMLFile)); err == nil {
		t.Errorf("a plain report wrote %s into the run's folder", results.HTMLFile)
	}
	if code, stdout, stderr = cli(t, nil, "report", dir, "--in-place"); code != exitcode.Regression {
		t.Fatalf("report --in-place = %d\n%s\n%s", code, stdout, stderr)
	}
	for _, f := range files {
		after, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Errorf("report --in-place did not rewrite %s: %v", f, err)
			continue
		}
		if !bytes.Equal(after, before[f]) {
			t.Errorf("%s re-rendered from the records differs from the run's", f)
		}
	}

	// --findings adds the rows by step, each with its cause; --cohort-by
	// re-cuts the cohorts of this rendering, written to --out.
	other := filepath.Join(t.TempDir(), "by-hash")
	code, stdout, _ = cli(t, nil, "report", dir, "--findings", "--cohort-by", "hash_scheme", "--out", other)
	if code != exitcode.Regression || !regexp.MustCompile(`(?m)^CAUSE\s+SEVERITY\s+CLASS`).MatchString(stdout) ||
		!regexp.MustCompile(`(?m)^C1\s+critical\s+OVER_PERMISSION\s+session\s+probe\s+patient`).MatchString(stdout) {
		t.Errorf("report --findings = %d; want the rows with their cause\n%s", code, stdout)
	}
	cohorts := func(dir string) (string, []string) {
		s := readSummary(t, dir)
		var names []string
		for _, c := range s.Cohorts {
			names = append(names, c.Name)
		}
		return s.CohortBy, names
	}
	// Service accounts have no password, so no hash scheme: a cohort of their own.
	if by, names := cohorts(other); by != "hash_scheme" || strings.Join(names, ",") != "(no hash_scheme),bcrypt,sha256-salted" {
		t.Errorf("report --cohort-by hash_scheme --out: cohorts by %q %q; want the hash schemes", by, names)
	}
	if by, _ := cohorts(dir); by != "wave" {
		t.Errorf("the run's own summary is cut by %q after a report to another folder; want wave", by)
	}
	// Asked for in place, the cut is that rendering's; a later plain
	// report cuts as the run did.
	cli(t, nil, "report", dir, "--cohort-by", "hash_scheme", "--in-place")
	later := filepath.Join(t.TempDir(), "later")
	cli(t, nil, "report", dir, "--out", later)
	if by, _ := cohorts(later); by != "wave" {
		t.Errorf("a plain report after --cohort-by hash_scheme --in-place cuts by %q; want wave, the run's", by)
	}
	code, _, stderr = cli(t, nil, "report", dir, "--cohort-by", "site")
	if code != exitcode.Usage || !strings.Contains(stderr, "--cohort-by site: no persona of the run has it; the attributes are") || !strings.Contains(stderr, "hash_scheme") {
		t.Errorf("report --cohort-by site = %d, %q; want 2 naming the attributes that exist", code, stderr)
	}

	// A notice of the run's setup (the directories' parity check) comes from
	// no record: re-rendering keeps it.
	s := readSummary(t, dir)
	const notice = "2 persona(s) hold other roles in the candidate's directory than their legacy roles map to"
	s.Notices = append(s.Notices, analysis.Notice{Class: analysis.ProvisioningDrift, Detail: notice})
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, results.SummaryFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
	cli(t, nil, "report", dir, "--in-place")
	for _, f := range []string{results.SummaryFile, results.MarkdownFile} {
		if b, _ := os.ReadFile(filepath.Join(dir, f)); !bytes.Contains(b, []byte(notice)) {
			t.Errorf("%s lost the PROVISIONING_DRIFT notice in a re-render", f)
		}
	}
}

// TestReportRejudgesWithNewThresholds re-renders with a rehearsal file whose
// thresholds let the class pass.
func TestReportRejudgesWithNewThresholds(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end run")
	}
	dir := demoRun(t, "patient-sees-others")
	demo, err := os.ReadFile("../../examples/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	lenient := strings.Replace(string(demo), "  fail_on: [critical, high, medium]", "  fail_on: [critical, high, medium]\n  classes:\n    OVER_PERMISSION: {fail: false}\n  steps:\n    session/login: {latency_ratio: 100}", 1)
	cfg := filepath.Join(t.TempDir(), "lenient.yaml")
	if err := os.WriteFile(cfg, []byte(lenient), 0o644); err != nil {
		t.Fatal(err)
	}
	env := demoEnv
	code, stdout, stderr := cli(t, env, "report", dir, "--config", cfg, "--in-place")
	s := readSummary(t, dir)
	if code != exitcode.Pass && code != exitcode.Performance && code != exitcode.Inconclusive {
		t.Errorf("report --config lenient = %d; want the parity finding no longer failing\n%s\n%s", code, stdout, stderr)
	}
	for _, f := range s.Findings {
		if f.Class == analysis.OverPermission && f.Fails {
			t.Errorf("OVER_PERMISSION still fails under {fail: false}: %+v", f)
		}
	}
}

func TestReportErrors(t *testing.T) {
	empty := t.TempDir()
	code, _, stderr := cli(t, nil, "report", empty)
	if code != exitcode.Usage || !strings.Contains(stderr, "no records.jsonl") {
		t.Errorf("report on an empty folder = %d, %q; want 2 naming the missing records", code, stderr)
	}
	if err := os.WriteFile(filepath.Join(empty, results.RecordsFile), []byte(`{"side":"legacy"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = cli(t, nil, "report", empty)
	if code != exitcode.Usage || !strings.Contains(stderr, "--config") {
		t.Errorf("report without summary.json = %d, %q; want 2 asking for --config", code, stderr)
	}
	code, _, stderr = cli(t, nil, "diff", empty)
	if code != exitcode.Usage || !strings.Contains(stderr, "two results folders") {
		t.Errorf("diff with one folder = %d, %q; want 2", code, stderr)
	}
}

// TestDiff compares a clean baseline with a drifted run: the drift's class is
// new and fails, and comparing the other way round shows it fixed.
func TestDiff(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end run")
	}
	// patient-sees-others: patients are most of the population, so even a short run
	// meets the drift (billing clerks, a few percent, may not show up in 2s).
	base, now := demoRun(t, "none"), demoRun(t, "patient-sees-others")
	code, stdout, stderr := cli(t, nil, "diff", base, now)
	if code != exitcode.Regression {
		t.Errorf("diff clean drifted = %d; want 1 (new parity findings)\n%s\n%s", code, stdout, stderr)
	}
	section := func(out, title string) string {
		_, rest, _ := strings.Cut(out, title)
		rest, _, _ = strings.Cut(rest, "\n\n")
		return rest
	}
	if got := section(stdout, "finding rows new in B:"); !strings.Contains(got, "OVER_PERMISSION") {
		t.Errorf("diff: new findings section lacks the drift's classes:\n%s", stdout)
	}
	if got := section(stdout, "causes new in B:"); !strings.Contains(got, "kind=patient: OVER_PERMISSION") {
		t.Errorf("diff: new causes section lacks the patients' cause:\n%s", stdout)
	}
	if !regexp.MustCompile(`wave-1\s+(pass|inconclusive)\s+fail\s+-\s+C1`).MatchString(stdout) {
		t.Errorf("diff: the cohorts do not go from pass (or inconclusive, in a short run) to fail, blocked by C1:\n%s", stdout)
	}
	if !regexp.MustCompile(`session\s+login\s`).MatchString(stdout) || !strings.Contains(stdout, "B/A p50") {
		t.Errorf("diff: no latency deltas per step:\n%s", stdout)
	}
	code, stdout, _ = cli(t, nil, "diff", now, base)
	fixed := section(stdout, "finding rows fixed since A:") + section(stdout, "causes fixed since A:")
	if code != exitcode.Pass && code != exitcode.Performance || !strings.Contains(fixed, "OVER_PERMISSION") {
		t.Errorf("diff drifted clean = %d; want the drift's classes fixed\n%s", code, stdout)
	}
}

// TestAANoiseFloor runs legacy against itself: the summary reports the noise
// floor, and it is zero.
func TestAANoiseFloor(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end run")
	}
	s := readSummary(t, demoRun(t, "none", "--aa"))
	if s.NoiseFloor == nil || s.NoiseFloor.Compared == 0 {
		t.Fatalf("A/A summary noise floor = %+v; want comparisons counted", s.NoiseFloor)
	}
	if s.NoiseFloor.Disagreed != 0 || len(parityClasses(s)) != 0 {
		t.Errorf("A/A run: %d of %d comparisons disagreed, classes %v; want none", s.NoiseFloor.Disagreed, s.NoiseFloor.Compared, parityClasses(s))
	}
	if len(s.Causes) != 0 {
		t.Errorf("A/A run: causes %+v; want none", s.Causes)
	}
	for _, c := range s.Cohorts {
		if c.Status != analysis.CohortPass {
			t.Errorf("A/A run: cohort %s is %s; want pass", c.Name, c.Status)
		}
	}
}

// TestSchemaCommand prints the rehearsal file's JSON Schema on stdout.
func TestSchemaCommand(t *testing.T) {
	code, stdout, stderr := cli(t, nil, "schema")
	var doc map[string]any
	if code != exitcode.Pass || json.Unmarshal([]byte(stdout), &doc) != nil || doc["title"] != "cutover rehearsal file" || stderr != "" {
		t.Errorf("schema = %d, stderr %q; want the JSON Schema on stdout", code, stderr)
	}
}
