// Package ehr is the health-record resource model both reference stacks protect:
// patients, panels, notes, appointments, bills, claims, break-glass grants and the audit
// log, with one decision policy so that legacy and candidate decide identically unless
// a drift says otherwise. Each stack resolves its own credentials to a Principal; this
// package decides and serves the resources.
package ehr

import (
	"fmt"
	"slices"
	"sync"
	"time"
)

// Role is a stack-neutral role the policy decides on. Each stack maps its own role
// names onto these (legacy "billing-clerk" and candidate "billing" are both RoleBilling).
type Role string

// The roles of the policy.
const (
	RolePatient    Role = "patient"
	RoleClinician  Role = "clinician"
	RoleBreakGlass Role = "breakglass"
	RoleAdmin      Role = "admin"
	RoleBilling    Role = "billing"
	RoleAuditor    Role = "auditor"
)

// Permissions of service accounts, in legacy spelling.
const (
	PermLabRead     = "lab-results:read"
	PermLabWrite    = "lab-results:write"
	PermAnalytics   = "analytics:export"
	PermProvisioner = "scim:write"
)

// Principal is who presents a credential: a person with roles, or a service account
// with permissions, plus the break-glass grants this credential may use.
type Principal struct {
	ID          string
	Roles       []Role
	Permissions []string
	// BreakGlass lists the grant ids this credential carries: every live grant of the
	// user on legacy (session based), the one grant of an exchanged token on candidate.
	BreakGlass []string
}

// Has reports whether p holds role r.
func (p Principal) Has(r Role) bool { return slices.Contains(p.Roles, r) }

// Can reports whether p holds permission perm.
func (p Principal) Can(perm string) bool { return slices.Contains(p.Permissions, perm) }

// Note is a clinical note.
type Note struct {
	ID     int       `json:"id"`
	Author string    `json:"author"`
	Time   time.Time `json:"time"`
	Text   string    `json:"text"`
}

type patient struct {
	id    string
	name  string
	notes []Note
}

// Records holds the patients and the clinicians' panels. It is safe for concurrent use.
type Records struct {
	mu       sync.RWMutex
	patients map[string]*patient
	panels   map[string]map[string]bool
}

// NewRecords returns an empty record store.
func NewRecords() *Records {
	return &Records{patients: make(map[string]*patient), panels: make(map[string]map[string]bool)}
}

// AddPatient registers a patient.
func (rs *Records) AddPatient(id, name string) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if _, ok := rs.patients[id]; !ok {
		rs.patients[id] = &patient{id: id, name: name}
	}
}

// Assign puts patients on a clinician's panel.
func (rs *Records) Assign(clinician string, patients []string) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	p := rs.panels[clinician]
	if p == nil {
		p = make(map[string]bool)
		rs.panels[clinician] = p
	}
	for _, id := range patients {
		p[id] = true
	}
}

// Exists reports whether a patient is known.
func (rs *Records) Exists(id string) bool {
	rs.mu.RLock()
	defer rs.mu.RUnlock()
	_, ok := rs.patients[id]
	return ok
}

// OnPanel reports whether patient is on clinician's panel.
func (rs *Records) OnPanel(clinician, patient string) bool {
	rs.mu.RLock()
	defer rs.mu.RUnlock()
	return rs.panels[clinician][patient]
}

// Patients returns the ids of all patients, sorted.
func (rs *Records) Patients() []string {
	rs.mu.RLock()
	defer rs.mu.RUnlock()
	ids := make([]string, 0, len(rs.patients))
	for id := range rs.patients {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func (rs *Records) name(id string) string {
	rs.mu.RLock()
	defer rs.mu.RUnlock()
	if p, ok := rs.patients[id]; ok {
		return p.name
	}
	return ""
}

// Notes returns a copy of the patient's notes.
func (rs *Records) Notes(id string) []Note {
	rs.mu.RLock()
	defer rs.mu.RUnlock()
	p, ok := rs.patients[id]
	if !ok {
		return nil
	}
	return append([]Note{}, p.notes...)
}

// AddNote appends a note to a patient's record and returns it.
func (rs *Records) AddNote(id, author, text string, at time.Time) (Note, error) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	p, ok := rs.patients[id]
	if !ok {
		return Note{}, fmt.Errorf("ehr: unknown patient %q", id)
	}
	n := Note{ID: len(p.notes) + 1, Author: author, Time: at, Text: text}
	p.notes = append(p.notes, n)
	return n, nil
}
