package results

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// fixtureStart is the fixed start of the synthetic runs of the tests.
var fixtureStart = time.Date(2026, 1, 15, 9, 0, 0, 0, time.UTC)

// fixture describes a synthetic run: deterministic from its seed, with known
// regressions planted on the candidate side.
type fixture struct {
	Journeys int
	Duration time.Duration
	Seed     uint64
}

var fixtureKinds = []string{"patient", "clinician", "billing", "admin"}

// records builds the run's records, both sides interleaved as a live run emits
// them. Planted: candidate login 10ms slower (LATENCY_REGRESSION), patients whose
// number is a multiple of 7 cannot log in on candidate (LOGIN_FAILED), billing
// clerks get admin on candidate (ROLE_MAPPING_DRIFT, OVER_PERMISSION on
// users:all), 6% of candidate probes are availability errors
// (ERROR_RATE_REGRESSION, never an authorization finding).
func (fx fixture) records() []*Record {
	rng := rand.New(rand.NewPCG(fx.Seed, 1))
	ids := map[string][]string{}
	for _, k := range fixtureKinds {
		for i := range 60 {
			ids[k] = append(ids[k], fmt.Sprintf("%s-%05d", k, i))
		}
	}
	lat := func(median time.Duration) time.Duration {
		return time.Duration(float64(median) * math.Exp(0.35*rng.NormFloat64()))
	}
	probes := map[string][]struct{ target, expect string }{
		"patient":   {{"read record:{self}", Allow}, {"read record:{other}", Deny}},
		"clinician": {{"read notes:{panel}", Allow}, {"read record:{unassigned}", Deny}},
		"billing":   {{"read claims:all", Allow}, {"read users:all", Deny}},
		"admin":     {{"read users:all", Allow}, {"read notes:{other}", Deny}},
	}
	out := make([]*Record, 0, fx.Journeys*12)
	every := fx.Duration / time.Duration(fx.Journeys)
	for n := range fx.Journeys {
		kind := fixtureKinds[n%len(fixtureKinds)]
		num := (n / len(fixtureKinds)) % 60
		persona := ids[kind][num]
		intended := fixtureStart.Add(time.Duration(n) * every)
		for _, side := range []Side{Legacy, Candidate} {
			at := intended
			emit := func(step, target string, d time.Duration, outcome Outcome, f Facts) {
				out = append(out, &Record{Side: side, Persona: persona, Kind: kind, Cohort: fixtureCohort(kind, num), Journey: "session",
					Iteration: uint64(n), Step: step, Target: target, Intended: intended, Start: at, Latency: d, Outcome: outcome,
					Endpoints: fixtureEndpoints[step], Facts: f})
				at = at.Add(d)
			}
			roles := []string{kind}
			loginLat, loginDecision := lat(4*time.Millisecond), Allow
			if side == Candidate {
				loginLat += 10 * time.Millisecond
				if kind == "billing" {
					roles = []string{"admin", "billing"}
				}
				if kind == "patient" && num%7 == 0 {
					loginDecision = Deny
				}
			}
			f := Facts{Decision: loginDecision, Expected: Allow, TTL: 900}
			if loginDecision == Allow {
				f.Roles = roles
			} else {
				f.Status = 401
			}
			emit(StepLogin, "", loginLat, OK, f)
			if loginDecision != Allow {
				continue
			}
			for _, p := range probes[kind] {
				decision := p.expect
				if side == Candidate && kind == "billing" && p.target == "read users:all" {
					decision = Allow
				}
				if side == Candidate && rng.Float64() < 0.06 {
					emit(StepProbe, p.target, lat(2*time.Millisecond), Error, Facts{Expected: p.expect})
					continue
				}
				status := 200
				if decision == Deny {
					status = 403
				}
				emit(StepProbe, p.target, lat(time.Millisecond), OK, Facts{Decision: decision, Expected: p.expect, Status: status})
			}
			emit(StepLogout, "", lat(time.Millisecond), OK, Facts{Decision: Allow})
			emit(StepLogoutProbe, probes[kind][0].target, lat(time.Millisecond), OK, Facts{Decision: Deny, Expected: Deny, Status: 401})
		}
	}
	return out
}

// fixtureEndpoints are the requests each step of the fixture makes.
var fixtureEndpoints = map[string][]string{
	StepLogin:       {"POST /token"},
	StepProbe:       {"GET /api/patients/{id}/record"},
	StepLogout:      {"POST /revoke"},
	StepLogoutProbe: {"GET /api/patients/{id}/record"},
}

// fixtureWave and fixtureHash give persona num of a kind its cohort: three
// waves by number, and the patients whose number is a multiple of 7 (those that
// cannot log in on candidate) on the older hash scheme.
func fixtureWave(num int) string { return fmt.Sprintf("wave-%d", 1+num/20) }

func fixtureHash(kind string, num int) string {
	if kind == "patient" && num%7 == 0 {
		return "sha256-salted"
	}
	return "bcrypt"
}

func fixtureCohort(kind string, num int) string {
	return fixtureWave(num) + "/" + fixtureHash(kind, num)
}

// personas is the fixture's persona table: every persona of every kind, the
// billing clerks also on team revenue-cycle (a factor equivalent to their
// kind), and a fourth wave nobody in the run belongs to.
func (fx fixture) personas() *PersonaTable {
	t := &PersonaTable{Schema: PersonasSchema}
	for _, k := range fixtureKinds {
		for num := range 60 {
			attrs := map[string]string{AttrKind: k, AttrWave: fixtureWave(num), AttrHashScheme: fixtureHash(k, num), AttrCohort: fixtureCohort(k, num)}
			if k == "billing" {
				attrs["team"] = "revenue-cycle"
			}
			t.Personas = append(t.Personas, PersonaAttrs{ID: fmt.Sprintf("%s-%05d", k, num), Attrs: attrs})
		}
	}
	for num := range 3 {
		t.Personas = append(t.Personas, PersonaAttrs{ID: fmt.Sprintf("auditor-%05d", num),
			Attrs: map[string]string{AttrKind: "auditor", AttrWave: "wave-4", AttrHashScheme: "bcrypt", AttrCohort: "wave-4/bcrypt"}})
	}
	return t
}

// fixtureMeta and fixtureAccounting describe the run, with one saturated window.
func (fx fixture) meta() Meta {
	return Meta{Name: "fixture", Version: "test", Seed: fx.Seed, ConfigHash: "0123456789abcdef", Start: fixtureStart, Duration: fx.Duration}
}

func (fx fixture) accounting() Accounting {
	n := int64(fx.Journeys)
	return Accounting{Scheduled: n + 3, Started: n, Late: 12, Dropped: 3,
		Saturated: []Window{{From: fx.Duration / 2, To: fx.Duration/2 + 2*time.Second}}}
}

var fixtureOptions = Options{Gate: Gate{FailOn: []Severity{Critical, High, Medium}}, Perf: PerfOptions{Seed: 42}}

// summary runs the fixture through an Analysis.
func (fx fixture) summary(opt Options) (Summary, *Analysis) {
	a := NewAnalysis(opt, fixtureStart)
	a.SetPersonas(fx.personas())
	for _, r := range fx.records() {
		a.Add(r)
	}
	return a.Summary(fx.meta(), fx.accounting()), a
}

// writeRecords returns recs as a Writer writes them (redacting them in place).
func writeRecords(tb testing.TB, recs []*Record) []byte {
	tb.Helper()
	var buf bytes.Buffer
	w := NewWriter(&buf)
	for _, r := range recs {
		if err := w.Write(r); err != nil {
			tb.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}
