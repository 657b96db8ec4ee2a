package stacks_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/cutover-dev/cutover/personas"
	"github.com/cutover-dev/cutover/stacks"
	"github.com/cutover-dev/cutover/stacks/internal/driver"
)

// credential returns the request headers that authenticate pe on each stack.
func credentials(t *testing.T, p *stacks.Pair, pe personas.Persona) (legacyHdr, candidateHdr []string) {
	t.Helper()
	if !pe.Human() {
		c := driver.New(t, p.CandidateURL)
		tok := c.PostForm("/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {pe.Username}, "client_secret": {pe.Secret.Reveal()}}).Tokens(t)
		return []string{"X-API-Key", pe.Secret.Reveal()}, driver.Bearer(tok.AccessToken)
	}
	l := driver.New(t, p.LegacyURL)
	sid := l.PostJSON("/api/login", map[string]string{"username": pe.Username, "password": pe.Secret.Reveal()}).Str("session_id")
	c := driver.New(t, p.CandidateURL)
	tok := c.Login(p.HarnessClientID, p.HarnessRedirectURI, pe.Username, pe.Secret.Reveal(), "openid").Tokens(t)
	return []string{"X-Session-Id", sid}, driver.Bearer(tok.AccessToken)
}

// TestDecisionsMatchWithoutDrift probes every resource as one persona of each kind
// on both stacks: with no drift, every decision is the same (an A/A parity baseline).
func TestDecisionsMatchWithoutDrift(t *testing.T) {
	pop := testPopulation(t)
	p, err := stacks.Start(t.Context(), stacks.Options{Population: pop})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	cs := pickCast(t, pop)
	paths := []string{"/api/billing/claims", "/api/admin/users", "/api/audit", "/api/lab-results", "/api/analytics/export"}
	for _, pid := range []string{cs.patient.ID, cs.clinician.Panel[0], cs.unassigned.ID, "patient-99999"} {
		for _, what := range []string{"record", "notes", "appointments", "bills"} {
			paths = append(paths, "/api/patients/"+pid+"/"+what)
		}
	}
	l, c := driver.New(t, p.LegacyURL), driver.New(t, p.CandidateURL)
	allowed := 0
	for _, pe := range []personas.Persona{cs.patient, cs.clinician, cs.billing, cs.auditor, cs.service, pop.ByKind(personas.Admin)[0]} {
		lh, ch := credentials(t, p, pe)
		for _, path := range paths {
			got, want := c.Get(path, ch...).Status, l.Get(path, lh...).Status
			if got != want {
				t.Errorf("%s GET %s: candidate %d, legacy %d; want the same", pe.Kind, path, got, want)
			}
			if want == http.StatusOK {
				allowed++
			}
		}
	}
	if allowed < 10 {
		t.Errorf("only %d allowed probes; the matrix is not exercising the policy", allowed)
	}
}

func TestParseDrifts(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr string
	}{
		{"", "none", ""},
		{"none", "none", ""},
		{"patient-sees-others", "patient-sees-others", ""},
		{" refresh-not-rotated , role-map-billing-admin", "role-map-billing-admin,refresh-not-rotated", ""},
		{"slow-token", "slow-token=40ms", ""},
		{"slow-token=80ms,flaky-5xx=0.1", "slow-token=80ms,flaky-5xx=0.1", ""},
		{"flaky-5xx", "flaky-5xx=0.05", ""},
		{"no-such-drift", "", "valid: access-ttl-long, breakglass-denied"},
		{"slow-token=fast", "", "positive duration"},
		{"flaky-5xx=2", "", "share in (0, 1]"},
		{"patient-sees-others=1", "", "takes no parameter"},
	}
	for _, tt := range tests {
		d, err := stacks.ParseDrifts(tt.in)
		switch {
		case tt.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseDrifts(%q) error = %v; want one containing %q", tt.in, err, tt.wantErr)
			}
		case err != nil:
			t.Errorf("ParseDrifts(%q) error = %v; want nil", tt.in, err)
		case d.String() != tt.want:
			t.Errorf("ParseDrifts(%q) = %s; want %s", tt.in, d, tt.want)
		}
	}
}

func TestCatalogueClassesAreDomainClasses(t *testing.T) {
	classes := "OVER_PERMISSION UNDER_PERMISSION CLAIM_MISSING TTL_DRIFT LOGIN_FAILED REFRESH_NOT_ROTATED REFRESH_REUSE_ACCEPTED LOGOUT_TOKEN_STILL_ACTIVE BREAKGLASS_DENIED BREAKGLASS_NO_REASON_ACCEPTED BREAKGLASS_NOT_AUDITED SERVICE_ACCOUNT_SCOPE_WIDENED LATENCY_REGRESSION ERROR_RATE_REGRESSION"
	seen := map[string]bool{}
	for _, d := range stacks.Catalogue {
		if !strings.Contains(" "+classes+" ", " "+d.Class+" ") || d.Description == "" || seen[d.Name] {
			t.Errorf("catalogue entry %+v: want a DOMAIN.md class, a description and a unique name", d)
		}
		seen[d.Name] = true
	}
	// DOMAIN.md's fifteen, and token-capacity for the capacity search.
	if len(stacks.Catalogue) != 16 {
		t.Errorf("catalogue has %d drifts; want 16", len(stacks.Catalogue))
	}
}

// FuzzParseDrifts checks that any input either fails or round-trips through String.
func FuzzParseDrifts(f *testing.F) {
	for _, s := range []string{"", "none", "slow-token=80ms,flaky-5xx=0.1", "a,b", "patient-sees-others,,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := stacks.ParseDrifts(s)
		if err != nil {
			return
		}
		again, err := stacks.ParseDrifts(d.String())
		if err != nil {
			t.Fatalf("ParseDrifts(%q).String() = %q does not parse: %v", s, d, err)
		}
		if again.String() != d.String() {
			t.Fatalf("round trip of %q: %q then %q", s, d, again)
		}
	})
}

func TestStartRejectsInvalidPopulation(t *testing.T) {
	pop := personas.Population{Personas: []personas.Persona{{ID: "x", Kind: personas.Patient, Username: "x"}}}
	_, err := stacks.Start(t.Context(), stacks.Options{Population: pop})
	if err == nil || !strings.Contains(err.Error(), "no secret") {
		t.Errorf("Start with a persona without secret: error %v; want one naming the missing secret", err)
	}
	var target interface{ Unwrap() []error }
	if !errors.As(err, &target) {
		t.Errorf("error %v does not carry the joined validation errors", fmt.Sprint(err))
	}
}
