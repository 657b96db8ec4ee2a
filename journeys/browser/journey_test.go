package browser

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cutover-dev/cutover/journeys"
	"github.com/cutover-dev/cutover/personas"
	"github.com/cutover-dev/cutover/results/analysis"
	"github.com/cutover-dev/cutover/results/record"
)

// wantSteps checks persona p's records on one side: every step present with the
// outcome and decision given, in journey order.
func wantSteps(t *testing.T, rec *recorder, p personas.Persona, side record.Side, want map[string]string) {
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
		if r.Outcome != record.OK || r.Facts.Decision != decision {
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
		for _, side := range []record.Side{record.Legacy, record.Candidate} {
			wantSteps(t, rec, p, side, map[string]string{
				StepNavigate: "", StepLogin: record.Allow, StepLogout: record.Allow,
				StepLogoutProbe: record.Deny, StepTotal: "",
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

	wantSteps(t, rec, broken, record.Legacy, map[string]string{StepLogin: record.Allow, StepLogoutProbe: record.Deny})
	wantSteps(t, rec, broken, record.Candidate, map[string]string{StepLogin: record.Deny})
	wantSteps(t, rec, fine, record.Candidate, map[string]string{StepLogin: record.Allow, StepLogoutProbe: record.Deny})
	if r := rec.find(broken.ID, record.Candidate, StepLogout); r != nil {
		t.Errorf("a refused login went on to logout: %+v", r)
	}

	fs := rec.findings()
	if len(fs) != 1 || fs[0].Class != analysis.LoginFailed || fs[0].Journey != Journey || fs[0].Step != StepLogin ||
		fs[0].Count != 1 || fs[0].Examples[0].Persona != broken.ID {
		t.Fatalf("findings = %+v; want one LOGIN_FAILED on %s %s for %s", fs, Journey, StepLogin, broken.ID)
	}
	login := rec.find(broken.ID, record.Candidate, StepLogin)
	if login.Facts.Status != 401 || login.Error != "refused (HTTP 401): Invalid username or password." {
		t.Errorf("refused login: status %d, error %q; want 401 and the page's message", login.Facts.Status, login.Error)
	}
	if len(login.Evidence) != 2 {
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

// TestJourneyErrors drives the browser against pages that break a journey in each
// way the embedded stacks cannot: every break is an error record (an availability
// error or a page that is not what the step expects), never a decision, and leaves
// evidence.
func TestJourneyErrors(t *testing.T) {
	const form = `<form id="login-form" method="post" action="/login"><input name="username"><input name="password" type="password"><button type="submit">Sign in</button></form>`
	p := humans(1, "")[0]
	tests := []struct {
		name      string
		page      map[string]string // path -> body; "503" answers 503
		step      string
		wantError string
	}{
		{"login page down", map[string]string{"/start": "503"}, StepNavigate, "unavailable (HTTP 503)"},
		{"no login form", map[string]string{"/start": "<p>maintenance</p>"}, StepNavigate, "no login form (#login-form)"},
		{"lands nowhere", map[string]string{"/start": form, "/login": "<p>hello</p>"}, StepLogin, "neither the landing page (#welcome) nor the login form"},
		{"greets someone else", map[string]string{"/start": form, "/login": `<h1 id="welcome">Welcome, Somebody Else</h1>`}, StepLogin, "does not name the persona"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, ok := tt.page[r.URL.Path]
				switch {
				case !ok:
					http.NotFound(w, r)
				case body == "503":
					http.Error(w, "down", http.StatusServiceUnavailable)
				default:
					w.Header().Set("Content-Type", "text/html")
					_, _ = w.Write([]byte(body))
				}
			}))
			defer ts.Close()
			site, err := Site{Start: "/start"}.Resolve(ts.URL)
			if err != nil {
				t.Fatal(err)
			}
			out := t.TempDir()
			// A page that shows neither is waited for until the step's deadline (it
			// may still render with a script): long enough that a loaded machine
			// reaches the wait before it, short enough to keep the test short.
			r := NewRunner(shared, RunnerOptions{Sites: map[record.Side]Site{record.Legacy: site}, Evidence: &Evidence{Root: out},
				StepTimeout: 10 * time.Second})
			rec := &recorder{}
			r.Run(t.Context(), record.Legacy, p, journeys.Iteration{N: 1}, rec.emit)
			got := rec.find(p.ID, record.Legacy, tt.step)
			if got == nil || got.Outcome != record.Error || got.Facts.Decision != "" || !strings.Contains(got.Error, tt.wantError) {
				t.Fatalf("%s record = %+v; want an error %q and no decision", tt.step, got, tt.wantError)
			}
			if len(rec.recs) != 1+slices.Index([]string{StepNavigate, StepLogin}, tt.step) {
				t.Errorf("%d records; want the journey to stop at %s", len(rec.recs), tt.step)
			}
			for _, e := range got.Evidence {
				if _, err := os.Stat(filepath.Join(out, e)); err != nil {
					t.Error(err)
				}
			}
			if len(got.Evidence) != 2 {
				t.Errorf("evidence %q; want a screenshot and a DOM excerpt", got.Evidence)
			}
		})
	}
}

// TestLogoutKeepsSession: a stack whose logout does not end the session lets the
// probe back in; the comparison calls it LOGOUT_SESSION_STILL_ACTIVE.
func TestLogoutKeepsSession(t *testing.T) {
	p := humans(1, "")[0]
	home := `<h1 id="welcome">Welcome, ` + p.Name + `</h1><form id="logout-form" method="post" action="/logout"><button type="submit">Sign out</button></form>`
	mux := http.NewServeMux()
	page := func(body string) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte(body))
		}
	}
	mux.Handle("GET /start", page(`<form id="login-form" method="post" action="/login"><input name="username"><input name="password" type="password"><button type="submit">Sign in</button></form>`))
	mux.Handle("POST /login", http.RedirectHandler("/home", http.StatusSeeOther))
	mux.Handle("GET /home", page(home)) // signed in, whatever happened
	mux.Handle("POST /logout", http.RedirectHandler("/bye", http.StatusSeeOther))
	mux.Handle("GET /bye", page("<p>Bye</p>"))
	ts := httptest.NewServer(mux)
	defer ts.Close()
	site, err := Site{Start: "/start", Landing: "/home"}.Resolve(ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	r := NewRunner(shared, RunnerOptions{Sites: map[record.Side]Site{record.Candidate: site}, Evidence: &Evidence{Root: t.TempDir()}})
	rec := &recorder{}
	r.Run(t.Context(), record.Candidate, p, journeys.Iteration{N: 1}, rec.emit)
	probe := rec.find(p.ID, record.Candidate, StepLogoutProbe)
	if probe == nil || probe.Facts.Decision != record.Allow || len(probe.Evidence) != 2 {
		t.Fatalf("probe = %+v; want allow, with evidence", probe)
	}
	fs := rec.findings()
	if len(fs) != 1 || fs[0].Class != analysis.LogoutSessionStillActive || fs[0].Step != StepLogoutProbe {
		t.Errorf("findings = %+v; want one LOGOUT_SESSION_STILL_ACTIVE on %s", fs, StepLogoutProbe)
	}
}

// TestLogoutHops: a sign-out whose page goes on by itself to the provider's
// end-session endpoint (a meta refresh, a form its script submits at load) is
// followed to its end: the logout step waits for the hop, the session ends, and
// the probe is refused as it should be (no LOGOUT_SESSION_STILL_ACTIVE).
func TestLogoutHops(t *testing.T) {
	p := humans(1, "")[0]
	tests := []struct{ name, logout string }{
		{"meta refresh", `<meta http-equiv="refresh" content="0;url=/end-session"><p>Signing out...</p>`},
		{"form submitted at load", `<form method="post" action="/end-session"><input type="hidden" name="id_token_hint" value="x"></form>` +
			`<script>addEventListener("load", () => document.forms[0].submit())</script><p>Signing out...</p>`},
		{"form submitted a moment later", `<form method="post" action="/end-session"></form>` +
			`<script>addEventListener("load", () => setTimeout(() => document.forms[0].submit(), 100))</script>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := startFake(t, p, "", tt.logout)
			r := NewRunner(shared, RunnerOptions{Sites: map[record.Side]Site{record.Candidate: fs.site}})
			rec := &recorder{}
			r.Run(t.Context(), record.Candidate, p, journeys.Iteration{N: 1}, rec.emit)
			wantSteps(t, rec, p, record.Candidate, map[string]string{
				StepLogin: record.Allow, StepLogout: record.Allow, StepLogoutProbe: record.Deny, StepTotal: "",
			})
			if lo := rec.find(p.ID, record.Candidate, StepLogout); lo != nil && lo.Facts.Status != http.StatusOK {
				t.Errorf("logout: status %d; want 200 (/bye)", lo.Facts.Status)
			}
			if n := fs.ended(); n != 1 {
				t.Errorf("%d sign-outs reached /end-session; want 1", n)
			}
			if f := rec.findings(); len(f) != 0 {
				t.Errorf("findings = %+v; want none", f)
			}
		})
	}
}
