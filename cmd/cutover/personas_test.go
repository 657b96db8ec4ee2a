package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cutover-dev/cutover/internal/exitcode"
	"github.com/cutover-dev/cutover/personas"
	"github.com/cutover-dev/cutover/stacks"
)

// TestPersonasCommands generates a population with env references, imports it back
// with the secrets in the environment, provisions it into the embedded candidate by
// SCIM, and scans every output for the secrets.
func TestPersonasCommands(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "accounts.jsonl")
	code, out, errs := cli(t, nil, "personas", "generate", "--count", "30", "--seed", "9", "--secret-ref", "env:PW_", "--out", file)
	if code != exitcode.Pass {
		t.Fatalf("generate = %d: %s %s", code, out, errs)
	}
	pop, err := personas.Generate(9, personas.GenerateOptions{Count: 30, LegacySHA256Share: 0.25, UnassignedShare: 0.2})
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	var environ []string
	for _, p := range pop.Personas {
		k := "PW_" + strings.ToUpper(strings.ReplaceAll(p.ID, "-", "_"))
		env[k] = p.Secret.Reveal()
		environ = append(environ, k+"="+p.Secret.Reveal())
	}
	outputs := []string{out, errs}

	// Import: without the variables every row fails, all reported at once.
	code, _, errs = cli(t, nil, "personas", "import", file)
	if code != exitcode.Usage || strings.Count(errs, "variable is not set") != 30 {
		t.Errorf("import without secrets = %d and %d unresolved rows; want 2 and 30:\n%s", code, strings.Count(errs, "variable is not set"), errs)
	}
	outputs = append(outputs, errs)
	var stdout, stderr strings.Builder
	st := &state{args: []string{"personas", "import", file}, stdout: &stdout, stderr: &stderr,
		getenv: func(k string) string { return env[k] }, environ: func() []string { return environ }}
	if code := run(context.Background(), st); code != exitcode.Pass || !strings.Contains(stdout.String(), "30 personas ok") {
		t.Errorf("import with secrets = %d, %q %q; want 0 and 30 ok", code, stdout.String(), stderr.String())
	}
	outputs = append(outputs, stdout.String(), stderr.String())

	// Provision into a candidate that does not know these personas yet.
	pair, err := stacks.Start(t.Context(), stacks.Options{Population: mustGenerate(t, 1, 12)})
	if err != nil {
		t.Fatal(err)
	}
	defer pair.Close()
	token := provisionerToken(t, pair)
	env["CUTOVER_SCIM_TOKEN"] = token
	stdout.Reset()
	stderr.Reset()
	st.args = []string{"personas", "provision", file, "--scim", pair.CandidateURL + "/scim/v2"}
	if code := run(context.Background(), st); code != exitcode.Pass || !strings.Contains(stdout.String(), "created ") {
		t.Fatalf("provision = %d, %q %q", code, stdout.String(), stderr.String())
	}
	outputs = append(outputs, stdout.String(), stderr.String())
	b, _ := os.ReadFile(file)
	outputs = append(outputs, string(b))
	for _, o := range outputs {
		for _, p := range pop.Personas {
			if strings.Contains(o, p.Secret.Reveal()) {
				t.Fatalf("an output of cutover personas contains the secret of %s", p.ID)
			}
		}
		if strings.Contains(o, token) {
			t.Fatal("an output of cutover personas contains the SCIM token")
		}
	}
}

func mustGenerate(t *testing.T, seed uint64, n int) personas.Population {
	t.Helper()
	pop, err := personas.Generate(seed, personas.GenerateOptions{Count: n})
	if err != nil {
		t.Fatal(err)
	}
	return pop
}

func provisionerToken(t *testing.T, pair *stacks.Pair) string {
	t.Helper()
	tok, err := pair.ProvisionerToken(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return tok.Reveal()
}
