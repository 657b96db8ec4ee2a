// Package personas models the synthetic or imported people and service accounts that
// a rehearsal drives through both stacks: who they are, which legacy roles they hold,
// which cohort (migration wave, legacy hash scheme) they belong to, and how they relate
// (a clinician's panel of patients). It imports no other domain package.
package personas

import (
	"errors"
	"fmt"
	"slices"
)

// Kind is what a persona does in the health system.
type Kind string

// The persona kinds of DOMAIN.md.
const (
	Patient   Kind = "patient"
	Clinician Kind = "clinician"
	Admin     Kind = "admin"
	Billing   Kind = "billing"
	Service   Kind = "service"
	Auditor   Kind = "auditor"
)

// Kinds lists every kind in a fixed order.
var Kinds = []Kind{Patient, Clinician, Admin, Billing, Service, Auditor}

// Valid reports whether k is one of Kinds.
func (k Kind) Valid() bool { return slices.Contains(Kinds, k) }

// Hash schemes a legacy user store holds passwords under.
const (
	HashBcrypt       = "bcrypt"
	HashSaltedSHA256 = "sha256-salted"
)

// Cohort is the migration wave a persona moves in and the legacy hash scheme its
// password is stored under; reports are cut by cohort.
type Cohort struct {
	Wave       string `json:"wave"`
	HashScheme string `json:"hash_scheme"`
}

// String returns "wave/scheme".
func (c Cohort) String() string { return c.Wave + "/" + c.HashScheme }

// Persona is one synthetic or imported identity. Secret never serialises.
type Persona struct {
	ID       string `json:"id"`
	Kind     Kind   `json:"kind"`
	Username string `json:"username"`
	// Secret is the password of a human persona, or the API key (legacy) and client
	// secret (candidate) of a service persona.
	Secret    Secret   `json:"-"`
	Name      string   `json:"name,omitempty"`
	Email     string   `json:"email,omitempty"`
	BirthDate string   `json:"birth_date,omitempty"`
	MRN       string   `json:"mrn,omitempty"`
	NPI       string   `json:"npi,omitempty"`
	Cohort    Cohort   `json:"cohort"`
	Roles     []string `json:"roles"`
	// Panel lists the patient IDs assigned to a clinician.
	Panel []string `json:"panel,omitempty"`
	// BreakGlass is true for a clinician eligible for emergency access.
	BreakGlass bool `json:"break_glass,omitempty"`
	// Permissions lists what a service account's legacy API key allows.
	Permissions []string `json:"permissions,omitempty"`
}

// Human reports whether the persona logs in with a password.
func (p Persona) Human() bool { return p.Kind != Service }

// Population is a set of personas with the seed that produced it (0 when imported).
type Population struct {
	Seed     uint64    `json:"seed"`
	Personas []Persona `json:"personas"`
}

// ByKind returns the personas of kind k, in population order.
func (pop Population) ByKind(k Kind) []Persona {
	var out []Persona
	for _, p := range pop.Personas {
		if p.Kind == k {
			out = append(out, p)
		}
	}
	return out
}

// Lookup returns the persona with the given ID.
func (pop Population) Lookup(id string) (Persona, bool) {
	for _, p := range pop.Personas {
		if p.ID == id {
			return p, true
		}
	}
	return Persona{}, false
}

// Validate checks the invariants every consumer relies on: unique IDs and usernames,
// known kinds, a secret for every persona, panels that name existing patients.
func (pop Population) Validate() error {
	ids := make(map[string]bool, len(pop.Personas))
	names := make(map[string]bool, len(pop.Personas))
	patients := make(map[string]bool)
	for _, p := range pop.Personas {
		if p.Kind == Patient {
			patients[p.ID] = true
		}
	}
	var errs []error
	for i, p := range pop.Personas {
		switch {
		case p.ID == "":
			errs = append(errs, fmt.Errorf("persona %d: empty id", i))
		case ids[p.ID]:
			errs = append(errs, fmt.Errorf("persona %d: duplicate id %q", i, p.ID))
		}
		ids[p.ID] = true
		if names[p.Username] {
			errs = append(errs, fmt.Errorf("persona %s: duplicate username %q", p.ID, p.Username))
		}
		names[p.Username] = true
		if !p.Kind.Valid() {
			errs = append(errs, fmt.Errorf("persona %s: unknown kind %q", p.ID, p.Kind))
		}
		if p.Secret.IsZero() {
			errs = append(errs, fmt.Errorf("persona %s: no secret", p.ID))
		}
		for _, pid := range p.Panel {
			if !patients[pid] {
				errs = append(errs, fmt.Errorf("persona %s: panel names unknown patient %q", p.ID, pid))
			}
		}
	}
	return errors.Join(errs...)
}
