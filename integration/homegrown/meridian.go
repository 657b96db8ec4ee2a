// Package homegrown is a homegrown identity stack written for the tests and
// shaped nothing like the embedded legacy one: a SOAP sign-in that answers a
// ticket and its lifetime (and a SOAP fault with HTTP 500 for a wrong
// password), a ticket header, XML everywhere else, "Authorization: ApiKey
// <key>" for machines and the compliance feed, patients known by their
// medical record number, an audit feed queried in epoch milliseconds whose
// events name the patient "Patient/<MRN>", its own role and grant names and
// its own user ids. Its policy is written here, from the decisions the
// rehearsal file expects, not taken from the embedded stacks: a rehearsal of
// it against the embedded candidate tests that a stack nobody on this team
// shaped can be described in YAML alone.
package homegrown

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cutover-dev/cutover/personas"
)

// Options tune the stack.
type Options struct {
	// IdleTimeout is the ticket lifetime, slid by the extend call (900s).
	IdleTimeout time.Duration
	// EmergencyTTL is the time box of an emergency access grant (30m).
	EmergencyTTL time.Duration
	// Now is the stack's clock (time.Now).
	Now func() time.Time
}

// Meridian is the stack. It is an http.Handler, safe for concurrent use.
type Meridian struct {
	opt Options
	mux *http.ServeMux

	users   map[string]*account // by login name
	byUID   map[string]*account
	byKey   map[[32]byte]*account
	mrnToID map[string]string // patient MRN -> uid
	order   []*account        // humans, in population order

	mu      sync.Mutex
	tickets map[string]*ticket
	grants  map[string]*grant
	audit   []event
	nextID  int
}

type account struct {
	uid, login, mrn string
	hash            [32]byte // SHA-256 of salt and password
	salt            string
	roles           []string
	grants          []string        // machine grants
	panel           map[string]bool // MRNs
}

type ticket struct {
	uid     string
	expires time.Time
}

type grant struct {
	id, uid, mrn string
	expires      time.Time
}

type event struct {
	at            time.Time
	code, user    string
	patient, what string
}

// Its own names for the population's roles and permissions.
var (
	roleNames = map[string]string{
		"patient": "PATIENT", "clinician": "PHYSICIAN", "breakglass-eligible": "EMERGENCY_ACCESS",
		"admin": "SYSADMIN", "billing-clerk": "BILLING_CLERK", "auditor": "COMPLIANCE_OFFICER",
	}
	grantNames = map[string]string{
		"lab-results:read": "LAB_RESULTS_READ", "lab-results:write": "LAB_RESULTS_WRITE", "analytics:export": "ANALYTICS_EXPORT",
	}
)

// New seeds the stack with pop: humans get ids U10001, U10002... in the
// population's order, patients are known by their MRN, service accounts sign
// in with their secret as an API key. complianceKey reads the audit feed.
func New(pop personas.Population, complianceKey string, opt Options) *Meridian {
	if opt.IdleTimeout == 0 {
		opt.IdleTimeout = 900 * time.Second
	}
	if opt.EmergencyTTL == 0 {
		opt.EmergencyTTL = 30 * time.Minute
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	m := &Meridian{opt: opt, mux: http.NewServeMux(), users: map[string]*account{}, byUID: map[string]*account{},
		byKey: map[[32]byte]*account{}, mrnToID: map[string]string{}, tickets: map[string]*ticket{}, grants: map[string]*grant{}}
	mrn := map[string]string{} // persona id -> MRN
	for _, p := range pop.Personas {
		mrn[p.ID] = p.MRN
	}
	for i, p := range pop.Personas {
		a := &account{uid: fmt.Sprintf("U%05d", 10001+i), login: p.Username, mrn: p.MRN, panel: map[string]bool{}}
		if !p.Human() {
			a.uid = "SVC-" + strings.ToUpper(p.Username)
			for _, g := range p.Permissions {
				a.grants = append(a.grants, grantNames[g])
			}
			m.byKey[sha256.Sum256([]byte(p.Secret.Reveal()))] = a
			m.byUID[a.uid] = a
			continue
		}
		a.salt = p.ID
		a.hash = sha256.Sum256([]byte(a.salt + p.Secret.Reveal()))
		for _, r := range p.Roles {
			if n, ok := roleNames[r]; ok {
				a.roles = append(a.roles, n)
			}
		}
		for _, id := range p.Panel {
			a.panel[mrn[id]] = true
		}
		m.users[a.login], m.byUID[a.uid] = a, a
		m.order = append(m.order, a)
		if p.MRN != "" {
			m.mrnToID[p.MRN] = a.uid
		}
	}
	m.byKey[sha256.Sum256([]byte(complianceKey))] = &account{uid: "SVC-COMPLIANCE", grants: []string{"AUDIT_READ"}}
	m.routes()
	return m
}

func (m *Meridian) ServeHTTP(w http.ResponseWriter, r *http.Request) { m.mux.ServeHTTP(w, r) }

func (m *Meridian) routes() {
	m.mux.HandleFunc("POST /soap/AuthService", m.signIn)
	m.mux.HandleFunc("GET /api/v1/whoami", m.whoami)
	m.mux.HandleFunc("POST /api/v1/session/extend", m.extend)
	m.mux.HandleFunc("POST /api/v1/session/end", m.signOff)
	m.mux.HandleFunc("POST /api/v1/emergency-access", m.emergency)
	m.mux.HandleFunc("DELETE /api/v1/emergency-access/{id}", m.endEmergency)
	m.mux.HandleFunc("GET /api/v1/audit", m.auditFeed)
	m.mux.HandleFunc("GET /admin/accounts", m.accounts)
	for _, what := range []string{"chart", "notes", "appointments", "statements"} {
		m.mux.HandleFunc("GET /ehr/patients/{mrn}/"+what, m.patient(what))
	}
	m.mux.HandleFunc("POST /ehr/patients/{mrn}/notes", m.patient("notes.write"))
	m.mux.HandleFunc("GET /billing/claims", m.plain("claims", func(a *account) bool { return has(a.roles, "BILLING_CLERK") }))
	m.mux.HandleFunc("GET /compliance/audit", m.plain("audit", func(a *account) bool { return has(a.roles, "COMPLIANCE_OFFICER") }))
	m.mux.HandleFunc("GET /lab/results", m.plain("labs", func(a *account) bool { return has(a.grants, "LAB_RESULTS_READ") }))
	m.mux.HandleFunc("POST /lab/results", m.plain("labs.write", func(a *account) bool { return has(a.grants, "LAB_RESULTS_WRITE") }))
	m.mux.HandleFunc("GET /analytics/extract", m.plain("analytics", func(a *account) bool { return has(a.grants, "ANALYTICS_EXPORT") }))
}

func has(list []string, v string) bool { return slices.Contains(list, v) }

func writeXML(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?>`+body)
}

func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// soapFault answers a SOAP 1.1 fault, with HTTP 500 as SOAP wants for any fault.
func soapFault(w http.ResponseWriter, code, text string) {
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusInternalServerError)
	_, _ = fmt.Fprintf(w, `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><soap:Fault><faultcode>%s</faultcode><faultstring>%s</faultstring></soap:Fault></soap:Body></soap:Envelope>`, code, esc(text))
}

// signInRequest is the body of a SOAP sign-in.
type signInRequest struct {
	Body struct {
		SignIn struct {
			UserName string `xml:"UserName"`
			Password string `xml:"Password"`
		} `xml:"SignIn"`
	} `xml:"Body"`
}

func (m *Meridian) signIn(w http.ResponseWriter, r *http.Request) {
	var req signInRequest
	if err := xml.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&req); err != nil {
		soapFault(w, "soap:Client.Malformed", "unreadable envelope")
		return
	}
	a, ok := m.users[req.Body.SignIn.UserName]
	if !ok || subtle.ConstantTimeCompare(a.hash[:], sha(a.salt+req.Body.SignIn.Password)) != 1 {
		soapFault(w, "soap:Client.Authentication", "invalid credentials")
		return
	}
	t := newID()
	m.mu.Lock()
	m.tickets[t] = &ticket{uid: a.uid, expires: m.opt.Now().Add(m.opt.IdleTimeout)}
	m.recordLocked("SIGNON", a.uid, "", "")
	m.mu.Unlock()
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	_, _ = fmt.Fprintf(w, `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><SignInResponse><Ticket>%s</Ticket><ExpiresIn>%d</ExpiresIn></SignInResponse></soap:Body></soap:Envelope>`,
		t, int(m.opt.IdleTimeout/time.Second))
}

func sha(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }

func newID() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// caller is whoever presents a ticket (X-Meridian-Ticket) or an API key
// (Authorization: ApiKey <key>); the ticket's idle time box slides only on
// extend.
func (m *Meridian) caller(r *http.Request) (*account, string, bool) {
	if t := r.Header.Get("X-Meridian-Ticket"); t != "" {
		m.mu.Lock()
		defer m.mu.Unlock()
		tk, ok := m.tickets[t]
		if !ok || !m.opt.Now().Before(tk.expires) {
			delete(m.tickets, t)
			return nil, "", false
		}
		return m.byUID[tk.uid], t, true
	}
	scheme, key, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if scheme != "ApiKey" || key == "" {
		return nil, "", false
	}
	a, ok := m.byKey[sha256.Sum256([]byte(key))]
	return a, "", ok
}

func (m *Meridian) whoami(w http.ResponseWriter, r *http.Request) {
	a, _, ok := m.caller(r)
	if !ok {
		writeXML(w, http.StatusUnauthorized, `<error code="NOT_SIGNED_IN"/>`)
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<principal uid="%s"><login>%s</login><roles>`, a.uid, esc(a.login))
	for _, role := range a.roles {
		fmt.Fprintf(&b, "<role>%s</role>", role)
	}
	b.WriteString("</roles><grants>")
	for _, g := range a.grants {
		fmt.Fprintf(&b, "<grant>%s</grant>", g)
	}
	b.WriteString("</grants></principal>")
	writeXML(w, http.StatusOK, b.String())
}

func (m *Meridian) extend(w http.ResponseWriter, r *http.Request) {
	_, t, ok := m.caller(r)
	if !ok || t == "" {
		writeXML(w, http.StatusUnauthorized, `<error code="NOT_SIGNED_IN"/>`)
		return
	}
	m.mu.Lock()
	if tk := m.tickets[t]; tk != nil {
		tk.expires = m.opt.Now().Add(m.opt.IdleTimeout)
	}
	m.mu.Unlock()
	w.WriteHeader(http.StatusNoContent) // the lifetime is told only at sign-in
}

func (m *Meridian) signOff(w http.ResponseWriter, r *http.Request) {
	a, t, ok := m.caller(r)
	if !ok || t == "" {
		writeXML(w, http.StatusUnauthorized, `<error code="NOT_SIGNED_IN"/>`)
		return
	}
	m.mu.Lock()
	delete(m.tickets, t)
	m.recordLocked("SIGNOFF", a.uid, "", "")
	m.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

var (
	mrnIn    = regexp.MustCompile(`<PatientMRN>([^<]*)</PatientMRN>`)
	reasonIn = regexp.MustCompile(`<Justification>([^<]*)</Justification>`)
)

// emergency grants a physician eligible for emergency access a time-boxed
// access to one patient, with a justification; every session of the
// physician carries it.
func (m *Meridian) emergency(w http.ResponseWriter, r *http.Request) {
	a, _, ok := m.caller(r)
	if !ok {
		writeXML(w, http.StatusUnauthorized, `<error code="NOT_SIGNED_IN"/>`)
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	mrn, reason := submatch(mrnIn, body), strings.TrimSpace(submatch(reasonIn, body))
	switch {
	case !has(a.roles, "EMERGENCY_ACCESS"):
		writeXML(w, http.StatusForbidden, `<error code="NOT_ELIGIBLE"/>`)
		return
	case reason == "":
		writeXML(w, http.StatusBadRequest, `<error code="JUSTIFICATION_REQUIRED"/>`)
		return
	case m.mrnToID[mrn] == "":
		writeXML(w, http.StatusNotFound, `<error code="NO_SUCH_PATIENT"/>`)
		return
	}
	m.mu.Lock()
	m.nextID++
	g := &grant{id: fmt.Sprintf("EA-%d", m.nextID), uid: a.uid, mrn: mrn, expires: m.opt.Now().Add(m.opt.EmergencyTTL)}
	m.grants[g.id] = g
	m.recordLocked("EMERG_START", a.uid, mrn, "")
	m.mu.Unlock()
	writeXML(w, http.StatusCreated, fmt.Sprintf(`<emergencyAccess id="%s" expiresIn="%d"/>`, g.id, int(m.opt.EmergencyTTL/time.Second)))
}

func submatch(re *regexp.Regexp, b []byte) string {
	if m := re.FindSubmatch(b); m != nil {
		return string(m[1])
	}
	return ""
}

func (m *Meridian) endEmergency(w http.ResponseWriter, r *http.Request) {
	a, _, ok := m.caller(r)
	if !ok {
		writeXML(w, http.StatusUnauthorized, `<error code="NOT_SIGNED_IN"/>`)
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	g, ok := m.grants[r.PathValue("id")]
	if !ok || g.uid != a.uid {
		writeXML(w, http.StatusNotFound, `<error code="NO_SUCH_GRANT"/>`)
		return
	}
	delete(m.grants, g.id)
	m.recordLocked("EMERG_END", a.uid, g.mrn, "")
	w.WriteHeader(http.StatusNoContent)
}

// emergencyFor reports whether uid holds a live grant on mrn, auditing its use.
func (m *Meridian) emergencyFor(uid, mrn, what string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.opt.Now()
	for _, g := range m.grants {
		if g.uid == uid && g.mrn == mrn && now.Before(g.expires) {
			m.recordLocked("EMERG_ACCESS", uid, mrn, what)
			return true
		}
	}
	return false
}

func (m *Meridian) recordLocked(code, user, mrn, what string) {
	m.audit = append(m.audit, event{at: m.opt.Now(), code: code, user: user, patient: mrn, what: what})
}

// allowed is the policy on a patient's resources: a patient their own chart,
// appointments and statements; a physician the chart, notes and appointments
// of the patients on their panel, and writes notes there; a billing clerk
// every statement; emergency access opens chart and notes.
func (m *Meridian) allowed(a *account, what, mrn string) bool {
	self := has(a.roles, "PATIENT") && a.mrn == mrn
	panel := has(a.roles, "PHYSICIAN") && a.panel[mrn]
	switch what {
	case "chart", "notes", "notes.write":
		if self && what == "chart" || panel {
			return true
		}
		return has(a.roles, "PHYSICIAN") && m.emergencyFor(a.uid, mrn, what)
	case "appointments":
		return self || panel
	case "statements":
		return self || has(a.roles, "BILLING_CLERK")
	}
	return false
}

func (m *Meridian) deny(w http.ResponseWriter, a *account, mrn, what string) {
	m.mu.Lock()
	m.recordLocked("ACCESS_DENIED", a.uid, mrn, what)
	m.mu.Unlock()
	writeXML(w, http.StatusForbidden, `<error code="ACCESS_DENIED"/>`)
}

func (m *Meridian) patient(what string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		a, _, ok := m.caller(r)
		if !ok {
			writeXML(w, http.StatusUnauthorized, `<error code="NOT_SIGNED_IN"/>`)
			return
		}
		mrn := r.PathValue("mrn")
		if m.mrnToID[mrn] == "" {
			writeXML(w, http.StatusNotFound, `<error code="NO_SUCH_PATIENT"/>`)
			return
		}
		if !m.allowed(a, what, mrn) {
			m.deny(w, a, mrn, what)
			return
		}
		status := http.StatusOK
		if r.Method == http.MethodPost {
			status = http.StatusCreated
		}
		writeXML(w, status, fmt.Sprintf(`<%s patient="%s"/>`, strings.ReplaceAll(what, ".", "-"), esc(mrn)))
	}
}

func (m *Meridian) plain(what string, allow func(*account) bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		a, _, ok := m.caller(r)
		if !ok {
			writeXML(w, http.StatusUnauthorized, `<error code="NOT_SIGNED_IN"/>`)
			return
		}
		if !allow(a) {
			m.deny(w, a, "", what)
			return
		}
		writeXML(w, http.StatusOK, "<"+what+"/>")
	}
}

// accounts lists the people the stack knows, for administrators.
func (m *Meridian) accounts(w http.ResponseWriter, r *http.Request) {
	a, _, ok := m.caller(r)
	if !ok {
		writeXML(w, http.StatusUnauthorized, `<error code="NOT_SIGNED_IN"/>`)
		return
	}
	if !has(a.roles, "SYSADMIN") {
		m.deny(w, a, "", "accounts")
		return
	}
	var b strings.Builder
	b.WriteString("<accounts>")
	for _, u := range m.order {
		fmt.Fprintf(&b, `<account uid="%s" login="%s">`, u.uid, esc(u.login))
		for _, role := range u.roles {
			fmt.Fprintf(&b, "<role>%s</role>", role)
		}
		b.WriteString("</account>")
	}
	b.WriteString("</accounts>")
	writeXML(w, http.StatusOK, b.String())
}

// auditFeed lists events from ?from= (epoch milliseconds) for ?user=, to the
// compliance API key only.
func (m *Meridian) auditFeed(w http.ResponseWriter, r *http.Request) {
	a, _, ok := m.caller(r)
	if !ok || !has(a.grants, "AUDIT_READ") {
		writeXML(w, http.StatusUnauthorized, `<error code="NOT_AUTHORIZED"/>`)
		return
	}
	ms, err := strconv.ParseInt(r.URL.Query().Get("from"), 10, 64)
	if err != nil || ms < 1_000_000_000_000 {
		writeXML(w, http.StatusBadRequest, `<error code="FROM_MUST_BE_EPOCH_MILLISECONDS"/>`)
		return
	}
	from, user := time.UnixMilli(ms), r.URL.Query().Get("user")
	var b strings.Builder
	b.WriteString("<auditTrail>")
	m.mu.Lock()
	for _, e := range m.audit {
		if e.at.Before(from) || user != "" && e.user != user {
			continue
		}
		fmt.Fprintf(&b, `<entry code="%s" user="%s" ts="%d">`, e.code, e.user, e.at.UnixMilli())
		if e.patient != "" {
			fmt.Fprintf(&b, "<patient>Patient/%s</patient>", esc(e.patient))
		}
		b.WriteString("</entry>")
	}
	m.mu.Unlock()
	b.WriteString("</auditTrail>")
	writeXML(w, http.StatusOK, b.String())
}
