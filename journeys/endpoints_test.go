package journeys_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/cutover-dev/cutover/journeys"
	"github.com/cutover-dev/cutover/personas"
	"github.com/cutover-dev/cutover/results"
)

// TestEmbeddedEndpoints: on the embedded stacks, through a tapped transport, each
// step's record lists the requests the step made, folded; a step that did not run
// lists none, and no endpoint carries a query or the persona's id.
func TestEmbeddedEndpoints(t *testing.T) {
	clk := &testClock{}
	leg, cand, pop := embeddedAdapters(t, clk, "none")
	r := embeddedRunner(pop, clk)
	rec := &recorder{}
	p := pop.ByKind(personas.Patient)[0]
	j := journeys.Journey{Name: "session", Steps: []string{journeys.StepsLogin, journeys.StepsProbes, journeys.StepsRefresh, journeys.StepsLogout}}
	for side, st := range map[results.Side]journeys.Stack{results.Legacy: leg, results.Candidate: cand} {
		r.Run(t.Context(), j, side, st, p, journeys.Iteration{N: 1}, rec.emit)
	}
	defer func() {
		if t.Failed() {
			t.Logf("records:\n%s", rec.dump())
		}
	}()
	C, L := results.Candidate, results.Legacy
	for _, tt := range []struct {
		side         results.Side
		step, target string
		want         []string
	}{
		{C, results.StepLogin, "", []string{"GET /authorize", "POST /login", "POST /token"}},
		{C, results.StepProbe, "read record:self", []string{"GET /api/patients/{id}/record"}},
		{C, results.StepRefresh, "", []string{"POST /token"}},
		{C, results.StepLogout, "", []string{"POST /revoke"}},
		{C, results.StepLogoutIntrospect, "access_token", []string{"POST /introspect"}},
		{L, results.StepLogin, "", []string{"GET /login", "POST /login", "GET /api/me"}},
		{L, results.StepProbe, "read record:other", []string{"GET /api/patients/{id}/record"}},
		{L, results.StepRefresh, "", []string{"POST /api/session/renew"}},
		{L, results.StepRefreshReplay, "", nil},
	} {
		if got := rec.one(t, tt.side, tt.step, tt.target).Endpoints; !slices.Equal(got, tt.want) {
			t.Errorf("%s %s %q: endpoints %q; want %q", tt.side, tt.step, tt.target, got, tt.want)
		}
	}
	for _, rc := range rec.recs {
		if rc.Outcome == results.OK && len(rc.Endpoints) == 0 {
			t.Errorf("%s %s %q: ran, no endpoints", rc.Side, rc.Step, rc.Target)
		}
		for _, e := range rc.Endpoints {
			if strings.Contains(e, "?") || strings.Contains(e, p.ID) {
				t.Errorf("%s %s %q: endpoint %q; want no query, no persona id", rc.Side, rc.Step, rc.Target, e)
			}
		}
	}
}
