package results

import (
	"slices"
	"testing"
	"time"
)

func rec(side Side, step, target string, f Facts) *Record {
	return &Record{Side: side, Persona: "clinician-00001", Kind: "clinician", Journey: "session", Iteration: 7, Step: step, Target: target, Outcome: OK, Facts: f}
}

func classes(fs []Finding) []Class {
	var out []Class
	for _, f := range fs {
		out = append(out, f.Class)
	}
	return out
}

func TestComparerClasses(t *testing.T) {
	long := int64((24 * time.Hour).Seconds())
	tests := []struct {
		name      string
		opt       CompareOptions
		leg, cand *Record
		want      []Class
	}{
		{"same decision", CompareOptions{}, rec(Legacy, StepProbe, "read record:{panel}", Facts{Decision: Allow}), rec(Candidate, StepProbe, "read record:{panel}", Facts{Decision: Allow}), nil},
		{"over-permission vs expected", CompareOptions{}, rec(Legacy, StepProbe, "t", Facts{Decision: Deny, Expected: Deny}), rec(Candidate, StepProbe, "t", Facts{Decision: Allow, Expected: Deny}), []Class{OverPermission}},
		{"over-permission vs legacy", CompareOptions{}, rec(Legacy, StepProbe, "t", Facts{Decision: Deny}), rec(Candidate, StepProbe, "t", Facts{Decision: Allow}), []Class{OverPermission}},
		{"under-permission", CompareOptions{}, rec(Legacy, StepProbe, "t", Facts{Decision: Allow, Expected: Allow}), rec(Candidate, StepProbe, "t", Facts{Decision: Deny, Expected: Allow}), []Class{UnderPermission}},
		{"authz error", CompareOptions{}, rec(Legacy, StepProbe, "t", Facts{Decision: Allow}), rec(Candidate, StepProbe, "t", Facts{Decision: "error", Status: 404}), []Class{AuthzError}},
		{"availability error is not authz", CompareOptions{}, rec(Legacy, StepProbe, "t", Facts{Decision: Allow}), &Record{Side: Candidate, Persona: "clinician-00001", Journey: "session", Iteration: 7, Step: StepProbe, Target: "t", Outcome: Error}, nil},
		{"login failed", CompareOptions{}, rec(Legacy, StepLogin, "", Facts{Decision: Allow, Expected: Allow}), rec(Candidate, StepLogin, "", Facts{Decision: Deny, Expected: Allow}), []Class{LoginFailed}},
		{"role drift", CompareOptions{}, rec(Legacy, StepLogin, "", Facts{Decision: Allow, Roles: []string{"billing"}}), rec(Candidate, StepLogin, "", Facts{Decision: Allow, Roles: []string{"admin", "billing"}}), []Class{RoleMappingDrift}},
		{"roles equal as sets", CompareOptions{}, rec(Legacy, StepLogin, "", Facts{Decision: Allow, Roles: []string{"b", "a"}}), rec(Candidate, StepLogin, "", Facts{Decision: Allow, Roles: []string{"a", "b", "a"}}), nil},
		{"claim missing", CompareOptions{}, rec(Legacy, StepLogin, "", Facts{Decision: Allow}), rec(Candidate, StepLogin, "", Facts{Decision: Allow, MissingClaims: []string{"roles"}}), []Class{ClaimMissing}},
		{"ttl over policy", CompareOptions{}, rec(Legacy, StepLogin, "", Facts{Decision: Allow, TTL: 900}), rec(Candidate, StepLogin, "", Facts{Decision: Allow, TTL: long}), []Class{TTLDrift}},
		{"ttl over policy ignored in A/A", CompareOptions{AA: true}, rec(Legacy, StepLogin, "", Facts{Decision: Allow, TTL: long}), rec(Candidate, StepLogin, "", Facts{Decision: Allow, TTL: long}), nil},
		{"ttl tolerance", CompareOptions{TTLTolerance: 0.1}, rec(Legacy, StepLogin, "", Facts{Decision: Allow, TTL: 300}), rec(Candidate, StepLogin, "", Facts{Decision: Allow, TTL: 600}), []Class{TTLDrift}},
		{"logout session alive", CompareOptions{}, rec(Legacy, StepLogoutProbe, "t", Facts{Decision: Deny, Expected: Deny}), rec(Candidate, StepLogoutProbe, "t", Facts{Decision: Allow, Expected: Deny}), []Class{LogoutSessionStillActive}},
		{"not rotated", CompareOptions{}, rec(Legacy, StepRefresh, "", Facts{Decision: Allow}), rec(Candidate, StepRefresh, "", Facts{Decision: Allow, Rotated: Bool(false)}), []Class{RefreshNotRotated}},
		{"reuse accepted", CompareOptions{}, nil, rec(Candidate, StepRefreshReplay, "", Facts{Decision: Allow, Expected: Deny}), []Class{RefreshReuseAccepted}},
		{"scope widened on refresh", CompareOptions{}, nil, rec(Candidate, StepRefresh, "", Facts{Decision: Allow, Widened: []string{"admin.users"}}), []Class{ScopeWidenedOnRefresh}},
		{"service widened", CompareOptions{}, rec(Legacy, StepServiceToken, "", Facts{Decision: Allow, Scopes: []string{"a"}, TTL: -1}), rec(Candidate, StepServiceToken, "", Facts{Decision: Allow, Scopes: []string{"a", "b"}, TTL: 300}), []Class{ServiceAccountScopeWidened}},
		{"service long-lived with refresh", CompareOptions{}, rec(Legacy, StepServiceToken, "", Facts{Decision: Allow, TTL: -1}), rec(Candidate, StepServiceToken, "", Facts{Decision: Allow, TTL: -1, RefreshIssued: true}), []Class{ServiceAccountLongLivedToken, ServiceAccountRefreshIssued}},
		{"break-glass without reason", CompareOptions{}, nil, rec(Candidate, StepBreakglassNoReason, "", Facts{Decision: Allow, Expected: Deny}), []Class{BreakglassNoReasonAccepted}},
		{"break-glass not audited", CompareOptions{}, nil, rec(Candidate, StepBreakglassAudit, "", Facts{Decision: Deny, Expected: Allow}), []Class{BreakglassNotAudited}},
		{"no legacy twin and no expectation", CompareOptions{}, nil, rec(Candidate, StepProbe, "t", Facts{Decision: Allow}), nil},
		{"A/A: both sides agree against the expected table", CompareOptions{AA: true}, rec(Legacy, StepProbe, "t", Facts{Decision: Allow, Expected: Deny}), rec(Candidate, StepProbe, "t", Facts{Decision: Allow, Expected: Deny}), nil},
		{"A/A: the sides disagree", CompareOptions{AA: true}, rec(Legacy, StepProbe, "t", Facts{Decision: Deny, Expected: Deny}), rec(Candidate, StepProbe, "t", Facts{Decision: Allow, Expected: Deny}), []Class{OverPermission}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, order := range []string{"legacy first", "candidate first"} {
				c := NewComparer(tt.opt)
				recs := []*Record{tt.leg, tt.cand}
				if order == "candidate first" {
					recs = []*Record{tt.cand, tt.leg}
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
	c := NewComparer(CompareOptions{Examples: 2})
	for i := range 5 {
		l := rec(Legacy, StepProbe, "t", Facts{Decision: Deny})
		k := rec(Candidate, StepProbe, "t", Facts{Decision: Allow, Status: 200})
		l.Iteration, k.Iteration = uint64(i), uint64(i)
		c.Add(l)
		c.Add(k)
	}
	fs := c.Findings()
	if len(fs) != 1 {
		t.Fatalf("findings = %d; want 1", len(fs))
	}
	f := fs[0]
	if f.Count != 5 || len(f.Examples) != 2 || f.Severity != Critical || f.PersonaKind != "clinician" {
		t.Errorf("finding = %+v; want count 5, 2 examples, critical, clinician", f)
	}
	if e := f.Examples[0]; e.Legacy != Deny || e.Candidate != "allow (HTTP 200)" {
		t.Errorf("example = %+v; want legacy deny, candidate allow (HTTP 200)", e)
	}
}
