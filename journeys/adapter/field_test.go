package adapter

import (
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestFieldNormalisers reads a field as a path or a path with normalisers and
// brings values of another shape to the common one.
func TestFieldNormalisers(t *testing.T) {
	doc := map[string]any{"entity": map[string]any{"reference": "Patient/123"}, "who": "user:u-9", "type": "LOGON", "roles": "ROLE_Admin ROLE_Billing"}
	for _, tt := range []struct{ yaml, want string }{
		{`entity.reference`, "Patient/123"},
		{`{path: entity.reference, strip_prefix: "Patient/"}`, "123"},
		{`{path: who, match: "^user:(.+)$"}`, "u-9"},
		{`{path: who, match: "u-[0-9]+"}`, "u-9"},
		{`{path: who, match: "^nomatch:(.+)$"}`, "user:u-9"},
		{`{path: type, lower: true, map: {logon: login}}`, "login"},
		{`{path: type, map: {LOGON: login}}`, "login"},
	} {
		var f Field
		if err := yaml.Unmarshal([]byte(tt.yaml), &f); err != nil {
			t.Fatalf("%s: %v", tt.yaml, err)
		}
		if err := f.Check(); err != nil {
			t.Errorf("%s: Check: %v", tt.yaml, err)
		}
		if got, err := f.StringAt(doc); err != nil || got != tt.want {
			t.Errorf("%s: %q, %v; want %q", tt.yaml, got, err, tt.want)
		}
	}
	var roles Field
	if err := yaml.Unmarshal([]byte(`{path: roles, strip_prefix: ROLE_, lower: true}`), &roles); err != nil {
		t.Fatal(err)
	}
	if got, err := roles.StringsAt(doc); err != nil || strings.Join(got, ",") != "admin,billing" {
		t.Errorf("roles: %q, %v", got, err)
	}
	for _, bad := range []Field{{Path: "a", Match: "(a)(b)"}, {Path: "a", Match: "("}, {Path: "$[", Match: ""}} {
		if err := bad.Check(); err == nil {
			t.Errorf("%+v: Check passed; want an error", bad)
		}
	}
}
