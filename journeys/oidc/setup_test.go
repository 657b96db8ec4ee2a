package oidc

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cutover-dev/cutover/journeys/adapter"
)

// dribble writes body one byte at a time, every interval, until the client goes.
func dribble(w http.ResponseWriter, r *http.Request, body string, interval time.Duration) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	for i := range len(body) {
		if _, err := w.Write([]byte{body[i]}); err != nil {
			return
		}
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
			return
		case <-time.After(interval):
		}
	}
}

// TestSetupIsBounded: a provider that sends its discovery document or its JWKS
// one byte at a time, or a discovery document of 50 MB, fails the adapter's setup
// within the configured deadline (or at once, by size), with an error naming the
// endpoint and the limit. The deadline is what the test controls; how long the
// failure took is not asserted, only that it is an error and not a hang (the
// test's own timeout would catch that).
func TestSetupIsBounded(t *testing.T) {
	var srv *httptest.Server
	discovery := func() string {
		return fmt.Sprintf(`{"issuer":%q,"authorization_endpoint":"%[1]s/authorize","token_endpoint":"%[1]s/token","jwks_uri":"%[1]s/jwks"}`, srv.URL)
	}
	var mode string
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/.well-known/openid-configuration" && mode == "slow discovery":
			dribble(w, r, discovery(), 200*time.Millisecond)
		case r.URL.Path == "/.well-known/openid-configuration" && mode == "huge discovery":
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(discovery()[:len(discovery())-1] + `,"x":"`))
			chunk := strings.Repeat("a", 1<<20)
			for range 50 {
				if _, err := w.Write([]byte(chunk)); err != nil {
					return
				}
			}
			_, _ = w.Write([]byte(`"}`))
		case r.URL.Path == "/.well-known/openid-configuration":
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(discovery()))
		case r.URL.Path == "/jwks" && mode == "slow jwks":
			dribble(w, r, `{"keys":[]}`, 200*time.Millisecond)
		case r.URL.Path == "/jwks":
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"keys":[]}`))
		}
	}))
	defer srv.Close()
	for _, tt := range []struct{ mode, want string }{
		{"slow discovery", "oidc discovery: unavailable: timeout: no complete answer within 500ms"},
		{"slow jwks", "oidc jwks: unavailable: timeout: no complete answer within 500ms"},
		{"huge discovery", "oidc discovery: HTTP 200 with a body larger than 1024 KiB: refused"},
	} {
		mode = tt.mode
		_, err := New(t.Context(), Config{Issuer: srv.URL, ClientID: "h"}, http.DefaultTransport, adapter.WithSetupTimeout(500*time.Millisecond))
		var ue *adapter.UnavailableError
		var pe *adapter.ProtocolError
		if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.As(err, &ue) && !errors.As(err, &pe) {
			t.Errorf("%s: New = %v; want an error containing %q", tt.mode, err, tt.want)
		}
	}
	mode = ""
	if _, err := New(t.Context(), Config{Issuer: srv.URL, ClientID: "h"}, http.DefaultTransport, adapter.WithSetupTimeout(500*time.Millisecond)); err != nil {
		t.Errorf("a provider that answers at once: New = %v", err)
	}
}
