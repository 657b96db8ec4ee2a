package journeys_test

import (
	"cmp"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cutover-dev/cutover/journeys"
	"github.com/cutover-dev/cutover/journeys/adapter"
	"github.com/cutover-dev/cutover/journeys/legacy"
	"github.com/cutover-dev/cutover/journeys/oidc"
	"github.com/cutover-dev/cutover/personas"
	"github.com/cutover-dev/cutover/results/record"
	"github.com/cutover-dev/cutover/stacks"
)

// embeddedAdapters starts the embedded stacks on clk and returns both adapters,
// configured as examples/demo.yaml configures them.
func embeddedAdapters(t *testing.T, clk *testClock, drifts string) (*legacy.Adapter, *oidc.Adapter, personas.Population) {
	t.Helper()
	return embeddedWith(t, clk, embedOptions{Drifts: drifts})
}

// embedOptions vary the embedded stacks and adapters of a test.
type embedOptions struct {
	Drifts string
	// BreakGlassTTL is the stacks' time box (2s when 0).
	BreakGlassTTL time.Duration
	// NoEnd leaves the legacy adapter without a way to end a grant early.
	NoEnd bool
	// Stacks edits the stacks' options; Candidate the candidate adapter's
	// configuration, once the stacks run.
	Stacks    func(*stacks.Options)
	Candidate func(*oidc.Config, *stacks.Pair)
}

func embeddedWith(t *testing.T, clk *testClock, o embedOptions) (*legacy.Adapter, *oidc.Adapter, personas.Population) {
	t.Helper()
	drifts := o.Drifts
	pop, err := personas.Generate(11, personas.GenerateOptions{Count: 40, UnassignedShare: 0.3})
	if err != nil {
		t.Fatal(err)
	}
	d, err := stacks.ParseDrifts(drifts)
	if err != nil {
		t.Fatal(err)
	}
	opt := stacks.Options{Population: pop, Drifts: d, Now: clk.Now, BreakGlassTTL: cmp.Or(o.BreakGlassTTL, 2*time.Second)}
	if o.Stacks != nil {
		o.Stacks(&opt)
	}
	pair, err := stacks.Start(t.Context(), opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pair.Close() })
	feed := &adapter.AuditConfig{Feed: adapter.RequestTemplate{Method: "GET", Path: "/api/audit?since={since}&actor={actor}"}, Auditor: adapter.Auditor{Persona: personas.Auditor}}
	lc := legacy.Config{
		BaseURL: pair.LegacyURL,
		Login:   legacy.Login{Mode: "form", Path: "/login", FormID: "login-form"},
		Session: legacy.SessionCarrier{Cookie: "LEGACY_SESSION"},
		Me:      legacy.Me{Path: "/api/me", Subject: adapter.F("id"), Roles: adapter.F("roles"), TTL: "session.idle_expires_in"},
		Renew:   &legacy.Renew{Method: "POST", Path: "/api/session/renew", TTL: "idle_expires_in"},
		Logout:  legacy.Endpoint{Method: "POST", Path: "/api/logout"},
		RoleMap: map[string][]string{"billing-clerk": {"billing"}, "breakglass-eligible": {"breakglass"}},
		PermissionMap: map[string]string{
			"lab-results:read": "lab-results.read", "lab-results:write": "lab-results.write", "analytics:export": "analytics.export",
		},
		Service: &legacy.Service{Header: "X-API-Key", Whoami: "/api/whoami", Subject: adapter.F("id")},
		BreakGlass: &adapter.HTTPBreakGlass{
			Request: adapter.RequestTemplate{Method: "POST", Path: "/api/breakglass", Body: map[string]string{"patient_id": "{patient}", "reason": "{reason}"}},
			GrantID: "grant_id", ExpiresIn: "expires_in", End: &adapter.RequestTemplate{Method: "DELETE", Path: "/api/breakglass/{grant_id}"},
		},
		Audit: feed,
	}
	if o.NoEnd {
		lc.BreakGlass.End = nil
	}
	leg, err := legacy.New(lc, journeys.Tap(http.DefaultTransport), adapter.WithPersonas(pop), adapter.WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	cc := oidc.Config{
		Issuer: pair.CandidateURL, ClientID: pair.HarnessClientID, RedirectURI: pair.HarnessRedirectURI,
		Scopes: []string{"openid", "profile", "offline_access"}, FormID: "login-form", Audience: pair.Audience,
		Introspection: &oidc.Client{ClientID: pair.IntrospectionClientID, ClientSecret: new(adapter.NewSecretRef(pair.IntrospectionClientSecret))},
		BreakGlass:    &oidc.BreakGlass{Method: "token_exchange"},
		Audit:         feed,
	}
	if o.Candidate != nil {
		o.Candidate(&cc, pair)
	}
	cand, err := oidc.New(t.Context(), cc, journeys.Tap(http.DefaultTransport), adapter.WithPersonas(pop), adapter.WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	return leg, cand, pop
}

func embeddedRunner(pop personas.Population, clk *testClock) *journeys.Runner {
	res := journeys.Resources{
		"record": {"read": {Method: "GET", Path: "/api/patients/{id}/record"}},
		"notes": {
			"read":  {Method: "GET", Path: "/api/patients/{id}/notes"},
			"write": {Method: "POST", Path: "/api/patients/{id}/notes", Body: map[string]string{"text": "stable"}},
		},
		"lab-results": {"read": {Method: "GET", Path: "/api/lab-results"}},
	}
	return &journeys.Runner{
		Probes: []journeys.Probe{
			{Kind: personas.Patient, Action: "read", Resource: "record:self", Expect: record.Allow},
			{Kind: personas.Patient, Action: "read", Resource: "record:other", Expect: record.Deny},
			{Kind: personas.Clinician, Action: "write", Resource: "notes:panel", Expect: record.Allow},
			{Kind: personas.Clinician, Action: "read", Resource: "notes:unassigned", Expect: record.Deny},
			{Kind: personas.Service, Action: "read", Resource: "lab-results:all"},
		},
		Resources:   map[record.Side]journeys.Resources{record.Legacy: res, record.Candidate: res},
		Targets:     journeys.NewTargets(pop),
		BreakGlass:  journeys.BreakGlassPlan{Action: "read", Resource: "record:unassigned", Reason: "unconscious in ED", MaxWait: 5 * time.Second},
		Audit:       journeys.AuditPlan{Within: time.Second, Poll: 50 * time.Millisecond, Skew: time.Second},
		StepTimeout: 10 * time.Second, Now: clk.Now, Wait: clk.Wait,
	}
}

// TestEmbeddedStacks runs every journey on both embedded stacks, one persona at a
// time on an injected clock, and checks the facts each step records.
func TestEmbeddedStacks(t *testing.T) {
	clk := &testClock{}
	leg, cand, pop := embeddedAdapters(t, clk, "none")
	r := embeddedRunner(pop, clk)
	var eligible, ineligible personas.Persona
	for _, p := range pop.ByKind(personas.Clinician) {
		if p.BreakGlass && eligible.ID == "" {
			eligible = p
		}
		if !p.BreakGlass && ineligible.ID == "" {
			ineligible = p
		}
	}
	runs := []struct {
		j journeys.Journey
		p personas.Persona
	}{
		{journeys.Journey{Name: "session", Steps: []string{journeys.StepsLogin, journeys.StepsProbes, journeys.StepsRefresh, journeys.StepsLogout, journeys.StepsAudit}}, pop.ByKind(personas.Patient)[0]},
		{journeys.Journey{Name: "session", Steps: []string{journeys.StepsLogin, journeys.StepsProbes, journeys.StepsRefresh, journeys.StepsLogout, journeys.StepsAudit}}, eligible},
		{journeys.Journey{Name: "glass", Steps: []string{journeys.StepsLogin, journeys.StepsBreakglass}}, eligible},
		{journeys.Journey{Name: "glass", Steps: []string{journeys.StepsLogin, journeys.StepsBreakglass}}, ineligible},
		{journeys.Journey{Name: "service", Steps: []string{journeys.StepsService, journeys.StepsProbes}}, pop.ByKind(personas.Service)[0]},
	}
	rec := &recorder{}
	defer func() {
		if t.Failed() {
			t.Logf("records:\n%s", rec.dump())
		}
	}()
	for i, run := range runs {
		for side, st := range map[record.Side]journeys.Stack{record.Legacy: leg, record.Candidate: cand} {
			r.Run(t.Context(), run.j, side, st, run.p, journeys.Iteration{N: uint64(i)}, rec.emit)
		}
	}
	C, L := record.Candidate, record.Legacy
	for _, side := range []record.Side{L, C} {
		for _, rc := range rec.recs {
			if rc.Side == side && rc.Outcome == record.Error {
				t.Errorf("%s %s %s: error %s", side, rc.Step, rc.Target, rc.Error)
			}
			if rc.Side == side && rc.Facts.Expected != "" && rc.Outcome == record.OK && rc.Facts.Decision != rc.Facts.Expected {
				t.Errorf("%s %s %s %s: %s; want %s (%s)", side, rc.Persona, rc.Step, rc.Target, rc.Facts.Decision, rc.Facts.Expected, rc.Error)
			}
		}
		for _, a := range rec.find(side, record.StepAudit, "*") {
			wantDecision(t, a, record.OK, record.Allow)
		}
	}
	logins := rec.find(C, record.StepLogin, "")
	if l := logins[0]; len(l.Facts.MissingClaims) > 0 || l.Facts.TTL != 300 || !slices.Equal(l.Facts.Roles, []string{"patient"}) {
		t.Errorf("candidate login: missing %v ttl %d roles %v; want none, 300, [patient]", l.Facts.MissingClaims, l.Facts.TTL, l.Facts.Roles)
	}
	for _, rf := range rec.find(C, record.StepRefresh, "") {
		if rf.Facts.Rotated == nil || !*rf.Facts.Rotated || len(rf.Facts.Widened) > 0 {
			t.Errorf("candidate refresh: rotated %v widened %v; want rotated, nothing widened", rf.Facts.Rotated, rf.Facts.Widened)
		}
	}
	if n := len(rec.find(C, record.StepRefreshFamily, "")); n != 2 || len(rec.find(C, record.StepLogin, "relogin")) != 2 {
		t.Errorf("candidate: %d family checks, %d relogins; want 2 and 2 (reuse detection ends the grant)", n, len(rec.find(C, record.StepLogin, "relogin")))
	}
	for _, target := range []string{"access_token", "refresh_token"} {
		if n := len(rec.find(C, record.StepLogoutIntrospect, target)); n != 2 {
			t.Errorf("candidate logout.introspect %s: %d records; want 2", target, n)
		}
	}
	for _, side := range []record.Side{L, C} {
		wantDecision(t, rec.one(t, side, record.StepBreakglassExpired, "read record:unassigned"), record.OK, record.Deny)
		wantDecision(t, rec.one(t, side, record.StepBreakglassInelig, "read record:unassigned"), record.OK, record.Deny)
		wantDecision(t, rec.one(t, side, record.StepBreakglassAudit, adapter.AuditBreakglassAccess), record.OK, record.Allow)
	}
	for _, rc := range rec.recs {
		if rc.Facts.SubjectOf != "" || rc.Facts.ClientBound {
			t.Errorf("%s %s %s: subject of %q, client bound %t; want neither (one subject per persona, a public harness client)", rc.Side, rc.Persona, rc.Step, rc.Facts.SubjectOf, rc.Facts.ClientBound)
		}
	}
	lt, ct := rec.one(t, L, record.StepServiceToken, ""), rec.one(t, C, record.StepServiceToken, "")
	if !slices.Equal(lt.Facts.Scopes, ct.Facts.Scopes) || len(ct.Facts.Scopes) == 0 || ct.Facts.TTL != 300 || ct.Facts.RefreshIssued || lt.Facts.TTL != -1 {
		t.Errorf("service: legacy scopes %v ttl %d, candidate scopes %v ttl %d refresh %t; want the same non-empty scopes, -1 and 300, no refresh token",
			lt.Facts.Scopes, lt.Facts.TTL, ct.Facts.Scopes, ct.Facts.TTL, ct.Facts.RefreshIssued)
	}
}

// TestTwoPersonasOneAccount signs in two personas whose credentials lead to one
// account (an accounts file that merged them, as a case-folded or shared
// username does): the second sign-in records the persona whose subject it was
// given, on both embedded stacks, and a persona signing in again does not.
func TestTwoPersonasOneAccount(t *testing.T) {
	clk := &testClock{}
	leg, cand, pop := embeddedAdapters(t, clk, "none")
	r := embeddedRunner(pop, clk)
	a := pop.ByKind(personas.Patient)[0]
	twin := a
	twin.ID = a.ID + "-twin"
	rec := &recorder{}
	login := journeys.Journey{Name: "login", Steps: []string{journeys.StepsLogin}}
	for i, p := range []personas.Persona{a, a, twin} {
		for side, st := range map[record.Side]journeys.Stack{record.Legacy: leg, record.Candidate: cand} {
			r.Run(t.Context(), login, side, st, p, journeys.Iteration{N: uint64(i)}, rec.emit)
		}
	}
	for _, side := range []record.Side{record.Legacy, record.Candidate} {
		logins := rec.find(side, record.StepLogin, "")
		if len(logins) != 3 {
			t.Fatalf("%s: %d sign-ins; want 3\n%s", side, len(logins), rec.dump())
		}
		for _, l := range logins {
			want := ""
			if l.Persona == twin.ID {
				want = a.ID
			}
			if l.Outcome != record.OK || l.Facts.SubjectOf != want {
				t.Errorf("%s %s sign-in: %s, subject of %q; want ok, %q", side, l.Persona, l.Outcome, l.Facts.SubjectOf, want)
			}
		}
	}
}

// TestConfidentialRefreshIsClientBound refreshes through a confidential
// harness client on a candidate that does not rotate: the refresh says the
// token is bound to the client (RFC 9700 s4.14.2 asks rotation of public
// clients only), where TestEmbeddedStacks' public client says it is not.
func TestConfidentialRefreshIsClientBound(t *testing.T) {
	clk := &testClock{}
	dialects, err := stacks.ParseDialects("secret-post-only")
	if err != nil {
		t.Fatal(err)
	}
	_, cand, pop := embeddedWith(t, clk, embedOptions{
		Drifts: "refresh-not-rotated",
		Stacks: func(o *stacks.Options) { o.Dialects = dialects },
		Candidate: func(c *oidc.Config, pair *stacks.Pair) {
			c.ClientSecret, c.AuthMethod = new(adapter.NewSecretRef(pair.HarnessClientSecret)), oidc.AuthClientSecretPost
			c.Introspection.AuthMethod = oidc.AuthClientSecretPost
		},
	})
	r := embeddedRunner(pop, clk)
	rec := &recorder{}
	j := journeys.Journey{Name: "session", Steps: []string{journeys.StepsLogin, journeys.StepsRefresh}}
	r.Run(t.Context(), j, record.Candidate, cand, pop.ByKind(personas.Patient)[0], journeys.Iteration{}, rec.emit)
	rf := rec.one(t, record.Candidate, record.StepRefresh, "")
	if rf.Outcome != record.OK || rf.Facts.Rotated == nil || *rf.Facts.Rotated || !rf.Facts.ClientBound {
		t.Errorf("refresh: %s %s, rotated %v, client bound %t; want ok, not rotated, client bound\n%s", rf.Outcome, rf.Error, rf.Facts.Rotated, rf.Facts.ClientBound, rec.dump())
	}
	// Nothing to replay: the skip says why, and what makes the replay's
	// classes not keep the run from passing.
	if rp := rec.one(t, record.Candidate, record.StepRefreshReplay, ""); rp.Outcome != record.Skipped || !strings.Contains(rp.Error, "RFC 9700 s4.14.2") || !strings.Contains(rp.Error, "thresholds.coverage.optional") {
		t.Errorf("refresh.replay: %s %q; want skipped, naming RFC 9700 s4.14.2 and thresholds.coverage.optional", rp.Outcome, rp.Error)
	}
}
