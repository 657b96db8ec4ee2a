package personas

import (
	"fmt"
	"slices"
	"strings"
)

// StackUser is a user as a stack reports it: the legacy admin user list, or the
// candidate's SCIM /Users.
type StackUser struct {
	ID       string   `json:"id"`
	Username string   `json:"username"`
	Roles    []string `json:"roles"`
}

// RoleMap maps one legacy role to the candidate roles it becomes; an empty result
// drops the role. It must be safe for concurrent use.
type RoleMap func(legacy string) []string

// Map returns the candidate roles of a set of legacy roles: the sorted union of the
// mapping of each, without duplicates. A nil RoleMap passes roles through.
func (m RoleMap) Map(legacy []string) []string {
	out := []string{}
	for _, r := range legacy {
		if m == nil {
			out = append(out, r)
		} else {
			out = append(out, m(r)...)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// The two sides of a rehearsal, as Drift names them.
const (
	SideLegacy    = "legacy"
	SideCandidate = "candidate"
)

// DriftKind says how a stack differs from the population.
type DriftKind string

// The kinds of drift Parity reports.
const (
	// DriftMissing: the stack has no user with the persona's username.
	DriftMissing DriftKind = "missing"
	// DriftDuplicate: the stack has several users with the persona's username.
	DriftDuplicate DriftKind = "duplicate"
	// DriftID: the stack knows the username under another user id.
	DriftID DriftKind = "id"
	// DriftRoles: the stack's roles are not the persona's (legacy) or the persona's
	// mapped through the RoleMap (candidate), compared as sets.
	DriftRoles DriftKind = "roles"
)

// Drift is one difference between the population and what a stack reports, the data
// behind a PROVISIONING_DRIFT finding.
type Drift struct {
	Side      string    `json:"side"`
	Kind      DriftKind `json:"kind"`
	PersonaID string    `json:"persona_id"`
	Username  string    `json:"username"`
	// GotID is the user id the stack reports (DriftID).
	GotID string `json:"got_id,omitempty"`
	// WantRoles and GotRoles are sorted role sets (DriftRoles).
	WantRoles []string `json:"want_roles,omitempty"`
	GotRoles  []string `json:"got_roles,omitempty"`
	// Count is how many users share the username (DriftDuplicate).
	Count int `json:"count,omitempty"`
}

// String describes the drift in one line, by persona id: a username is a
// person's, and reports never name one.
func (d Drift) String() string {
	head := fmt.Sprintf("%s: %s", d.Side, d.PersonaID)
	switch d.Kind {
	case DriftMissing:
		return head + ": missing"
	case DriftDuplicate:
		return fmt.Sprintf("%s: %d users with this username", head, d.Count)
	case DriftID:
		return fmt.Sprintf("%s: known as user id %q", head, d.GotID)
	case DriftRoles:
		return fmt.Sprintf("%s: roles [%s]; want [%s]", head, strings.Join(d.GotRoles, " "), strings.Join(d.WantRoles, " "))
	}
	return head + ": " + string(d.Kind)
}

// Parity compares the human personas of pop with the users each stack reports and
// returns every drift, legacy first, in population order; none means both stacks
// are ready for the run. A persona is matched by username, case-insensitively as
// SCIM does; a stack user that reports an id must have the persona's id (an empty
// ID means the stack does not know persona ids, as SCIMClient.Users may report). Legacy roles must
// be the persona's roles and candidate roles the persona's roles mapped through m,
// each compared as a set. Service personas are skipped: on the candidate they are
// OAuth clients, not users, and the service-account journey checks them. Users of a
// stack that match no persona are not drift.
func Parity(pop Population, legacy, candidate []StackUser, m RoleMap) []Drift {
	return ParityByID(pop, legacy, candidate, m, nil, nil)
}

// IDOf is the user id a stack should report for persona p; "" is not checked.
type IDOf func(p Persona) string

// ParityByID is Parity with the ids each stack should report given per side
// (nil: the persona id): stacks that number users their own way (a legacy uid,
// a candidate sub) are checked against an attribute of the accounts, or not.
func ParityByID(pop Population, legacy, candidate []StackUser, m RoleMap, legacyID, candidateID IDOf) []Drift {
	drifts := compareSide(pop, SideLegacy, legacy, RoleMap(nil), legacyID)
	return append(drifts, compareSide(pop, SideCandidate, candidate, m, candidateID)...)
}

func compareSide(pop Population, side string, users []StackUser, m RoleMap, idOf IDOf) []Drift {
	if idOf == nil {
		idOf = func(p Persona) string { return p.ID }
	}
	byName := make(map[string][]StackUser, len(users))
	for _, u := range users {
		key := strings.ToLower(u.Username)
		byName[key] = append(byName[key], u)
	}
	var out []Drift
	for _, p := range pop.Personas {
		if !p.Human() {
			continue
		}
		d := Drift{Side: side, PersonaID: p.ID, Username: p.Username}
		found := byName[strings.ToLower(p.Username)]
		switch {
		case len(found) == 0:
			d.Kind = DriftMissing
		case len(found) > 1:
			d.Kind, d.Count = DriftDuplicate, len(found)
		case found[0].ID != "" && idOf(p) != "" && found[0].ID != idOf(p):
			d.Kind, d.GotID = DriftID, found[0].ID
		default:
			want, got := m.Map(p.Roles), RoleMap(nil).Map(found[0].Roles)
			if slices.Equal(want, got) {
				continue
			}
			d.Kind, d.WantRoles, d.GotRoles = DriftRoles, want, got
		}
		out = append(out, d)
	}
	return out
}
