package legacy

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/cutover-dev/cutover/journeys/adapter"
	"github.com/cutover-dev/cutover/personas"
)

// TestServiceKeyScheme sends a service persona's key after a scheme word in the
// header the stack reads ("Authorization: ApiKey <key>"), and a stack that
// does not get it that way refuses.
func TestServiceKeyScheme(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "ApiKey k-123456" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"client":{"id":"svc:lab-feed"},"grants":["labs.read"]}`))
	}))
	defer srv.Close()
	p := personas.Persona{ID: "service-1", Kind: personas.Service, Username: "lab-feed", Secret: personas.NewSecret("k-123456")}
	cfg := Config{BaseURL: srv.URL, Session: SessionCarrier{Header: "X-Sid"}, Me: Me{Path: "/me", Roles: adapter.F("roles")},
		Service: &Service{Header: "Authorization", Scheme: "ApiKey", Whoami: "/whoami",
			Subject: adapter.Field{Path: "client.id", StripPrefix: "svc:"}, Permissions: adapter.F("grants")}}
	l, err := New(cfg, http.DefaultTransport)
	if err != nil {
		t.Fatal(err)
	}
	s, err := l.ServiceLogin(t.Context(), p)
	if err != nil {
		t.Fatalf("ServiceLogin: %v", err)
	}
	if s.Subject != "lab-feed" || len(s.Scopes) != 1 || s.Scopes[0] != "labs.read" {
		t.Errorf("session subject %q scopes %v; want lab-feed [labs.read]", s.Subject, s.Scopes)
	}
	cfg.Service.Scheme = ""
	l, err = New(cfg, http.DefaultTransport)
	if err != nil {
		t.Fatal(err)
	}
	var re *adapter.RefusedError
	if _, err := l.ServiceLogin(t.Context(), p); !errors.As(err, &re) {
		t.Errorf("key without its scheme: %v; want a refusal", err)
	}
}
