package hydra_test

import (
	"testing"

	"github.com/cutover-dev/cutover/integration/hydra"
)

// BenchmarkStart measures a start to readiness (signing keys installed) and a Close.
func BenchmarkStart(b *testing.B) {
	for b.Loop() {
		s, err := hydra.Start(b.Context(), hydra.Options{Users: testUsers})
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLogin measures one authorization code + PKCE login through the login
// form, consent and the code exchange, against one running Hydra.
func BenchmarkLogin(b *testing.B) {
	s := startHydra(b, hydra.Options{})
	d := discover(b, s)
	c := createClient(b, s, hydra.PublicClient("harness", []string{redirectURI}, "openid", "offline_access"))
	for b.Loop() {
		ar := newAuthRequest(b, c.ID, userScope)
		exchange(b, d, c, login(b, newBrowser(redirectURI), d, ar, clinician), ar.pkce)
	}
}
