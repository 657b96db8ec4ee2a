package adapter

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestRequestTemplate(t *testing.T) {
	var ts map[string]RequestTemplate
	src := `
short: "POST /api/patients/{id}/notes"
bare: /api/me
full: {method: POST, path: "/api/breakglass", body: {patient_id: "{patient}", reason: "{reason}"}}
form: {method: POST, path: /e, encoding: form, body: {chart: "{patient}", why: "{reason}"}}
query: "GET /audit?since={since}&actor={actor}"
`
	if err := yaml.Unmarshal([]byte(src), &ts); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"id": "p 1/2", "patient": `p"1`, "reason": "", "since": "2026-01-01T00:00:00+01:00", "actor": "a&b"}
	tests := []struct {
		name, method, path, body, ctype string
	}{
		{"short", "POST", "/api/patients/p%201%2F2/notes", "", ""},
		{"bare", "GET", "/api/me", "", ""},
		{"full", "POST", "/api/breakglass", `{"patient_id":"p\"1"}`, "application/json"},
		{"form", "POST", "/e", "chart=p%221", "application/x-www-form-urlencoded"},
		{"query", "GET", "/audit?since=2026-01-01T00%3A00%3A00%2B01%3A00&actor=a%26b", "", ""},
	}
	for _, tt := range tests {
		r, err := ts[tt.name].Expand(vars)
		if err != nil || r.Method != tt.method || r.Path != tt.path || string(r.Body) != tt.body || r.ContentType != tt.ctype {
			t.Errorf("%s: Expand = %s %s %q %q, %v; want %s %s %q %q", tt.name, r.Method, r.Path, r.Body, r.ContentType, err, tt.method, tt.path, tt.body, tt.ctype)
		}
	}
	if _, err := ts["full"].Expand(map[string]string{"patient": "x"}); err == nil || !strings.Contains(err.Error(), "unknown placeholder {reason}") {
		t.Errorf("Expand without reason = %v; want the missing placeholder named", err)
	}
	if got := ts["full"].Placeholders(); strings.Join(got, ",") != "patient,reason" {
		t.Errorf("Placeholders = %v", got)
	}
	for _, bad := range []RequestTemplate{{Path: "api"}, {Path: "/x", Method: "FETCH"}, {Path: "/x", Encoding: "xml"}} {
		if bad.Check() == nil {
			t.Errorf("Check(%+v) = nil; want an error", bad)
		}
	}
}

func FuzzRequestTemplateExpand(f *testing.F) {
	f.Add("/api/patients/{id}/notes?x={id}", "p1", "text")
	f.Add("{id}", "../../admin", "{id}")
	f.Fuzz(func(t *testing.T, path, id, body string) {
		r, err := RequestTemplate{Method: "POST", Path: path, Body: map[string]string{"t": body}}.Expand(map[string]string{"id": id})
		if err != nil {
			return
		}
		var m map[string]string
		if len(r.Body) > 0 && json.Unmarshal(r.Body, &m) != nil {
			t.Fatalf("body %q is not JSON", r.Body)
		}
		if strings.Contains(id, "/") && strings.Count(path, "{id}") > 0 && !strings.Contains(path, "?") && strings.Contains(r.Path, id) {
			t.Fatalf("path %q carries the id %q unescaped", r.Path, id)
		}
	})
}

func TestSecretRef(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "key"), []byte("file-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := func(k string) string { return map[string]string{"SET": "env-secret"}[k] }
	tests := []struct {
		ref     SecretRef
		want    string
		wantErr string
	}{
		{SecretRef{Env: "SET"}, "env-secret", ""},
		{SecretRef{File: "key"}, "file-secret", ""},
		{SecretRef{Env: "UNSET"}, "", "environment variable UNSET is not set"},
		{SecretRef{File: "nope"}, "", "no such file or directory"},
		{SecretRef{Env: "SET", File: "key"}, "", "set env or file, not both"},
		{SecretRef{}, "", "names neither env nor file"},
	}
	for _, tt := range tests {
		r := tt.ref
		err := r.Resolve(env, dir)
		switch {
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("Resolve(%v) = %v; want %q", tt.ref, err, tt.wantErr)
		case tt.wantErr == "" && (err != nil || r.Secret().Reveal() != tt.want):
			t.Errorf("Resolve(%v) = %v; want the secret", tt.ref, err)
		}
		if err != nil && strings.Contains(err.Error(), "secret") && strings.Contains(err.Error(), "env-secret") {
			t.Errorf("error leaks the secret: %v", err)
		}
	}
	r := SecretRef{Env: "SET"}
	_ = r.Resolve(env, dir)
	for _, s := range []string{r.String(), r.Secret().String()} {
		if strings.Contains(s, "env-secret") {
			t.Errorf("%q prints the secret", s)
		}
	}
}

// TestPlaceholderFormats: a time placeholder in the format the stack wants,
// dotted names for persona attributes, and formats checked before a run.
func TestPlaceholderFormats(t *testing.T) {
	since := "2026-12-06T10:00:00.5Z"
	for tmpl, want := range map[string]string{
		"GET /audit?since={since}":          "/audit?since=2026-12-06T10%3A00%3A00.5Z",
		"GET /audit?since={since:unixms}":   "/audit?since=1796551200500",
		"GET /audit?since={since:unix}":     "/audit?since=1796551200",
		"GET /fhir/Patient/{attr.mrn}":      "/fhir/Patient/MRN-0042",
		"GET /audit/{actor}?t={since:unix}": "/audit/u1?t=1796551200",
	} {
		var rt RequestTemplate
		if err := rt.UnmarshalYAML(func(v any) error { *(v.(*string)) = tmpl; return nil }); err != nil {
			t.Fatal(err)
		}
		if err := rt.Check(); err != nil {
			t.Errorf("%s: Check: %v", tmpl, err)
		}
		r, err := rt.Expand(map[string]string{"since": since, "attr.mrn": "MRN-0042", "actor": "u1"})
		if err != nil || r.Path != want {
			t.Errorf("%s: %q, %v; want %q", tmpl, r.Path, err, want)
		}
	}
	bad := RequestTemplate{Method: "GET", Path: "/audit?since={since:epoch}"}
	if err := bad.Check(); err == nil || !strings.Contains(err.Error(), "unixms") {
		t.Errorf("unknown format: Check %v; want the known formats named", err)
	}
	notTime := RequestTemplate{Method: "GET", Path: "/x/{actor:unix}"}
	if _, err := notTime.Expand(map[string]string{"actor": "u1"}); err == nil || !strings.Contains(err.Error(), "applies to a time") {
		t.Errorf("format of a non-time: %v", err)
	}
	missing := RequestTemplate{Method: "GET", Path: "/fhir/Patient/{attr.mrn}"}
	if _, err := missing.Expand(map[string]string{"id": "p1"}); err == nil || !strings.Contains(err.Error(), "{attr.mrn}") {
		t.Errorf("a persona without the attribute: %v", err)
	}
}
