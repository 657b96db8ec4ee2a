package config

import "testing"

// TestUnknownKeyInUserWords: a misspelt key is named with the nearest real one,
// never with a Go type.
func TestUnknownKeyInUserWords(t *testing.T) {
	for in, want := range map[string]string{
		"65: field login_identifer not found in type oidc.Config": "65: unknown key login_identifer (did you mean login_identifier?)",
		"12: field promt not found in type oidc.Config":           "12: unknown key promt",
		"3: field zzzzzzzzzz not found in type config.File":       "3: unknown key zzzzzzzzzz",
		"7: cannot unmarshal !!str `x` into int":                  "7: cannot unmarshal !!str `x` into int",
	} {
		if got := unknownKey(in); got != want {
			t.Errorf("unknownKey(%q) = %q; want %q", in, got, want)
		}
	}
}
