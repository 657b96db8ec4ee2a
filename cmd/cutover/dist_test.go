package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/cutover-dev/cutover/examples"
	"github.com/cutover-dev/cutover/internal/exitcode"
	"github.com/cutover-dev/cutover/results"
	"github.com/cutover-dev/cutover/results/analysis"
	"github.com/cutover-dev/cutover/results/record"
	"github.com/cutover-dev/cutover/run/config"
	"github.com/cutover-dev/cutover/run/rehearsal"
	"github.com/cutover-dev/cutover/stacks"
)

// buildCutover builds the cutover binary once per test into a temporary folder.
func buildCutover(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "cutover")
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	out, err := exec.Command("go", append(args, ".")...).CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// embeddedStacks writes the rehearsal file body into dir, starts the embedded
// stacks with the drifts named (for the file's population) until the test ends,
// and returns the file's path and the environment it needs.
func embeddedStacks(t *testing.T, dir string, body []byte, drift string) (string, map[string]string) {
	t.Helper()
	path := filepath.Join(dir, "rehearsal.yaml")
	if err := os.WriteFile(path, body, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Read(path, examples.DemoEnv(nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	pop, err := rehearsal.Population(cfg)
	if err != nil {
		t.Fatal(err)
	}
	drifts, err := stacks.ParseDrifts(drift)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := stacks.Start(t.Context(), stacks.Options{Population: pop, Drifts: drifts, Seed: cfg.Seed, BreakGlassTTL: demoBreakGlassTTL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pair.Close() })
	env := examples.DemoEnv(pair, nil)
	vars := map[string]string{}
	for _, k := range []string{examples.EnvLegacyURL, examples.EnvCandidateURL, examples.EnvIntrospectionSecret, examples.EnvProvisionerSecret} {
		vars[k] = env(k)
	}
	return path, vars
}

// demoWith returns the demo file with its journeys replaced by journeys (a YAML
// block) and each pair of edits (old, new) made; a missing old fails the test.
func demoWith(t *testing.T, journeys string, edits ...string) []byte {
	t.Helper()
	demo := string(examples.Demo)
	i, j := strings.Index(demo, "journeys:\n"), strings.Index(demo, "# Emergency access")
	if i < 0 || j < i {
		t.Fatal("demo.yaml no longer has its journeys block: update demoWith")
	}
	demo = demo[:i] + "journeys:\n" + journeys + "\n" + demo[j:]
	for k := 0; k+1 < len(edits); k += 2 {
		if !strings.Contains(demo, edits[k]) {
			t.Fatalf("demo.yaml no longer has %q: update the test", edits[k])
		}
		demo = strings.Replace(demo, edits[k], edits[k+1], 1)
	}
	return []byte(demo)
}

// demoProfile is the demo's load profile, which tests replace.
const demoProfile = "profile: {type: shift-change, rate: 10, cohort: 480, at: 30%, over: 40%, journey: shift-change}"

// segmentsConfig is the demo file with journeys of one persona kind each, so that
// which persona of the kind a start draws (which depends on the pool the run
// draws from: the whole population, or a segment's) changes no step, no record
// count and no parity finding. Break-glass and audit journeys wait on time boxes
// and feeds; they are left out to keep the test short.
func segmentsConfig(t *testing.T) []byte {
	return demoWith(t, `  - {name: patient, kinds: [patient], steps: [login, probes, refresh, logout], weight: 0.6}
  - {name: billing, kinds: [billing], steps: [login, probes, logout], weight: 0.25}
  - {name: service, kinds: [service], steps: [service, probes], weight: 0.15}
`, demoProfile, "profile: {type: constant, rate: 6}",
		"duration: 60s", "duration: 4s",
		"    - endpoint: client_credentials\n      profile: {type: constant, rate: 5}\n", "")
}

// TestSegmentsMergeToTheSingleRun runs a rehearsal as three segments, each its own
// process, merges them, and compares the merge with the same rehearsal run whole on
// the same seed against the same stacks.
//
// What must be equal: the starts (the schedule is split by start number, and each
// keeps its global number and intended time, so the journey mix draws the same
// journeys), the records per step and side, the parity findings with their counts,
// the verdict. What legitimately differs: which persona of a kind a start drew (a
// segment draws from its slice of the population), and latencies, measured at
// other instants; so performance findings are not compared, and percentiles are
// compared where they must agree: the merged run's, computed from the concatenated
// records, against the segments' HDR histograms merged.
func TestSegmentsMergeToTheSingleRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs four rehearsals")
	}
	bin := buildCutover(t)
	dir := t.TempDir()
	cfgPath, vars := embeddedStacks(t, dir, segmentsConfig(t), "role-map-billing-admin")
	env := os.Environ()
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	cutover := func(args ...string) (int, string) {
		cmd := exec.CommandContext(t.Context(), bin, args...)
		cmd.Env = env
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode(), out.String()
		} else if err != nil {
			t.Fatalf("cutover %v: %v", args, err)
		}
		return 0, out.String()
	}

	single := filepath.Join(dir, "single")
	singleCode, singleOut := cutover("run", cfgPath, "--out", single)
	var (
		wg   sync.WaitGroup
		segs []string
	)
	for i := range 3 {
		seg := filepath.Join(dir, fmt.Sprintf("segment-%d", i))
		segs = append(segs, seg)
		wg.Go(func() {
			// A segment's verdict is its own: one may draw no billing journey.
			if code, out := cutover("run", cfgPath, "--segment", fmt.Sprintf("%d/3", i), "--out", seg); code != 0 && code != int(exitcode.Regression) && code != int(exitcode.Performance) {
				t.Errorf("segment %d/3 exited %d\n%s", i, code, out)
			}
		})
	}
	wg.Wait()
	merged := filepath.Join(dir, "merged")
	mergeCode, mergeOut := cutover(append(append([]string{"merge"}, segs...), "--out", merged)...)
	if singleCode != int(exitcode.Regression) || mergeCode != singleCode {
		t.Fatalf("single run exited %d, merge %d; want both %d (the drift's OVER_PERMISSION)\nsingle:\n%s\nmerge:\n%s",
			singleCode, mergeCode, exitcode.Regression, singleOut, mergeOut)
	}
	for _, f := range []string{results.SummaryFile, results.RecordsFile, results.HistogramsFile, results.MarkdownFile, results.JUnitFile, results.HTMLFile} {
		if _, err := os.Stat(filepath.Join(merged, f)); err != nil {
			t.Errorf("merged folder: %v", err)
		}
	}

	s, m := readSummary(t, single), readSummary(t, merged)
	if m.Verdict != s.Verdict || m.Meta.Seed != s.Meta.Seed || m.Meta.ConfigHash != s.Meta.ConfigHash || len(m.Meta.Merged) != 3 || m.Meta.Segment != "" {
		t.Errorf("merged verdict %s, meta %+v; single %s, %+v", m.Verdict, m.Meta, s.Verdict, s.Meta)
	}
	if m.Generator.Scheduled != s.Generator.Scheduled || m.Generator.Started != s.Generator.Started || s.Generator.Dropped != 0 {
		t.Errorf("merged generator %+v; single %+v (want the same starts, none dropped)", m.Generator, s.Generator)
	}
	if m.Compared != s.Compared {
		t.Errorf("merged compared %d steps; single %d", m.Compared, s.Compared)
	}
	if got, want := parityFindings(m), parityFindings(s); got != want || want == "" {
		t.Errorf("merged parity findings:\n%s\nsingle:\n%s", got, want)
	}
	// The causes and cohorts too: the merge groups the whole run's records with
	// the whole population (the segments' persona tables, unioned).
	if got, want := parityCauses(m), parityCauses(s); got != want || want == "" {
		t.Errorf("merged parity causes and cohorts:\n%s\nsingle:\n%s", got, want)
	}
	if _, err := os.Stat(filepath.Join(merged, results.PersonasFile)); err != nil {
		t.Errorf("merged folder has no %s: %v", results.PersonasFile, err)
	}
	if got, want := stepCounts(m), stepCounts(s); got != want {
		t.Errorf("merged records per step:\n%s\nsingle:\n%s", got, want)
	}

	// The merged run's percentiles come from the records; the segments' histograms
	// merged must give the same within HDR precision (3 significant digits).
	fromSegs := analysis.NewStats(s.Meta.Start)
	for _, seg := range segs {
		h, err := results.ReadHistograms(seg)
		if err != nil {
			t.Fatal(err)
		}
		fromSegs.Merge(h)
	}
	mh, err := results.ReadHistograms(merged)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range mh.Keys() {
		for _, side := range []record.Side{record.Legacy, record.Candidate} {
			a, b := mh.Side(k, side), fromSegs.Side(k, side)
			if b == nil || a.Count != b.Count || a.Hist.TotalCount() != b.Hist.TotalCount() {
				t.Errorf("step %s on %s: merged histogram %+v; segments' %+v", k, side, a, b)
				continue
			}
			for _, q := range []float64{50, 90, 99, 100} {
				x, y := a.Quantile(q), b.Quantile(q)
				if d := x - y; d > x/1000 || -d > x/1000 {
					t.Errorf("step %s on %s: p%g %s merged, %s from the segments' histograms", k, side, q, x, y)
				}
			}
		}
	}
}

// parityFindings lists the parity findings of s: class, journey, step, persona
// kind and count, one a line.
func parityFindings(s analysis.Summary) string {
	var b strings.Builder
	for _, f := range s.Findings {
		if !f.Class.Performance() {
			fmt.Fprintf(&b, "%s %s/%s %s x%d\n", f.Class, f.Journey, f.Step, f.PersonaKind, f.Count)
		}
	}
	return b.String()
}

// parityCauses lists the persona-level causes of s by key with their classes,
// and each cohort's population, one a line. Which personas a segment drives
// differs from the single run's (personas.Partition), so the evidence counts may
// differ; the causes and the population may not.
func parityCauses(s analysis.Summary) string {
	var b strings.Builder
	for _, c := range s.Causes {
		if c.Level == analysis.LevelPersona {
			fmt.Fprintf(&b, "%s %s\n", c.Key, strings.Join(c.ClassNames(), " "))
		}
	}
	for _, co := range s.Cohorts {
		fmt.Fprintf(&b, "cohort %s: %d personas\n", co.Name, co.Personas)
	}
	return b.String()
}

// stepCounts lists the records of each step and side.
func stepCounts(s analysis.Summary) string {
	var b strings.Builder
	for _, st := range s.Steps {
		fmt.Fprintf(&b, "%s/%s legacy %d (%d errors) candidate %d (%d errors)\n", st.Journey, st.Step, st.Legacy.Count, st.Legacy.Errors, st.Candidate.Count, st.Candidate.Errors)
	}
	return b.String()
}

// TestMergeRefusesOtherRuns: folders of another seed, missing or repeated segments,
// or a whole run are refused with a usage error naming the folder.
func TestMergeRefusesOtherRuns(t *testing.T) {
	dir := t.TempDir()
	seg := func(name, segment string, seed uint64) string {
		d := filepath.Join(dir, name)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		s := analysis.Summary{Schema: analysis.SummarySchema, Meta: analysis.Meta{Name: "demo", Seed: seed, ConfigHash: "abc", Segment: segment}}
		if err := results.WriteSummary(d, &s); err != nil {
			t.Fatal(err)
		}
		return d
	}
	a, b, c := seg("a", "0/2", 1), seg("b", "1/2", 2), seg("c", "0/2", 1)
	whole := seg("whole", "", 1)
	tests := []struct {
		dirs []string
		want string
	}{
		{[]string{a, b}, "ran seed 2"},
		{[]string{a}, "segment 1/2 is missing"},
		{[]string{a, c}, "segment 0/2 twice"},
		{[]string{whole, a}, "is no segment of a distributed run"},
	}
	for _, tt := range tests {
		code, _, stderr := cli(t, nil, append(append([]string{"merge"}, tt.dirs...), "--out", filepath.Join(dir, "out"))...)
		if code != exitcode.Usage || !strings.Contains(stderr, tt.want) {
			t.Errorf("merge %v = %d, %q; want %d and %q", tt.dirs, code, stderr, exitcode.Usage, tt.want)
		}
	}
}
