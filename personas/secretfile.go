package personas

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

// A population given its references by WithSecretRefs names secrets that are
// nowhere yet. WriteEnvSecrets and WriteFileSecrets put them where the references
// point. They are the only writers of this package that write secret values: give
// them a file of mode 0600 that stays out of version control and logs.

// EnvVars returns the environment variables the env: references of pop name
// (passwords and candidate passwords), sorted: what must be set before the
// population is imported.
func (pop Population) EnvVars() []string {
	var vars []string
	for _, sr := range pop.secretRefs() {
		if v, ok := strings.CutPrefix(sr.ref, refEnv); ok {
			vars = append(vars, v)
		}
	}
	slices.Sort(vars)
	return slices.Compact(vars)
}

// WriteEnvSecrets writes the secret behind every env:VAR reference of pop as a
// line VAR='secret', quoted for a POSIX shell (`set -a; . FILE; set +a` exports
// them), sorted by variable. It returns how many variables it wrote; a variable
// two personas name with different secrets is an error.
func WriteEnvSecrets(w io.Writer, pop Population) (int, error) {
	vals, err := pop.secretsBy(func(ref string) (string, bool) { return strings.CutPrefix(ref, refEnv) })
	if err != nil {
		return 0, err
	}
	bw := bufio.NewWriter(w)
	for _, name := range slices.Sorted(maps.Keys(vals)) {
		fmt.Fprintf(bw, "%s=%s\n", name, shellQuote(vals[name]))
	}
	if err := bw.Flush(); err != nil {
		return 0, fmt.Errorf("write secrets: %w", err)
	}
	return len(vals), nil
}

// WriteFileSecrets writes the secrets file that the file:PATH#KEY references of
// pop with PATH path name: a JSON object of each KEY to its secret, the shape
// Resolver reads. It returns how many keys it wrote; a key two personas name with
// different secrets is an error.
func WriteFileSecrets(w io.Writer, pop Population, path string) (int, error) {
	vals, err := pop.secretsBy(func(ref string) (string, bool) {
		p, key, keyed := strings.Cut(strings.TrimPrefix(ref, refFile), "#")
		return key, strings.HasPrefix(ref, refFile) && keyed && p == path && key != ""
	})
	if err != nil {
		return 0, err
	}
	b, err := json.MarshalIndent(vals, "", "  ") // keys in order
	if err != nil {
		return 0, fmt.Errorf("write secrets: %w", err)
	}
	if _, err := w.Write(append(b, '\n')); err != nil {
		return 0, fmt.Errorf("write secrets: %w", err)
	}
	return len(vals), nil
}

// secretRef is a secret of a persona and the reference it is written under.
type secretRef struct {
	id     string
	ref    string
	secret Secret
}

// secretRefs lists the referenced secrets of pop: passwords, then candidate
// passwords, in persona order.
func (pop Population) secretRefs() []secretRef {
	var out []secretRef
	for _, p := range pop.Personas {
		if p.SecretRef != "" {
			out = append(out, secretRef{p.ID, p.SecretRef, p.Secret})
		}
		if p.CandidateSecretRef != "" {
			out = append(out, secretRef{p.ID, p.CandidateSecretRef, p.CandidateSecret})
		}
	}
	return out
}

// secretsBy maps the name each reference gives its secret (name returns it and
// whether the reference is one of those wanted) to the secret.
func (pop Population) secretsBy(name func(ref string) (string, bool)) (map[string]string, error) {
	vals := make(map[string]string)
	for _, sr := range pop.secretRefs() {
		n, ok := name(sr.ref)
		if !ok {
			continue
		}
		if sr.secret.IsZero() {
			return nil, fmt.Errorf("write secrets: %s: %s names no secret", sr.id, sr.ref)
		}
		if v, dup := vals[n]; dup && v != sr.secret.Reveal() {
			return nil, fmt.Errorf("write secrets: %s: %s names a secret another persona's reference gives another value", sr.id, sr.ref)
		}
		vals[n] = sr.secret.Reveal()
	}
	return vals, nil
}

// shellQuote quotes s for a POSIX shell: in single quotes, a quote in s closing
// them, escaped, and opening them again.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
