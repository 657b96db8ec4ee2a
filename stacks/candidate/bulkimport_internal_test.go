package candidate

import (
	"strings"
	"testing"
)

// FuzzParsePHC feeds PHC strings of every shape to the parser of imported
// hashes, outside input: it never panics, never quotes the string in an error,
// and what it accepts asks for bounded work at sign-in.
func FuzzParsePHC(f *testing.F) {
	for _, s := range []string{
		"$pbkdf2-sha256$i=1000,l=32$cGJrZGYyLXRlc3Qtc2FsdA$3LnAXfi7kC9MK8M4RR4Zl8DlMK2cfJuBmKDV7H9EwX8",
		"$argon2id$v=19$m=1024,t=1,p=1$YXJnb24yLXRlc3Qtc2FsdA$2Bv6ozh0j8rQy9zPsnOqkpE0j7aCZp9EgXlQZfDiQeU",
		"$argon2id$v=16$m=1024,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$pbkdf2-sha256$i=99999999999$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$2a$10$abcdefghijklmnopqrstuv", "", "$", "$$$$", "$argon2id$$$$$",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, err := parsePHC(s)
		if err != nil {
			if len(s) >= 8 && strings.Contains(err.Error(), s) {
				t.Errorf("the error of %q quotes it: %v", s, err)
			}
			return
		}
		if len(h.sum) < 16 || len(h.sum) > 64 || len(h.salt) < 8 {
			t.Errorf("%q accepted with a %d-byte hash and a %d-byte salt", s, len(h.sum), len(h.salt))
		}
		switch h.scheme {
		case "pbkdf2-sha256":
			if h.iter < 1 || h.iter > maxPBKDF2Iterations {
				t.Errorf("%q accepted with %d iterations", s, h.iter)
			}
		case "argon2id":
			if h.memory > maxArgon2Memory || h.iter < 1 || h.iter > maxArgon2Time || h.threads < 1 {
				t.Errorf("%q accepted with m=%d t=%d p=%d", s, h.memory, h.iter, h.threads)
			}
		default:
			t.Errorf("%q accepted as %q", s, h.scheme)
		}
	})
}

// FuzzKeycloakPBKDF2 does the same for Keycloak's credential fields.
func FuzzKeycloakPBKDF2(f *testing.F) {
	f.Add(`{"value":"3LnAXfi7kC9MK8M4RR4Zl8DlMK2cfJuBmKDV7H9EwX8=","salt":"cGJrZGYyLXRlc3Qtc2FsdA=="}`, `{"hashIterations":1000,"algorithm":"pbkdf2-sha256"}`)
	f.Add(`{}`, `{"hashIterations":-1}`)
	f.Add(`null`, `[]`)
	f.Fuzz(func(t *testing.T, secretData, credentialData string) {
		h, err := keycloakPBKDF2(secretData, credentialData)
		if err != nil {
			for _, in := range []string{secretData, credentialData} {
				if len(in) >= 8 && strings.Contains(err.Error(), in) {
					t.Errorf("the error quotes its input: %v", err)
				}
			}
			return
		}
		if h.iter < 1 || h.iter > maxPBKDF2Iterations || len(h.sum) < 16 || len(h.sum) > 64 || len(h.salt) < 8 {
			t.Errorf("accepted with %d iterations, a %d-byte hash, a %d-byte salt", h.iter, len(h.sum), len(h.salt))
		}
	})
}
