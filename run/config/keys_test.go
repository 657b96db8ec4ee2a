package config

import "testing"

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
