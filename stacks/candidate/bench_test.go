package candidate_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/cutover-dev/cutover/stacks/candidate"
	"github.com/cutover-dev/cutover/stacks/internal/driver"
)

// The benchmarks measure one journey step end to end over loopback HTTP, bcrypt at
// MinCost as the embedded pair runs it.

// BenchmarkLogin is the whole code flow with PKCE through the login form: authorize,
// login, token (three requests), without single sign-on.
func BenchmarkLogin(b *testing.B) {
	s := newStack(b, candidate.Config{})
	for b.Loop() {
		c := s.client(b)
		if r := c.Login(harness, harnessRedir, "doc1", "pw-doc1-long", "openid offline_access"); r.Status != http.StatusOK {
			b.Fatalf("login = %d", r.Status)
		}
	}
}

func BenchmarkRefresh(b *testing.B) {
	s := newStack(b, candidate.Config{})
	c, tok := s.login(b, "doc1")
	rt := tok.RefreshToken
	for b.Loop() {
		rt = refresh(c, rt).Tokens(b).RefreshToken
	}
}

func BenchmarkProbe(b *testing.B) {
	s := newStack(b, candidate.Config{})
	c, tok := s.login(b, "doc1")
	auth := driver.Bearer(tok.AccessToken)
	for b.Loop() {
		if r := c.Get("/api/patients/patient-00001/notes", auth...); r.Status != http.StatusOK {
			b.Fatalf("probe = %d", r.Status)
		}
	}
}

func BenchmarkClientCredentials(b *testing.B) {
	s := newStack(b, candidate.Config{})
	c := s.client(b)
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {labClient}, "client_secret": {labSecret}}
	for b.Loop() {
		if r := c.PostForm("/token", form); r.Status != http.StatusOK {
			b.Fatalf("client_credentials = %d", r.Status)
		}
	}
}
