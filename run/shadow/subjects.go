package shadow

import (
	"fmt"
	"slices"
	"strings"

	"github.com/cutover-dev/cutover/personas"
	"github.com/cutover-dev/cutover/results/record"
)

// accounts maps legacy subjects to the candidate's through an accounts file:
// a persona found by its match key becomes the candidate subject its as key
// names, and brings its kind and attributes.
type accounts struct {
	byKey map[string]account
	// roles: the log names no roles (log.roles unset), so a subject's are
	// the account's; expected is expected.roles, which picks the kind.
	roles    bool
	expected []string
}

type account struct {
	subject, kind string
	roles         []string
	attrs         []kv
}

// noSecrets resolves every secret reference of an accounts file to a
// stand-in: shadow mode signs in as nobody, it only reads who is who.
type noSecrets struct{}

func (noSecrets) Resolve(string) (personas.Secret, error) { return personas.NewSecret("unused"), nil }

// loadAccounts reads the accounts file of f, if it names one.
func loadAccounts(f *File) (*accounts, error) {
	s := f.Subjects
	if s.Accounts == "" {
		return nil, nil
	}
	pop, err := personas.ReadFile(f.rel(s.Accounts), noSecrets{})
	if err != nil {
		return nil, fmt.Errorf("%s: subjects.accounts: %w", f.Path, err)
	}
	a := &accounts{byKey: make(map[string]account, len(pop.Personas)), roles: f.Log.Roles.IsZero(), expected: f.Expected.Roles}
	for _, p := range pop.Personas {
		key, subject := personaKey(p, s.Match), personaKey(p, s.As)
		if key == "" || subject == "" {
			continue
		}
		if _, dup := a.byKey[key]; dup {
			return nil, fmt.Errorf("%s: subjects.match %s: two accounts have %q", f.Path, matchName(s.Match), key)
		}
		acc := account{subject: subject, kind: string(p.Kind), roles: p.Roles}
		if p.Cohort.Wave != "" {
			acc.attrs = append(acc.attrs, kv{record.AttrWave, p.Cohort.Wave})
		}
		if p.Cohort.HashScheme != "" {
			acc.attrs = append(acc.attrs, kv{record.AttrHashScheme, p.Cohort.HashScheme})
		}
		if p.BreakGlass {
			acc.attrs = append(acc.attrs, kv{record.AttrBreakGlass, "true"})
		}
		for _, k := range sortedKeys(p.Attributes) {
			acc.attrs = append(acc.attrs, kv{k, p.Attributes[k]})
		}
		a.byKey[key] = acc
	}
	return a, nil
}

// personaKey is the persona's id, username or attribute, as how names it.
func personaKey(p personas.Persona, how string) string {
	switch {
	case how == "" || how == "id":
		return p.ID
	case how == "username":
		return p.Username
	}
	return p.Attributes[strings.TrimPrefix(how, "attribute:")]
}

func matchName(how string) string {
	if how == "" {
		return "id"
	}
	return how
}

// resolve maps e's legacy subject to the candidate's, with the account's
// roles (where the log names none), kind (where the line names no role) and
// attributes; a subject the file does not have makes the line ambiguous.
func (a *accounts) resolve(e *entry, explicit bool) {
	if a == nil || e.why != "" || e.skipped {
		return
	}
	acc, ok := a.byKey[e.legacy]
	if !ok {
		e.why = whyUnknownSubj
		return
	}
	if !explicit {
		e.q.subject = acc.subject
	}
	if a.roles && len(acc.roles) > 0 {
		e.q.roles = acc.roles
		e.kind = roleKind(a.expected, acc.roles)
	}
	if e.kind == "" {
		e.kind = acc.kind
	}
	for _, x := range acc.attrs {
		if !slices.ContainsFunc(e.q.attrs, func(y kv) bool { return y.k == x.k }) {
			e.extra = append(e.extra, x)
		}
	}
}
