package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cutover-dev/cutover/internal/exitcode"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var demoEnv = map[string]string{"CUTOVER_LEGACY_URL": "http://127.0.0.1:1", "CUTOVER_CANDIDATE_URL": "http://127.0.0.1:2", "CUTOVER_INTROSPECTION_SECRET": "x", "CUTOVER_PROVISIONER_SECRET": "x"}

// TestPlanGolden: `cutover plan` on the demo file prints the schedule, the
// journeys and the requests per endpoint per stack; the output is deterministic
// (the schedule, the population and the journey mix all come from the file and
// its seed), so it is compared with a golden file. -update rewrites it.
func TestPlanGolden(t *testing.T) {
	code, stdout, stderr := cli(t, demoEnv, "plan", "../../examples/demo.yaml")
	if code != exitcode.Pass {
		t.Fatalf("plan = %d; stderr:\n%s", code, stderr)
	}
	golden := filepath.Join("testdata", "plan-demo.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(stdout), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if stdout != string(want) {
		t.Errorf("plan output differs from %s (go test ./cmd/cutover -run Plan -update to accept):\n%s", golden, stdout)
	}
}

func TestPlanErrors(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	demo, err := os.ReadFile("../../examples/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(bad, bytes.Replace(demo, []byte("max_rate: 200"), []byte("max_rate: 20"), 1), 0o644)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"plan"}, "plan takes one FILE"},
		{[]string{"plan", bad}, "load.profile: peaks at 50/s, which exceeds the safety ceiling load.max_rate 20/s"},
	} {
		code, stdout, stderr := cli(t, demoEnv, tt.args...)
		if code != exitcode.Usage || !strings.Contains(stderr, tt.want) || stdout != "" {
			t.Errorf("cutover %v = %d, %q, %q; want %d, %q and nothing planned", tt.args, code, stdout, stderr, exitcode.Usage, tt.want)
		}
	}
}
