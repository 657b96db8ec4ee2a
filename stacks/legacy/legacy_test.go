package legacy_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/cutover-dev/cutover/stacks/internal/driver"
	"github.com/cutover-dev/cutover/stacks/internal/passhash"
	"github.com/cutover-dev/cutover/stacks/legacy"
)

var people = []struct {
	user     legacy.User
	password string
	scheme   string
}{
	{legacy.User{ID: "patient-00001", Username: "pat1", Name: "Pat One", Roles: []string{"patient"}}, "pw-pat1-long", passhash.Bcrypt},
	{legacy.User{ID: "patient-00002", Username: "pat2", Name: "Pat Two", Roles: []string{"patient"}}, "pw-pat2-long", passhash.SaltedSHA256},
	{legacy.User{ID: "clinician-00001", Username: "doc1", Name: "Doc One", Roles: []string{"clinician", "breakglass-eligible"}, Panel: []string{"patient-00001"}}, "pw-doc1-long", passhash.Bcrypt},
	{legacy.User{ID: "clinician-00002", Username: "doc2", Name: "Doc Two", Roles: []string{"clinician"}, Panel: []string{"patient-00001"}}, "pw-doc2-long", passhash.Bcrypt},
	{legacy.User{ID: "auditor-00001", Username: "aud1", Name: "Aud One", Roles: []string{"auditor"}}, "pw-aud1-long", passhash.Bcrypt},
}

const labKey = "lab-api-key-0123456789"

type stack struct {
	*legacy.Server
	url   string
	clock *driver.Clock
}

func newStack(tb testing.TB, cfg legacy.Config) stack {
	tb.Helper()
	clock := driver.NewClock()
	cfg.Now = clock.Now
	cfg.BcryptCost = bcrypt.MinCost
	srv := legacy.New(cfg)
	for _, p := range people {
		if err := srv.AddUser(p.user, p.password, p.scheme); err != nil {
			tb.Fatal(err)
		}
	}
	srv.AddServiceAccount(legacy.ServiceAccount{ID: "service-00001", Username: "svc-lab", Permissions: []string{"lab-results:read", "lab-results:write"}}, labKey)
	ts := httptest.NewServer(srv)
	tb.Cleanup(ts.Close)
	return stack{Server: srv, url: ts.URL, clock: clock}
}

func password(username string) string {
	for _, p := range people {
		if p.user.Username == username {
			return p.password
		}
	}
	return ""
}

// login logs username in through the JSON API and returns the client and session id.
func (s stack) login(tb testing.TB, username string) (*driver.Client, string) {
	tb.Helper()
	c := driver.New(tb, s.url)
	r := c.PostJSON("/api/login", map[string]string{"username": username, "password": password(username)})
	if r.Status != http.StatusOK {
		tb.Fatalf("POST /api/login %s = %d %s; want 200", username, r.Status, r.Body)
	}
	return c, r.Str("session_id")
}

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

func csrf(tb testing.TB, r driver.Response) string {
	tb.Helper()
	m := csrfField.FindSubmatch(r.Body)
	if m == nil {
		tb.Fatalf("no csrf_token in answer %d", r.Status)
	}
	return string(m[1])
}

func TestFormLoginAndLogout(t *testing.T) {
	s := newStack(t, legacy.Config{})
	tests := []struct {
		name      string
		csrf      func(page string) string
		password  string
		want      int
		wantPlace string
	}{
		{"no csrf token", func(string) string { return "" }, "pw-doc1-long", http.StatusForbidden, ""},
		{"wrong csrf token", func(string) string { return "forged" }, "pw-doc1-long", http.StatusForbidden, ""},
		{"wrong password", func(p string) string { return p }, "nope", http.StatusUnauthorized, ""},
		{"good", func(p string) string { return p }, "pw-doc1-long", http.StatusSeeOther, "/home"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := driver.New(t, s.url)
			page := c.Get("/login")
			if !strings.Contains(string(page.Body), `<form id="login-form" method="post" action="/login">`) {
				t.Fatalf("GET /login has no login form")
			}
			r := c.PostForm("/login", url.Values{"username": {"doc1"}, "password": {tt.password}, "csrf_token": {tt.csrf(csrf(t, page))}})
			if r.Status != tt.want || r.Location().Path != tt.wantPlace {
				t.Fatalf("POST /login = %d to %q; want %d to %q", r.Status, r.Location().Path, tt.want, tt.wantPlace)
			}
			if r.Status != http.StatusSeeOther {
				return
			}
			home := c.Get("/home")
			if !strings.Contains(string(home.Body), `<h1 id="welcome">Welcome, Doc One</h1>`) {
				t.Fatalf("GET /home = %d without the welcome heading", home.Status)
			}
			if r := c.PostForm("/logout", url.Values{"csrf_token": {"forged"}}); r.Status != http.StatusForbidden {
				t.Errorf("logout with a forged csrf token = %d; want 403", r.Status)
			}
			if r := c.PostForm("/logout", url.Values{"csrf_token": {csrf(t, home)}}); r.Status != http.StatusSeeOther || r.Location().Path != "/login" {
				t.Errorf("POST /logout = %d to %s; want 303 to /login", r.Status, r.Location())
			}
			if r := c.Get("/home"); r.Status != http.StatusSeeOther {
				t.Errorf("GET /home after logout = %d; want 303 to /login", r.Status)
			}
		})
	}
}

func TestJSONLoginSessionAndLogout(t *testing.T) {
	s := newStack(t, legacy.Config{})
	c, sid := s.login(t, "doc1")
	if len(sid) < 22 {
		t.Errorf("session id %d characters; want at least 128 bits", len(sid))
	}
	// The header works without the cookie.
	bare := driver.New(t, s.url)
	me := bare.Get("/api/me", legacy.SessionHeader, sid).JSON()
	if me["id"] != "clinician-00001" || me["username"] != "doc1" || me["session"] == nil {
		t.Errorf("GET /api/me = %v; want the clinician with its session", me)
	}
	if r := c.Get("/api/patients/patient-00001/notes"); r.Status != http.StatusOK {
		t.Errorf("notes of a panel patient = %d; want 200", r.Status)
	}
	if r := c.Send("POST", "/api/logout", nil, ""); r.Status != http.StatusNoContent {
		t.Errorf("POST /api/logout = %d; want 204", r.Status)
	}
	if r := bare.Get("/api/me", legacy.SessionHeader, sid); r.Status != http.StatusUnauthorized {
		t.Errorf("the old session id after logout = %d; want 401", r.Status)
	}
	if r := bare.PostJSON("/api/login", map[string]string{"username": "doc1", "password": "nope"}); r.Status != http.StatusUnauthorized || r.Str("error") != "invalid_credentials" || strings.Contains(string(r.Body), "nope") {
		t.Errorf("wrong password = %d %s; want 401 invalid_credentials without echo", r.Status, r.Body)
	}
}

func TestSaltedSHA256Login(t *testing.T) {
	s := newStack(t, legacy.Config{})
	s.login(t, "pat2")
}

func TestIdleAndAbsoluteTimeouts(t *testing.T) {
	s := newStack(t, legacy.Config{IdleTimeout: 10 * time.Minute, AbsoluteTimeout: 30 * time.Minute})
	c, _ := s.login(t, "doc1")
	renew := func() driver.Response { return c.Send("POST", "/api/session/renew", nil, "") }
	s.clock.Advance(9 * time.Minute)
	r := renew()
	if r.Status != http.StatusOK || r.JSON()["idle_expires_in"] != 600.0 || r.JSON()["absolute_expires_in"] != 21*60.0 {
		t.Fatalf("renew at 9m = %d %s; want idle 600, absolute 1260", r.Status, r.Body)
	}
	s.clock.Advance(9 * time.Minute) // 18m: alive thanks to the renewal
	if r := renew(); r.Status != http.StatusOK {
		t.Fatalf("renew at 18m = %d; want 200", r.Status)
	}
	s.clock.Advance(9 * time.Minute) // 27m
	if got := renew().JSON()["idle_expires_in"]; got != 180.0 {
		t.Errorf("idle_expires_in at 27m = %v; want 180 (capped by the absolute limit)", got)
	}
	s.clock.Advance(3 * time.Minute) // 30m: absolute timeout
	if r := renew(); r.Status != http.StatusUnauthorized {
		t.Errorf("renew at the absolute timeout = %d; want 401", r.Status)
	}
	c, _ = s.login(t, "doc1")
	s.clock.Advance(10 * time.Minute)
	if r := c.Get("/api/me"); r.Status != http.StatusUnauthorized {
		t.Errorf("GET /api/me after 10m idle = %d; want 401", r.Status)
	}
}

func TestLockout(t *testing.T) {
	s := newStack(t, legacy.Config{LockoutThreshold: 3, LockoutDuration: time.Minute})
	c := driver.New(t, s.url)
	try := func(pw string) int {
		return c.PostJSON("/api/login", map[string]string{"username": "doc1", "password": pw}).Status
	}
	for i, want := range []int{401, 401, 423, 423} {
		if got := try("bad"); got != want {
			t.Errorf("failure %d = %d; want %d", i+1, got, want)
		}
	}
	if got := try("pw-doc1-long"); got != http.StatusLocked {
		t.Errorf("right password while locked = %d; want 423", got)
	}
	s.clock.Advance(time.Minute)
	if got := try("pw-doc1-long"); got != http.StatusOK {
		t.Errorf("right password after the lock = %d; want 200", got)
	}
}

func TestAPIKeys(t *testing.T) {
	s := newStack(t, legacy.Config{})
	c := driver.New(t, s.url)
	who := c.Get("/api/whoami", legacy.APIKeyHeader, labKey).JSON()
	if who["id"] != "service-00001" {
		t.Errorf("whoami = %v; want service-00001", who)
	}
	tests := []struct {
		method, path, key string
		want              int
	}{
		{"GET", "/api/lab-results", labKey, 200},
		{"POST", "/api/lab-results", labKey, 201},
		{"GET", "/api/analytics/export", labKey, 403},
		{"GET", "/api/lab-results", "wrong-key", 401},
		{"GET", "/api/patients/patient-00001/record", labKey, 403},
	}
	for _, tt := range tests {
		r := c.Send(tt.method, tt.path, strings.NewReader(`{"patient_id":"patient-00001","test":"hb","value":"13.5"}`), "application/json", legacy.APIKeyHeader, tt.key)
		if r.Status != tt.want {
			t.Errorf("%s %s with key %q = %d; want %d", tt.method, tt.path, tt.key, r.Status, tt.want)
		}
	}
}

func TestBreakGlass(t *testing.T) {
	s := newStack(t, legacy.Config{BreakGlassTTL: 10 * time.Minute})
	c, _ := s.login(t, "doc1")
	record := "/api/patients/patient-00002/record"
	if r := c.Get(record); r.Status != http.StatusForbidden {
		t.Fatalf("unassigned patient = %d; want 403", r.Status)
	}
	ask := func(c *driver.Client, reason string) driver.Response {
		return c.PostJSON("/api/breakglass", map[string]string{"patient_id": "patient-00002", "reason": reason})
	}
	if r := ask(c, ""); r.Status != http.StatusBadRequest || r.Str("error") != "reason_required" {
		t.Errorf("without reason = %d %s; want 400 reason_required", r.Status, r.Body)
	}
	doc2, _ := s.login(t, "doc2")
	if r := ask(doc2, "emergency"); r.Status != http.StatusForbidden || r.Str("error") != "not_eligible" {
		t.Errorf("ineligible = %d %s; want 403 not_eligible", r.Status, r.Body)
	}
	r := ask(c, "unconscious in ED")
	if r.Status != http.StatusCreated || r.JSON()["expires_in"] != 600.0 {
		t.Fatalf("eligible with reason = %d %s; want 201 expiring in 600 s", r.Status, r.Body)
	}
	if r := c.Get(record); r.Status != http.StatusOK {
		t.Errorf("record under break-glass = %d; want 200", r.Status)
	}
	if r := doc2.Get(record); r.Status != http.StatusForbidden {
		t.Errorf("another clinician's access = %d; want 403", r.Status)
	}
	s.clock.Advance(10 * time.Minute)
	c.Send("POST", "/api/session/renew", nil, "")
	if r := c.Get(record); r.Status != http.StatusForbidden {
		t.Errorf("record after the time box = %d; want 403", r.Status)
	}
	grant := ask(c, "second look").Str("grant_id")
	if r := c.Send("DELETE", "/api/breakglass/"+grant, nil, ""); r.Status != http.StatusNoContent {
		t.Errorf("DELETE grant = %d; want 204", r.Status)
	}
	if r := c.Get(record); r.Status != http.StatusForbidden {
		t.Errorf("record after ending the grant = %d; want 403", r.Status)
	}
	aud, _ := s.login(t, "aud1")
	var kinds []string
	for _, e := range aud.Get("/api/audit?actor=clinician-00001").JSON()["events"].([]any) {
		kinds = append(kinds, e.(map[string]any)["kind"].(string))
	}
	want := []string{"login", "deny", "breakglass_start", "breakglass_access", "breakglass_end", "deny", "breakglass_start", "breakglass_end", "deny"}
	if !slices.Equal(kinds, want) {
		t.Errorf("audit of the clinician = %v; want %v", kinds, want)
	}
}

func TestAuditFeed(t *testing.T) {
	s := newStack(t, legacy.Config{})
	c, _ := s.login(t, "pat1")
	s.clock.Advance(time.Second)
	since := s.clock.Now()
	c.Get("/api/patients/patient-00002/record")
	c.Send("POST", "/api/logout", nil, "")
	driver.New(t, s.url).PostJSON("/api/login", map[string]string{"username": "pat1", "password": "bad"})
	aud, _ := s.login(t, "aud1")
	r := aud.Get("/api/audit?actor=patient-00001&since=" + url.QueryEscape(since.Format(time.RFC3339Nano)))
	var kinds []string
	for _, e := range r.JSON()["events"].([]any) {
		kinds = append(kinds, e.(map[string]any)["kind"].(string))
	}
	if want := []string{"deny", "logout", "login_failed"}; !slices.Equal(kinds, want) {
		t.Errorf("audit since %s = %v; want %v", since, kinds, want)
	}
	pat, _ := s.login(t, "pat1")
	if r := pat.Get("/api/audit"); r.Status != http.StatusForbidden {
		t.Errorf("audit as a patient = %d; want 403", r.Status)
	}
	if r := aud.Get("/api/audit?since=yesterday"); r.Status != http.StatusBadRequest {
		t.Errorf("bad since = %d; want 400", r.Status)
	}
}
