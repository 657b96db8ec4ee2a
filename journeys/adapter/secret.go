package adapter

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/cutover-dev/cutover/personas"
)

// SecretRef names where a secret (a client secret, an API key) comes from:
// {env: VAR} or {file: PATH}. Rehearsal files hold references, never secrets. A
// reference is resolved once, when the configuration is read.
type SecretRef struct {
	Env  string `yaml:"env"`
	File string `yaml:"file"`

	value personas.Secret
}

// UnmarshalYAML reads {env: VAR} or {file: PATH}. A plain value where a
// reference belongs is refused without being repeated (not even its start: it
// is a secret), with what to write instead.
func (r *SecretRef) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: a secret is written as a reference, never as its value: "+
			"{env: VAR} (an environment variable) or {file: PATH} (a file holding it, relative to this file)", n.Line)}}
	}
	type plain SecretRef
	return n.Decode((*plain)(r))
}

// Resolve reads the secret: env looks a variable up (the injected environment, not
// the process's), relative file paths are taken from dir. Errors name the
// reference, never the secret.
func (r *SecretRef) Resolve(env func(string) string, dir string) error {
	switch {
	case r.Env != "" && r.File != "":
		return errors.New("set env or file, not both")
	case r.Env != "":
		v := env(r.Env)
		if v == "" {
			return fmt.Errorf("environment variable %s is not set", r.Env)
		}
		r.value = personas.NewSecret(v)
	case r.File != "":
		path := r.File
		if !filepath.IsAbs(path) {
			path = filepath.Join(dir, path)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			var pe *os.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			return fmt.Errorf("secret file %s: %v", path, err)
		}
		v := strings.TrimRight(string(b), "\r\n")
		if v == "" {
			return fmt.Errorf("secret file %s is empty", path)
		}
		r.value = personas.NewSecret(v)
	default:
		return errors.New("names neither env nor file")
	}
	return nil
}

// Secret returns the resolved secret (empty before Resolve).
func (r SecretRef) Secret() personas.Secret { return r.value }

// String describes the reference, never the secret.
func (r SecretRef) String() string {
	if r.Env != "" {
		return "env:" + r.Env
	}
	return "file:" + r.File
}

// NewSecretRef returns a resolved reference holding s, for adapters built in code.
func NewSecretRef(s personas.Secret) SecretRef { return SecretRef{Env: "(code)", value: s} }
