package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cutover-dev/cutover/internal/exitcode"
)

const exampleShadow = "../../examples/shadow/shadow.yaml"

// mirrorPDP is an AuthZEN PDP that decides as the legacy log says, but for
// the questions drift names: it allows those.
func mirrorPDP(t *testing.T, log string, drift func(subject, action, typ string) bool) *httptest.Server {
	t.Helper()
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	legacy := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var e struct{ User, Op, Object, Result, Via string }
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatal(err)
		}
		legacy[e.User+" "+e.Op+" "+e.Object+" "+e.Via] = e.Result == "PERMIT"
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Subject  struct{ ID string }
			Action   struct{ Name string }
			Resource struct{ Type, ID string }
			Context  struct{ Via string }
		}
		_ = json.NewDecoder(r.Body).Decode(&in)
		object := in.Resource.Type
		if in.Resource.ID != "all" {
			object = "patient:" + in.Resource.ID + "/" + in.Resource.Type
		}
		allow := legacy[in.Subject.ID+" "+in.Action.Name+" "+object+" "+in.Context.Via] || drift(in.Subject.ID, in.Action.Name, in.Resource.Type)
		_ = json.NewEncoder(w).Encode(map[string]bool{"decision": allow})
	}))
	t.Cleanup(srv.Close)
	return srv
}

// shadowFile writes the example shadow file with the PDP at url.
func shadowFile(t *testing.T, url string) string {
	t.Helper()
	b, err := os.ReadFile(exampleShadow)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "shadow.yaml")
	if err := os.WriteFile(path, []byte(strings.Replace(string(b), "http://127.0.0.1:8181", url, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestShadowCommand: `cutover shadow` exits as a run does (0 pass, 1 a parity
// regression), writes a results folder `cutover diff` compares, and refuses
// what it cannot do with a usage error.
func TestShadowCommand(t *testing.T) {
	log, _ := filepath.Abs("../../examples/shadow/access.jsonl")
	if code, out, errOut := cli(t, nil, "shadow", exampleShadow, "--check"); code != exitcode.Pass || !strings.Contains(out, "ok") {
		t.Fatalf("shadow --check = %d %q %q; want 0 and ok", code, out, errOut)
	}
	same := shadowFile(t, mirrorPDP(t, log, func(string, string, string) bool { return false }).URL)
	drifted := shadowFile(t, mirrorPDP(t, log, func(subject, action, typ string) bool {
		return strings.HasPrefix(subject, "billing-") && action == "read" && typ == "users"
	}).URL)
	base, now := filepath.Join(t.TempDir(), "base"), filepath.Join(t.TempDir(), "now")
	if code, out, errOut := cli(t, nil, "shadow", same, "--log", log, "--out", base); code != exitcode.Pass || !strings.Contains(out, "24 log lines: 24 compared (24 agreed") {
		t.Fatalf("shadow, unchanged = %d\n%s\n%s; want 0, every line agreed", code, out, errOut)
	}
	code, out, _ := cli(t, nil, "shadow", drifted, "--log", log, "--out", now)
	// One billing clerk in the sample: too few subjects for a factor.
	if code != exitcode.Regression || !strings.Contains(out, "OVER_PERMISSION on 1 entitlement") || !strings.Contains(out, "1 over-permission") {
		t.Fatalf("shadow, billing clerks allowed users = %d\n%s; want 1 and its OVER_PERMISSION", code, out)
	}
	if _, err := os.Stat(filepath.Join(now, "shadow.md")); err != nil {
		t.Error(err)
	}
	if code, out, _ := cli(t, nil, "diff", base, now); code != exitcode.Regression || !strings.Contains(out, "OVER_PERMISSION") {
		t.Errorf("diff base now = %d\n%s; want 1 with the new OVER_PERMISSION", code, out)
	}
	if code, _, _ := cli(t, nil, "diff", base, base); code != exitcode.Pass {
		t.Errorf("diff base base = %d; want 0", code)
	}
	for _, args := range [][]string{
		{"shadow", exampleShadow, "--listen", ":0"},
		{"shadow", exampleShadow, "--max-rate", "5"},
		{"shadow", "missing.yaml"},
		{"shadow"},
	} {
		if code, _, _ := cli(t, nil, args...); code != exitcode.Usage {
			t.Errorf("%q = %d; want 2", args, code)
		}
	}
}
