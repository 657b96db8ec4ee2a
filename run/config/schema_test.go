package config

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"
)

var updateReference = flag.Bool("update", false, "rewrite run/config/schema.json and docs/config.md from the configuration types")

// TestConfigReference: the embedded JSON Schema and docs/config.md are what
// the configuration types and their comments say today.
func TestConfigReference(t *testing.T) {
	schema, err := generateSchema(moduleRoot())
	if err != nil {
		t.Fatal(err)
	}
	ref, err := configReference(schema)
	if err != nil {
		t.Fatal(err)
	}
	docPath := filepath.Join(moduleRoot(), "docs", "config.md")
	if *updateReference {
		if err := os.WriteFile("schema.json", schema, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(docPath), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(docPath, ref, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if !bytes.Equal(schema, Schema()) {
		t.Error("run/config/schema.json is not what the configuration types say: go test ./run/config -run TestConfigReference -update")
	}
	committed, err := os.ReadFile(docPath)
	if err != nil || !bytes.Equal(committed, ref) {
		t.Errorf("docs/config.md is not what the configuration types say (%v): go test ./run/config -run TestConfigReference -update", err)
	}
	for _, key := range []string{"`stacks.candidate.oidc.issuer`", "`stacks.legacy.legacy.service.scheme`", "`probes[].when`", "`stacks.candidate.expect_lifetime`", "`load.profile.type`"} {
		if !bytes.Contains(ref, []byte(key)) {
			t.Errorf("docs/config.md lacks %s", key)
		}
	}
}

// compiledSchema compiles the embedded schema.
func compiledSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(Schema()))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("rehearsal.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("rehearsal.json")
	if err != nil {
		t.Fatalf("the schema does not compile: %v", err)
	}
	return s
}

// instance reads a YAML document as the JSON value the schema judges.
func instance(t *testing.T, y []byte) any {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(y, &v); err != nil {
		t.Fatalf("yaml: %v", err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return inst
}

// TestSchemaAcceptsTheExamples: every rehearsal file shipped with the project
// passes the schema.
func TestSchemaAcceptsTheExamples(t *testing.T) {
	s := compiledSchema(t)
	files, _ := filepath.Glob(filepath.Join(moduleRoot(), "examples", "*.yaml"))
	more, _ := filepath.Glob(filepath.Join(moduleRoot(), "examples", "*", "rehearsal.yaml"))
	files = append(files, more...)
	if len(files) < 3 {
		t.Fatalf("found %d example files", len(files))
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Validate(instance(t, b)); err != nil {
			t.Errorf("%s: %v", filepath.Base(filepath.Dir(f))+"/"+filepath.Base(f), err)
		}
	}
}

// TestSchemaAcceptsWhatTheLoaderReads: values written in the other ways the
// loader reads them pass too.
func TestSchemaAcceptsWhatTheLoaderReads(t *testing.T) {
	s := compiledSchema(t)
	demo, err := os.ReadFile(filepath.Join(moduleRoot(), "examples", "demo.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []struct{ name, old, new string }{
		{"a number from the environment", "  max_rate: 200", "  max_rate: ${MAX_RATE}"},
		{"a number where text is read", "      client_id: cutover-harness", "      client_id: 12345"},
		{"a duration without a leading zero", "lockout: {attempts: 5, duration: 15m}", "lockout: {attempts: 5, duration: .5s}"},
		{"a zero duration", "  max_delay: 250ms", "  max_delay: 0"},
	} {
		if !strings.Contains(string(demo), v.old) {
			t.Fatalf("%s: the demo file has no %q", v.name, v.old)
		}
		if err := s.Validate(instance(t, []byte(strings.Replace(string(demo), v.old, v.new, 1)))); err != nil {
			t.Errorf("%s: %v", v.name, err)
		}
	}
}

// TestSchemaRejectsMistakes: each of a table of mistakes in the demo file is
// refused by the schema, as it is by the loader.
func TestSchemaRejectsMistakes(t *testing.T) {
	s := compiledSchema(t)
	demo, err := os.ReadFile(filepath.Join(moduleRoot(), "examples", "demo.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(instance(t, demo)); err != nil {
		t.Fatalf("the demo file itself: %v", err)
	}
	for _, m := range []struct{ name, old, new string }{
		{"unknown top-level key", "seed: 42", "seed: 42\ncolour: blue"},
		{"seed not a number", "seed: 42", "seed: forty-two"},
		{"misspelt side key", "  allow_hosts:", "  allow_host:"},
		{"unknown oidc key", "      client_id: cutover-harness", "      client_id: cutover-harness\n      prompt: consent"},
		{"scopes not a list", "      scopes: [openid, profile, offline_access]", "      scopes: openid profile"},
		{"literal secret", "client_secret: {env: CUTOVER_INTROSPECTION_SECRET}", "client_secret: hunter2-literal"},
		{"secret with both refs", "client_secret: {env: CUTOVER_INTROSPECTION_SECRET}", "client_secret: {env: A, file: b}"},
		{"secret with a wrong ref key", "client_secret: {env: CUTOVER_INTROSPECTION_SECRET}", "client_secret: {environment: A}"},
		{"lockout attempts not a number", "lockout: {attempts: 5, duration: 15m}", "lockout: {attempts: five, duration: 15m}"},
		{"lockout duration without unit", "lockout: {attempts: 5, duration: 15m}", "lockout: {attempts: 5, duration: 15}"},
		{"unknown lockout key", "lockout: {attempts: 5, duration: 15m}", "lockout: {attempts: 5, duration: 15m, window: 1m}"},
		{"journey steps not a list", "    steps: [login, probes, refresh, logout, audit]", "    steps: login"},
		{"unknown journey key", "    steps: [login, probes, refresh, logout, audit]", "    steps: [login, probes, refresh, logout, audit]\n    repeat: 2"},
		{"probe expect not text", "expect: allow}", "expect: [allow]}"},
		{"unknown probe key", "expect: allow}", "expect: allow, note: x}"},
		{"rate not a number", "rate: 5}", "rate: fast}"},
		{"unknown load key", "  pairing:", "  concurrency: 4\n  pairing:"},
		{"drain without unit", "  drain:", "  drain: 30\n  old_drain:"},
		{"threshold ratio as text", "  latency_ratio: 1.25", "  latency_ratio: high"},
		{"fail_on not a list", "  fail_on: [critical, high, medium]", "  fail_on: critical"},
		{"unknown threshold key", "  latency_ratio: 1.25", "  latency_ratio: 1.25\n  latency_p99: 500ms"},
		{"audit feed as a number", `feed: "GET /api/audit?since={since}&actor={actor}"`, "feed: 42"},
	} {
		t.Run(m.name, func(t *testing.T) {
			if !strings.Contains(string(demo), m.old) {
				t.Fatalf("the demo file has no %q to change", m.old)
			}
			bad := strings.Replace(string(demo), m.old, m.new, 1)
			var v any
			if err := yaml.Unmarshal([]byte(bad), &v); err != nil {
				t.Fatalf("the mistake is not even YAML: %v", err)
			}
			if err := s.Validate(instance(t, []byte(bad))); err == nil {
				t.Errorf("the schema accepts the file with %s", m.name)
			}
		})
	}
}
