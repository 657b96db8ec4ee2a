package analysis_test

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cutover-dev/cutover/internal/splitmix"
	"github.com/cutover-dev/cutover/results/analysis"
	"github.com/cutover-dev/cutover/results/internal/fixture"
	"github.com/cutover-dev/cutover/results/record"
)

// causeRun is a small synthetic run for the grouping tests: 48 patients, 16
// clinicians and 8 billing clerks, every fourth persona of a kind on the older
// hash scheme, spread over three waves, each persona running its kind's journey
// (login, probes, refresh with a replay of the rotated token, logout, a probe
// after logout, audit) six times on both sides. drift changes a candidate record
// before it is added.
type causeRun struct {
	drift func(p causePersona, r *record.Record)
	// slowToken adds this much to every candidate step that calls POST /token.
	slowToken time.Duration
	// slowRS adds this much to every candidate step sent to the resource
	// server's host (the /api endpoints, each its own).
	slowRS time.Duration
	// wave4 adds a wave nobody runs to the persona table; dropFromTable leaves
	// the personas whose id has this prefix out of it.
	wave4         bool
	dropFromTable string
	opt           analysis.Options
	meta          analysis.Meta
}

type causePersona struct {
	id, kind, wave, hash string
	num                  int
}

func causePersonas() []causePersona {
	var out []causePersona
	for _, k := range []struct {
		kind string
		n    int
	}{{"patient", 48}, {"clinician", 16}, {"billing", 8}} {
		for i := range k.n {
			hash := "bcrypt"
			if i%4 == 0 {
				hash = "sha256-salted"
			}
			out = append(out, causePersona{id: fmt.Sprintf("%s-%05d", k.kind, i), kind: k.kind, wave: fmt.Sprintf("wave-%d", 1+i%3), hash: hash, num: i})
		}
	}
	return out
}

var causeJourneys = map[string]string{"patient": "session", "clinician": "shift", "billing": "backoffice"}

var causeProbes = map[string][]struct{ target, expect string }{
	"patient":   {{"read record:{self}", record.Allow}, {"read record:{other}", record.Deny}},
	"clinician": {{"read notes:{panel}", record.Allow}, {"read record:{unassigned}", record.Deny}},
	"billing":   {{"read claims:all", record.Allow}, {"read users:all", record.Deny}},
}

func (cr causeRun) summary(t *testing.T) analysis.Summary {
	t.Helper()
	opt := cr.opt
	if opt.Gate.FailOn == nil {
		opt.Gate.FailOn = []analysis.Severity{analysis.Critical, analysis.High, analysis.Medium}
	}
	opt.Compare.AA = cr.meta.AA
	a := analysis.New(opt, fixture.Start)
	table := &record.PersonaTable{Schema: record.PersonasSchema}
	ps := causePersonas()
	for _, p := range ps {
		if cr.dropFromTable != "" && strings.HasPrefix(p.id, cr.dropFromTable) {
			continue
		}
		table.Personas = append(table.Personas, record.PersonaAttrs{ID: p.id, Attrs: map[string]string{
			record.AttrKind: p.kind, record.AttrWave: p.wave, record.AttrHashScheme: p.hash, record.AttrCohort: p.wave + "/" + p.hash}})
	}
	if cr.wave4 {
		for i := range 2 {
			table.Personas = append(table.Personas, record.PersonaAttrs{ID: fmt.Sprintf("auditor-%05d", i), Attrs: map[string]string{record.AttrKind: "auditor", record.AttrWave: "wave-4"}})
		}
	}
	a.SetPersonas(table)
	lat := func(i int, base time.Duration) time.Duration { return base + time.Duration(i%7)*100*time.Microsecond }
	n := 0
	for it := range 6 {
		for _, p := range ps {
			n++
			for _, side := range []record.Side{record.Legacy, record.Candidate} {
				at := fixture.Start.Add(time.Duration(n) * 10 * time.Millisecond)
				add := func(step, target string, endpoint string, f record.Facts) {
					r := &record.Record{Side: side, Persona: p.id, Kind: p.kind, Cohort: p.wave + "/" + p.hash, Journey: causeJourneys[p.kind], Iteration: uint64(n),
						Step: step, Target: target, Intended: at, Start: at, Latency: lat(n, 2*time.Millisecond), Outcome: record.OK, Endpoints: []string{endpoint}, Facts: f}
					r.Hosts = []string{"idp.example:443"}
					if strings.HasPrefix(endpoint, "GET /api/") {
						r.Hosts = []string{"rs.example:443"}
					}
					if side == record.Candidate {
						if endpoint == "POST /token" {
							r.Latency += cr.slowToken
						}
						if r.Hosts[0] == "rs.example:443" {
							r.Latency += cr.slowRS
						}
						if cr.drift != nil {
							cr.drift(p, r)
						}
					}
					a.Add(r)
				}
				add(record.StepLogin, "", "POST /token", record.Facts{Decision: record.Allow, Expected: record.Allow, Roles: []string{p.kind}, TTL: 900})
				for _, pr := range causeProbes[p.kind] {
					add(record.StepProbe, pr.target, "GET /api/"+strings.Fields(pr.target)[1], record.Facts{Decision: pr.expect, Expected: pr.expect})
				}
				add(record.StepRefresh, "", "POST /token", record.Facts{Decision: record.Allow, Rotated: record.Bool(true)})
				if side == record.Candidate {
					add(record.StepRefreshReplay, "", "POST /token", record.Facts{Decision: record.Deny, Expected: record.Deny})
				}
				if p.kind == "clinician" {
					add(record.StepBreakglass, "", "POST /token", record.Facts{Decision: record.Allow, Expected: record.Allow})
				}
				add(record.StepLogout, "", "POST /logout", record.Facts{Decision: record.Allow})
				add(record.StepLogoutProbe, "", "GET /api/record", record.Facts{Decision: record.Deny, Expected: record.Deny})
				add(record.StepAudit, "", "GET /api/audit", record.Facts{Decision: record.Allow})
			}
		}
		_ = it
	}
	meta := cr.meta
	meta.Name, meta.Start, meta.Duration = "causes", fixture.Start, time.Minute
	return a.Summary(meta, record.Accounting{})
}

// Drifts of the synthetic candidate.
var (
	hashDrift = func(p causePersona, r *record.Record) {
		if p.hash == "sha256-salted" && r.Step == record.StepLogin {
			r.Facts.Decision, r.Facts.Roles = record.Deny, nil
		}
	}
	billingAdmin = func(p causePersona, r *record.Record) {
		if p.kind != "billing" {
			return
		}
		if r.Step == record.StepLogin {
			r.Facts.Roles = []string{"admin", "billing"}
		}
		if r.Target == "read users:all" {
			r.Facts.Decision = record.Allow
		}
	}
	patientSeesOthers = func(p causePersona, r *record.Record) {
		if p.kind == "patient" && r.Target == "read record:{other}" {
			r.Facts.Decision = record.Allow
		}
	}
	notesDenied = func(p causePersona, r *record.Record) {
		if p.kind == "clinician" && r.Target == "read notes:{panel}" {
			r.Facts.Decision = record.Deny
		}
	}
	breakglassDenied = func(_ causePersona, r *record.Record) {
		if r.Step == record.StepBreakglass {
			r.Facts.Decision = record.Deny
		}
	}
	replayAccepted = func(_ causePersona, r *record.Record) {
		if r.Step == record.StepRefreshReplay {
			r.Facts.Decision = record.Allow
		}
	}
	// scattered: personas whose number is 1 or 5 mod 6 fail to log in, whatever
	// their kind or hash scheme; it leans on two waves, but no factor passes.
	scattered = func(p causePersona, r *record.Record) {
		if r.Step == record.StepLogin && (p.num%6 == 1 || p.num%6 == 5) && p.kind != "billing" {
			r.Facts.Decision, r.Facts.Roles = record.Deny, nil
		}
	}
)

func both(fs ...func(causePersona, *record.Record)) func(causePersona, *record.Record) {
	return func(p causePersona, r *record.Record) {
		for _, f := range fs {
			f(p, r)
		}
	}
}

// causeLine renders a cause as the tests compare it: how it is explained, its
// factor and its classes.
func causeLine(c analysis.Cause) string {
	f := c.ExplainedBy
	if len(c.Factors) > 0 {
		f = c.FactorText()
	}
	return c.Level + " " + f + " " + strings.Join(c.ClassNames(), "+")
}

func TestCauses(t *testing.T) {
	for _, tt := range []struct {
		name string
		run  causeRun
		want []string
	}{
		{"no drift", causeRun{}, nil},
		{"broken hash migration", causeRun{drift: hashDrift}, []string{"persona hash_scheme=sha256-salted LOGIN_FAILED"}},
		{"billing clerks get admin", causeRun{drift: billingAdmin}, []string{"persona kind=billing OVER_PERMISSION+ROLE_MAPPING_DRIFT"}},
		{"two faults of one class", causeRun{drift: both(billingAdmin, patientSeesOthers)},
			[]string{"persona kind=patient OVER_PERMISSION", "persona kind=billing OVER_PERMISSION+ROLE_MAPPING_DRIFT"}},
		{"two faults of two classes", causeRun{drift: both(hashDrift, billingAdmin)},
			[]string{"persona kind=billing OVER_PERMISSION+ROLE_MAPPING_DRIFT", "persona hash_scheme=sha256-salted LOGIN_FAILED"}},
		{"one wave's billing clerks", causeRun{drift: func(p causePersona, r *record.Record) {
			if p.wave == "wave-2" {
				billingAdmin(p, r)
			}
		}}, []string{"persona kind=billing and wave=wave-2 OVER_PERMISSION+ROLE_MAPPING_DRIFT"}},
		// Only clinicians can show BREAKGLASS_DENIED: their kind, which every
		// unit of the class has, is no split, and must not merge it with the
		// clinicians' UNDER_PERMISSION.
		{"two faults only clinicians can show", causeRun{drift: both(notesDenied, breakglassDenied)},
			[]string{"persona uniform BREAKGLASS_DENIED", "persona kind=clinician UNDER_PERMISSION"}},
		{"one persona", causeRun{drift: func(p causePersona, r *record.Record) {
			if p.id == "patient-00007" && r.Step == record.StepLogin {
				r.Facts.Decision, r.Facts.Roles = record.Deny, nil
			}
		}}, []string{"persona none LOGIN_FAILED"}},
		{"half the older hash scheme", causeRun{drift: func(p causePersona, r *record.Record) {
			if p.hash == "sha256-salted" && p.num%8 == 0 {
				hashDrift(p, r)
			}
		}}, []string{"persona hash_scheme=sha256-salted LOGIN_FAILED"}},
		{"every persona", causeRun{drift: replayAccepted}, []string{"persona uniform REFRESH_REUSE_ACCEPTED"}},
		{"no single factor", causeRun{drift: scattered}, []string{"persona none LOGIN_FAILED"}},
		{"slow token endpoint", causeRun{slowToken: 40 * time.Millisecond}, []string{"step endpoint=POST /token LATENCY_REGRESSION"}},
		// Every step sent to the resource server is slow, each with its own
		// endpoint: the host is what they have in common.
		{"slow resource server", causeRun{slowRS: 40 * time.Millisecond}, []string{"step host=rs.example:443 LATENCY_REGRESSION"}},
		{"slow token and a broken migration", causeRun{slowToken: 40 * time.Millisecond, drift: hashDrift},
			[]string{"persona hash_scheme=sha256-salted LOGIN_FAILED", "step endpoint=POST /token LATENCY_REGRESSION"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.run.summary(t)
			var got []string
			for _, c := range s.Causes {
				got = append(got, causeLine(c))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("causes = %q; want %q\n%s", got, tt.want, causeDump(s))
			}
			checkCauseAccounting(t, s)
		})
	}
}

// checkCauseAccounting checks what must hold of any grouping: every finding row
// belongs to a cause, the causes of a class split its units without overlap,
// the counts are consistent, and the occurrences add up to the findings'.
func checkCauseAccounting(t *testing.T, s analysis.Summary) {
	t.Helper()
	covered := map[analysis.FindingRef]bool{}
	units := map[analysis.Class]int{}
	occ := map[analysis.Class]int{}
	for _, c := range s.Causes {
		for _, ref := range c.Findings {
			covered[ref] = true
		}
		for _, cc := range c.Classes {
			units[cc.Class] += cc.Affected
			occ[cc.Class] += cc.Occurrences
			if cc.Affected > cc.ClassUnits || cc.Affected > cc.WithFactor || cc.OthersAffected > cc.Others || cc.Affected == 0 {
				t.Errorf("cause %s class %s: inconsistent counts %+v", c.ID, cc.Class, cc)
			}
			if c.ExplainedBy == analysis.ExplainedByFactor && cc.Evidence == "" {
				t.Errorf("cause %s class %s: no evidence", c.ID, cc.Class)
			}
		}
	}
	want := map[analysis.Class]int{}
	for _, f := range s.Findings {
		if !covered[f.Ref()] {
			t.Errorf("finding %s %s/%s %s belongs to no cause", f.Class, f.Journey, f.Step, f.PersonaKind)
		}
		want[f.Class] += f.Count
	}
	for _, c := range s.Causes {
		for _, cc := range c.Classes {
			if units[cc.Class] != cc.ClassUnits {
				t.Errorf("class %s: causes explain %d units; the class hits %d", cc.Class, units[cc.Class], cc.ClassUnits)
			}
		}
	}
	for cls, n := range want {
		if occ[cls] != n {
			t.Errorf("class %s: causes account for %d occurrences; the findings count %d", cls, occ[cls], n)
		}
	}
}

func causeDump(s analysis.Summary) string {
	var b strings.Builder
	for _, c := range s.Causes {
		fmt.Fprintf(&b, "  %s %s\n", c.ID, c.Title)
		for _, cc := range c.Classes {
			fmt.Fprintf(&b, "     %s\n", cc.Evidence)
		}
	}
	for _, f := range s.Findings {
		fmt.Fprintf(&b, "  finding %s %s %s %d\n", f.Class, f.Step, f.PersonaKind, f.Count)
	}
	return b.String()
}

// TestCauseEvidence checks the counts behind the broken migration's cause
// against the population: 12 + 4 + 2 personas are on the older hash scheme.
func TestCauseEvidence(t *testing.T) {
	s := causeRun{drift: hashDrift}.summary(t)
	if len(s.Causes) != 1 {
		t.Fatalf("causes = %d; want 1\n%s", len(s.Causes), causeDump(s))
	}
	cc := s.Causes[0].Classes[0]
	want := analysis.CauseClass{Class: analysis.LoginFailed, Occurrences: 18 * 6, Affected: 18, ClassUnits: 18, WithFactor: 18, WithFactorAffected: 18, Others: 54, OthersAffected: 0}
	cc.Evidence = ""
	if cc != want {
		t.Errorf("LOGIN_FAILED evidence = %+v; want %+v", cc, want)
	}
	if got, wantText := s.Causes[0].Classes[0].Evidence, "18 of 18 personas with LOGIN_FAILED have hash_scheme=sha256-salted; it hits 18 of 18 with the factor, 0 of 54 without"; got != wantText {
		t.Errorf("evidence = %q; want %q", got, wantText)
	}
	if eq := s.Causes[0].Equivalent; len(eq) != 0 {
		t.Errorf("equivalent factors = %v; want none (the hash scheme cuts across waves and kinds)", eq)
	}
}

// TestCohortReadiness cuts the population by wave: a persona-level cause blocks
// the waves of the personas it names, a step-level cause those whose personas
// ran its steps, a cause that passes the thresholds only warns, and a wave
// nobody ran is not exercised.
func TestCohortReadiness(t *testing.T) {
	status := func(s analysis.Summary) string {
		var out []string
		for _, c := range s.Cohorts {
			out = append(out, fmt.Sprintf("%s:%s:%s:%s", c.Name, c.Status, strings.Join(c.BlockedBy, ","), strings.Join(c.Warnings, ",")))
		}
		return strings.Join(out, " ")
	}
	// Only wave-2 billing clerks get admin (numbers 1 and 4 of 8).
	wave2Billing := func(p causePersona, r *record.Record) {
		if p.wave == "wave-2" {
			billingAdmin(p, r)
		}
	}
	lenient := analysis.Options{Gate: analysis.Gate{FailOn: []analysis.Severity{analysis.Critical, analysis.High, analysis.Medium}, Classes: map[analysis.Class]analysis.ClassRule{analysis.LatencyRegression: {Fail: record.Bool(false)}}}}
	for _, tt := range []struct {
		name string
		run  causeRun
		want string
	}{
		{"clean", causeRun{wave4: true}, "wave-1:pass:: wave-2:pass:: wave-3:pass:: wave-4:not exercised::"},
		{"one wave's clerks", causeRun{drift: wave2Billing, wave4: true}, "wave-1:pass:: wave-2:fail:C1: wave-3:pass:: wave-4:not exercised::"},
		{"slow token", causeRun{slowToken: 40 * time.Millisecond}, "wave-1:fail:C1: wave-2:fail:C1: wave-3:fail:C1:"},
		{"slow token within tolerance", causeRun{slowToken: 40 * time.Millisecond, opt: lenient}, "wave-1:pass::C1 wave-2:pass::C1 wave-3:pass::C1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.run.summary(t)
			if got := status(s); got != tt.want {
				t.Errorf("cohorts = %s; want %s\n%s", got, tt.want, causeDump(s))
			}
			if s.CohortBy != record.AttrWave {
				t.Errorf("cohort_by = %q; want wave", s.CohortBy)
			}
		})
	}
	// Availability errors on wave-3's audit steps: the error-rate cause touches
	// wave-3, whose personas met the errors.
	wave3Down := func(p causePersona, r *record.Record) {
		if p.wave == "wave-3" && r.Step == record.StepAudit {
			r.Outcome, r.Facts = record.Error, record.Facts{}
		}
	}
	if s := (causeRun{drift: wave3Down}).summary(t); !strings.Contains(status(s), "wave-3:fail:C") {
		t.Errorf("wave-3's audit down: cohorts %s; want wave-3 blocked\n%s", status(s), causeDump(s))
	}
	s := causeRun{drift: hashDrift, opt: analysis.Options{Causes: analysis.CauseOptions{CohortBy: record.AttrHashScheme}}}.summary(t)
	if got, want := status(s), "bcrypt:pass:: sha256-salted:fail:C1:"; got != want {
		t.Errorf("cohorts by hash_scheme = %s; want %s", got, want)
	}
	s = causeRun{drift: hashDrift, opt: analysis.Options{Causes: analysis.CauseOptions{CohortBy: "site"}}}.summary(t)
	if s.CohortBy != record.AttrCohort {
		t.Errorf("cohort_by of an attribute no persona has = %q; want the records' cohort", s.CohortBy)
	}
}

// TestCausesWithoutPersonaTable: records alone still group by kind and cohort.
func TestCausesWithoutPersonaTable(t *testing.T) {
	a := analysis.New(fixture.Options, fixture.Start)
	for _, r := range fixture.Golden.Records() {
		a.Add(r)
	}
	s := a.Summary(fixture.Golden.Meta(), fixture.Golden.Accounting())
	var got []string
	for _, c := range s.Causes {
		got = append(got, causeLine(c))
	}
	// Without the hash scheme, the broken migration splits by the records'
	// cohort (wave/hash scheme); four steps are too few for a step factor.
	want := []string{"persona kind=billing OVER_PERMISSION+ROLE_MAPPING_DRIFT", "step none ERROR_RATE_REGRESSION",
		"persona cohort=wave-1/sha256-salted LOGIN_FAILED", "persona cohort=wave-2/sha256-salted LOGIN_FAILED",
		"persona cohort=wave-3/sha256-salted LOGIN_FAILED", "step none LATENCY_REGRESSION"}
	if !slices.Equal(got, want) {
		t.Errorf("causes without a persona table = %q; want %q\n%s", got, want, causeDump(s))
	}
	checkCauseAccounting(t, s)
}

// TestNoiseMakesNoCause: logins failing at random, a fifth of the personas
// drawn anew for each seed, must come out as no single factor (or, at worst,
// rarely, a factor), never as a confident cause on most seeds: the grouping
// must not read patterns into chance.
func TestNoiseMakesNoCause(t *testing.T) {
	confident := 0
	const seeds = 40
	for seed := range uint64(seeds) {
		drift := func(p causePersona, r *record.Record) {
			if r.Step == record.StepLogin && splitmix.Mix64(uint64(int(seed)*1000+p.num*7+len(p.kind)))%5 == 0 {
				r.Facts.Decision, r.Facts.Roles = record.Deny, nil
			}
		}
		s := causeRun{drift: drift}.summary(t)
		for _, c := range s.Causes {
			if c.ExplainedBy == analysis.ExplainedByFactor {
				confident++
				t.Logf("seed %d: %s", seed, c.Title)
			}
		}
		checkCauseAccounting(t, s)
	}
	// The test is at 1% per run, corrected for the factor sets tried.
	if confident > 2 {
		t.Errorf("%d of %d runs of pure noise gave a factor; want at most 2", confident, seeds)
	}
}

func TestHypergeomTail(t *testing.T) {
	for _, tt := range []struct {
		n, r, w, k int
		want       float64
	}{
		{4, 2, 2, 2, 1.0 / 6},                  // both affected of 4 drawn by 2: 1/C(4,2)
		{10, 3, 3, 3, 1.0 / 120},               // 1/C(10,3)
		{10, 3, 3, 0, 1},                       // at least none
		{10, 5, 2, 1, 1 - 10.0/45},             // 1 - C(5,2)/C(10,2)
		{72, 18, 18, 18, 2.41358812856858e-17}, // the broken migration: 1/C(72,18)
	} {
		got := analysis.HypergeomTail(tt.n, tt.r, tt.w, tt.k)
		if math.Abs(got-tt.want) > 1e-3*tt.want {
			t.Errorf("hypergeomTail(%d, %d, %d, %d) = %g; want %g", tt.n, tt.r, tt.w, tt.k, got, tt.want)
		}
	}
}

// TestCohortsOfPersonasOutsideTheTable: personas the persona table lacks have
// no wave; they are a cohort of their own, blocked like any other.
func TestCohortsOfPersonasOutsideTheTable(t *testing.T) {
	s := causeRun{drift: hashDrift, dropFromTable: "patient-"}.summary(t)
	var got []string
	for _, c := range s.Cohorts {
		got = append(got, fmt.Sprintf("%s:%s:%d", c.Name, c.Status, c.Personas))
	}
	if want := []string{"(no wave):fail:48", "wave-1:fail:9", "wave-2:fail:8", "wave-3:fail:7"}; !slices.Equal(got, want) {
		t.Errorf("cohorts = %q; want %q\n%s", got, want, causeDump(s))
	}
}

// TestNoReadinessWithoutACandidate: an A/A run judges no candidate, so it has
// no cohort table; an aborted run's untouched cohorts are incomplete, not ready.
func TestNoReadinessWithoutACandidate(t *testing.T) {
	if s := (causeRun{meta: analysis.Meta{AA: true}}).summary(t); len(s.Cohorts) != 0 {
		t.Errorf("A/A run: cohorts %+v; want none", s.Cohorts)
	}
	s := causeRun{meta: analysis.Meta{Aborted: "interrupted"}, drift: func(p causePersona, r *record.Record) {
		if p.wave == "wave-2" {
			hashDrift(p, r)
		}
	}}.summary(t)
	for _, c := range s.Cohorts {
		if want := map[bool]string{true: analysis.CohortFail, false: analysis.CohortIncomplete}[c.Name == "wave-2"]; c.Status != want {
			t.Errorf("aborted run: cohort %s is %s; want %s", c.Name, c.Status, want)
		}
	}
}
