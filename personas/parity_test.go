package personas_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/cutover-dev/cutover/personas"
)

// candidateRoles is a legacy -> candidate mapping like the embedded candidate's.
func candidateRoles(legacy string) []string {
	switch legacy {
	case "billing-clerk":
		return []string{"billing"}
	case "breakglass-eligible":
		return []string{"clinician:breakglass"}
	}
	return []string{legacy}
}

// usersOf reports pop as a stack would, with roles mapped by m.
func usersOf(pop personas.Population, m personas.RoleMap) []personas.StackUser {
	var out []personas.StackUser
	for _, p := range pop.Personas {
		// Reversed, to show that order does not matter.
		roles := m.Map(p.Roles)
		for i, j := 0, len(roles)-1; i < j; i, j = i+1, j-1 {
			roles[i], roles[j] = roles[j], roles[i]
		}
		out = append(out, personas.StackUser{ID: p.ID, Username: p.Username, Roles: roles})
	}
	return out
}

func TestParity(t *testing.T) {
	pop, err := personas.ReadCSV(strings.NewReader(
		"id,kind,username,password,wave,hash_scheme,roles,panel,permissions\n"+
			"p1,patient,pat.one,x1,w1,bcrypt,patient,,\n"+
			"c1,clinician,doc.one,x2,w1,bcrypt,clinician;breakglass-eligible,p1,\n"+
			"b1,billing,bill.one,x3,w1,bcrypt,billing-clerk,,\n"+
			"s1,service,svc-lab,x4,w1,,,,lab-results:read\n"), "users.csv", nil)
	if err != nil {
		t.Fatal(err)
	}
	legacy, candidate := usersOf(pop, nil), usersOf(pop, candidateRoles)
	tests := []struct {
		name      string
		legacy    func([]personas.StackUser) []personas.StackUser
		candidate func([]personas.StackUser) []personas.StackUser
		want      []string
	}{
		{"in parity", nil, nil, nil},
		{"service accounts and unknown users are not drift", func(u []personas.StackUser) []personas.StackUser {
			return append(u[:3:3], personas.StackUser{ID: "x", Username: "root", Roles: []string{"admin"}})
		}, nil, nil},
		{"usernames match case-insensitively, ids may be absent", nil, func(u []personas.StackUser) []personas.StackUser {
			u[0].Username, u[0].ID = "PAT.ONE", ""
			return u
		}, nil},
		{"missing on candidate", nil, func(u []personas.StackUser) []personas.StackUser { return u[1:] },
			[]string{"candidate: p1: missing"}},
		{"billing clerk gets admin", nil, func(u []personas.StackUser) []personas.StackUser {
			u[2].Roles = []string{"billing", "admin"}
			return u
		}, []string{"candidate: b1: roles [admin billing]; want [billing]"}},
		{"legacy role unmapped on candidate", nil, func(u []personas.StackUser) []personas.StackUser {
			u[1].Roles = []string{"clinician", "breakglass-eligible"}
			return u
		}, []string{"candidate: c1: roles [breakglass-eligible clinician]; want [clinician clinician:breakglass]"}},
		{"legacy lost a role", func(u []personas.StackUser) []personas.StackUser {
			u[1].Roles = []string{"clinician"}
			return u
		}, nil, []string{"legacy: c1: roles [clinician]; want [breakglass-eligible clinician]"}},
		{"another id", func(u []personas.StackUser) []personas.StackUser {
			u[0].ID = "patient-7"
			return u
		}, nil, []string{`legacy: p1: known as user id "patient-7"`}},
		{"duplicate username", nil, func(u []personas.StackUser) []personas.StackUser {
			return append(u, personas.StackUser{ID: "p1", Username: "Pat.One", Roles: []string{"patient"}})
		}, []string{"candidate: p1: 2 users with this username"}},
		{"everything missing", func([]personas.StackUser) []personas.StackUser { return nil }, func([]personas.StackUser) []personas.StackUser { return nil }, []string{
			"legacy: p1: missing", "legacy: c1: missing", "legacy: b1: missing",
			"candidate: p1: missing", "candidate: c1: missing", "candidate: b1: missing",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, c := clone(legacy), clone(candidate)
			if tt.legacy != nil {
				l = tt.legacy(l)
			}
			if tt.candidate != nil {
				c = tt.candidate(c)
			}
			var got []string
			for _, d := range personas.Parity(pop, l, c, candidateRoles) {
				got = append(got, d.String())
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parity = %q; want %q", got, tt.want)
			}
		})
	}
}

func clone(users []personas.StackUser) []personas.StackUser {
	out := make([]personas.StackUser, len(users))
	for i, u := range users {
		u.Roles = append([]string(nil), u.Roles...)
		out[i] = u
	}
	return out
}

func TestParityDriftData(t *testing.T) {
	pop, err := personas.Generate(1, personas.GenerateOptions{Count: 100})
	if err != nil {
		t.Fatal(err)
	}
	legacy, candidate := usersOf(pop, nil), usersOf(pop, candidateRoles)
	if d := personas.Parity(pop, legacy, candidate, candidateRoles); len(d) != 0 {
		t.Fatalf("Parity of a population with itself = %v; want none", d)
	}
	billing := pop.ByKind(personas.Billing)[0]
	for i := range candidate {
		if candidate[i].ID == billing.ID {
			candidate[i].Roles = append(candidate[i].Roles, "admin")
		}
	}
	got := personas.Parity(pop, legacy, candidate, candidateRoles)
	want := []personas.Drift{{
		Side: personas.SideCandidate, Kind: personas.DriftRoles, PersonaID: billing.ID, Username: billing.Username,
		WantRoles: []string{"billing"}, GotRoles: []string{"admin", "billing"},
	}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Parity = %+v; want %+v", got, want)
	}
}

func TestRoleMapMap(t *testing.T) {
	tests := []struct {
		m    personas.RoleMap
		in   []string
		want []string
	}{
		{nil, []string{"b", "a", "b"}, []string{"a", "b"}},
		{nil, nil, []string{}},
		{candidateRoles, []string{"billing-clerk", "breakglass-eligible"}, []string{"billing", "clinician:breakglass"}},
		{func(string) []string { return nil }, []string{"x"}, []string{}},
	}
	for _, tt := range tests {
		if got := tt.m.Map(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Map(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func BenchmarkParity(b *testing.B) {
	pop, err := personas.Generate(1, personas.GenerateOptions{Count: 10_000})
	if err != nil {
		b.Fatal(err)
	}
	legacy, candidate := usersOf(pop, nil), usersOf(pop, candidateRoles)
	for b.Loop() {
		if d := personas.Parity(pop, legacy, candidate, candidateRoles); len(d) != 0 {
			b.Fatalf("Parity = %d drifts; want none", len(d))
		}
	}
}

// TestParityByID: a stack that numbers users its own way is checked against
// an attribute of the accounts (a candidate sub), or not at all, never against
// the persona id.
func TestParityByID(t *testing.T) {
	p := personas.Persona{ID: "p-1", Kind: personas.Patient, Username: "pat", Roles: []string{"patient"}, Attributes: map[string]string{"sub": "9f3c"}}
	pop := personas.Population{Personas: []personas.Persona{p}}
	legacy := []personas.StackUser{{ID: "p-1", Username: "pat", Roles: []string{"patient"}}}
	candidate := []personas.StackUser{{ID: "9f3c", Username: "PAT", Roles: []string{"patient"}}}
	if d := personas.Parity(pop, legacy, candidate, nil); len(d) != 1 || d[0].Kind != personas.DriftID {
		t.Errorf("by persona id: %v; want the candidate's id drift", d)
	}
	bySub := func(p personas.Persona) string { return p.Attributes["sub"] }
	if d := personas.ParityByID(pop, legacy, candidate, nil, nil, bySub); len(d) != 0 {
		t.Errorf("by the sub attribute: %v; want none", d)
	}
	candidate[0].ID = "0000"
	if d := personas.ParityByID(pop, legacy, candidate, nil, nil, bySub); len(d) != 1 || d[0].GotID != "0000" {
		t.Errorf("another sub: %v; want the id drift", d)
	}
	none := func(personas.Persona) string { return "" }
	if d := personas.ParityByID(pop, legacy, candidate, nil, nil, none); len(d) != 0 {
		t.Errorf("ids not compared: %v; want none", d)
	}
}
