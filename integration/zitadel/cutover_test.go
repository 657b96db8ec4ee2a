package zitadel_test

import (
	"bytes"
	"flag"
	"slices"
	"testing"

	"github.com/cutover-dev/cutover/integration/internal/itest"

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
const rehearsalFile = "../../examples/zitadel/rehearsal.yaml"

var updateSample = flag.Bool("update-sample", false, "write the sample report (report.md, summary.json) of the legacy-vs-zitadel run to examples/zitadel")

// zrun is a rehearsal against the example OP: its summary, folder and records.
type zrun struct {
	sum     *analysis.Summary
	out     string
	records map[record.Side][]record.Record
}

// rehearse starts the embedded legacy stack and the example OP with the file's
// personas and runs the rehearsal file, edited by edit, against them.
func rehearse(t *testing.T, edit func(*config.File)) zrun {
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
	leg, cand := draft.Stacks.Legacy.Legacy, draft.Stacks.Candidate.OIDC
	secret := itest.Secret(t)
	op := startOP(t, pop, func(p personas.Persona) []string { return adapter.MapRoles(p.Roles, leg.RoleMap) }, cand.ClientID, secret, cand.RedirectURI)

	env := map[string]string{"CUTOVER_LEGACY_URL": pair.LegacyURL, "CUTOVER_ZITADEL_ISSUER": op.Issuer, "CUTOVER_HARNESS_SECRET": secret}
	cfg, err := config.Read(rehearsalFile, itest.Env(env))
	if err != nil {
		t.Fatalf("config.Read(%s): %v", rehearsalFile, err)
	}
	if edit != nil {
		edit(cfg)
		if err := cfg.Validate(); err != nil {
			t.Fatal(err)
		}
	}
	sum, out := itest.Rehearse(t, cfg, nil)
	run := zrun{sum: sum, out: out, records: map[record.Side][]record.Record{}}
	if err := results.ReadRecords(out, func(r *record.Record) error {
		run.records[r.Side] = append(run.records[r.Side], *r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	secrets := []string{secret}
	for _, p := range pop.Personas {
		secrets = append(secrets, p.Secret.Reveal())
	}
	itest.NoSecrets(t, out, secrets)
	return run
}

// TestCutoverAgainstZitadelOIDC runs the sample rehearsal against the example
// OP: the one true finding is REFRESH_FAMILY_NOT_REVOKED (a replayed refresh
// token is refused but the chain it was rotated into lives on); roles come from
// introspection of its opaque tokens and agree with legacy; RP-initiated logout
// is done and verified (the old tokens are dead afterwards).
func TestCutoverAgainstZitadelOIDC(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a rehearsal against the example OP")
	}
	run := rehearse(t, nil)
	var classes []analysis.Class
	for _, f := range run.sum.Findings {
		if !f.Class.Performance() {
			classes = append(classes, f.Class)
		}
	}
	for _, c := range classes {
		if c != analysis.RefreshFamilyNotRevoked {
			t.Errorf("finding %s against the example OP; want only %s\n%s", c, analysis.RefreshFamilyNotRevoked, describe(run.sum))
		}
	}
	if !slices.Contains(classes, analysis.RefreshFamilyNotRevoked) {
		t.Errorf("no %s: the example OP keeps the chain of a replayed refresh token alive\n%s", analysis.RefreshFamilyNotRevoked, describe(run.sum))
	}
	n := map[string]int{}
	for _, rec := range run.records[record.Candidate] {
		n[rec.Step+"/"+string(rec.Outcome)+"/"+rec.Facts.Decision]++
		if rec.Outcome == record.Error {
			t.Logf("candidate %s of %s: %s", rec.Step, rec.Persona, rec.Error)
		}
		if rec.Step == record.StepLogin && rec.Outcome == record.OK && len(rec.Facts.Roles) == 0 {
			t.Errorf("candidate login of %s without roles: introspection should carry them", rec.Persona)
		}
	}
	t.Logf("candidate steps: %v", n)
	for _, want := range []string{
		record.StepLogin + "/ok/allow", record.StepRefresh + "/ok/allow", record.StepRefreshReplay + "/ok/deny",
		record.StepRefreshFamily + "/ok/allow", record.StepLogout + "/ok/allow", record.StepLogoutIntrospect + "/ok/deny",
		record.StepLogoutRefresh + "/ok/deny", record.StepServiceToken + "/ok/allow",
	} {
		if n[want] == 0 {
			t.Errorf("no candidate step %s", want)
		}
	}
	for _, bad := range []string{record.StepLogout + "/unverified/", record.StepLogoutIntrospect + "/ok/allow", record.StepLogoutRefresh + "/ok/allow"} {
		if n[bad] > 0 {
			t.Errorf("%d candidate steps %s: the logout must be done and verified", n[bad], bad)
		}
	}
	if *updateSample {
		itest.WriteSample(t, run.out, "../../examples/zitadel")
	}
}

// TestZitadelOIDCAgainstItself runs the example OP on both sides (A/A): the
// harness's noise floor on a third-party OP is zero, and nothing is found. Both
// sides are one OP, which ends every token of a user and client at logout: the
// two sides of a persona's journey run one after the other (random-order
// pairing), else one side's logout ends the other's session mid-journey.
func TestZitadelOIDCAgainstItself(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a rehearsal against the example OP")
	}
	run := rehearse(t, func(cfg *config.File) {
		cfg.Mode = config.ModeAA
		cfg.Stacks.Legacy = cfg.Stacks.Candidate
		cfg.Load.Pairing = config.PairRandomOrder
	})
	if nf := run.sum.NoiseFloor; nf == nil || nf.Compared == 0 || nf.Disagreed != 0 {
		t.Errorf("A/A noise floor %+v; want comparisons and no disagreement", nf)
	}
	for _, f := range run.sum.Findings {
		if !f.Class.Performance() {
			t.Errorf("A/A finding %s (%s/%s) x%d", f.Class, f.Journey, f.Step, f.Count)
		}
	}
}

func describe(s *analysis.Summary) string {
	var b bytes.Buffer
	for _, f := range s.Findings {
		b.WriteString(string(f.Class) + " " + f.Journey + "/" + f.Step + " " + string(f.PersonaKind) + "\n")
	}
	for _, st := range s.Steps {
		if st.Candidate.NotRun != "" || st.Candidate.Errors > 0 {
			b.WriteString("  candidate " + st.Journey + "/" + st.Step + ": " + st.Candidate.NotRun + "\n")
		}
	}
	return b.String()
}
