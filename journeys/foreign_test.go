package journeys_test

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/cutover-dev/cutover/journeys"
	"github.com/cutover-dev/cutover/journeys/adapter"
	"github.com/cutover-dev/cutover/journeys/legacy"
	"github.com/cutover-dev/cutover/personas"
	"github.com/cutover-dev/cutover/results/record"
)

// clinicBase is a second homegrown stack, shaped nothing like the embedded legacy
// one: a JSON login guarded by a CSRF token fetched first and sent in a header,
// the session id in the answer's data.token and sent back in X-Clinic-Session,
// roles at $.profile.grants[*].role, keep-alive, a form-encoded emergency-access
// ticket, machine keys in their own header, and an audit feed with its own event
// names. The adapter must drive it from configuration alone.
type clinicBase struct {
	now func() time.Time

	mu       sync.Mutex
	csrf     map[string]bool
	sessions map[string]*clinicSession
	tickets  map[string]clinicTicket
	audit    []map[string]string
}

type clinicUser struct {
	id, password string
	roles        []string
	panel        []string
}

type clinicSession struct {
	user    string
	expires time.Time
}

type clinicTicket struct {
	user, chart string
	expires     time.Time
}

var (
	clinicUsers = map[string]clinicUser{
		"dr.house":  {id: "d1", password: "vicodin-2004", roles: []string{"doctor", "emergency"}, panel: []string{"p1"}},
		"dr.wilson": {id: "d2", password: "oncology-99", roles: []string{"doctor"}, panel: []string{"p1"}},
		"pat.one":   {id: "p1", password: "patient-one-pw", roles: []string{"patient"}},
		"pat.two":   {id: "p2", password: "patient-two-pw", roles: []string{"patient"}},
	}
	clinicKeys = map[string][]string{"machine-key-lab": {"labs:r"}, "auditor-key": {"audit"}}
)

func newClinicBase(now func() time.Time) *httptest.Server {
	c := &clinicBase{now: now, csrf: map[string]bool{}, sessions: map[string]*clinicSession{}, tickets: map[string]clinicTicket{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /auth/csrf", c.csrfToken)
	mux.HandleFunc("POST /auth/session", c.login)
	mux.HandleFunc("DELETE /auth/session", c.logout)
	mux.HandleFunc("GET /v2/profile", c.profile)
	mux.HandleFunc("POST /v2/keepalive", c.keepalive)
	mux.HandleFunc("GET /v2/charts/{id}", c.chart)
	mux.HandleFunc("POST /v2/emergency", c.emergency)
	mux.HandleFunc("GET /v2/machine", c.machine)
	mux.HandleFunc("GET /v2/labs", c.labs)
	mux.HandleFunc("GET /v2/audit", c.auditFeed)
	return httptest.NewServer(mux)
}

func newToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (c *clinicBase) record(kind, user, patient string) {
	c.audit = append(c.audit, map[string]string{"type": kind, "user": user, "patient": patient})
}

func (c *clinicBase) csrfToken(w http.ResponseWriter, _ *http.Request) {
	tok := newToken()
	c.mu.Lock()
	c.csrf[tok] = true
	c.mu.Unlock()
	writeJSON(w, 200, map[string]any{"csrf": tok})
}

func (c *clinicBase) login(w http.ResponseWriter, r *http.Request) {
	var in struct{ Login, Secret string }
	if json.NewDecoder(r.Body).Decode(&in) != nil {
		writeJSON(w, 400, map[string]string{"error": "bad_json"})
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if tok := r.Header.Get("X-CSRF-Token"); !c.csrf[tok] {
		writeJSON(w, 403, map[string]string{"error": "csrf"})
		return
	} else {
		delete(c.csrf, tok)
	}
	u, ok := clinicUsers[in.Login]
	if !ok || u.password != in.Secret {
		writeJSON(w, 401, map[string]string{"error": "bad_credentials"})
		return
	}
	id := newToken()
	c.sessions[id] = &clinicSession{user: in.Login, expires: c.now().Add(10 * time.Minute)}
	c.record("SESSION_START", u.id, "")
	writeJSON(w, 200, map[string]any{"data": map[string]string{"token": id}})
}

// session returns the live session of r; callers hold c.mu.
func (c *clinicBase) session(r *http.Request) (*clinicSession, clinicUser, bool) {
	s, ok := c.sessions[r.Header.Get("X-Clinic-Session")]
	if !ok || !c.now().Before(s.expires) {
		return nil, clinicUser{}, false
	}
	return s, clinicUsers[s.user], true
}

func (c *clinicBase) logout(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, u, ok := c.session(r); ok {
		delete(c.sessions, r.Header.Get("X-Clinic-Session"))
		c.record("SESSION_END", u.id, "")
	}
	w.WriteHeader(204)
}

func (c *clinicBase) profile(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, u, ok := c.session(r)
	if !ok {
		writeJSON(w, 401, map[string]string{"error": "no_session"})
		return
	}
	grants := []map[string]string{}
	for _, role := range u.roles {
		grants = append(grants, map[string]string{"role": role})
	}
	writeJSON(w, 200, map[string]any{
		"profile": map[string]any{"uid": u.id, "grants": grants},
		"expiry":  map[string]any{"seconds_left": int(s.expires.Sub(c.now()) / time.Second)},
	})
}

func (c *clinicBase) keepalive(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, _, ok := c.session(r)
	if !ok {
		writeJSON(w, 401, map[string]string{"error": "no_session"})
		return
	}
	s.expires = c.now().Add(15 * time.Minute)
	writeJSON(w, 200, map[string]any{"expiry": map[string]any{"seconds_left": 900}})
}

func (c *clinicBase) chart(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, u, ok := c.session(r)
	if !ok {
		writeJSON(w, 401, map[string]string{"error": "no_session"})
		return
	}
	id := r.PathValue("id")
	allowed := u.id == id || slices.Contains(u.roles, "doctor") && slices.Contains(u.panel, id)
	if !allowed {
		for tid, t := range c.tickets {
			if t.user == u.id && t.chart == id && c.now().Before(t.expires) {
				allowed = true
				c.record("EMERGENCY_READ", u.id, id)
				_ = tid
				break
			}
		}
	}
	if !allowed {
		c.record("ACCESS_DENIED", u.id, id)
		writeJSON(w, 403, map[string]string{"error": "forbidden"})
		return
	}
	writeJSON(w, 200, map[string]string{"chart": id})
}

func (c *clinicBase) emergency(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, u, ok := c.session(r)
	if !ok {
		writeJSON(w, 401, map[string]string{"error": "no_session"})
		return
	}
	if r.ParseForm() != nil {
		writeJSON(w, 400, map[string]string{"error": "bad_form"})
		return
	}
	switch {
	case !slices.Contains(u.roles, "emergency"):
		writeJSON(w, 403, map[string]string{"error": "not_allowed"})
		return
	case r.PostForm.Get("why") == "":
		writeJSON(w, 400, map[string]string{"error": "why_required"})
		return
	}
	id := newToken()
	chart := r.PostForm.Get("chart")
	c.tickets[id] = clinicTicket{user: u.id, chart: chart, expires: c.now().Add(time.Second)}
	c.record("EMERGENCY_OPEN", u.id, chart)
	writeJSON(w, 201, map[string]any{"ticket": map[string]any{"id": id, "ttl": 1}})
}

func (c *clinicBase) machine(w http.ResponseWriter, r *http.Request) {
	scopes, ok := clinicKeys[r.Header.Get("X-Clinic-Key")]
	if !ok {
		writeJSON(w, 401, map[string]string{"error": "bad_key"})
		return
	}
	writeJSON(w, 200, map[string]any{"machine": map[string]any{"name": "lab-feed", "scopes": strings.Join(scopes, " ")}})
}

func (c *clinicBase) labs(w http.ResponseWriter, r *http.Request) {
	if !slices.Contains(clinicKeys[r.Header.Get("X-Clinic-Key")], "labs:r") {
		writeJSON(w, 403, map[string]string{"error": "forbidden"})
		return
	}
	writeJSON(w, 200, map[string]any{"labs": []string{}})
}

func (c *clinicBase) auditFeed(w http.ResponseWriter, r *http.Request) {
	if !slices.Contains(clinicKeys[r.Header.Get("X-Clinic-Key")], "audit") {
		writeJSON(w, 403, map[string]string{"error": "forbidden"})
		return
	}
	who := r.URL.Query().Get("who")
	if _, err := time.Parse(time.RFC3339Nano, r.URL.Query().Get("from")); err != nil {
		writeJSON(w, 400, map[string]string{"error": "bad_from"})
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	items := []map[string]string{}
	for _, e := range c.audit {
		if e["user"] == who {
			items = append(items, e)
		}
	}
	writeJSON(w, 200, map[string]any{"items": items})
}

// foreignYAML describes clinicBase to the legacy adapter and the runner: the whole
// integration is this text.
const foreignYAML = `
legacy:
  base_url: BASE
  login:
    mode: json
    path: /auth/session
    username_field: login
    password_field: secret
    session_path: data.token
    csrf: {path: /auth/csrf, json: csrf, header: X-CSRF-Token}
  session: {header: X-Clinic-Session}
  me: {path: /v2/profile, subject: profile.uid, roles: "$.profile.grants[*].role", ttl: expiry.seconds_left}
  renew: {method: POST, path: /v2/keepalive, ttl: expiry.seconds_left}
  logout: {method: DELETE, path: /auth/session}
  role_map: {doctor: [clinician], emergency: [breakglass]}
  permission_map: {"labs:r": lab-results.read}
  service: {header: X-Clinic-Key, whoami: /v2/machine, subject: machine.name, permissions: machine.scopes}
  breakglass:
    request: {method: POST, path: /v2/emergency, encoding: form, body: {chart: "{patient}", why: "{reason}"}}
    grant_id: ticket.id
    expires_in: ticket.ttl
  audit:
    feed: "GET /v2/audit?from={since}&who={actor}"
    events: items
    kind: type
    actor: user
    subject: patient
    kinds: {login: SESSION_START, logout: SESSION_END, deny: ACCESS_DENIED, breakglass_start: EMERGENCY_OPEN, breakglass_access: EMERGENCY_READ}
    auditor: {api_key: {env: CLINIC_AUDIT_KEY}, header: X-Clinic-Key}
probes:
  - {kind: clinician, action: read, resource: "chart:panel", expect: allow}
  - {kind: clinician, action: read, resource: "chart:unassigned", expect: deny}
  - {kind: patient, action: read, resource: "chart:self", expect: allow}
  - {kind: patient, action: read, resource: "chart:other", expect: deny}
  - {kind: service, action: read, resource: "labs:all", expect: allow}
resources:
  chart: {read: "GET /v2/charts/{id}"}
  labs: {read: "GET /v2/labs"}
breakglass: {action: read, resource: "chart:unassigned", reason: "arrest on ward 3", max_wait: 5s}
audit: {within: 1s, poll: 50ms}
`

// TestForeignHomegrownStackFromYAMLOnly drives clinicBase through every journey
// with nothing but foreignYAML: JSON login with a CSRF header, a header session,
// roles at another path, keep-alive, logout checks, a form break-glass ticket with
// its expiry (on an injected clock, no sleep), machine keys, and the audit feed.
func TestForeignHomegrownStackFromYAMLOnly(t *testing.T) {
	clk := &testClock{}
	srv := newClinicBase(clk.Now)
	defer srv.Close()
	var doc struct {
		Legacy     legacy.Config           `yaml:"legacy"`
		Probes     []journeys.Probe        `yaml:"probes"`
		Resources  journeys.Resources      `yaml:"resources"`
		BreakGlass journeys.BreakGlassPlan `yaml:"breakglass"`
		Audit      journeys.AuditPlan      `yaml:"audit"`
	}
	dec := yaml.NewDecoder(strings.NewReader(strings.Replace(foreignYAML, "BASE", srv.URL, 1)))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("foreign YAML: %v", err)
	}
	env := map[string]string{"CLINIC_AUDIT_KEY": "auditor-key"}
	if err := doc.Legacy.Audit.Auditor.APIKey.Resolve(func(k string) string { return env[k] }, ""); err != nil {
		t.Fatal(err)
	}
	st, err := legacy.New(doc.Legacy, http.DefaultTransport)
	if err != nil {
		t.Fatal(err)
	}
	pop := personas.Population{Personas: []personas.Persona{
		{ID: "d1", Kind: personas.Clinician, Username: "dr.house", Secret: personas.NewSecret("vicodin-2004"), BreakGlass: true, Panel: []string{"p1"}},
		{ID: "d2", Kind: personas.Clinician, Username: "dr.wilson", Secret: personas.NewSecret("oncology-99"), Panel: []string{"p1"}},
		{ID: "p1", Kind: personas.Patient, Username: "pat.one", Secret: personas.NewSecret("patient-one-pw")},
		{ID: "p2", Kind: personas.Patient, Username: "pat.two", Secret: personas.NewSecret("patient-two-pw")},
		{ID: "lab-feed", Kind: personas.Service, Username: "lab", Secret: personas.NewSecret("machine-key-lab")},
	}}
	r := &journeys.Runner{
		Probes: doc.Probes, Resources: map[record.Side]journeys.Resources{record.Legacy: doc.Resources},
		Targets: journeys.NewTargets(pop), BreakGlass: doc.BreakGlass, Audit: doc.Audit,
		StepTimeout: 5 * time.Second, Now: clk.Now, Wait: clk.Wait,
	}
	rec := &recorder{}
	session := journeys.Journey{Name: "session", Steps: []string{journeys.StepsLogin, journeys.StepsProbes, journeys.StepsRefresh, journeys.StepsLogout, journeys.StepsAudit}}
	glass := journeys.Journey{Name: "glass", Steps: []string{journeys.StepsLogin, journeys.StepsBreakglass}}
	service := journeys.Journey{Name: "service", Steps: []string{journeys.StepsService, journeys.StepsProbes}}
	for i, p := range pop.Personas {
		it := journeys.Iteration{N: uint64(i)}
		switch p.Kind {
		case personas.Service:
			r.Run(t.Context(), service, record.Legacy, st, p, it, rec.emit)
		case personas.Clinician:
			r.Run(t.Context(), glass, record.Legacy, st, p, it, rec.emit)
			fallthrough
		default:
			r.Run(t.Context(), session, record.Legacy, st, p, it, rec.emit)
		}
	}
	L := record.Legacy
	defer func() {
		if t.Failed() {
			t.Logf("records:\n%s", rec.dump())
		}
	}()

	for _, login := range rec.find(L, record.StepLogin, "") {
		wantDecision(t, login, record.OK, record.Allow)
	}
	house := rec.find(L, record.StepLogin, "")[0]
	if got := house.Facts.Roles; !slices.Equal(got, []string{"breakglass", "clinician"}) || house.Facts.TTL < 599 || house.Facts.TTL > 600 {
		t.Errorf("dr.house login: roles %v, ttl %d; want [breakglass clinician] (mapped from $.profile.grants[*].role), 600 or a second less", got, house.Facts.TTL)
	}
	for _, pr := range rec.find(L, record.StepProbe, "*") {
		if pr.Outcome != record.OK || pr.Facts.Decision != pr.Facts.Expected {
			t.Errorf("%s probe %s: %s %q (%s); want %q", pr.Persona, pr.Target, pr.Outcome, pr.Facts.Decision, pr.Error, pr.Facts.Expected)
		}
	}
	for _, rf := range rec.find(L, record.StepRefresh, "") {
		wantDecision(t, rf, record.OK, record.Allow)
		if rf.Facts.Rotated != nil || rf.Facts.TTL != 900 {
			t.Errorf("keep-alive: rotated %v, ttl %d; want nil (rotation does not apply), 900", rf.Facts.Rotated, rf.Facts.TTL)
		}
	}
	for _, step := range []string{record.StepRefreshReplay, record.StepRefreshFamily} {
		for _, x := range rec.find(L, step, "") {
			wantDecision(t, x, record.Unsupported, "")
		}
	}
	for _, step := range []string{record.StepLogoutProbe, record.StepLogoutRefresh} {
		for _, x := range rec.find(L, step, "*") {
			wantDecision(t, x, record.OK, record.Deny)
		}
	}
	for _, x := range rec.find(L, record.StepLogoutIntrospect, "session") {
		wantDecision(t, x, record.OK, record.Deny)
	}
	audits := rec.find(L, record.StepAudit, "*")
	if len(audits) < 8 {
		t.Errorf("%d audit records; want login, deny and logout checks of 4 personas", len(audits))
	}
	for _, a := range audits {
		wantDecision(t, a, record.OK, record.Allow)
	}
	// Break-glass: the eligible doctor, then the ineligible one.
	wantDecision(t, rec.one(t, L, record.StepBreakglassNoReason, "read chart:unassigned"), record.OK, record.Deny)
	req := rec.one(t, L, record.StepBreakglass, "read chart:unassigned")
	wantDecision(t, req, record.OK, record.Allow)
	if req.Facts.TTL != 1 {
		t.Errorf("break-glass ttl %d; want 1 (ticket.ttl)", req.Facts.TTL)
	}
	wantDecision(t, rec.one(t, L, record.StepBreakglassAccess, "read chart:unassigned"), record.OK, record.Allow)
	wantDecision(t, rec.one(t, L, record.StepBreakglassAudit, adapter.AuditBreakglassStart), record.OK, record.Allow)
	wantDecision(t, rec.one(t, L, record.StepBreakglassAudit, adapter.AuditBreakglassAccess), record.OK, record.Allow)
	wantDecision(t, rec.one(t, L, record.StepBreakglassExpired, "read chart:unassigned"), record.OK, record.Deny)
	wantDecision(t, rec.one(t, L, record.StepBreakglassInelig, "read chart:unassigned"), record.OK, record.Deny)
	// The machine key.
	tok := rec.one(t, L, record.StepServiceToken, "")
	wantDecision(t, tok, record.OK, record.Allow)
	if !slices.Equal(tok.Facts.Scopes, []string{"lab-results.read"}) || tok.Facts.TTL != -1 || tok.Facts.RefreshIssued {
		t.Errorf("service token: scopes %v ttl %d refresh %t; want [lab-results.read] -1 false", tok.Facts.Scopes, tok.Facts.TTL, tok.Facts.RefreshIssued)
	}
	wantDecision(t, rec.one(t, L, record.StepServiceProbe, "read labs:all"), record.OK, record.Allow)
}
