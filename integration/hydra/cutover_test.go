package hydra_test

import (
	"flag"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cutover-dev/cutover/integration/internal/itest"

	"github.com/cutover-dev/cutover/integration/hydra"
	"github.com/cutover-dev/cutover/journeys/adapter"
	"github.com/cutover-dev/cutover/personas"
	"github.com/cutover-dev/cutover/results"
	"github.com/cutover-dev/cutover/results/analysis"
	"github.com/cutover-dev/cutover/results/record"
	"github.com/cutover-dev/cutover/run/config"
	"github.com/cutover-dev/cutover/run/rehearsal"
	"github.com/cutover-dev/cutover/stacks"
)

// rehearsalFile is the sample rehearsal file these tests run, so the sample is
// always one that works.
const rehearsalFile = "../../examples/hydra/rehearsal.yaml"

var updateSample = flag.Bool("update-sample", false, "write the sample report (report.md, summary.json) of the legacy-vs-Hydra run to examples/hydra")

// hydraRun is a rehearsal of legacy (the embedded stack) against Hydra.
type hydraRun struct {
	sum *analysis.Summary
	out string
	// records of the run, by side.
	records map[record.Side][]record.Record
}

// rehearse starts the embedded legacy stack and Hydra (with opt), provisions the
// file's personas and clients in Hydra, and runs the rehearsal file against them.
func rehearse(t *testing.T, opt hydra.Options) hydraRun {
	t.Helper()
	// The personas and mappings come from the file; the URLs are not known yet.
	draft, _, err := config.ReadOffline(rehearsalFile, itest.Env(nil))
	if err != nil {
		t.Fatalf("config.Read(%s): %v", rehearsalFile, err)
	}
	pop, err := rehearsal.Population(draft)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := stacks.Start(t.Context(), stacks.Options{Population: pop})
	if err != nil {
		t.Fatalf("stacks.Start: %v", err)
	}
	t.Cleanup(func() { _ = pair.Close() })

	leg := draft.Stacks.Legacy.Legacy
	cand := draft.Stacks.Candidate.OIDC
	for _, p := range pop.Personas {
		if p.Human() {
			opt.Users = append(opt.Users, hydra.User{ID: p.ID, Username: p.Username, Password: p.Secret, Roles: adapter.MapRoles(p.Roles, leg.RoleMap)})
		}
	}
	s := startHydra(t, opt)
	audience := []string{cand.Audience}
	harness := hydra.PublicClient(cand.ClientID, []string{cand.RedirectURI}, cand.Scopes...)
	harness.Audience = audience
	introSecret := personas.NewSecret(itest.Secret(t))
	clients := []hydra.Client{harness, hydra.ConfidentialClient(cand.Introspection.ClientID, introSecret, nil)}
	for _, p := range pop.ByKind(personas.Service) {
		c := hydra.ServiceClient(p.Username, p.Secret, adapter.MapPermissions(p.Permissions, leg.PermissionMap)...)
		c.Audience = audience
		clients = append(clients, c)
	}
	for _, c := range clients {
		createClient(t, s, c)
	}

	env := map[string]string{
		"CUTOVER_LEGACY_URL": pair.LegacyURL, "CUTOVER_HYDRA_ISSUER": s.Issuer,
		"CUTOVER_HYDRA_ADMIN_URL": s.AdminURL, "CUTOVER_INTROSPECTION_SECRET": introSecret.Reveal(),
	}
	cfg, err := config.Read(rehearsalFile, itest.Env(env))
	if err != nil {
		t.Fatalf("config.Read(%s): %v", rehearsalFile, err)
	}
	sum, out := itest.Rehearse(t, cfg, nil)
	run := hydraRun{sum: sum, out: out, records: map[record.Side][]record.Record{}}
	err = results.ReadRecords(out, func(r *record.Record) error {
		run.records[r.Side] = append(run.records[r.Side], *r)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Nothing the harness wrote may carry a secret of the run.
	secrets := []string{introSecret.Reveal()}
	for _, p := range pop.Personas {
		secrets = append(secrets, p.Secret.Reveal())
	}
	itest.NoSecrets(t, out, secrets)
	return run
}

// steps counts the records of side by step and outcome ("login/ok").
func (r hydraRun) steps(side record.Side) map[string]int {
	n := map[string]int{}
	for _, rec := range r.records[side] {
		n[rec.Step+"/"+string(rec.Outcome)]++
	}
	return n
}

// TestCutoverAgainstHydra runs the sample rehearsal with a correctly configured
// Hydra, issuing opaque access tokens (read through introspection) or JWTs (typ
// JWT, scopes in scp, roles under ext): every journey Hydra supports runs and
// agrees with legacy, and what Hydra does not offer is recorded as unsupported,
// never as an error or a finding.
func TestCutoverAgainstHydra(t *testing.T) {
	for _, tokens := range []hydra.TokenStrategy{hydra.Opaque, hydra.JWT} {
		t.Run(string(tokens), func(t *testing.T) {
			run := rehearse(t, hydra.Options{AccessTokens: tokens})
			checkAgreement(t, run)
			if *updateSample && tokens == hydra.Opaque {
				itest.WriteSample(t, run.out, "../../examples/hydra")
			}
		})
	}
}

func checkAgreement(t *testing.T, run hydraRun) {
	t.Helper()
	for _, f := range run.sum.Findings {
		if !f.Class.Performance() {
			t.Errorf("parity finding against a correct Hydra: %s (%s/%s, %s) x%d: %+v", f.Class, f.Journey, f.Step, f.PersonaKind, f.Count, f.Examples)
		}
	}
	for _, rec := range run.records[record.Candidate] {
		if rec.Step == record.StepLogin && rec.Facts.Decision != record.Allow {
			t.Logf("candidate login of %s: %s %s", rec.Persona, rec.Outcome, rec.Error)
		}
	}
	cand := run.steps(record.Candidate)
	t.Logf("candidate steps: %v", cand)
	t.Logf("legacy steps: %v", run.steps(record.Legacy))
	// The journeys Hydra supports ran and decided.
	for _, step := range []string{
		record.StepLogin, record.StepRefresh, record.StepRefreshReplay, record.StepRefreshFamily,
		record.StepLogout, record.StepLogoutIntrospect, record.StepLogoutRefresh, record.StepServiceToken,
	} {
		if cand[step+"/"+string(record.OK)] == 0 {
			t.Errorf("candidate step %s never ran to a decision", step)
		}
	}
	for _, rec := range run.records[record.Candidate] {
		switch {
		case rec.Outcome == record.Error:
			t.Errorf("candidate %s %s (%s): error %s", rec.Journey, rec.Step, rec.Persona, rec.Error)
		case strings.HasPrefix(rec.Step, "breakglass") || rec.Step == record.StepAudit:
			if rec.Outcome != record.Unsupported {
				t.Errorf("candidate %s (%s) = %s; want unsupported (Hydra has no token exchange and no audit API)", rec.Step, rec.Persona, rec.Outcome)
			}
		}
	}
	// The tokens were read (verified, or through introspection): sessions carry
	// the roles legacy maps to and a service token the scopes of its permissions.
	for _, rec := range run.records[record.Candidate] {
		if rec.Step == record.StepLogin && rec.Outcome == record.OK && rec.Kind != string(personas.Service) && rec.Facts.Decision == record.Allow {
			if len(rec.Facts.Roles) == 0 || rec.Facts.TTL <= 0 {
				t.Errorf("candidate login of %s: roles %v, ttl %d; want roles and a lifetime", rec.Persona, rec.Facts.Roles, rec.Facts.TTL)
			}
		}
		if rec.Step == record.StepServiceToken && rec.Outcome == record.OK && len(rec.Facts.Scopes) == 0 {
			t.Errorf("candidate service token of %s has no scope", rec.Persona)
		}
	}
}

// TestCutoverDetectsHydraRegression seeds a regression in Hydra's configuration
// (a refresh token rotation grace period: a rotated refresh token stays usable)
// and checks that the harness reports it.
func TestCutoverDetectsHydraRegression(t *testing.T) {
	run := rehearse(t, hydra.Options{RotationGracePeriod: time.Minute})
	var classes []analysis.Class
	for _, f := range run.sum.Findings {
		classes = append(classes, f.Class)
	}
	if !slices.Contains(classes, analysis.RefreshReuseAccepted) {
		t.Fatalf("findings %v; want %s (Hydra accepts a rotated refresh token within its grace period)", classes, analysis.RefreshReuseAccepted)
	}
}
