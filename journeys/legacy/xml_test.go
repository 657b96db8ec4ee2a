package legacy

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/cutover-dev/cutover/journeys/adapter"
	"github.com/cutover-dev/cutover/personas"
)

// xmlStack is a homegrown stack of the SOAP kind, written here and nowhere
// else: a SOAP sign-in whose answer holds the session id and its lifetime, an
// XML who-am-I with roles as repeated elements, "Authorization: ApiKey <key>"
// for machines, and an XML audit feed queried by epoch milliseconds whose
// subjects are written "Patient/<id>".
func xmlStack(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /soap/Auth", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		body := string(b)
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		if !strings.Contains(body, "<User>o&apos;brien</User>") && !strings.Contains(body, "<User>o&#39;brien</User>") || !strings.Contains(body, "<Password>p&lt;w&gt;d &amp; more</Password>") {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `<Envelope><Body><Fault><faultcode>auth</faultcode></Fault></Body></Envelope>`)
			return
		}
		_, _ = io.WriteString(w, `<?xml version="1.0"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><LoginResult><SessionId>sid-42</SessionId><ExpiresIn>900</ExpiresIn></LoginResult></soap:Body></soap:Envelope>`)
	})
	mux.HandleFunc("GET /api/me", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Session") != "sid-42" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/xml")
		_, _ = io.WriteString(w, `<user id="u-7"><roles><role>CLINICIAN</role><role>BREAKGLASS</role></roles></user>`)
	})
	mux.HandleFunc("GET /api/machine", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "ApiKey lab-key-123456" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/xml")
		_, _ = io.WriteString(w, `<machine name="svc:lab-feed"><grant>labs:read</grant></machine>`)
	})
	mux.HandleFunc("GET /api/audit", func(w http.ResponseWriter, r *http.Request) {
		since, err := strconv.ParseInt(r.URL.Query().Get("from"), 10, 64)
		if err != nil || since < 1_000_000_000_000 {
			w.WriteHeader(http.StatusBadRequest) // wants epoch milliseconds
			return
		}
		w.Header().Set("Content-Type", "application/xml")
		_, _ = io.WriteString(w, `<audit><event type="BG_START" actor="u-7"><subject>Patient/p-1</subject></event><event type="LOGON" actor="u-7"><subject/></event></audit>`)
	})
	mux.HandleFunc("GET /api/users", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Session") != "sid-42" {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		w.Header().Set("Content-Type", "application/xml")
		_, _ = io.WriteString(w, `<users><user uid="U-7" login="o'brien"><role>CLINICIAN</role></user><user uid="U-8" login="pat"><role>PATIENT</role></user></users>`)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

const xmlStackConfig = `
base_url: BASE
login:
  mode: request
  request:
    method: POST
    path: /soap/Auth
    raw: '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><Login><User>{username}</User><Password>{password}</Password></Login></soap:Body></soap:Envelope>'
  session_path: //SessionId
  ttl: //ExpiresIn
session: {header: X-Session}
me: {path: /api/me, subject: /user/@id, roles: {path: //role, lower: true}}
logout: {method: POST, path: /api/logout}
service: {header: Authorization, scheme: ApiKey, whoami: /api/machine, subject: {path: /machine/@name, strip_prefix: "svc:"}, permissions: //grant}
audit:
  feed: "GET /api/audit?from={since:unixms}&actor={actor}"
  events: //event
  kind: ./@type
  actor: ./@actor
  subject: {path: ./subject, strip_prefix: "Patient/"}
  kinds: {breakglass_start: BG_START, login: LOGON}
  auditor: {api_key: {env: AUDIT_KEY}, header: Authorization, scheme: ApiKey}
directory:
  request: GET /api/users
  users: //user
  id: {path: ./@uid, lower: true}
  username: ./@login
  roles: {path: ./role, lower: true}
  as: clinician
`

// TestXMLStackFromYAML: a stack that answers in XML is configured in YAML
// alone: SOAP sign-in with XML-escaped credentials, session id and lifetime
// from the envelope, roles and ids by XPath with normalisers, an API key after
// a scheme, an audit feed queried in epoch milliseconds.
func TestXMLStackFromYAML(t *testing.T) {
	srv := xmlStack(t)
	var cfg Config
	if err := yaml.Unmarshal([]byte(strings.Replace(xmlStackConfig, "BASE", srv.URL, 1)), &cfg); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Audit.Auditor.APIKey.Resolve(func(string) string { return "lab-key-123456" }, ""); err != nil {
		t.Fatal(err)
	}
	p := personas.Persona{ID: "p-7", Kind: personas.Clinician, Username: "o'brien", Secret: personas.NewSecret("p<w>d & more")}
	l, err := New(cfg, http.DefaultTransport, adapter.WithPersonas(personas.Population{Personas: []personas.Persona{p}}))
	if err != nil {
		t.Fatal(err)
	}
	s, err := l.Login(t.Context(), p)
	if err != nil {
		t.Fatalf("Login: %v", err)
	}
	if s.Subject != "u-7" || !slices.Equal(s.Roles, []string{"breakglass", "clinician"}) || s.TTL != 900*time.Second {
		t.Errorf("session subject %q roles %q ttl %s; want u-7 [breakglass clinician] 15m0s", s.Subject, s.Roles, s.TTL)
	}
	wrong := p
	wrong.Secret = personas.NewSecret("nope")
	var re *adapter.RefusedError
	if _, err := l.Login(t.Context(), wrong); !errors.As(err, &re) {
		t.Errorf("a wrong password: %v; want a refusal", err)
	}
	svc := personas.Persona{ID: "svc-1", Kind: personas.Service, Username: "lab-feed", Secret: personas.NewSecret("lab-key-123456")}
	ss, err := l.ServiceLogin(t.Context(), svc)
	if err != nil {
		t.Fatalf("ServiceLogin: %v", err)
	}
	if ss.Subject != "lab-feed" || !slices.Equal(ss.Scopes, []string{"labs:read"}) {
		t.Errorf("service subject %q scopes %q; want lab-feed [labs:read]", ss.Subject, ss.Scopes)
	}
	events, err := l.AuditEvents(t.Context(), "u-7", time.Now().Add(-time.Minute))
	if err != nil {
		t.Fatalf("AuditEvents: %v", err)
	}
	if len(events) != 2 || events[0].Kind != adapter.AuditBreakglassStart || events[0].Subject != "p-1" || events[0].Actor != "u-7" || events[1].Kind != adapter.AuditLogin {
		t.Errorf("events %+v; want breakglass_start on p-1 by u-7, then login", events)
	}
	users, err := l.Users(t.Context())
	if err != nil {
		t.Fatalf("Users: %v", err)
	}
	if len(users) != 2 || users[0].ID != "u-7" || users[0].Username != "o'brien" || !slices.Equal(users[1].Roles, []string{"patient"}) {
		t.Errorf("users %+v; want u-7 o'brien [clinician], u-8 pat [patient]", users)
	}
}
