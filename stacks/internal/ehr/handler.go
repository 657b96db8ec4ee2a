package ehr

import (
	"encoding/json"
	"hash/fnv"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cutover-dev/cutover/stacks/internal/respond"
)

// Authenticator resolves the credential of a request to a principal; ok is false when
// the request carries no valid credential. Implementations must be safe for
// concurrent use.
type Authenticator interface {
	Authenticate(r *http.Request) (p Principal, ok bool)
}

// UserSummary is one entry of the admin user list.
type UserSummary struct {
	ID       string   `json:"id"`
	Username string   `json:"username"`
	Roles    []string `json:"roles"`
}

// Directory lists a stack's users for admins. Implementations must be safe for
// concurrent use.
type Directory interface {
	Users() []UserSummary
}

// Policy holds the drifts that change a stack's decisions; the zero value is the
// reference policy both stacks share.
type Policy struct {
	// ClinicianNotesDenied denies clinicians the notes of their own panel (drift).
	ClinicianNotesDenied bool
	// PatientSeesOthers lets any patient read any patient's record (drift).
	PatientSeesOthers bool
}

// Resources serves the protected health resources of one stack.
type Resources struct {
	Auth      Authenticator
	Directory Directory
	Records   *Records
	Grants    *Grants
	Audit     *Audit
	Policy    Policy
	Now       func() time.Time
	// OnDecision, when set, is told every access decision on a resource, allow
	// and deny (an access log); it must be safe for concurrent use.
	OnDecision func(Decision)

	labMu sync.Mutex
	lab   []LabResult
}

// LabResult is one entry of the lab-results feed.
type LabResult struct {
	Patient string    `json:"patient_id"`
	Test    string    `json:"test"`
	Value   string    `json:"value"`
	Time    time.Time `json:"time"`
	Source  string    `json:"source"`
}

// Register mounts the resource routes on mux.
func (rs *Resources) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/patients/{pid}/record", rs.patient("record", rs.record))
	mux.HandleFunc("GET /api/patients/{pid}/notes", rs.patient("notes", rs.notes))
	mux.HandleFunc("POST /api/patients/{pid}/notes", rs.patient("notes.write", rs.addNote))
	mux.HandleFunc("GET /api/patients/{pid}/appointments", rs.patient("appointments", rs.appointments))
	mux.HandleFunc("GET /api/patients/{pid}/bills", rs.patient("bills", rs.bills))
	mux.HandleFunc("GET /api/billing/claims", rs.plain("claims", func(p Principal) bool { return p.Has(RoleBilling) }, rs.claims))
	mux.HandleFunc("GET /api/admin/users", rs.plain("users", func(p Principal) bool { return p.Has(RoleAdmin) }, rs.users))
	mux.HandleFunc("GET /api/audit", rs.plain("audit", func(p Principal) bool { return p.Has(RoleAuditor) }, rs.auditFeed))
	mux.HandleFunc("GET /api/lab-results", rs.plain("lab-results", func(p Principal) bool { return p.Can(PermLabRead) }, rs.labList))
	mux.HandleFunc("POST /api/lab-results", rs.plain("lab-results.write", func(p Principal) bool { return p.Can(PermLabWrite) }, rs.labAdd))
	mux.HandleFunc("GET /api/analytics/export", rs.plain("analytics", func(p Principal) bool { return p.Can(PermAnalytics) }, rs.analytics))
}

// Allowed decides whether p may act on a patient resource: "record", "notes",
// "notes.write", "appointments" or "bills" of patient pid. A decision that rests on a
// break-glass grant is audited as breakglass_access.
func (rs *Resources) Allowed(p Principal, what, pid string) bool {
	allow, _ := rs.allowed(p, what, pid)
	return allow
}

// allowed is Allowed, and whether a break-glass grant decided it.
func (rs *Resources) allowed(p Principal, what, pid string) (allow, viaGrant bool) {
	self := p.Has(RolePatient) && p.ID == pid
	panel := p.Has(RoleClinician) && rs.Records.OnPanel(p.ID, pid)
	switch what {
	case "record":
		if self || panel || rs.Policy.PatientSeesOthers && p.Has(RolePatient) {
			return true, false
		}
	case "notes":
		if panel && !rs.Policy.ClinicianNotesDenied {
			return true, false
		}
	case "notes.write":
		if panel {
			return true, false
		}
	case "appointments":
		return self || panel, false
	case "bills":
		return self || p.Has(RoleBilling), false
	default:
		return false, false
	}
	grant := p.Has(RoleClinician) && len(p.BreakGlass) > 0 &&
		rs.Grants.use(p.ID, pid, p.BreakGlass, "patient:"+pid+"/"+what)
	return grant, grant
}

func (rs *Resources) deny(w http.ResponseWriter, p Principal, subject, resource string) {
	rs.Audit.Record(Event{Kind: KindDeny, Actor: p.ID, Subject: subject, Resource: resource})
	respond.Error(w, http.StatusForbidden, "forbidden", "")
}

func (rs *Resources) patient(what string, serve func(w http.ResponseWriter, r *http.Request, p Principal, pid string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, ok := rs.Auth.Authenticate(r)
		if !ok {
			respond.Error(w, http.StatusUnauthorized, "unauthenticated", "")
			return
		}
		pid := r.PathValue("pid")
		if !rs.Records.Exists(pid) {
			respond.Error(w, http.StatusNotFound, "not_found", "")
			return
		}
		allow, viaGrant := rs.allowed(p, what, pid)
		rs.decided(p, what, pid, allow, viaGrant)
		if !allow {
			rs.deny(w, p, pid, "patient:"+pid+"/"+what)
			return
		}
		serve(w, r, p, pid)
	}
}

func (rs *Resources) plain(what string, allow func(Principal) bool, serve func(w http.ResponseWriter, r *http.Request, p Principal)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, ok := rs.Auth.Authenticate(r)
		if !ok {
			respond.Error(w, http.StatusUnauthorized, "unauthenticated", "")
			return
		}
		allowed := allow(p)
		rs.decided(p, what, "all", allowed, false)
		if !allowed {
			rs.deny(w, p, "", what)
			return
		}
		serve(w, r, p)
	}
}

func (rs *Resources) record(w http.ResponseWriter, _ *http.Request, _ Principal, pid string) {
	respond.JSON(w, http.StatusOK, map[string]any{"patient_id": pid, "name": rs.Records.name(pid), "allergies": []string{}, "conditions": []string{}})
}

func (rs *Resources) notes(w http.ResponseWriter, _ *http.Request, _ Principal, pid string) {
	respond.JSON(w, http.StatusOK, map[string]any{"patient_id": pid, "notes": rs.Records.Notes(pid)})
}

func (rs *Resources) addNote(w http.ResponseWriter, r *http.Request, p Principal, pid string) {
	var in struct {
		Text string `json:"text"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&in); err != nil || in.Text == "" {
		respond.Error(w, http.StatusBadRequest, "invalid_request", "want a JSON body with text")
		return
	}
	n, err := rs.Records.AddNote(pid, p.ID, in.Text, rs.Now())
	if err != nil {
		respond.Error(w, http.StatusNotFound, "not_found", "")
		return
	}
	respond.JSON(w, http.StatusCreated, n)
}

// seeded returns a small stable number from s, so synthetic appointments and bills are
// the same on both stacks.
func seeded(s string, n uint32) uint32 {
	h := fnv.New32a()
	h.Write([]byte(s))
	return h.Sum32() % n
}

func bill(pid string) map[string]any {
	return map[string]any{"id": pid + "-bill-1", "patient_id": pid, "amount_cents": 1000 + seeded(pid, 90000), "status": "open"}
}

func (rs *Resources) appointments(w http.ResponseWriter, _ *http.Request, _ Principal, pid string) {
	day := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC).Add(time.Duration(seeded(pid, 60)) * 24 * time.Hour)
	respond.JSON(w, http.StatusOK, map[string]any{"patient_id": pid, "appointments": []map[string]any{{"id": pid + "-appt-1", "time": day, "clinic": "general"}}})
}

func (rs *Resources) bills(w http.ResponseWriter, _ *http.Request, _ Principal, pid string) {
	respond.JSON(w, http.StatusOK, map[string]any{"patient_id": pid, "bills": []map[string]any{bill(pid)}})
}

func (rs *Resources) claims(w http.ResponseWriter, _ *http.Request, _ Principal) {
	ids := rs.Records.Patients()
	claims := make([]map[string]any, 0, len(ids))
	for _, id := range ids {
		claims = append(claims, bill(id))
	}
	respond.JSON(w, http.StatusOK, map[string]any{"claims": claims})
}

func (rs *Resources) users(w http.ResponseWriter, _ *http.Request, _ Principal) {
	users := rs.Directory.Users()
	slices.SortFunc(users, func(a, b UserSummary) int { return strings.Compare(a.ID, b.ID) })
	respond.JSON(w, http.StatusOK, map[string]any{"users": users})
}

func (rs *Resources) auditFeed(w http.ResponseWriter, r *http.Request, _ Principal) {
	var since time.Time
	if s := r.URL.Query().Get("since"); s != "" {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			respond.Error(w, http.StatusBadRequest, "invalid_request", "since must be RFC 3339")
			return
		}
		since = t
	}
	// Grants that ran out since the last look get their breakglass_end now.
	rs.Grants.Sweep()
	respond.JSON(w, http.StatusOK, map[string]any{"events": rs.Audit.Query(since, r.URL.Query().Get("actor"))})
}

func (rs *Resources) labList(w http.ResponseWriter, _ *http.Request, _ Principal) {
	rs.labMu.Lock()
	out := append([]LabResult{}, rs.lab...)
	rs.labMu.Unlock()
	respond.JSON(w, http.StatusOK, map[string]any{"results": out})
}

func (rs *Resources) labAdd(w http.ResponseWriter, r *http.Request, p Principal) {
	var in LabResult
	if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&in); err != nil || in.Patient == "" || in.Test == "" {
		respond.Error(w, http.StatusBadRequest, "invalid_request", "want a JSON body with patient_id and test")
		return
	}
	if !rs.Records.Exists(in.Patient) {
		respond.Error(w, http.StatusNotFound, "not_found", "")
		return
	}
	in.Time, in.Source = rs.Now(), p.ID
	rs.labMu.Lock()
	// Keep the feed bounded under load: the newest 1000 results.
	rs.lab = append(rs.lab, in)
	if len(rs.lab) > 1000 {
		rs.lab = slices.Clone(rs.lab[len(rs.lab)-1000:])
	}
	rs.labMu.Unlock()
	respond.JSON(w, http.StatusCreated, in)
}

func (rs *Resources) analytics(w http.ResponseWriter, _ *http.Request, _ Principal) {
	respond.JSON(w, http.StatusOK, map[string]any{"patients": len(rs.Records.Patients()), "generated_at": rs.Now()})
}
