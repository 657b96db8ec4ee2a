package personas_test

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cutover-dev/cutover/personas"
)

// awkwardPop is a generated population with secrets that quoting gets wrong:
// quotes, a dollar, a backslash, a backtick, a newline, spaces.
func awkwardPop(t *testing.T) personas.Population {
	t.Helper()
	pop, err := personas.Generate(11, personas.GenerateOptions{Count: 40})
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range []string{`it's "quoted"`, `$HOME and ${PATH}`, `back\slash\`, "back`tick`", "two\nlines", "  spaced  ", `'`, `''\''`} {
		pop.Personas[i].Secret = personas.NewSecret(s)
	}
	return pop
}

// TestWriteEnvSecretsRoundTrip writes the secrets of an env-referenced
// population, sources the file in a real POSIX shell, and imports the
// population's accounts file with the environment that gives: every persona
// gets its secret back, byte for byte.
func TestWriteEnvSecretsRoundTrip(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no POSIX shell")
	}
	pop := awkwardPop(t).WithSecretRefs(personas.EnvRef("PW_"))
	dir := t.TempDir()
	file := filepath.Join(dir, "pw.env")
	var b bytes.Buffer
	n, err := personas.WriteEnvSecrets(&b, pop)
	if err != nil || n != len(pop.Personas) {
		t.Fatalf("WriteEnvSecrets = %d, %v; want %d variables", n, err, len(pop.Personas))
	}
	if err := os.WriteFile(file, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	// The sourced variables, NUL-separated: values may hold newlines.
	cmd := exec.Command(sh, "-c", `set -a; . "$1"; set +a; exec env -0`, "sh", file)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("sourcing the secrets file: %v", err)
	}
	env := map[string]string{}
	for kv := range strings.SplitSeq(string(out), "\x00") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	if vars := pop.EnvVars(); len(vars) != len(pop.Personas) || !strings.HasPrefix(vars[0], "PW_") {
		t.Errorf("EnvVars = %d variables from %v; want one per persona", len(vars), vars[:1])
	}
	var accounts bytes.Buffer
	if err := personas.WriteJSONL(&accounts, pop); err != nil {
		t.Fatal(err)
	}
	got, err := personas.ReadJSONL(&accounts, "accounts.jsonl", &personas.Resolver{Env: env})
	if err != nil {
		t.Fatalf("import with the sourced variables: %v", err)
	}
	for i, p := range got.Personas {
		if p.Secret.Reveal() != pop.Personas[i].Secret.Reveal() {
			t.Errorf("%s: the sourced secret differs from the written one", p.ID)
		}
	}
}

// TestWriteFileSecretsRoundTrip writes the secrets file of a file-referenced
// population and imports its accounts file through it.
func TestWriteFileSecretsRoundTrip(t *testing.T) {
	pop := awkwardPop(t).WithSecretRefs(personas.FileRef("secrets.json"))
	var secrets, accounts bytes.Buffer
	n, err := personas.WriteFileSecrets(&secrets, pop, "secrets.json")
	if err != nil || n != len(pop.Personas) {
		t.Fatalf("WriteFileSecrets = %d, %v; want %d keys", n, err, len(pop.Personas))
	}
	if n, _ := personas.WriteFileSecrets(&bytes.Buffer{}, pop, "other.json"); n != 0 {
		t.Errorf("WriteFileSecrets of another file = %d keys; want none", n)
	}
	if err := personas.WriteCSV(&accounts, pop); err != nil {
		t.Fatal(err)
	}
	res := &personas.Resolver{ReadFile: func(p string) ([]byte, error) {
		if p != "secrets.json" {
			return nil, fs.ErrNotExist
		}
		return secrets.Bytes(), nil
	}}
	got, err := personas.ReadCSV(&accounts, "accounts.csv", res)
	if err != nil {
		t.Fatalf("import through the secrets file: %v", err)
	}
	for i, p := range got.Personas {
		if p.Secret.Reveal() != pop.Personas[i].Secret.Reveal() {
			t.Errorf("%s: the secret read back differs from the written one", p.ID)
		}
	}
}

// TestWriteSecretsConflict: one variable named for two different secrets is
// an error that quotes neither.
func TestWriteSecretsConflict(t *testing.T) {
	pop := awkwardPop(t).WithSecretRefs(func(personas.Persona) string { return "env:PW_ALL" })
	_, err := personas.WriteEnvSecrets(&bytes.Buffer{}, pop)
	if err == nil || !strings.Contains(err.Error(), "env:PW_ALL") {
		t.Fatalf("WriteEnvSecrets of one variable for every persona = %v; want an error naming it", err)
	}
	for _, p := range pop.Personas {
		// (A secret of one or two characters, a quote, is in any sentence.)
		if len(p.Secret.Reveal()) > 4 && strings.Contains(err.Error(), p.Secret.Reveal()) {
			t.Fatalf("the error quotes the secret of %s", p.ID)
		}
	}
}
