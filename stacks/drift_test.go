package stacks_test

import (
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cutover-dev/cutover/personas"
	"github.com/cutover-dev/cutover/stacks"
	"github.com/cutover-dev/cutover/stacks/internal/driver"
)

// cast picks the personas the drift observations need from a generated population.
type cast struct {
	billing, clinician, ineligible, patient, other, unassigned, sha256, service, auditor personas.Persona
}

func pickCast(t *testing.T, pop personas.Population) cast {
	t.Helper()
	onPanel := map[string]bool{}
	for _, p := range pop.ByKind(personas.Clinician) {
		for _, id := range p.Panel {
			onPanel[id] = true
		}
	}
	var c cast
	found := map[string]bool{}
	pick := func(slot *personas.Persona, name string, ok bool, p personas.Persona) {
		if ok && !found[name] {
			*slot, found[name] = p, true
		}
	}
	for _, p := range pop.Personas {
		bc := p.Cohort.HashScheme == personas.HashBcrypt
		switch p.Kind {
		case personas.Billing:
			pick(&c.billing, "billing", bc, p)
		case personas.Clinician:
			pick(&c.clinician, "clinician", bc && p.BreakGlass && len(p.Panel) > 0, p)
			pick(&c.ineligible, "ineligible", bc && !p.BreakGlass, p)
		case personas.Patient:
			switch {
			case !bc:
				pick(&c.sha256, "sha256", true, p)
			case !found["patient"]:
				pick(&c.patient, "patient", true, p)
			case !onPanel[p.ID]:
				pick(&c.unassigned, "unassigned", true, p)
			default:
				pick(&c.other, "other", true, p)
			}
		case personas.Service:
			pick(&c.service, "service", slices.Contains(p.Permissions, "lab-results:read"), p)
		case personas.Auditor:
			pick(&c.auditor, "auditor", bc, p)
		}
	}
	if len(found) != 9 {
		t.Fatalf("population lacks a cast member: found %v", slices.Sorted(maps.Keys(found)))
	}
	return c
}

func refreshWith(c *driver.Client, p *stacks.Pair, rt string) driver.Response {
	return c.PostForm("/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {p.HarnessClientID}})
}

func status(r driver.Response) string { return strconv.Itoa(r.Status) }

// observe drives a pair through one pass of every journey a drift can touch and
// returns the normalised facts: statuses, claim sets, lifetimes, never raw tokens.
func observe(t *testing.T, p *stacks.Pair, pop personas.Population) map[string]string {
	t.Helper()
	cs := pickCast(t, pop)
	obs := map[string]string{}
	login := func(pe personas.Persona) (*driver.Client, driver.Tokens) {
		c := driver.New(t, p.CandidateURL)
		return c, c.Login(p.HarnessClientID, p.HarnessRedirectURI, pe.Username, pe.Secret.Reveal(), "openid offline_access").Tokens(t)
	}
	roles := func(tok string) string {
		_, cl := driver.Claims(t, tok)
		v, ok := cl["roles"]
		if !ok {
			return "<absent>"
		}
		return fmt.Sprint(v)
	}
	patientPath := func(pid, what string) string { return "/api/patients/" + pid + "/" + what }

	c, bill := login(cs.billing)
	obs["billing.roles"], obs["billing.scope"] = roles(bill.AccessToken), bill.Scope
	obs["billing.admin_users"] = status(c.Get("/api/admin/users", driver.Bearer(bill.AccessToken)...))
	obs["billing.claims"] = status(c.Get("/api/billing/claims", driver.Bearer(bill.AccessToken)...))

	c, clin := login(cs.clinician)
	obs["clinician.roles"], obs["clinician.scope"] = roles(clin.AccessToken), clin.Scope
	obs["clinician.expires_in"] = strconv.FormatInt(clin.ExpiresIn, 10)
	obs["clinician.panel_notes"] = status(c.Get(patientPath(cs.clinician.Panel[0], "notes"), driver.Bearer(clin.AccessToken)...))
	obs["clinician.panel_record"] = status(c.Get(patientPath(cs.clinician.Panel[0], "record"), driver.Bearer(clin.AccessToken)...))

	c, pat := login(cs.patient)
	obs["patient.own_record"] = status(c.Get(patientPath(cs.patient.ID, "record"), driver.Bearer(pat.AccessToken)...))
	obs["patient.other_record"] = status(c.Get(patientPath(cs.other.ID, "record"), driver.Bearer(pat.AccessToken)...))
	obs["patient.other_bills"] = status(c.Get(patientPath(cs.other.ID, "bills"), driver.Bearer(pat.AccessToken)...))

	sc := driver.New(t, p.CandidateURL)
	obs["sha256.login"] = status(sc.SubmitLogin(sc.Authorize(p.HarnessClientID, p.HarnessRedirectURI, "openid"), cs.sha256.Username, cs.sha256.Secret.Reveal()))

	// Refresh: rotation, then reuse of the rotated token.
	c, t0 := login(cs.clinician)
	r1 := refreshWith(c, p, t0.RefreshToken)
	obs["refresh.status"] = status(r1)
	t1 := r1.Tokens(t)
	obs["refresh.rotated"] = strconv.FormatBool(t1.RefreshToken != t0.RefreshToken)
	switch {
	case t1.RefreshToken == t0.RefreshToken:
		obs["refresh.reuse"] = "not rotated"
	case refreshWith(c, p, t0.RefreshToken).Status == http.StatusOK:
		obs["refresh.reuse"] = "accepted"
	case refreshWith(c, p, t1.RefreshToken).Status == http.StatusOK:
		obs["refresh.reuse"] = "refused, family alive"
	default:
		obs["refresh.reuse"] = "refused, family revoked"
	}

	// Logout by revocation of the refresh token.
	c, lt := login(cs.clinician)
	c.PostForm("/revoke", url.Values{"token": {lt.RefreshToken}, "client_id": {p.HarnessClientID}})
	obs["logout.probe"] = status(c.Get(patientPath(cs.clinician.Panel[0], "record"), driver.Bearer(lt.AccessToken)...))
	intro := func(tok string) string {
		r := c.PostForm("/introspect", url.Values{"token": {tok}, "client_id": {p.IntrospectionClientID}, "client_secret": {p.IntrospectionClientSecret.Reveal()}})
		return fmt.Sprint(r.JSON()["active"])
	}
	obs["logout.introspect_access"] = intro(lt.AccessToken)
	obs["logout.introspect_refresh"] = intro(lt.RefreshToken)
	obs["logout.refresh"] = status(refreshWith(c, p, lt.RefreshToken))

	// Break-glass by token exchange.
	exchange := func(subject, reason string) driver.Response {
		f := url.Values{
			"grant_type": {"urn:ietf:params:oauth:grant-type:token-exchange"}, "client_id": {p.HarnessClientID},
			"subject_token": {subject}, "subject_token_type": {"urn:ietf:params:oauth:token-type:access_token"},
			"resource": {"patient:" + cs.unassigned.ID}, "reason": {reason},
		}
		return c.PostForm("/token", f)
	}
	c, bg := login(cs.clinician)
	_, inel := login(cs.ineligible)
	obs["breakglass.before"] = status(c.Get(patientPath(cs.unassigned.ID, "record"), driver.Bearer(bg.AccessToken)...))
	obs["breakglass.no_reason"] = status(exchange(bg.AccessToken, ""))
	obs["breakglass.ineligible"] = status(exchange(inel.AccessToken, "emergency"))
	granted := exchange(bg.AccessToken, "unconscious in ED")
	obs["breakglass.eligible"] = status(granted)
	obs["breakglass.access"] = "n/a"
	if granted.Status == http.StatusOK {
		obs["breakglass.access"] = status(c.Get(patientPath(cs.unassigned.ID, "record"), driver.Bearer(granted.Str("access_token"))...))
	}
	_, aud := login(cs.auditor)
	kinds := map[string]bool{}
	for _, e := range c.Get("/api/audit?actor="+cs.clinician.ID, driver.Bearer(aud.AccessToken)...).JSON()["events"].([]any) {
		if k := e.(map[string]any)["kind"].(string); strings.HasPrefix(k, "breakglass") || k == "login" {
			kinds[k] = true
		}
	}
	obs["breakglass.audit"] = strings.Join(slices.Sorted(maps.Keys(kinds)), " ")

	// Service account.
	start := time.Now()
	svc := c.PostForm("/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {cs.service.Username}, "client_secret": {cs.service.Secret.Reveal()}})
	obs["token.slow"] = strconv.FormatBool(time.Since(start) >= slowToken)
	st := svc.Tokens(t)
	obs["service.scope"], obs["service.expires_in"] = st.Scope, strconv.FormatInt(st.ExpiresIn, 10)
	obs["service.refresh_issued"] = strconv.FormatBool(st.RefreshToken != "")
	obs["service.lab"] = status(c.Get("/api/lab-results", driver.Bearer(st.AccessToken)...))
	obs["service.analytics"] = status(c.Get("/api/analytics/export", driver.Bearer(st.AccessToken)...))

	// Legacy, which no drift may touch.
	l := driver.New(t, p.LegacyURL)
	lsess := func(pe personas.Persona) []string {
		r := l.PostJSON("/api/login", map[string]string{"username": pe.Username, "password": pe.Secret.Reveal()})
		obs["legacy.login."+string(pe.Kind)] = status(r)
		return []string{"X-Session-Id", r.Str("session_id")}
	}
	obs["legacy.billing.admin_users"] = status(l.Get("/api/admin/users", lsess(cs.billing)...))
	obs["legacy.clinician.panel_notes"] = status(l.Get(patientPath(cs.clinician.Panel[0], "notes"), lsess(cs.clinician)...))
	obs["legacy.patient.other_record"] = status(l.Get(patientPath(cs.other.ID, "record"), lsess(cs.patient)...))
	obs["legacy.sha256.login"] = status(l.PostJSON("/api/login", map[string]string{"username": cs.sha256.Username, "password": cs.sha256.Secret.Reveal()}))
	obs["legacy.service.analytics"] = status(l.Get("/api/analytics/export", "X-API-Key", cs.service.Secret.Reveal()))
	return obs
}

// slowToken is the delay the slow-token case asks for: far above any token call on
// this machine, so "no drift" never reads as slow.
const slowToken = 250 * time.Millisecond

func testPopulation(t *testing.T) personas.Population {
	t.Helper()
	pop, err := personas.Generate(1, personas.GenerateOptions{Count: 40, LegacySHA256Share: 0.3, UnassignedShare: 0.3})
	if err != nil {
		t.Fatal(err)
	}
	return pop
}

// TestDriftEffects switches each drift on alone and checks that exactly the facts
// its catalogue row names change against a drift-free pair, and nothing else.
func TestDriftEffects(t *testing.T) {
	pop := testPopulation(t)
	start := func(t *testing.T, spec string) *stacks.Pair {
		d, err := stacks.ParseDrifts(spec)
		if err != nil {
			t.Fatal(err)
		}
		p, err := stacks.Start(t.Context(), stacks.Options{Population: pop, Drifts: d})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = p.Close() })
		return p
	}
	base := observe(t, start(t, "none"), pop)
	tests := []struct {
		drift string
		want  []string
	}{
		{"role-map-billing-admin", []string{"billing.admin_users", "billing.roles", "billing.scope"}},
		{"clinician-notes-denied", []string{"clinician.panel_notes"}},
		{"patient-sees-others", []string{"patient.other_record"}},
		{"roles-claim-dropped", []string{"billing.roles", "clinician.roles"}},
		{"access-ttl-long", []string{"clinician.expires_in", "service.expires_in"}},
		{"lazy-migration-broken", []string{"sha256.login"}},
		{"refresh-not-rotated", []string{"refresh.reuse", "refresh.rotated"}},
		{"refresh-reuse-accepted", []string{"refresh.reuse"}},
		{"logout-keeps-refresh", []string{"logout.introspect_refresh", "logout.refresh"}},
		{"breakglass-denied", []string{"breakglass.access", "breakglass.audit", "breakglass.eligible"}},
		{"breakglass-no-reason", []string{"breakglass.no_reason"}},
		{"breakglass-not-audited", []string{"breakglass.audit"}},
		{"service-scope-widened", []string{"service.analytics", "service.scope"}},
		{"slow-token=" + slowToken.String(), []string{"token.slow"}},
		// One token request a quarter second: each waits its turn.
		{"token-capacity=4", []string{"token.slow"}},
	}
	if len(tests) != len(stacks.Catalogue)-1 { // flaky-5xx has its own test
		t.Fatalf("%d drift cases for %d catalogue entries", len(tests), len(stacks.Catalogue))
	}
	for _, tt := range tests {
		t.Run(tt.drift, func(t *testing.T) {
			t.Parallel()
			got := observe(t, start(t, tt.drift), pop)
			var changed []string
			for k, v := range base {
				if got[k] != v {
					changed = append(changed, k)
					t.Logf("%s: %q -> %q", k, v, got[k])
				}
			}
			slices.Sort(changed)
			if !slices.Equal(changed, tt.want) {
				t.Errorf("drift %s changed %v; want exactly %v", tt.drift, changed, tt.want)
			}
		})
	}
}

// TestFlaky5xxIsSeededAndOnlyFails checks that flaky-5xx answers a share of requests
// 503, the same requests for the same seed, and leaves every other answer alone.
func TestFlaky5xxIsSeededAndOnlyFails(t *testing.T) {
	pop := testPopulation(t)
	run := func(seed uint64) []int {
		d, err := stacks.ParseDrifts("flaky-5xx=0.2")
		if err != nil {
			t.Fatal(err)
		}
		p, err := stacks.Start(t.Context(), stacks.Options{Population: pop, Drifts: d, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		c := driver.New(t, p.CandidateURL)
		var got []int
		for range 200 {
			got = append(got, c.Get("/api/billing/claims").Status)
		}
		if r := c.Get("/.well-known/openid-configuration"); r.Status != http.StatusOK {
			t.Errorf("discovery under flaky-5xx = %d; want 200 (metadata is spared)", r.Status)
		}
		return got
	}
	a, b, other := run(1), run(1), run(2)
	failed := 0
	for _, s := range a {
		switch s {
		case http.StatusServiceUnavailable:
			failed++
		case http.StatusUnauthorized:
		default:
			t.Fatalf("status %d under flaky-5xx; want 401 (no token) or 503", s)
		}
	}
	if failed < 20 || failed > 60 {
		t.Errorf("%d of 200 requests failed at a 0.2 share; want about 40", failed)
	}
	if !slices.Equal(a, b) {
		t.Error("same seed gave a different failure sequence; want the same")
	}
	if slices.Equal(a, other) {
		t.Error("seeds 1 and 2 gave the same failure sequence; want different")
	}
}
