package results

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/cutover-dev/cutover/internal/schemadoc"
	"github.com/cutover-dev/cutover/results/analysis"
	"github.com/cutover-dev/cutover/results/internal/fixture"
	"github.com/cutover-dev/cutover/results/record"
)

// schemaFields reads the summary.json table of SCHEMA.md: field path -> type.
func schemaFields(t *testing.T) map[string]string {
	t.Helper()
	doc, err := schemadoc.Table("SCHEMA.md", "# summary.json")
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// TestSummaryMatchesSchema checks SCHEMA.md against real summaries both ways:
// every field written is documented with its type, and every documented field is
// written by at least one of a parity run, an aborted A/A run with every
// optional setting, a run that saw too little to pass and one whose candidate
// alone fails a token check.
func TestSummaryMatchesSchema(t *testing.T) {
	doc := schemaFields(t)
	parity, _ := fixture.Golden.Summary(fixture.Options)
	opt := fixture.Options
	opt.Compare.AA, opt.Compare.TTLTolerance = true, 0.1
	opt.Gate.Classes = map[analysis.Class]analysis.ClassRule{analysis.AuthzError: {Severity: analysis.Low, Fail: record.Bool(false)}}
	opt.Perf.Steps = map[string]analysis.StepTolerance{"session/login": {LatencyRatio: 1.5, LatencyMinDelta: 20 * time.Millisecond, ErrorRateDelta: 0.05}}
	fx := fixture.Run{Journeys: 40, Duration: 4e9, Seed: 3}
	a := analysis.New(opt, fixture.Start)
	a.SetPersonas(fx.Personas())
	for _, r := range fx.Records() {
		a.Add(r)
	}
	// A browser sign-in that failed and left a screenshot and a DOM excerpt.
	a.Add(&record.Record{Side: record.Candidate, Persona: "patient-00001", Kind: "patient", Journey: "browser", Step: record.StepBrowserLogin,
		Start: fixture.Start, Outcome: record.Error, Error: "landing page did not show",
		Evidence: []string{"evidence/browser-candidate-patient-00001-0-login.png", "evidence/browser-candidate-patient-00001-0-login.html"}})
	meta := fx.Meta()
	meta.AA, meta.Drifts, meta.Aborted = true, []string{"slow-token"}, "interrupted"
	aa := a.Summary(meta, fx.Accounting())
	// A parity run whose billing findings pass the gate: its cohorts carry
	// warnings (an A/A run has no cohorts).
	lenient := fixture.Options
	lenient.Gate.Classes = map[analysis.Class]analysis.ClassRule{analysis.OverPermission: {Fail: record.Bool(false)}, analysis.RoleMappingDrift: {Fail: record.Bool(false)}}
	warned, _ := fixture.Golden.Summary(lenient)
	// A run that saw too little to pass: steps unsupported and skipped, a
	// precondition, coverage gaps, findings present on both stacks, a pool
	// shortfall; and the same with the candidate alone failing a token check
	// (a TOKEN_INVALID finding and its cause, naming the check), judged with
	// what both stacks show failing it.
	thin, _ := fixture.Thin.Summary(fixture.ThinOptions)
	sharedOpt := fixture.ThinOptions
	sharedOpt.SharedFails = true
	nonce := fixture.Thin
	nonce.NonceDrift = true
	thinShared, _ := nonce.Summary(sharedOpt)

	// A candidate that accepts replayed refresh tokens: a cause whose class
	// says what to check first.
	replay := analysis.New(fixture.Options, fixture.Start)
	table := fx.Personas()
	replay.SetPersonas(table)
	for _, r := range fx.Records() {
		replay.Add(r)
	}
	for i, p := range table.Personas[:6] {
		for _, side := range []record.Side{record.Legacy, record.Candidate} {
			d := record.Deny
			if side == record.Candidate {
				d = record.Allow
			}
			replay.Add(&record.Record{Side: side, Persona: p.ID, Kind: p.Attrs[record.AttrKind], Journey: "session", Iteration: uint64(1000 + i),
				Step: record.StepRefreshReplay, Start: fixture.Start, Outcome: record.OK, Facts: record.Facts{Decision: d, Expected: record.Deny}})
		}
	}
	reuse := replay.Summary(fx.Meta(), fx.Accounting())

	seen := map[string][]string{}
	for _, s := range []analysis.Summary{parity, aa, warned, thin, thinShared, reuse} {
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatal(err)
		}
		if s.Verdict == "" || s.Schema != analysis.SummarySchema {
			t.Fatalf("summary without verdict or schema: %q %q", s.Verdict, s.Schema)
		}
		schemadoc.Fields(v, []string{"options.gate.classes", "options.perf.steps"}, seen)
	}
	if d := schemadoc.Compare(doc, seen); d.Any() {
		t.Errorf("SCHEMA.md and summary.json disagree:\n%s", d)
	}
	for _, must := range []string{"verdict", "findings[].class", "findings[].severity", "findings[].count", "findings[].journey",
		"findings[].step", "findings[].persona_kind", "findings[].examples", "steps[].journey", "steps[].step",
		"steps[].legacy.count", "steps[].legacy.errors", "steps[].legacy.p50_ms", "steps[].legacy.p95_ms", "steps[].legacy.p99_ms",
		"run.seed", "run.config_hash", "run.version", "run.start", "run.duration_ns",
		"generator.scheduled", "generator.started", "generator.late", "generator.dropped"} {
		if _, ok := doc[must]; !ok {
			t.Errorf("SCHEMA.md does not document %s, which issue 8 requires", must)
		}
	}
	// v3: a verdict never passes what it did not see.
	for _, must := range []string{"inconclusive", "coverage[].class", "coverage[].status", "coverage[].gaps[].reason", "preconditions[].error",
		"shared[].class", "findings[].check", "steps[].unhealthy_share", "steps[].not_judged", "steps[].candidate.unsupported",
		"steps[].candidate.not_run", "cohorts[].missing", "generator.shortfall[].more", "generator.health.unhealthy", "generator.unhealthy"} {
		if _, ok := doc[must]; !ok {
			t.Errorf("SCHEMA.md does not document %s, which v3 adds", must)
		}
	}
}
