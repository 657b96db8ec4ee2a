package adapter

import "slices"

// MapRoles maps legacy roles through m into a sorted, de-duplicated set.
func MapRoles(roles []string, m map[string][]string) []string {
	out := []string{}
	for _, r := range roles {
		if mapped, ok := m[r]; ok {
			out = append(out, mapped...)
		} else {
			out = append(out, r)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// MapPermissions maps legacy service permissions through m into a sorted set of
// scopes; an unmapped permission is kept as is.
func MapPermissions(perms []string, m map[string]string) []string {
	out := []string{}
	for _, p := range perms {
		if s, ok := m[p]; ok {
			p = s
		}
		out = append(out, p)
	}
	slices.Sort(out)
	return slices.Compact(out)
}
