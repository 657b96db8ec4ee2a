package journeys_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/cutover-dev/cutover/journeys"
	"github.com/cutover-dev/cutover/personas"
	"github.com/cutover-dev/cutover/results/analysis"
	"github.com/cutover-dev/cutover/results/record"
	"github.com/cutover-dev/cutover/stacks"
)

// eligibleClinician returns the population's first clinician who may break the
// glass.
func eligibleClinician(t *testing.T, pop personas.Population) personas.Persona {
	t.Helper()
	for _, p := range pop.ByKind(personas.Clinician) {
		if p.BreakGlass {
			return p
		}
	}
	t.Fatal("no eligible clinician")
	return personas.Persona{}
}

// TestExpectationFollowsTheGrant: the expected table says "deny" for a
// clinician reading an unassigned patient's record. A clinician breaks the
// glass for that patient on both embedded stacks (10s time box, longer than
// the runner waits, so it ends grants early where it can: the candidate's
// token is revoked, legacy has no end request here). While legacy's grant
// lives, legacy, whose grants open every session of the persona
// (breakglass_covers: persona), is expected to allow the probe, in the journey
// that asked and in a later one with a new session; what else the grant opens
// (the patient's notes) the table does not say: legacy's expectation is left
// empty there. The candidate holds nothing and is expected to deny. Once the time box has
// passed, legacy is expected to deny again. Every probe matches its
// expectation, and the comparison finds nothing.
func TestExpectationFollowsTheGrant(t *testing.T) {
	clk := &testClock{}
	leg, cand, pop := embeddedWith(t, clk, embedOptions{BreakGlassTTL: 10 * time.Second, NoEnd: true})
	r := embeddedRunner(pop, clk)
	r.Probes = append(r.Probes, journeys.Probe{Kind: personas.Clinician, Action: "read", Resource: "record:unassigned", Expect: record.Deny})
	r.BreakGlass.MaxWait = 0 // do not wait the time box out
	r.Policy = map[record.Side]journeys.StatePolicy{
		record.Legacy:    {BreakGlassCovers: journeys.GrantCoversPersona},
		record.Candidate: {BreakGlassCovers: journeys.GrantCoversCredential},
	}
	doc := eligibleClinician(t, pop)
	rec := &recorder{}
	defer func() {
		if t.Failed() {
			t.Logf("records:\n%s", rec.dump())
		}
	}()
	run := func(name string, steps ...string) {
		for side, st := range map[record.Side]journeys.Stack{record.Legacy: leg, record.Candidate: cand} {
			// Iteration 0 every time: the same unassigned patient.
			r.Run(t.Context(), journeys.Journey{Name: name, Steps: steps}, side, st, doc, journeys.Iteration{}, rec.emit)
		}
	}
	run("glass", journeys.StepsLogin, journeys.StepsBreakglass, journeys.StepsProbes)
	run("later", journeys.StepsLogin, journeys.StepsProbes)
	clk.Wait(t.Context(), 13*time.Second) // 10s box + the margin either side of its end
	run("after", journeys.StepsLogin, journeys.StepsProbes)

	want := []struct {
		journey string
		side    record.Side
		expect  string
		state   string
	}{
		{"glass", record.Legacy, record.Allow, record.StateGrantCovers},
		{"glass", record.Candidate, record.Deny, ""},
		{"later", record.Legacy, record.Allow, record.StateGrantCovers},
		{"later", record.Candidate, record.Deny, ""},
		{"after", record.Legacy, record.Deny, ""},
		{"after", record.Candidate, record.Deny, ""},
	}
	cmp := analysis.NewComparer(analysis.CompareOptions{})
	for _, w := range want {
		var got *record.Record
		for _, rc := range rec.find(w.side, record.StepProbe, "read record:unassigned") {
			if rc.Journey == w.journey {
				got = rc
			}
		}
		if got == nil {
			t.Fatalf("%s %s: no probe of the unassigned record", w.journey, w.side)
		}
		if got.Outcome != record.OK || got.Facts.Expected != w.expect || got.Facts.Decision != w.expect || got.Facts.State != w.state {
			t.Errorf("%s %s: %s expected %q decided %q under state %q (%s); want %s under %q",
				w.journey, w.side, got.Outcome, got.Facts.Expected, got.Facts.Decision, got.Facts.State, got.Facts.StateNote, w.expect, w.state)
		}
	}
	for _, rc := range rec.recs {
		cmp.Add(rc)
	}
	if f := cmp.Findings(); len(f) > 0 {
		t.Errorf("findings %+v; want none", f)
	}
	// The candidate holds no grant: the table decides its probes, and nothing
	// is set apart.
	if g := cmp.StateApart(); len(g) != 0 {
		t.Errorf("set apart %+v; want nothing", g)
	}
	for _, rc := range rec.find(record.Legacy, record.StepProbe, "read notes:unassigned") {
		if want := map[string]string{"after": record.Deny}[rc.Journey]; rc.Facts.Expected != want {
			t.Errorf("legacy %s read notes:unassigned: expected %q; want %q (none under its grant, the table's after it)", rc.Journey, rc.Facts.Expected, want)
		}
	}
}

// TestUnsureGrantIsNeverJudged: the candidate's break-glass requests all get a
// 503 (flaky-5xx=1@breakglass), so whether it holds a grant is unknown; with no
// expectation for the probe (legacy decides), legacy allows through its grant
// and the candidate denies. The comparison sets the probes apart as state (the
// candidate's grant:uncertain), never as UNDER_PERMISSION.
func TestUnsureGrantIsNeverJudged(t *testing.T) {
	clk := &testClock{}
	leg, cand, pop := embeddedWith(t, clk, embedOptions{Drifts: "flaky-5xx=1@breakglass", BreakGlassTTL: 10 * time.Second, NoEnd: true})
	r := embeddedRunner(pop, clk)
	r.Probes = append(r.Probes, journeys.Probe{Kind: personas.Clinician, Action: "read", Resource: "record:unassigned"})
	r.BreakGlass.MaxWait = 0
	r.Policy = map[record.Side]journeys.StatePolicy{record.Legacy: {BreakGlassCovers: journeys.GrantCoversPersona}}
	doc := eligibleClinician(t, pop)
	rec := &recorder{}
	for i, steps := range [][]string{{journeys.StepsLogin, journeys.StepsBreakglass}, {journeys.StepsLogin, journeys.StepsProbes}} {
		for side, st := range map[record.Side]journeys.Stack{record.Legacy: leg, record.Candidate: cand} {
			r.Run(t.Context(), journeys.Journey{Name: fmt.Sprint("j", i), Steps: steps}, side, st, doc, journeys.Iteration{}, rec.emit)
		}
	}
	c := analysis.NewComparer(analysis.CompareOptions{})
	for _, rc := range rec.recs {
		c.Add(rc)
	}
	for _, f := range c.Findings() {
		if !f.Class.Performance() && f.Step == record.StepProbe {
			t.Errorf("finding %s on %s: %s; want the probe set apart, not judged", f.Class, f.Step, f.ExampleText())
		}
	}
	groups := c.StateApart()
	if len(groups) != 1 || groups[0].Side != record.Candidate || groups[0].State != record.StateGrantUncertain || groups[0].From != "j0/"+record.StepBreakglass+" error" {
		t.Fatalf("set apart %+v; want the unassigned probe, the candidate's grant:uncertain from j0/%s error\nrecords:\n%s", groups, record.StepBreakglass, rec.dump())
	}
	t.Logf("%s", groups[0].Text())
}

// TestLockoutIsState: a journey signs in with a wrong password six times, then
// with the right one. Legacy locks after ten refusals, the candidate after
// three: the candidate refuses the right password, legacy lets it in. With the
// lockouts configured the candidate's refusal is expected (no LOGIN_FAILED);
// with them not configured the candidate's refusal after refusals in a row is
// set apart as a probable lockout. Never LOGIN_FAILED.
func TestLockoutIsState(t *testing.T) {
	for _, configured := range []bool{true, false} {
		t.Run(fmt.Sprintf("configured=%t", configured), func(t *testing.T) {
			clk := &testClock{}
			leg, cand, pop := embeddedWith(t, clk, embedOptions{Stacks: func(o *stacks.Options) {
				o.LockoutThreshold, o.CandidateLockoutThreshold, o.LockoutDuration = 10, 3, time.Minute
			}})
			r := embeddedRunner(pop, clk)
			r.WrongPassword = journeys.WrongPasswordPlan{Attempts: 6}
			if configured {
				r.Policy = map[record.Side]journeys.StatePolicy{
					record.Legacy:    {Lockout: &journeys.Lockout{Attempts: 10, Duration: time.Minute}},
					record.Candidate: {Lockout: &journeys.Lockout{Attempts: 3, Duration: time.Minute}},
				}
			}
			p := pop.ByKind(personas.Patient)[0]
			rec := &recorder{}
			for side, st := range map[record.Side]journeys.Stack{record.Legacy: leg, record.Candidate: cand} {
				r.Run(t.Context(), journeys.Journey{Name: "lock", Steps: []string{journeys.StepsWrongPassword, journeys.StepsLogin}}, side, st, p, journeys.Iteration{}, rec.emit)
			}
			for _, side := range []record.Side{record.Legacy, record.Candidate} {
				if n := len(rec.find(side, record.StepLoginWrongPassword, "*")); n != 6 {
					t.Errorf("%s: %d wrong-password sign-ins; want 6", side, n)
				}
				for _, w := range rec.find(side, record.StepLoginWrongPassword, "*") {
					wantDecision(t, w, record.OK, record.Deny)
				}
			}
			wantDecision(t, rec.one(t, record.Legacy, record.StepLogin, ""), record.OK, record.Allow)
			login := rec.one(t, record.Candidate, record.StepLogin, "")
			wantDecision(t, login, record.OK, record.Deny)
			wantState := map[bool]string{true: record.StateLocked, false: record.StateLockProbable}[configured]
			if login.Facts.State != wantState {
				t.Errorf("candidate login under state %q (%s); want %q", login.Facts.State, login.Facts.StateNote, wantState)
			}
			c := analysis.NewComparer(analysis.CompareOptions{})
			for _, rc := range rec.recs {
				c.Add(rc)
			}
			for _, f := range c.Findings() {
				t.Errorf("finding %s: %s; want none (a lockout is state)", f.Class, f.ExampleText())
			}
			apart := c.StateApart()
			if configured != (len(apart) == 0) {
				t.Errorf("set apart %+v; want nothing when the lockouts are configured (the refusal is expected), the login otherwise", apart)
			}
			if len(apart) > 0 {
				t.Logf("%s", apart[0].Text())
			}
		})
	}
}
