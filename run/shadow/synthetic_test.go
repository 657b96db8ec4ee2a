package shadow_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/cutover-dev/cutover/results/analysis"
	"github.com/cutover-dev/cutover/run/shadow"
)

// synthRun judges n lines of the synthetic production w against a real OPA
// running policy src.
func synthRun(tb testing.TB, w *world, n uint64, src string, batch int, out string) (*shadow.Result, int64) {
	tb.Helper()
	pdp, evals := opaPDP(tb, src, map[string]any{"panels": w.panels()})
	f, err := shadow.Parse("synthetic.yaml", fmt.Appendf(nil, synthShadowFile, pdp.URL, batch), nil)
	if err != nil {
		tb.Fatal(err)
	}
	res, err := shadow.Run(tb.Context(), f, shadow.Options{Source: newSynthLog(w, n), MaxRate: 1000, Out: out})
	if err != nil {
		tb.Fatal(err)
	}
	return res, evals.Load()
}

// TestSyntheticProduction: a synthetic production's log, its legacy decisions
// from the reference policy, against a real OPA. Unchanged, the policy agrees
// with every unambiguous line and the few ambiguous ones are counted by
// reason; a tenant's misconfiguration is one cause on the tenant and the
// resource type it hits, a partner's on the partner and its resource type, a
// resource type closed to everyone one cause on the resource type alone (not
// one per role).
func TestSyntheticProduction(t *testing.T) {
	w := newWorld(2000, 42)
	const lines = 100_000
	res, evals := synthRun(t, w, lines, policy(t), 200, "")
	r, s := res.Report, res.Summary
	t.Log(r.Sentence())
	if s.Verdict != analysis.VerdictPass || len(s.Findings) != 0 {
		t.Fatalf("verdict %s, findings %+v, inconclusive %q; want pass, none", s.Verdict, s.Findings, s.Inconclusive)
	}
	wantAmbiguous := map[string]int64{"a decision neither allow nor deny": lines / 5000, "no subject": lines / 7919}
	if r.Lines != lines || r.Ambiguous != lines/5000+lines/7919 || len(r.AmbiguousBy) != 2 {
		t.Fatalf("lines %d, ambiguous %d by %+v; want %d lines, ambiguous %v", r.Lines, r.Ambiguous, r.AmbiguousBy, lines, wantAmbiguous)
	}
	for _, a := range r.AmbiguousBy {
		if a.Count != wantAmbiguous[a.Reason] || len(a.Lines) == 0 {
			t.Errorf("ambiguous %q: %d (lines %v); want %d", a.Reason, a.Count, a.Lines, wantAmbiguous[a.Reason])
		}
	}
	if !slices.ContainsFunc(s.Notices, func(n analysis.Notice) bool { return n.Class == shadow.NoticeAmbiguous }) {
		t.Errorf("notices %+v lack %s", s.Notices, shadow.NoticeAmbiguous)
	}
	if r.Evaluations != evals || r.Evaluations != r.Questions || !r.QuestionsExact || r.Requests >= r.Evaluations || r.Saved < 0.5 {
		t.Errorf("%d evaluations (the PDP saw %d) for %d distinct questions, in %d requests, %.2f saved; want one per question, batched, most saved",
			r.Evaluations, evals, r.Questions, r.Requests, r.Saved)
	}

	drifts := []struct {
		name, extra string
		class       analysis.Class
		factors     []analysis.Factor
	}{
		{"tenant east loses appointments", "\tinput.subject.properties.tenant == \"east\"\n\ttype == \"appointments\"",
			analysis.UnderPermission, []analysis.Factor{{Name: "resource_type", Value: "appointments"}, {Name: "tenant", Value: "east"}}},
		// Claims are the billing clerks' alone: the partner and the resource
		// type pick out exactly the lines that lost.
		{"medibill billing clerks lose claims", "\tinput.subject.properties.partner == \"medibill\"\n\ttype == \"claims\"",
			analysis.UnderPermission, []analysis.Factor{{Name: "partner", Value: "medibill"}, {Name: "resource_type", Value: "claims"}}},
		// Patients and clinicians lose appointments alike: one cause, the
		// resource type, not one per role.
		{"appointments closed to everyone", "\ttype == \"appointments\"",
			analysis.UnderPermission, []analysis.Factor{{Name: "resource_type", Value: "appointments"}}},
	}
	for _, d := range drifts {
		t.Run(d.name, func(t *testing.T) {
			res, _ := synthRun(t, w, lines, policy(t, blocking(d.extra)), 200, "")
			s := res.Summary
			if s.Verdict != analysis.VerdictFail || len(s.Causes) != 1 {
				t.Fatalf("verdict %s, causes %+v; want fail, one cause", s.Verdict, s.Causes)
			}
			if c := s.Causes[0]; !slices.Equal(c.Factors, d.factors) || !slices.Equal(c.ClassNames(), []string{string(d.class)}) {
				t.Errorf("cause %s; want %v: %s", c.Title, d.factors, d.class)
			}
		})
	}
}

// TestSyntheticMillion: a million lines of the synthetic production, streamed,
// against a real OPA whose policy carries both drifts of the embedded legacy's
// test at once (billing clerks granted admin reads, clinicians denied their
// panel's notes): each is one cause, on the role and the resource type it
// hits, and nothing else is found. (The unchanged policy over a million lines
// finds nothing: BenchmarkShadowStream1M fails on any finding.)
func TestSyntheticMillion(t *testing.T) {
	if testing.Short() {
		t.Skip("a million lines through a real OPA: about 15 s")
	}
	w := newWorld(5000, 42)
	const lines = 1_000_000
	res, _ := synthRun(t, w, lines, policy(t, billingAdmin, notesDenied), 200, "")
	r, s := res.Report, res.Summary
	t.Log(r.Sentence())
	if r.Lines != lines || s.Verdict != analysis.VerdictFail || len(s.Causes) != 2 {
		t.Fatalf("%d lines, verdict %s, causes %+v; want %d lines, fail, two causes", r.Lines, s.Verdict, s.Causes, lines)
	}
	// Only billing clerks and admins ask for users, and legacy allows admins:
	// among the entitlements legacy denied, the resource type alone picks out
	// the clerks'.
	want := map[analysis.Class][]analysis.Factor{
		analysis.OverPermission:  {{Name: "resource_type", Value: "users"}},
		analysis.UnderPermission: {{Name: "action", Value: "read"}, {Name: "resource_type", Value: "notes"}},
	}
	for _, c := range s.Causes {
		names := c.ClassNames()
		if len(names) != 1 || !slices.Equal(c.Factors, want[analysis.Class(names[0])]) {
			t.Errorf("cause %s (%v: %v); want one of %v", c.Title, names, c.Factors, want)
		}
	}
}
