package stacks_test

import (
	"context"
	"net/url"
	"testing"

	"github.com/cutover-dev/cutover/personas"
	"github.com/cutover-dev/cutover/stacks"
	"github.com/cutover-dev/cutover/stacks/internal/driver"
)

// TestPairLoginProbeLogout is the walking skeleton of every journey: log a clinician
// in on both stacks, read a panel patient's notes, log out, and find the credential dead.
func TestPairLoginProbeLogout(t *testing.T) {
	pop, err := personas.Generate(7, personas.GenerateOptions{Count: 30, LegacySHA256Share: 0.3, UnassignedShare: 0.2})
	if err != nil {
		t.Fatal(err)
	}
	p, err := stacks.Start(t.Context(), stacks.Options{Population: pop})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := p.Shutdown(context.Background()); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := p.Close(); err != nil {
			t.Errorf("Close after Shutdown: %v; want nil", err)
		}
	})
	pe := pop.ByKind(personas.Clinician)[0]
	notes := "/api/patients/" + pe.Panel[0] + "/notes"

	t.Run("legacy", func(t *testing.T) {
		c := driver.New(t, p.LegacyURL)
		if r := c.PostJSON("/api/login", map[string]string{"username": pe.Username, "password": pe.Secret.Reveal()}); r.Status != 200 {
			t.Fatalf("POST /api/login = %d; want 200", r.Status)
		}
		if r := c.Get(notes); r.Status != 200 {
			t.Fatalf("GET notes of a panel patient = %d; want 200", r.Status)
		}
		if r := c.Send("POST", "/api/logout", nil, ""); r.Status != 204 {
			t.Fatalf("POST /api/logout = %d; want 204", r.Status)
		}
		if r := c.Get(notes); r.Status != 401 {
			t.Fatalf("GET notes after logout = %d; want 401", r.Status)
		}
	})
	t.Run("candidate", func(t *testing.T) {
		c := driver.New(t, p.CandidateURL)
		tok := c.Login(p.HarnessClientID, p.HarnessRedirectURI, pe.Username, pe.Secret.Reveal(), "openid offline_access").Tokens(t)
		if r := c.Get(notes, driver.Bearer(tok.AccessToken)...); r.Status != 200 {
			t.Fatalf("GET notes of a panel patient = %d; want 200", r.Status)
		}
		if r := c.PostForm("/revoke", url.Values{"token": {tok.RefreshToken}, "client_id": {p.HarnessClientID}}); r.Status != 200 {
			t.Fatalf("POST /revoke = %d; want 200", r.Status)
		}
		if r := c.Get(notes, driver.Bearer(tok.AccessToken)...); r.Status != 401 {
			t.Fatalf("GET notes after revocation = %d; want 401", r.Status)
		}
	})
}
