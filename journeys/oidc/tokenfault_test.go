package oidc

import (
	"errors"
	"net/http"
	"testing"

	"github.com/cutover-dev/cutover/journeys/adapter"
	"github.com/cutover-dev/cutover/personas"
	"github.com/cutover-dev/cutover/stacks"
	"github.com/cutover-dev/cutover/stacks/tokenfault"
)

// TestTokenFaults signs in through a proxy that re-signs the embedded candidate's
// tokens: re-signed alone, every token validates; with each fault of the
// catalogue, the sign-in (or, for access-token faults that only a resource server
// sees, the sign-in too: the adapter validates what it is issued) fails as an
// invalid token naming the check the fault breaks, never as a refusal or an
// outage.
func TestTokenFaults(t *testing.T) {
	if len(tokenfault.Faults) < 15 {
		t.Fatalf("%d faults; want at least 15 across ID and access tokens", len(tokenfault.Faults))
	}
	pop, err := personas.Generate(3, personas.GenerateOptions{Count: 12})
	if err != nil {
		t.Fatal(err)
	}
	pair, err := stacks.Start(t.Context(), stacks.Options{Population: pop})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pair.Close() })
	patient := pop.ByKind(personas.Patient)[0]
	login := func(t *testing.T, f tokenfault.Fault) error {
		t.Helper()
		proxy, err := tokenfault.Start(pair.CandidateURL, f)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = proxy.Close() })
		a, err := New(t.Context(), Config{
			Issuer: proxy.URL, ClientID: pair.HarnessClientID, RedirectURI: pair.HarnessRedirectURI,
			Scopes: []string{"openid", "profile", "offline_access"}, FormID: "login-form", Audience: pair.Audience,
		}, http.DefaultTransport)
		if err != nil {
			t.Fatal(err)
		}
		s, err := a.Login(t.Context(), patient)
		if err == nil && s.Subject == "" {
			t.Errorf("%s: signed in without a subject", f.Name)
		}
		return err
	}
	t.Run("re-signed, no fault", func(t *testing.T) {
		if err := login(t, tokenfault.Fault{}); err != nil {
			t.Fatalf("sign-in through the proxy without a fault: %v; want a session", err)
		}
	})
	for _, f := range tokenfault.Faults {
		t.Run(f.Name, func(t *testing.T) {
			err := login(t, f)
			var ie *adapter.InvalidTokenError
			if !errors.As(err, &ie) || ie.Token != f.Token || ie.Check != f.Check {
				t.Errorf("%s (%s): sign-in = %v; want an invalid %s failing %q", f.Name, f.Description, err, f.Token, f.Check)
			}
		})
	}
}
