package shadow_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cutover-dev/cutover/examples"
	"github.com/cutover-dev/cutover/personas"
	"github.com/cutover-dev/cutover/results"
	"github.com/cutover-dev/cutover/results/analysis"
	"github.com/cutover-dev/cutover/run/config"
	"github.com/cutover-dev/cutover/run/rehearsal"
	"github.com/cutover-dev/cutover/run/shadow"
	"github.com/cutover-dev/cutover/stacks"
)

// legacyShadowFile reads the embedded legacy's access log (its own shape:
// PERMIT/DENY, "patient:ID/TYPE") and maps its subjects through the accounts
// file; %s is the PDP's URL.
const legacyShadowFile = `version: 1
name: legacy-access
log:
  path: access.jsonl
  subject: user
  subject_type: {path: acct, map: {api-key: service}}
  roles: roles
  action: op
  resource_type: {path: object, match: "^(?:patient:[^/]+/)?([a-z-]+)$"}
  resource_id: {path: object, match: "^patient:([^/]+)/", map: {claims: all, users: all, audit: all, lab-results: all, analytics: all}}
  decision: {path: result, map: {PERMIT: allow, DENY: deny}}
  attributes: {perms: perms}
  context: {via: via}
subjects: {accounts: personas.jsonl, match: id}
candidate: {url: "%s", rate: 200}
allow_hosts: [127.0.0.1]
expected:
  roles: [patient, clinician, admin, billing-clerk, auditor, service]
  resource_types: [record, notes, appointments, bills, claims, users, audit]
  actions: [read, write]
cohort_by: wave
`

// rehearsed is what a demo rehearsal against the embedded stacks left: a
// folder holding the legacy's access log of it (access.jsonl), the accounts
// file of its personas (personas.jsonl) and its rehearsal file (demo.yaml),
// whose variables env resolves for the stacks, still running; the
// clinicians' panels (the candidate PDP's data); when the rehearsal began and
// ended.
type rehearsed struct {
	dir        string
	panels     map[string]any
	env        func(string) string
	start, end time.Time
}

// rehearsalLog runs the demo rehearsal for a few seconds against the embedded
// stacks with the legacy's access log on.
func rehearsalLog(t *testing.T) *rehearsed {
	t.Helper()
	cfg, err := config.Parse("examples/demo.yaml", examples.Demo, examples.DemoEnv(nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	pop, err := rehearsal.Population(cfg)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := stacks.Start(t.Context(), stacks.Options{Population: pop, Seed: cfg.Seed, BreakGlassTTL: 4 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pair.Close() })
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "demo.yaml"), examples.Demo, 0o644); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, "access.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	pair.Legacy.SetAccessLog(logf)
	cfg, err = config.Parse("examples/demo.yaml", examples.Demo, examples.DemoEnv(pair, nil))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Load.Profile = config.Profile{Type: config.ProfileConstant, Rate: 30}
	cfg.Load.Duration, cfg.Load.Drain = 5*time.Second, 20*time.Second
	start := time.Now()
	if _, err := rehearsal.Run(t.Context(), cfg, rehearsal.Options{Out: t.TempDir()}); err != nil {
		t.Fatalf("rehearsal: %v", err)
	}
	end := time.Now()
	pair.Legacy.SetAccessLog(nil)
	if err := pair.Legacy.AccessLogErr(); err != nil {
		t.Fatal(err)
	}
	if err := logf.Close(); err != nil {
		t.Fatal(err)
	}
	acc, err := os.Create(filepath.Join(dir, "personas.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	refs := pop.WithSecretRefs(func(p personas.Persona) string { return "env:UNUSED_" + strings.ToUpper(string(p.Kind)) })
	if err := personas.WriteJSONL(acc, refs); err != nil {
		t.Fatal(err)
	}
	acc.Close()
	panels := map[string]any{}
	for _, p := range pop.Personas {
		ids := make([]any, len(p.Panel))
		for i, id := range p.Panel {
			ids[i] = id
		}
		panels[p.ID] = ids
	}
	return &rehearsed{dir: dir, panels: panels, env: examples.DemoEnv(pair, nil), start: start, end: end}
}

// shadowRun judges the legacy's decisions of the rehearsal against a real
// OPA running policy src: file is the shadow file, %s in it the PDP's URL.
func shadowRun(t *testing.T, r *rehearsed, name, file, src string) (*shadow.Result, int64) {
	t.Helper()
	pdp, evals := opaPDP(t, src, map[string]any{"panels": r.panels})
	dir := r.dir
	path := filepath.Join(dir, name+".yaml")
	if err := os.WriteFile(path, fmt.Appendf(nil, file, pdp.URL), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := shadow.Read(path, r.env)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out-"+name)
	res, err := shadow.Run(t.Context(), f, shadow.Options{Out: out})
	if err != nil {
		t.Fatalf("shadow %s: %v", name, err)
	}
	// The results folder reads back as any run's (cutover report, diff).
	if _, _, err := results.Read(out); err != nil {
		t.Fatalf("results of %s: %v", name, err)
	}
	return res, evals.Load()
}

// TestLegacyLogAgainstOPA: the decision log the embedded legacy wrote during
// a rehearsal, every decision of it, judged against a real policy engine as
// the candidate. The policy that matches legacy's gives no finding; each
// drift of the policy is one cause on the attribute that explains it.
func TestLegacyLogAgainstOPA(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo rehearsal against the embedded stacks")
	}
	reh := rehearsalLog(t)

	t.Run("unchanged policy", func(t *testing.T) {
		res, evals := shadowRun(t, reh, "reference", legacyShadowFile, policy(t))
		r, s := res.Report, res.Summary
		t.Log(r.Sentence())
		if s.Verdict != analysis.VerdictPass || len(s.Findings) != 0 || len(s.Causes) != 0 {
			t.Fatalf("verdict %s, findings %+v, inconclusive %q; want pass and none", s.Verdict, s.Findings, s.Inconclusive)
		}
		if r.Compared < 200 || r.Ambiguous != 0 || r.Agreed != r.Compared || len(r.Coverage.Missing) != 0 {
			t.Errorf("report %+v; want hundreds of lines compared and agreed, none ambiguous, nothing expected missing", r)
		}
		// Each distinct question reached the PDP once: the cache answered
		// the rest.
		if r.Evaluations != evals || r.Evaluations != r.Questions || r.CacheHits != r.Compared-r.Questions || r.Saved <= 0 {
			t.Errorf("evaluations %d (the PDP saw %d), distinct questions %d, cache hits %d of %d lines, saved %.2f; want one evaluation per question",
				r.Evaluations, evals, r.Questions, r.CacheHits, r.Compared, r.Saved)
		}
	})

	// Each cause names the role and the resource type of its drift: the
	// units the analysis judges are a subject asking one action on one
	// resource type.
	drifts := []struct {
		name, src string
		class     analysis.Class
		factors   []analysis.Factor
		kind      string
		where     string
	}{
		{"billing-admin", policy(t, billingAdmin), analysis.OverPermission,
			[]analysis.Factor{{Name: "kind", Value: "billing-clerk"}, {Name: "resource_type", Value: "users"}}, "billing-clerk", "read users"},
		// Among the entitlements legacy allowed, reading notes is the
		// clinicians' alone (their panel's): the action and the resource type
		// pick out exactly what the drift took, their writing of notes apart.
		{"notes-denied", policy(t, notesDenied), analysis.UnderPermission,
			[]analysis.Factor{{Name: "action", Value: "read"}, {Name: "resource_type", Value: "notes"}}, "clinician", "read notes"},
	}
	for _, d := range drifts {
		t.Run(d.name, func(t *testing.T) {
			res, _ := shadowRun(t, reh, d.name, legacyShadowFile, d.src)
			s := res.Summary
			if s.Verdict != analysis.VerdictFail || len(s.Causes) != 1 {
				t.Fatalf("verdict %s with causes %+v; want fail with one cause", s.Verdict, s.Causes)
			}
			c := s.Causes[0]
			if !slices.Equal(c.Factors, d.factors) || !slices.Equal(c.ClassNames(), []string{string(d.class)}) {
				t.Errorf("cause %s: factors %v, classes %v; want %v and %s", c.ID, c.Factors, c.ClassNames(), d.factors, d.class)
			}
			for _, f := range s.Findings {
				if f.Class != d.class || f.PersonaKind != d.kind || f.Journey != shadow.Journey {
					t.Errorf("finding %+v; want only %s of %s", f, d.class, d.kind)
				}
			}
			if len(res.Report.Causes) != 1 || len(res.Report.Causes[0].Rows) != 1 {
				t.Fatalf("cause scopes %+v; want the cause's disagreements on one action and resource type", res.Report.Causes)
			}
			row := res.Report.Causes[0].Rows[0]
			// The row counts every line of the cause's scope, the ones legacy
			// decided the other way (which agree) too.
			if got := row.Action + " " + row.Type; got != d.where || row.Over+row.Under == 0 {
				t.Errorf("cause %s disagrees on %s (%d of %d lines); want its disagreements on %s", c.ID, got, row.Over+row.Under, row.Compared, d.where)
			}
		})
	}

	// The same rehearsal's decisions, read from the legacy's audit feed
	// instead of its access log (audit_test.go).
	t.Run("audit feed", func(t *testing.T) { auditFeed(t, reh) })
}

// TestExampleFile: examples/shadow's shadow file reads its sample of the
// embedded legacy's access log, and its policy, in a real OPA with its data,
// agrees with every line and leaves nothing expected unexercised.
func TestExampleFile(t *testing.T) {
	b, err := os.ReadFile("../../examples/shadow/data.json")
	if err != nil {
		t.Fatal(err)
	}
	var data map[string]any
	if err := json.Unmarshal(b, &data); err != nil {
		t.Fatal(err)
	}
	pdp, _ := opaPDP(t, policy(t), data)
	f, err := shadow.Read("../../examples/shadow/shadow.yaml", func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	f.Candidate.URL = pdp.URL // the file's 127.0.0.1:8181, on the test's port
	res, err := shadow.Run(t.Context(), f, shadow.Options{Out: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	r, s := res.Report, res.Summary
	if s.Verdict != analysis.VerdictPass || r.Lines != 24 || r.Agreed != 24 || len(r.Coverage.Missing)+len(r.Coverage.Unexpected) != 0 {
		t.Errorf("verdict %s %q; %s; coverage %+v; want every line agreed, everything expected seen", s.Verdict, s.Inconclusive, r.Sentence(), r.Coverage)
	}
}
