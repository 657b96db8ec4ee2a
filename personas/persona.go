// Package personas models the synthetic or imported people and service accounts that
// a rehearsal drives through both stacks: who they are, which legacy roles they hold,
// which cohort (migration wave, legacy hash scheme) they belong to, and how they relate
// (a clinician's panel of patients). It imports no other domain package.
//
// Generate builds a population deterministically from a seed. ReadCSV and ReadJSONL
// import pre-provisioned test accounts, WriteCSV and WriteJSONL export them. Partition
// splits a population into disjoint segments for distributed runs. SCIMClient
// provisions it into a SCIM 2.0 service provider; Export writes it, with password
// hashes, as the bulk import file of a provider without SCIM (Auth0, Keycloak).
// Parity compares it with the users each stack reports: the data of a
// PROVISIONING_DRIFT finding.
//
// # Accounts files
//
// An accounts file has one account per CSV row (after a header line) or JSONL line,
// with these columns (CSV header names, JSONL keys), written in this order:
//
//	id, kind, username, password, candidate_password, wave, hash_scheme,
//	roles, name, email, birth_date, mrn, npi, panel, break_glass, permissions
//
// then the free-form attributes (site, tenant, batch...) that reports may group
// findings and cohorts by: in CSV a column attr.NAME per attribute, in name order;
// in JSONL a key attributes, an object of strings ({"site": "north"}).
//
// id, kind, username and password are required. candidate_password, where
// set, is the secret the candidate holds for the account when it is not the
// legacy one (a CSV export writes its column only when some account has one). In CSV, the list columns roles,
// panel and permissions separate items with ';', break_glass is true or false, and
// cells are trimmed of surrounding spaces. In JSONL, lists are arrays of strings and
// break_glass is a boolean. Every invalid row is reported, each problem with its
// file, line and field.
//
// An attribute NAME is 1 to 40 letters, digits, '.', '_' and '-', and not one of
// the built-in groupings kind, wave, hash_scheme, break_glass and cohort; a CSV file
// names each attr.NAME column once. A value is at most 200 characters with no
// control characters. Neither is ever the persona's secret: that is an error, which
// does not quote it. An empty cell, or an empty or null JSONL value, means the
// persona has no such attribute.
//
// # Passwords
//
// The password column holds one of:
//
//	env:VAR         the value of environment variable VAR
//	file:PATH#KEY   the string at key KEY of the JSON object in file PATH
//	file:PATH       the whole content of file PATH, less one trailing newline
//	inline:VALUE    VALUE itself (discouraged: the file then holds a secret)
//	VALUE           VALUE itself, when it starts with none of the prefixes above
//
// The last two are plaintext secrets in the file: InlineSecrets lists the rows
// that hold one, for an import to warn about them or refuse them.
//
// References are resolved by a SecretResolver that the caller passes in (Resolver
// reads only the variables and files it is given). References are not secrets: they
// are echoed in errors and written back by exports. Secret values never are: a
// Secret formats, marshals and logs as "[redacted]", WriteCSV and WriteJSONL write a
// persona's SecretRef or nothing, and errors redact any secret value they would
// quote. Three writers hold secrets by design, for files of mode 0600: Export
// (password hashes, or passwords with Plaintext), WriteEnvSecrets and
// WriteFileSecrets (the values behind the references WithSecretRefs made).
//
// It imports no other package of this module.
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
	Secret Secret `json:"-"`
	// SecretRef is where Secret came from when it was imported by reference
	// ("env:VAR" or "file:PATH#key"); exports write it back instead of the value.
	// It is empty for generated personas and inline imported passwords.
	SecretRef string `json:"secret_ref,omitempty"`
	// CandidateSecret, when set, is what the persona signs in with on the
	// candidate instead of Secret, where the two stacks hold different
	// secrets for one account: a service account's client secret beside its
	// legacy API key, a password set anew at provisioning. CandidateSecretRef
	// is where it came from, as SecretRef.
	CandidateSecret    Secret   `json:"-"`
	CandidateSecretRef string   `json:"candidate_secret_ref,omitempty"`
	Name               string   `json:"name,omitempty"`
	Email              string   `json:"email,omitempty"`
	BirthDate          string   `json:"birth_date,omitempty"`
	MRN                string   `json:"mrn,omitempty"`
	NPI                string   `json:"npi,omitempty"`
	Cohort             Cohort   `json:"cohort"`
	Roles              []string `json:"roles"`
	// Panel lists the patient IDs assigned to a clinician.
	Panel []string `json:"panel,omitempty"`
	// BreakGlass is true for a clinician eligible for emergency access.
	BreakGlass bool `json:"break_glass,omitempty"`
	// Permissions lists what a service account's legacy API key allows.
	Permissions []string `json:"permissions,omitempty"`
	// Attributes are free-form facts of an imported account (site, tenant,
	// migration batch...) that reports can group findings and cohorts by. They
	// are not secrets and must not hold any.
	Attributes map[string]string `json:"attributes,omitempty"`
}

// ForCandidate returns the persona as the candidate knows it: its
// CandidateSecret, where it has one, in place of Secret.
func (p Persona) ForCandidate() Persona {
	if p.CandidateSecret.Reveal() != "" {
		p.Secret = p.CandidateSecret
	}
	return p
}

// ForCandidate returns the population as the candidate knows it (see
// Persona.ForCandidate).
func (pop Population) ForCandidate() Population {
	out := pop
	out.Personas = make([]Persona, len(pop.Personas))
	for i, p := range pop.Personas {
		out.Personas[i] = p.ForCandidate()
	}
	return out
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

// Validate checks the invariants every consumer relies on and reports every broken
// one at once: unique IDs, usernames, MRNs and NPIs; known kinds and hash schemes; a
// secret for every persona; panels only on clinicians and naming existing patients;
// permissions only on service accounts; break-glass only for clinicians; attribute
// names and values as the package documentation describes them, none holding the
// persona's secret. A persona's secret is redacted from the messages about it.
func (pop Population) Validate() error {
	where := func(i int) string {
		if id := pop.Personas[i].ID; id != "" {
			return fmt.Sprintf("personas[%d] %s", i, id)
		}
		return fmt.Sprintf("personas[%d]", i)
	}
	var errs []error
	for _, pr := range pop.problems() {
		msg := fmt.Sprintf("%s: %s: %s", where(pr.index), pr.field, pr.render(where))
		// A secret pasted into another field must not come out in the message.
		errs = append(errs, errors.New(redact(msg, pop.Personas[pr.index].Secret.Reveal())))
	}
	return errors.Join(errs...)
}
