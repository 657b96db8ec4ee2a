package config

import (
	"strings"
	"testing"
)

// TestUnknownKeyInUserWords: a misspelt key is named with the nearest real one,
// and a value of the wrong kind with the kind it should be, never with a Go type.
func TestUnknownKeyInUserWords(t *testing.T) {
	for in, want := range map[string]string{
		"65: field login_identifer not found in type oidc.Config": "65: unknown key login_identifer (did you mean login_identifier?)",
		"12: field promt not found in type oidc.Config":           "12: unknown key promt",
		"3: field zzzzzzzzzz not found in type config.File":       "3: unknown key zzzzzzzzzz",
		"7: cannot unmarshal !!str `x` into int":                  "7: the value is not a whole number",
		"9: cannot unmarshal !!str `soon` into time.Duration":     "9: the value is not a duration such as 30s",
		"4: cannot unmarshal !!map into []string":                 "4: a mapping where a list is expected",
	} {
		if got := unknownKey(in); got != want {
			t.Errorf("unknownKey(%q) = %q; want %q", in, got, want)
		}
	}
}

// TestEveryProblemInOnePass: an unknown key (inside a normaliser mapping too),
// a duration without its unit, a value of the wrong kind and a value the
// checks refuse are all reported at once, each with its YAML path and line.
func TestEveryProblemInOnePass(t *testing.T) {
	demo := string(readDemo(t))
	for _, r := range []struct{ old, new string }{
		{"seed: 42", "seed: forty-two"},
		{"lockout: {attempts: 5, duration: 15m}", "lockout: {attempts: 5, duration: 15}"},
		{"      roles_claim: roles", "      roles_claim: roles\n      roles_fromm: [introspection]"},
		{`        feed: "GET /api/audit?since={since}&actor={actor}"`, `        feed: "GET /api/audit?since={since}&actor={actor}"` + "\n        subject: {path: subject, strip_prefx: \"Patient/\"}"},
		{"  pairing: simultaneous", "  pairing: sometimes"},
	} {
		if !strings.Contains(demo, r.old) {
			t.Fatalf("the demo file has no %q", r.old)
		}
		demo = strings.Replace(demo, r.old, r.new, 1)
	}
	_, err := Parse("demo.yaml", []byte(demo), demoEnv)
	if err == nil {
		t.Fatal("Parse accepted the file")
	}
	for _, want := range []string{
		"seed: the value is not a whole number",
		"stacks.legacy.lockout.duration: 15 has no unit: add one (15s",
		"stacks.candidate.oidc.roles_fromm: unknown key (did you mean roles_from?)",
		".audit.subject.strip_prefx: unknown key (did you mean strip_prefix?)",
		"load.pairing: is \"sometimes\"",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Parse error lacks %q; got:\n%v", want, err)
		}
	}
}

// TestProbeWhenFactsChecked: a probe row narrowed by a fact no persona has is
// refused, naming the facts there are; a break_glass fact must be a boolean.
func TestProbeWhenFactsChecked(t *testing.T) {
	demo := strings.Replace(string(readDemo(t)),
		`  - {kind: patient, action: read, resource: "record:self", expect: allow}`,
		`  - {kind: patient, action: read, resource: "record:self", expect: allow, when: {sitee: north}}`+"\n"+
			`  - {kind: clinician, action: read, resource: "record:self", expect: allow, when: {break_glass: maybe}}`, 1)
	_, err := Parse("demo.yaml", []byte(demo), demoEnv)
	if err == nil || !strings.Contains(err.Error(), "probes.0.when.sitee: is not a fact of a persona (permission, role") ||
		!strings.Contains(err.Error(), `probes.1.when.break_glass: is "maybe"; want true or false`) {
		t.Errorf("Parse = %v; want both when facts refused", err)
	}
}
