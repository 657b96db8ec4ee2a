package config

import _ "embed"

// schemaJSON is the JSON Schema (2020-12) of the rehearsal file, generated from
// the configuration types and their comments (schema_test.go keeps it, and
// docs/config.md, in step with the code: `go test ./run/config -run
// TestConfigReference -update` rewrites both).
//
//go:embed schema.json
var schemaJSON []byte

// Schema returns the JSON Schema of the rehearsal file, for editors (YAML
// language servers read it through `# yaml-language-server: $schema=PATH`) and
// for checks outside cutover.
func Schema() []byte { return schemaJSON }
