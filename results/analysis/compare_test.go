package analysis_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cutover-dev/cutover/results/analysis"
	"github.com/cutover-dev/cutover/results/record"
)

func rec(side record.Side, step, target string, f record.Facts) *record.Record {
	return &record.Record{Side: side, Persona: "clinician-00001", Kind: "clinician", Journey: "session", Iteration: 7, Step: step, Target: target, Outcome: record.OK, Facts: f}
}

func classes(fs []analysis.Finding) []analysis.Class {
	var out []analysis.Class
	for _, f := range fs {
		out = append(out, f.Class)
	}
	return out
}

func TestComparerClasses(t *testing.T) {
	long := int64((24 * time.Hour).Seconds())
	tests := []struct {
		name      string
		opt       analysis.CompareOptions
		leg, cand *record.Record
		want      []analysis.Class
	}{
		{"same decision", analysis.CompareOptions{}, rec(record.Legacy, record.StepProbe, "read record:{panel}", record.Facts{Decision: record.Allow}), rec(record.Candidate, record.StepProbe, "read record:{panel}", record.Facts{Decision: record.Allow}), nil},
		{"over-permission vs expected", analysis.CompareOptions{}, rec(record.Legacy, record.StepProbe, "t", record.Facts{Decision: record.Deny, Expected: record.Deny}), rec(record.Candidate, record.StepProbe, "t", record.Facts{Decision: record.Allow, Expected: record.Deny}), []analysis.Class{analysis.OverPermission}},
		{"over-permission vs legacy", analysis.CompareOptions{}, rec(record.Legacy, record.StepProbe, "t", record.Facts{Decision: record.Deny}), rec(record.Candidate, record.StepProbe, "t", record.Facts{Decision: record.Allow}), []analysis.Class{analysis.OverPermission}},
		{"under-permission", analysis.CompareOptions{}, rec(record.Legacy, record.StepProbe, "t", record.Facts{Decision: record.Allow, Expected: record.Allow}), rec(record.Candidate, record.StepProbe, "t", record.Facts{Decision: record.Deny, Expected: record.Allow}), []analysis.Class{analysis.UnderPermission}},
		{"authz error", analysis.CompareOptions{}, rec(record.Legacy, record.StepProbe, "t", record.Facts{Decision: record.Allow}), rec(record.Candidate, record.StepProbe, "t", record.Facts{Decision: "error", Status: 404}), []analysis.Class{analysis.AuthzError}},
		{"availability error is not authz", analysis.CompareOptions{}, rec(record.Legacy, record.StepProbe, "t", record.Facts{Decision: record.Allow}), &record.Record{Side: record.Candidate, Persona: "clinician-00001", Journey: "session", Iteration: 7, Step: record.StepProbe, Target: "t", Outcome: record.Error}, nil},
		{"login failed", analysis.CompareOptions{}, rec(record.Legacy, record.StepLogin, "", record.Facts{Decision: record.Allow, Expected: record.Allow}), rec(record.Candidate, record.StepLogin, "", record.Facts{Decision: record.Deny, Expected: record.Allow}), []analysis.Class{analysis.LoginFailed}},
		{"role drift", analysis.CompareOptions{}, rec(record.Legacy, record.StepLogin, "", record.Facts{Decision: record.Allow, Roles: []string{"billing"}}), rec(record.Candidate, record.StepLogin, "", record.Facts{Decision: record.Allow, Roles: []string{"admin", "billing"}}), []analysis.Class{analysis.RoleMappingDrift}},
		{"roles equal as sets", analysis.CompareOptions{}, rec(record.Legacy, record.StepLogin, "", record.Facts{Decision: record.Allow, Roles: []string{"b", "a"}}), rec(record.Candidate, record.StepLogin, "", record.Facts{Decision: record.Allow, Roles: []string{"a", "b", "a"}}), nil},
		{"claim missing", analysis.CompareOptions{}, rec(record.Legacy, record.StepLogin, "", record.Facts{Decision: record.Allow}), rec(record.Candidate, record.StepLogin, "", record.Facts{Decision: record.Allow, MissingClaims: []string{"roles"}}), []analysis.Class{analysis.ClaimMissing}},
		{"ttl over policy", analysis.CompareOptions{}, rec(record.Legacy, record.StepLogin, "", record.Facts{Decision: record.Allow, TTL: 900}), rec(record.Candidate, record.StepLogin, "", record.Facts{Decision: record.Allow, TTL: long}), []analysis.Class{analysis.TTLDrift}},
		{"ttl over policy ignored in A/A", analysis.CompareOptions{AA: true}, rec(record.Legacy, record.StepLogin, "", record.Facts{Decision: record.Allow, TTL: long}), rec(record.Candidate, record.StepLogin, "", record.Facts{Decision: record.Allow, TTL: long}), nil},
		{"ttl tolerance", analysis.CompareOptions{TTLTolerance: 0.1}, rec(record.Legacy, record.StepLogin, "", record.Facts{Decision: record.Allow, TTL: 300}), rec(record.Candidate, record.StepLogin, "", record.Facts{Decision: record.Allow, TTL: 600}), []analysis.Class{analysis.TTLDrift}},
		{"expected lifetime: 600s became 1800s, legacy's 900s aside", analysis.CompareOptions{ExpectTTL: 600 * time.Second}, rec(record.Legacy, record.StepLogin, "", record.Facts{Decision: record.Allow, TTL: 900}), rec(record.Candidate, record.StepLogin, "", record.Facts{Decision: record.Allow, TTL: 1800}), []analysis.Class{analysis.TTLDrift}},
		{"expected lifetime kept, legacy's differs", analysis.CompareOptions{ExpectTTL: 600 * time.Second}, rec(record.Legacy, record.StepLogin, "", record.Facts{Decision: record.Allow, TTL: 900}), rec(record.Candidate, record.StepLogin, "", record.Facts{Decision: record.Allow, TTL: 590}), nil},
		{"logout session alive", analysis.CompareOptions{}, rec(record.Legacy, record.StepLogoutProbe, "t", record.Facts{Decision: record.Deny, Expected: record.Deny}), rec(record.Candidate, record.StepLogoutProbe, "t", record.Facts{Decision: record.Allow, Expected: record.Deny}), []analysis.Class{analysis.LogoutSessionStillActive}},
		{"not rotated", analysis.CompareOptions{}, rec(record.Legacy, record.StepRefresh, "", record.Facts{Decision: record.Allow}), rec(record.Candidate, record.StepRefresh, "", record.Facts{Decision: record.Allow, Rotated: record.Bool(false)}), []analysis.Class{analysis.RefreshNotRotated}},
		{"not rotated by a confidential client (RFC 9700 s4.14.2)", analysis.CompareOptions{}, rec(record.Legacy, record.StepRefresh, "", record.Facts{Decision: record.Allow}), rec(record.Candidate, record.StepRefresh, "", record.Facts{Decision: record.Allow, Rotated: record.Bool(false), ClientBound: true}), nil},
		{"signed in as another persona's account", analysis.CompareOptions{}, rec(record.Legacy, record.StepLogin, "", record.Facts{Decision: record.Allow, Roles: []string{"patient"}}), rec(record.Candidate, record.StepLogin, "", record.Facts{Decision: record.Allow, Roles: []string{"patient"}, SubjectOf: "patient-00001"}), []analysis.Class{analysis.OverPermission}},
		{"reuse accepted", analysis.CompareOptions{}, nil, rec(record.Candidate, record.StepRefreshReplay, "", record.Facts{Decision: record.Allow, Expected: record.Deny}), []analysis.Class{analysis.RefreshReuseAccepted}},
		{"scope widened on refresh", analysis.CompareOptions{}, nil, rec(record.Candidate, record.StepRefresh, "", record.Facts{Decision: record.Allow, Widened: []string{"admin.users"}}), []analysis.Class{analysis.ScopeWidenedOnRefresh}},
		{"service widened", analysis.CompareOptions{}, rec(record.Legacy, record.StepServiceToken, "", record.Facts{Decision: record.Allow, Scopes: []string{"a"}, TTL: -1}), rec(record.Candidate, record.StepServiceToken, "", record.Facts{Decision: record.Allow, Scopes: []string{"a", "b"}, TTL: 300}), []analysis.Class{analysis.ServiceAccountScopeWidened}},
		{"service lost a scope", analysis.CompareOptions{}, rec(record.Legacy, record.StepServiceToken, "", record.Facts{Decision: record.Allow, Scopes: []string{"a", "b"}, TTL: 300}), rec(record.Candidate, record.StepServiceToken, "", record.Facts{Decision: record.Allow, Scopes: []string{"a"}, TTL: 300}), []analysis.Class{analysis.ServiceAccountDenied}},
		{"service token naming no scope leaves it to the probes", analysis.CompareOptions{}, rec(record.Legacy, record.StepServiceToken, "", record.Facts{Decision: record.Allow, Scopes: []string{"a"}, TTL: 300}), rec(record.Candidate, record.StepServiceToken, "", record.Facts{Decision: record.Allow, TTL: 300}), nil},
		{"service long-lived with refresh", analysis.CompareOptions{}, rec(record.Legacy, record.StepServiceToken, "", record.Facts{Decision: record.Allow, TTL: 300}), rec(record.Candidate, record.StepServiceToken, "", record.Facts{Decision: record.Allow, TTL: -1, RefreshIssued: true}), []analysis.Class{analysis.ServiceAccountLongLivedToken, analysis.ServiceAccountRefreshIssued}},
		{"break-glass without reason", analysis.CompareOptions{}, nil, rec(record.Candidate, record.StepBreakglassNoReason, "", record.Facts{Decision: record.Allow, Expected: record.Deny}), []analysis.Class{analysis.BreakglassNoReasonAccepted}},
		{"break-glass not audited", analysis.CompareOptions{}, nil, rec(record.Candidate, record.StepBreakglassAudit, "", record.Facts{Decision: record.Deny, Expected: record.Allow}), []analysis.Class{analysis.BreakglassNotAudited}},
		{"no legacy twin and no expectation", analysis.CompareOptions{}, nil, rec(record.Candidate, record.StepProbe, "t", record.Facts{Decision: record.Allow}), nil},
		{"A/A: both sides agree against the expected table", analysis.CompareOptions{AA: true}, rec(record.Legacy, record.StepProbe, "t", record.Facts{Decision: record.Allow, Expected: record.Deny}), rec(record.Candidate, record.StepProbe, "t", record.Facts{Decision: record.Allow, Expected: record.Deny}), nil},
		{"A/A: the sides disagree", analysis.CompareOptions{AA: true}, rec(record.Legacy, record.StepProbe, "t", record.Facts{Decision: record.Deny, Expected: record.Deny}), rec(record.Candidate, record.StepProbe, "t", record.Facts{Decision: record.Allow, Expected: record.Deny}), []analysis.Class{analysis.OverPermission}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, order := range []string{"legacy first", "candidate first"} {
				c := analysis.NewComparer(tt.opt)
				recs := []*record.Record{tt.leg, tt.cand}
				if order == "candidate first" {
					recs = []*record.Record{tt.cand, tt.leg}
				}
				for _, r := range recs {
					if r != nil {
						c.Add(r)
					}
				}
				got := classes(c.Findings())
				want := slices.Clone(tt.want)
				slices.Sort(got)
				slices.Sort(want)
				if !slices.Equal(got, want) {
					t.Errorf("%s: findings = %v; want %v", order, got, want)
				}
			}
		})
	}
}

func TestFindingExamplesAndCounts(t *testing.T) {
	c := analysis.NewComparer(analysis.CompareOptions{Examples: 2})
	for i := range 5 {
		l := rec(record.Legacy, record.StepProbe, "t", record.Facts{Decision: record.Deny})
		k := rec(record.Candidate, record.StepProbe, "t", record.Facts{Decision: record.Allow, Status: 200})
		l.Iteration, k.Iteration = uint64(i), uint64(i)
		c.Add(l)
		c.Add(k)
	}
	fs := c.Findings()
	if len(fs) != 1 {
		t.Fatalf("findings = %d; want 1", len(fs))
	}
	f := fs[0]
	if f.Count != 5 || len(f.Examples) != 2 || f.Severity != analysis.Critical || f.PersonaKind != "clinician" {
		t.Errorf("finding = %+v; want count 5, 2 examples, critical, clinician", f)
	}
	if e := f.Examples[0]; e.Legacy != record.Deny || e.Candidate != "allow (HTTP 200)" {
		t.Errorf("example = %+v; want legacy deny, candidate allow (HTTP 200)", e)
	}
}

// TestComparerShared: a one-sided policy finding legacy shows too is present on
// both stacks, not a regression; one the candidate alone shows stays one; a token
// that fails validation is TOKEN_INVALID with its check, never an error.
func TestComparerShared(t *testing.T) {
	long := int64((24 * time.Hour).Seconds())
	invalid := func(side record.Side, check string) *record.Record {
		r := rec(side, record.StepLogin, "", record.Facts{Check: check})
		r.Outcome, r.Error = record.Invalid, check+" failed"
		return r
	}
	tests := []struct {
		name         string
		opt          analysis.CompareOptions
		leg, cand    *record.Record
		want, shared []analysis.Class
	}{
		{"claim missing on both", analysis.CompareOptions{}, rec(record.Legacy, record.StepLogin, "", record.Facts{Decision: record.Allow, MissingClaims: []string{"jti", "client_id"}}),
			rec(record.Candidate, record.StepLogin, "", record.Facts{Decision: record.Allow, MissingClaims: []string{"client_id", "jti"}}), nil, []analysis.Class{analysis.ClaimMissing}},
		{"claim missing on both, A/A", analysis.CompareOptions{AA: true}, rec(record.Legacy, record.StepLogin, "", record.Facts{Decision: record.Allow, MissingClaims: []string{"jti"}}),
			rec(record.Candidate, record.StepLogin, "", record.Facts{Decision: record.Allow, MissingClaims: []string{"jti"}}), nil, nil},
		{"one more claim missing on the candidate", analysis.CompareOptions{}, rec(record.Legacy, record.StepLogin, "", record.Facts{Decision: record.Allow, MissingClaims: []string{"jti"}}),
			rec(record.Candidate, record.StepLogin, "", record.Facts{Decision: record.Allow, MissingClaims: []string{"jti", "roles"}}), []analysis.Class{analysis.ClaimMissing}, nil},
		{"ttl over policy on both", analysis.CompareOptions{}, rec(record.Legacy, record.StepLogin, "", record.Facts{Decision: record.Allow, TTL: long}),
			rec(record.Candidate, record.StepLogin, "", record.Facts{Decision: record.Allow, TTL: long}), nil, []analysis.Class{analysis.TTLDrift}},
		{"API keys and service tokens that never expire", analysis.CompareOptions{}, rec(record.Legacy, record.StepServiceToken, "", record.Facts{Decision: record.Allow, TTL: -1}),
			rec(record.Candidate, record.StepServiceToken, "", record.Facts{Decision: record.Allow, TTL: -1}), nil, []analysis.Class{analysis.ServiceAccountLongLivedToken}},
		{"not rotated on both", analysis.CompareOptions{}, rec(record.Legacy, record.StepRefresh, "", record.Facts{Decision: record.Allow, Rotated: record.Bool(false)}),
			rec(record.Candidate, record.StepRefresh, "", record.Facts{Decision: record.Allow, Rotated: record.Bool(false)}), nil, []analysis.Class{analysis.RefreshNotRotated}},
		{"two personas in one account on both", analysis.CompareOptions{}, rec(record.Legacy, record.StepLogin, "", record.Facts{Decision: record.Allow, SubjectOf: "clinician-00002"}),
			rec(record.Candidate, record.StepLogin, "", record.Facts{Decision: record.Allow, SubjectOf: "clinician-00002"}), nil, []analysis.Class{analysis.OverPermission}},
		{"candidate token invalid", analysis.CompareOptions{}, rec(record.Legacy, record.StepLogin, "", record.Facts{Decision: record.Allow}),
			invalid(record.Candidate, "id_token.alg"), []analysis.Class{analysis.TokenInvalid}, nil},
		{"token invalid on both", analysis.CompareOptions{}, invalid(record.Legacy, "id_token.nonce"), invalid(record.Candidate, "id_token.nonce"), nil, []analysis.Class{analysis.TokenInvalid}},
	}
	for _, tt := range tests {
		for _, order := range []string{"legacy first", "candidate first"} {
			c := analysis.NewComparer(tt.opt)
			recs := []*record.Record{tt.leg, tt.cand}
			if order == "candidate first" {
				recs = []*record.Record{tt.cand, tt.leg}
			}
			for _, r := range recs {
				c.Add(r)
			}
			got, shared := classes(c.Findings()), classes(c.Shared())
			if !slices.Equal(got, tt.want) || !slices.Equal(shared, tt.shared) {
				t.Errorf("%s, %s: findings %v, shared %v; want %v, %v", tt.name, order, got, shared, tt.want, tt.shared)
			}
			if tt.cand.Outcome == record.Invalid {
				fs := append(c.Findings(), c.Shared()...)
				if len(fs) != 1 || fs[0].Check != tt.cand.Facts.Check {
					t.Errorf("%s: %+v; want one finding naming check %s", tt.name, fs, tt.cand.Facts.Check)
				}
			}
		}
	}
}

// TestServiceTokenWithoutScopeIsNotAccessKept: a service token that names no
// scope, where legacy's credential carries permissions, does not judge
// SERVICE_ACCOUNT_DENIED (the run never saw the access kept); one that names
// them does, and a probe of the service does.
func TestServiceTokenWithoutScopeIsNotAccessKept(t *testing.T) {
	origin := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	coverage := func(candScopes []string, probe bool) analysis.ClassCoverage {
		a := analysis.New(analysis.Options{}, origin)
		for i := range 4 {
			for _, side := range []record.Side{record.Legacy, record.Candidate} {
				add := func(step, target string, f record.Facts) {
					a.Add(&record.Record{Side: side, Persona: fmt.Sprintf("service-%05d", i), Kind: "service", Cohort: "wave-1/none", Journey: "service",
						Iteration: uint64(i), Step: step, Target: target, Start: origin.Add(time.Duration(i) * time.Second), Latency: time.Millisecond, Outcome: record.OK, Facts: f})
				}
				scopes := []string{"lab-results.read"}
				if side == record.Candidate {
					scopes = candScopes
				}
				add(record.StepServiceToken, "", record.Facts{Decision: record.Allow, Expected: record.Allow, Scopes: scopes, TTL: 300})
				if probe {
					add(record.StepServiceProbe, "read lab-results:all", record.Facts{Decision: record.Allow})
				}
			}
		}
		s := a.Summary(analysis.Meta{Name: "service"}, record.Accounting{Scheduled: 4, Started: 4})
		for _, c := range s.Coverage {
			if c.Class == analysis.ServiceAccountDenied {
				return c
			}
		}
		t.Fatalf("no coverage row for SERVICE_ACCOUNT_DENIED")
		return analysis.ClassCoverage{}
	}
	for _, tt := range []struct {
		name   string
		scopes []string
		probe  bool
		want   string
	}{
		{"token names no scope, no probe", nil, false, analysis.CoverageNotJudged},
		{"token names the scope", []string{"lab-results.read"}, false, analysis.CoverageJudged},
		{"token names no scope, the probe is allowed", nil, true, analysis.CoverageJudged},
	} {
		c := coverage(tt.scopes, tt.probe)
		if c.Status != tt.want {
			t.Errorf("%s: SERVICE_ACCOUNT_DENIED %s (%s); want %s", tt.name, c.Status, c.Text(), tt.want)
		}
		if c.Status == analysis.CoverageNotJudged && !strings.Contains(c.Text(), "stacks.candidate.oidc.service.permission_scopes") {
			t.Errorf("%s: %s; want the reason to name stacks.candidate.oidc.service.permission_scopes", tt.name, c.Text())
		}
	}
}
