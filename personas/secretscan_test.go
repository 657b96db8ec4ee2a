package personas_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cutover-dev/cutover/personas"
)

// outputs collects every text the functions of the package produce in a test.
type outputs map[string]string

func (o outputs) add(name string, text string) { o[name] += text }

func (o outputs) err(name string, err error) {
	if err != nil {
		o[name] += err.Error()
	}
}

// TestNoSecretInOutputs scans every output of the package (formatting, JSON and
// logs of personas, exports, import and validation errors, parity drifts, SCIM
// errors) for the secret values of a generated population and finds none, even
// where the inputs hold the secrets inline or pasted into the wrong fields.
func TestNoSecretInOutputs(t *testing.T) {
	pop, err := personas.Generate(21, personas.GenerateOptions{Count: 300, UnassignedShare: 0.1, LegacySHA256Share: 0.3})
	if err != nil {
		t.Fatal(err)
	}
	out := outputs{}

	// Formatting, JSON and logs of a population and its personas.
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
		out.add("fmt "+verb, fmt.Sprintf(verb, pop))
		out.add("fmt "+verb, fmt.Sprintf(verb, pop.Personas[0]))
		out.add("fmt "+verb, fmt.Sprintf(verb, &pop.Personas[1]))
	}
	j, _ := json.Marshal(pop)
	out.add("json", string(j))
	var logs bytes.Buffer
	for _, h := range []slog.Handler{slog.NewJSONHandler(&logs, nil), slog.NewTextHandler(&logs, nil)} {
		l := slog.New(h)
		l.Info("population", "pop", pop)
		for _, p := range pop.Personas[:20] {
			l.Info("persona", "persona", p, "secret", p.Secret)
		}
	}
	out.add("slog", logs.String())

	// Exports, with and without references, and of secrets pasted into attributes.
	pasted := personas.Population{Personas: append([]personas.Persona(nil), pop.Personas...)}
	for i := range pasted.Personas {
		s := pasted.Personas[i].Secret.Reveal()
		pasted.Personas[i].Attributes = map[string]string{"site": s, s: "north"}
	}
	for name, p := range map[string]personas.Population{
		"no refs":           pop,
		"env refs":          pop.WithSecretRefs(personas.EnvRef("CUTOVER_")),
		"file refs":         pop.WithSecretRefs(personas.FileRef("secrets.json")),
		"pasted attributes": pasted.WithSecretRefs(personas.EnvRef("CUTOVER_")),
	} {
		var csv, jsonl bytes.Buffer
		out.err("WriteCSV "+name, personas.WriteCSV(&csv, p))
		out.err("WriteJSONL "+name, personas.WriteJSONL(&jsonl, p))
		out.add("WriteCSV "+name, csv.String())
		out.add("WriteJSONL "+name, jsonl.String())
	}

	for _, w := range []string{"WriteCSV", "WriteJSONL"} {
		if got := out[w+" pasted attributes"]; !strings.Contains(got, "attributes must not hold secrets") {
			t.Errorf("%s of secrets pasted into attributes = %.200q; want refused", w, got)
		}
	}

	// Import errors of files with inline secrets, also pasted into other fields.
	var csvIn, jsonlIn strings.Builder
	csvIn.WriteString("id,kind,username,password,wave,hash_scheme,email,birth_date,attr.site\n")
	for _, p := range pop.Personas {
		s := p.Secret.Reveal()
		fmt.Fprintf(&csvIn, "%s,%s,%q,%q,%q,%q,%q,%q,%q\n", p.ID, p.Kind, s+" x", s, s, s, s, s, s)
		line, _ := json.Marshal(map[string]any{"id": p.ID, "kind": p.Kind, "username": s + " x", "password": s,
			"wave": s, "hash_scheme": s, "email": s, "birth_date": s, s: s,
			"attributes": map[string]any{"site": s, s: s, "n": 1}})
		jsonlIn.Write(append(line, '\n'))
	}
	_, err = personas.ReadCSV(strings.NewReader(csvIn.String()), "users.csv", nil)
	out.err("ReadCSV", err)
	_, err = personas.ReadJSONL(strings.NewReader(jsonlIn.String()), "users.jsonl", nil)
	out.err("ReadJSONL", err)
	if !strings.Contains(out["ReadCSV"], "[redacted]") || !strings.Contains(out["ReadJSONL"], "[redacted]") {
		t.Errorf("import errors mention no [redacted] value; want the pasted secrets redacted")
	}

	// Validation errors of a population with secrets pasted into other fields.
	bad := personas.Population{Personas: append([]personas.Persona(nil), pop.Personas...)}
	for i := range bad.Personas {
		s := bad.Personas[i].Secret.Reveal()
		bad.Personas[i].Email, bad.Personas[i].Cohort.HashScheme, bad.Personas[i].Username = s, s, s+" "
		bad.Personas[i].Attributes = map[string]string{"site": s, s: s, s + " x": "north"}
	}
	out.err("Validate", bad.Validate())

	// Bulk import files of every hash (the hashes, never the passwords), the
	// messages of an export refused, the warnings of inline secrets.
	for _, opt := range []personas.ExportOptions{
		{BcryptCost: 4}, {Hash: personas.HashPBKDF2SHA256, PBKDF2Iterations: 1}, {Hash: personas.HashCohort, BcryptCost: 4},
		{Format: personas.ExportKeycloak, PBKDF2Iterations: 1},
	} {
		var file bytes.Buffer
		res, err := personas.Export(&file, pop, opt)
		out.err("Export", err)
		out.add("Export "+string(opt.Format)+" "+opt.Hash, file.String()+fmt.Sprintf("%+v", res))
	}
	_, err = personas.Export(&bytes.Buffer{}, bad, personas.ExportOptions{})
	out.err("Export refused", err)
	inline := filepath.Join(t.TempDir(), "users.csv")
	if err := os.WriteFile(inline, []byte(csvIn.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	rows, err := personas.InlineSecrets(inline)
	out.err("InlineSecrets", err)
	for _, r := range rows {
		out.add("InlineSecrets", r.String()+fmt.Sprintf("%+v", r))
	}
	if len(rows) != len(pop.Personas) {
		t.Errorf("InlineSecrets = %d rows; want all %d", len(rows), len(pop.Personas))
	}

	// Parity drifts.
	var drifts []personas.Drift
	drifts = personas.Parity(pop, nil, usersOf(pop, func(string) []string { return []string{"x"} }), candidateRoles)
	for _, d := range drifts {
		out.add("Drift", d.String())
	}
	j, _ = json.Marshal(drifts)
	out.add("Drift json", string(j))

	// SCIM errors of a provider that echoes every rejected request, password included.
	fake := &scimServer{token: "prov-token-0123456789", failUser: "*"}
	srv := newSCIMServer(t, fake)
	c := &personas.SCIMClient{BaseURL: srv.URL + "/scim/v2", Token: personas.NewSecret("prov-token-0123456789"), HTTP: srv.Client(), SendPassword: true}
	res, err := c.Provision(context.Background(), pop)
	out.err("Provision", err)
	out.add("Provision", fmt.Sprintf("%+v", res))
	if !strings.Contains(out["Provision"], `"password":"[redacted]"`) {
		t.Errorf("Provision errors = %.200q...; want echoed passwords redacted", out["Provision"])
	}

	// The scan itself: every secret, in every output. A canary proves it can see one.
	leaks := func(text string) []string {
		var ids []string
		for _, p := range pop.Personas {
			if strings.Contains(text, p.Secret.Reveal()) {
				ids = append(ids, p.ID)
			}
		}
		return ids
	}
	if got := leaks("canary " + pop.Personas[5].Secret.Reveal()); len(got) != 1 || got[0] != pop.Personas[5].ID {
		t.Fatalf("scan of a canary = %v; want [%s]", got, pop.Personas[5].ID)
	}
	scanned := 0
	for name, text := range out {
		if ids := leaks(text); len(ids) > 0 {
			t.Errorf("output %q contains the secrets of %v", name, ids)
		}
		scanned += len(text)
	}
	t.Logf("scanned %d outputs, %d bytes, for %d secrets", len(out), scanned, len(pop.Personas))
}
