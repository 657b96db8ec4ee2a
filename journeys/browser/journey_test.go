package browser

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/cutover-dev/cutover/personas"
	"github.com/cutover-dev/cutover/results"
)

// wantSteps checks persona p's records on one side: every step present with the
// outcome and decision given, in journey order.
func wantSteps(t *testing.T, rec *recorder, p personas.Persona, side results.Side, want map[string]string) {
	t.Helper()
	for step, decision := range want {
		r := rec.find(p.ID, side, step)
		if r == nil {
			t.Errorf("%s %s %s: no record", p.ID, side, step)
			continue
		}
		if r.Journey != Journey {
			t.Errorf("%s %s %s: journey %q; want %q", p.ID, side, step, r.Journey, Journey)
		}
		if r.Outcome != results.OK || r.Facts.Decision != decision {
			t.Errorf("%s %s %s = (%s, %q, %q); want (ok, %q)", p.ID, side, step, r.Outcome, r.Facts.Decision, r.Error, decision)
		}
		if r.Latency <= 0 {
			t.Errorf("%s %s %s: latency %s; want > 0", p.ID, side, step, r.Latency)
		}
	}
}

func TestJourneyCleanBothSides(t *testing.T) {
	pair := startStacks(t, "")
	out := t.TempDir()
	r := NewRunner(shared, RunnerOptions{Sites: sites(pair), MaxTabs: 4, Evidence: &Evidence{Root: out}})
	rec := &recorder{}
	ps := humans(5, "")
	var wg sync.WaitGroup
	for i, p := range ps {
		wg.Go(func() { both(t.Context(), r, p, uint64(i), rec.emit) })
	}
	wg.Wait()
	for _, p := range ps {
		for _, side := range []results.Side{results.Legacy, results.Candidate} {
			wantSteps(t, rec, p, side, map[string]string{
				StepNavigate: "", StepLogin: results.Allow, StepLogout: results.Allow,
				StepLogoutProbe: results.Deny, StepTotal: "",
			})
		}
	}
	if f := rec.findings(); len(f) != 0 {
		t.Errorf("findings on clean stacks: %+v", f)
	}
	if _, err := os.Stat(filepath.Join(out, EvidenceDir)); !os.IsNotExist(err) {
		t.Errorf("evidence folder after a clean run: %v; want none", err)
	}
}

// TestJourneyLazyMigrationBroken: under the drift, the candidate refuses the
// salted-SHA-256 cohort; the browser journey records LOGIN_FAILED with a screenshot
// and a redacted DOM excerpt, and the bcrypt cohort still gets in.
func TestJourneyLazyMigrationBroken(t *testing.T) {
	pair := startStacks(t, "lazy-migration-broken")
	out := t.TempDir()
	r := NewRunner(shared, RunnerOptions{Sites: sites(pair), MaxTabs: 4, Evidence: &Evidence{Root: out}})
	rec := &recorder{}
	broken := humans(1, personas.HashSaltedSHA256)[0]
	fine := humans(1, personas.HashBcrypt)[0]
	both(t.Context(), r, broken, 1, rec.emit)
	both(t.Context(), r, fine, 2, rec.emit)

	wantSteps(t, rec, broken, results.Legacy, map[string]string{StepLogin: results.Allow, StepLogoutProbe: results.Deny})
	wantSteps(t, rec, broken, results.Candidate, map[string]string{StepLogin: results.Deny})
	wantSteps(t, rec, fine, results.Candidate, map[string]string{StepLogin: results.Allow, StepLogoutProbe: results.Deny})
	if r := rec.find(broken.ID, results.Candidate, StepLogout); r != nil {
		t.Errorf("a refused login went on to logout: %+v", r)
	}

	fs := rec.findings()
	if len(fs) != 1 || fs[0].Class != results.LoginFailed || fs[0].Journey != Journey || fs[0].Step != StepLogin ||
		fs[0].Count != 1 || fs[0].Examples[0].Persona != broken.ID {
		t.Fatalf("findings = %+v; want one LOGIN_FAILED on %s %s for %s", fs, Journey, StepLogin, broken.ID)
	}
	login := rec.find(broken.ID, results.Candidate, StepLogin)
	if login.Facts.Status != 401 {
		t.Errorf("refused login status = %d; want 401", login.Facts.Status)
	}
	if !strings.Contains(login.Error, "") || len(login.Evidence) != 2 {
		t.Fatalf("evidence = %q (error %q); want a screenshot and a DOM excerpt", login.Evidence, login.Error)
	}
	if got := fs[0].Examples[0].Evidence; len(got) != 2 {
		t.Errorf("finding example evidence = %q; want the record's", got)
	}
	png, err := os.ReadFile(filepath.Join(out, login.Evidence[0]))
	if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
		t.Errorf("screenshot %s: %v, %d bytes; want a PNG", login.Evidence[0], err, len(png))
	}
	dom, err := os.ReadFile(filepath.Join(out, login.Evidence[1]))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`id="login-form"`, "Invalid username or password", `name="auth_request"`} {
		if !bytes.Contains(dom, []byte(want)) {
			t.Errorf("DOM excerpt lacks %q:\n%s", want, dom)
		}
	}
	if bytes.Contains(dom, []byte(broken.Secret.Reveal())) {
		t.Errorf("DOM excerpt holds the password")
	}
	if bytes.Contains(dom, []byte(`name="auth_request" value=""`)) || !bytes.Contains(dom, []byte(`value="`+Redacted+`"`)) {
		t.Errorf("DOM excerpt keeps the hidden auth_request value:\n%s", dom)
	}
}
