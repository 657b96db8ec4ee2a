package report

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"flag"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cutover-dev/cutover/results/analysis"
	"github.com/cutover-dev/cutover/results/internal/fixture"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		for i := range max(len(gl), len(wl)) {
			g, w := "", ""
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Fatalf("%s differs from the golden file at line %d:\n got: %q\nwant: %q\n(go test -update rewrites it after a deliberate change)", name, i+1, g, w)
			}
		}
	}
}

func render(t *testing.T, s *analysis.Summary, fn func(io.Writer, *analysis.Summary) error) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := fn(&b, s); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestGoldenReports renders every report of two deterministic runs (fixed
// times, fixed seeds) and compares each with its golden file: the failing
// fixture run (testdata/), and the inconclusive one that saw too little to
// pass (testdata/thin/).
func TestGoldenReports(t *testing.T) {
	fail, _ := fixture.Golden.Summary(fixture.Options)
	thin, _ := fixture.Thin.Summary(fixture.ThinOptions)
	for _, run := range []struct {
		dir string
		s   analysis.Summary
	}{{"", fail}, {"thin", thin}} {
		s := run.s
		js, err := json.MarshalIndent(s, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		for _, tt := range []struct {
			file string
			got  []byte
		}{
			{"summary.json", append(js, '\n')},
			{"report.md", render(t, &s, WriteMarkdown)},
			{"junit.xml", render(t, &s, WriteJUnit)},
			{"report.html", render(t, &s, WriteHTML)},
			{"table.txt", render(t, &s, WriteTable)},
		} {
			name := filepath.Join(run.dir, tt.file)
			t.Run(name, func(t *testing.T) { golden(t, name, tt.got) })
		}
	}
}

// TestFixtureFindings checks that the planted regressions, and only they, are
// found: the golden files are only worth what the run they show is.
func TestFixtureFindings(t *testing.T) {
	s, _ := fixture.Golden.Summary(fixture.Options)
	var got []string
	for _, f := range s.Findings {
		got = append(got, string(f.Class)+" "+f.Step+" "+f.PersonaKind)
	}
	want := []string{
		"OVER_PERMISSION probe billing",
		"ERROR_RATE_REGRESSION breakglass.request ",
		"ERROR_RATE_REGRESSION probe ",
		"LOGIN_FAILED login patient",
		"ROLE_MAPPING_DRIFT login billing",
		"LATENCY_REGRESSION login ",
	}
	if !slices.Equal(got, want) {
		t.Errorf("findings = %q; want %q", got, want)
	}
	if s.Verdict != analysis.VerdictFail {
		t.Errorf("verdict = %s; want fail", s.Verdict)
	}
	for _, f := range s.Findings {
		if f.Class == analysis.AuthzError {
			t.Errorf("availability errors became an authorization finding: %+v", f)
		}
	}
	// The generator was unhealthy for 2s of 20s: about a tenth of every step's
	// samples are set apart from the verdicts, and the latency finding is
	// judged on the others (still enough of them).
	for _, st := range s.Steps {
		if st.UnhealthyShare < 0.05 || st.UnhealthyShare > 0.15 {
			t.Errorf("step %s/%s: unhealthy share %.3f; want about 0.10 (the samples of the unhealthy window set apart)", st.Journey, st.Step, st.UnhealthyShare)
		}
		if st.SaturatedShare != 0 {
			t.Errorf("step %s/%s: saturated share %.3f; v3 summaries write the unhealthy share only", st.Journey, st.Step, st.SaturatedShare)
		}
	}
	for _, c := range s.Coverage {
		if c.Class.Performance() && c.Status != analysis.CoverageJudged {
			t.Errorf("%s coverage %s: want judged on the healthy samples", c.Class, c.Text())
		}
	}
	if len(s.Notices) != 2 || s.Notices[0].Class != analysis.GeneratorSaturated || !strings.Contains(s.Notices[1].Detail, "unhealthy") {
		t.Errorf("notices = %+v; want GENERATOR_SATURATED twice: behind the schedule, and unhealthy", s.Notices)
	}
}

func TestJUnitIsWellFormed(t *testing.T) {
	s, _ := fixture.Golden.Summary(fixture.Options)
	var doc junitSuites
	if err := xml.Unmarshal(render(t, &s, WriteJUnit), &doc); err != nil {
		t.Fatalf("junit.xml does not parse: %v", err)
	}
	failed := map[string]bool{}
	for _, su := range doc.Suites {
		for _, c := range su.Cases {
			if c.Failure != nil {
				failed[c.Name] = true
				if c.Failure.Text == "" {
					t.Errorf("failure of %s carries no examples", c.Name)
				}
			}
		}
	}
	for _, name := range []string{"OVER_PERMISSION", "LOGIN_FAILED", "ROLE_MAPPING_DRIFT", "latency session/login", "error rate session/probe"} {
		if !failed[name] {
			t.Errorf("junit.xml: no failing test case %q (failed: %v)", name, failed)
		}
	}
	if doc.Failures != len(failed) || doc.Tests < 24 {
		t.Errorf("junit.xml: tests=%d failures=%d; want a case per check and %d failures", doc.Tests, doc.Failures, len(failed))
	}
}
