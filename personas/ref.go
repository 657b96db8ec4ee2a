package personas

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"unicode"
)

// Prefixes of the password column (see the package documentation).
const (
	refEnv    = "env:"
	refFile   = "file:"
	refInline = "inline:"
)

// SecretResolver turns a secret reference ("env:VAR", "file:PATH#KEY" or
// "file:PATH") into the secret it names. Errors must not contain the secret.
// Implementations must be safe for concurrent use.
type SecretResolver interface {
	Resolve(ref string) (Secret, error)
}

// ErrSecretNotFound is the error a Resolver wraps when a reference names a variable,
// file or key that does not exist.
var ErrSecretNotFound = errors.New("secret not found")

// Resolver is a SecretResolver over explicit sources, so that a caller decides what
// an import may read: the process environment is not consulted unless the caller
// passes it in Env. It is safe for concurrent use and reads each file once.
type Resolver struct {
	// Env maps environment variable names to values, for "env:" references.
	Env map[string]string
	// Getenv, when set, looks up a variable Env does not hold (an injected
	// environment, not necessarily the process's).
	Getenv func(name string) (string, bool)
	// ReadFile reads a secrets file, for "file:" references (os.ReadFile in a CLI).
	// When nil, file references are refused.
	ReadFile func(path string) ([]byte, error)

	mu    sync.Mutex
	files map[string]secretsFile
}

// secretsFile is a file read for references: its content, and its keys once it has
// been decoded as a JSON object.
type secretsFile struct {
	data []byte
	keys map[string]string
	err  error // from decoding keys
}

var _ SecretResolver = (*Resolver)(nil)

// Resolve implements SecretResolver.
func (r *Resolver) Resolve(ref string) (Secret, error) {
	switch {
	case strings.HasPrefix(ref, refEnv):
		name := strings.TrimPrefix(ref, refEnv)
		if !validEnvName(name) {
			return Secret{}, fmt.Errorf("%s: want a variable name of letters, digits and '_', not starting with a digit", ref)
		}
		v, ok := r.Env[name]
		if !ok && r.Getenv != nil {
			v, ok = r.Getenv(name)
		}
		if !ok {
			return Secret{}, fmt.Errorf("%s: variable is not set: %w", ref, ErrSecretNotFound)
		}
		if v == "" {
			return Secret{}, fmt.Errorf("%s: variable is empty", ref)
		}
		return NewSecret(v), nil
	case strings.HasPrefix(ref, refFile):
		return r.resolveFile(ref)
	}
	return Secret{}, fmt.Errorf("%q is not an env: or file: reference", ref)
}

func (r *Resolver) resolveFile(ref string) (Secret, error) {
	path, key, keyed := strings.Cut(strings.TrimPrefix(ref, refFile), "#")
	if path == "" {
		return Secret{}, fmt.Errorf("%s: want file:PATH#KEY or file:PATH", ref)
	}
	if keyed && key == "" {
		return Secret{}, fmt.Errorf("%s: empty key after '#'", ref)
	}
	if r.ReadFile == nil {
		return Secret{}, fmt.Errorf("%s: file references are not enabled", ref)
	}
	f, err := r.read(path, keyed)
	if err != nil {
		return Secret{}, fmt.Errorf("%s: %w", ref, err)
	}
	var v string
	if keyed {
		if f.err != nil {
			return Secret{}, fmt.Errorf("%s: %w", ref, f.err)
		}
		var ok bool
		if v, ok = f.keys[key]; !ok {
			return Secret{}, fmt.Errorf("%s: no key %q in %s: %w", ref, key, path, ErrSecretNotFound)
		}
	} else {
		v = strings.TrimSuffix(strings.TrimSuffix(string(f.data), "\n"), "\r")
	}
	if v == "" {
		return Secret{}, fmt.Errorf("%s: secret is empty", ref)
	}
	return NewSecret(v), nil
}

// read returns the file at path, reading it once per Resolver and, when keyed,
// decoding its keys once.
func (r *Resolver) read(path string, keyed bool) (secretsFile, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f, ok := r.files[path]
	if !ok {
		data, err := r.ReadFile(path)
		if err != nil {
			return secretsFile{}, err
		}
		f.data = data
	}
	if keyed && f.keys == nil && f.err == nil {
		// Decode into strings only, and keep the decoder's error out: it may
		// quote content.
		if err := json.Unmarshal(f.data, &f.keys); err != nil || f.keys == nil {
			f.keys, f.err = nil, fmt.Errorf("%s is not a JSON object of strings", path)
		}
	}
	if r.files == nil {
		r.files = make(map[string]secretsFile)
	}
	r.files[path] = f
	return f, nil
}

// isRef reports whether a password column value is a reference, not a value.
func isRef(v string) bool { return strings.HasPrefix(v, refEnv) || strings.HasPrefix(v, refFile) }

// checkRef returns what is wrong with the syntax of a reference an export is about
// to write, or "". It never returns the reference itself, which may be a mistake
// that holds a secret.
func checkRef(ref string) string {
	switch {
	case strings.HasPrefix(ref, refEnv):
		if !validEnvName(strings.TrimPrefix(ref, refEnv)) {
			return "env: reference with an invalid variable name"
		}
	case strings.HasPrefix(ref, refFile):
		path, key, keyed := strings.Cut(strings.TrimPrefix(ref, refFile), "#")
		if path == "" || keyed && key == "" {
			return "file: reference without a path or key"
		}
	default:
		return "not an env: or file: reference"
	}
	if strings.ContainsFunc(ref, unicode.IsControl) {
		return "reference with control characters"
	}
	return ""
}

func validEnvName(s string) bool {
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// EnvRef returns a reference maker for WithSecretRefs: persona "patient-00001" gets
// "env:" + prefix + "PATIENT_00001" (ASCII letters upper-cased, anything but a letter
// or digit becomes '_').
func EnvRef(prefix string) func(Persona) string {
	return func(p Persona) string {
		return refEnv + prefix + strings.Map(func(r rune) rune {
			switch {
			case r >= 'a' && r <= 'z':
				return r - 'a' + 'A'
			case r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
				return r
			}
			return '_'
		}, p.ID)
	}
}

// FileRef returns a reference maker for WithSecretRefs: every persona gets
// "file:" + path + "#" + its ID, a key of one JSON secrets file.
func FileRef(path string) func(Persona) string {
	return func(p Persona) string { return refFile + path + "#" + p.ID }
}

// WithSecretRefs returns a copy of pop in which every persona without a SecretRef
// gets ref(p), so that an export of it can be imported again once the referenced
// variables or file hold the secrets. pop itself is not modified.
func (pop Population) WithSecretRefs(ref func(Persona) string) Population {
	out := Population{Seed: pop.Seed, Personas: slices.Clone(pop.Personas)}
	for i := range out.Personas {
		if out.Personas[i].SecretRef == "" {
			out.Personas[i].SecretRef = ref(out.Personas[i])
		}
	}
	return out
}

// FilesBeside reads the files of file: references relative to dir, the folder
// of the accounts file that names them (absolute paths as they are): the same
// reference reads the same file whoever reads it, whatever the working
// directory.
func FilesBeside(dir string) func(string) ([]byte, error) {
	return func(p string) ([]byte, error) {
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		return os.ReadFile(p)
	}
}
