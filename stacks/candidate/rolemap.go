package candidate

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"slices"
)

//go:embed rolemap.json
var roleMapJSON []byte

// Mapping is what one legacy role becomes on the candidate.
type Mapping struct {
	Roles  []string `json:"roles"`
	Scopes []string `json:"scopes"`
}

// RoleMap is the migration's mapping of legacy roles to candidate roles and scopes,
// and of legacy service permissions to scopes. It is data (rolemap.json), not code.
type RoleMap struct {
	Roles       map[string]Mapping `json:"roles"`
	Permissions map[string]string  `json:"permissions"`
}

// DefaultRoleMap returns the mapping of rolemap.json.
func DefaultRoleMap() RoleMap {
	var m RoleMap
	if err := json.Unmarshal(roleMapJSON, &m); err != nil {
		panic(fmt.Sprintf("candidate: rolemap.json: %v", err)) // embedded, checked by tests
	}
	return m
}

// Apply maps legacy roles to sorted, de-duplicated candidate roles and scopes; an
// unmapped legacy role maps to nothing.
func (m RoleMap) Apply(legacyRoles []string) (roles, scopes []string) {
	for _, lr := range legacyRoles {
		mp := m.Roles[lr]
		roles = append(roles, mp.Roles...)
		scopes = append(scopes, mp.Scopes...)
	}
	return sortedSet(roles), sortedSet(scopes)
}

// ServiceScopes maps legacy service permissions to sorted scopes.
func (m RoleMap) ServiceScopes(perms []string) []string {
	var scopes []string
	for _, p := range perms {
		if s, ok := m.Permissions[p]; ok {
			scopes = append(scopes, s)
		}
	}
	return sortedSet(scopes)
}

// permission returns the legacy permission a scope maps from.
func (m RoleMap) permission(scope string) (string, bool) {
	for p, s := range m.Permissions {
		if s == scope {
			return p, true
		}
	}
	return "", false
}

// allServiceScopes lists every scope a service account can be given.
func (m RoleMap) allServiceScopes() []string {
	var all []string
	for _, s := range m.Permissions {
		all = append(all, s)
	}
	return sortedSet(all)
}

func sortedSet(xs []string) []string {
	out := slices.Clone(xs)
	slices.Sort(out)
	return slices.Compact(out)
}
