package legacy_test

import (
	"net/http"
	"testing"

	"github.com/cutover-dev/cutover/stacks/legacy"
)

// The benchmarks measure one journey step end to end over loopback HTTP, bcrypt at
// MinCost as the embedded pair runs it.

func BenchmarkLogin(b *testing.B) {
	s := newStack(b, legacy.Config{})
	c, _ := s.login(b, "doc1")
	body := map[string]string{"username": "doc1", "password": password("doc1")}
	for b.Loop() {
		if r := c.PostJSON("/api/login", body); r.Status != http.StatusOK {
			b.Fatalf("login = %d", r.Status)
		}
	}
}

func BenchmarkRenew(b *testing.B) {
	s := newStack(b, legacy.Config{})
	c, _ := s.login(b, "doc1")
	for b.Loop() {
		if r := c.Send("POST", "/api/session/renew", nil, ""); r.Status != http.StatusOK {
			b.Fatalf("renew = %d", r.Status)
		}
	}
}

func BenchmarkProbe(b *testing.B) {
	s := newStack(b, legacy.Config{})
	c, _ := s.login(b, "doc1")
	for b.Loop() {
		if r := c.Get("/api/patients/patient-00001/notes"); r.Status != http.StatusOK {
			b.Fatalf("probe = %d", r.Status)
		}
	}
}

// BenchmarkAPIKey is legacy's counterpart of client_credentials: a service call
// authenticated by API key.
func BenchmarkAPIKey(b *testing.B) {
	s := newStack(b, legacy.Config{})
	c, _ := s.login(b, "doc1")
	for b.Loop() {
		if r := c.Get("/api/whoami", legacy.APIKeyHeader, labKey); r.Status != http.StatusOK {
			b.Fatalf("whoami = %d", r.Status)
		}
	}
}
