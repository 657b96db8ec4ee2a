package journeys_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/cutover-dev/cutover/journeys"
	"github.com/cutover-dev/cutover/personas"
	"github.com/cutover-dev/cutover/results/record"
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
	for side, st := range map[record.Side]journeys.Stack{record.Legacy: leg, record.Candidate: cand} {
		r.Run(t.Context(), j, side, st, p, journeys.Iteration{N: 1}, rec.emit)
	}
	defer func() {
		if t.Failed() {
			t.Logf("records:\n%s", rec.dump())
		}
	}()
	C, L := record.Candidate, record.Legacy
	for _, tt := range []struct {
		side         record.Side
		step, target string
		want         []string
	}{
		{C, record.StepLogin, "", []string{"GET /authorize", "POST /login", "POST /token"}},
		{C, record.StepProbe, "read record:self", []string{"GET /api/patients/{id}/record"}},
		{C, record.StepRefresh, "", []string{"POST /token"}},
		{C, record.StepLogout, "", []string{"POST /revoke"}},
		{C, record.StepLogoutIntrospect, "access_token", []string{"POST /introspect"}},
		{L, record.StepLogin, "", []string{"GET /login", "POST /login", "GET /api/me"}},
		{L, record.StepProbe, "read record:other", []string{"GET /api/patients/{id}/record"}},
		{L, record.StepRefresh, "", []string{"POST /api/session/renew"}},
		{L, record.StepRefreshReplay, "", nil},
	} {
		if got := rec.one(t, tt.side, tt.step, tt.target).Endpoints; !slices.Equal(got, tt.want) {
			t.Errorf("%s %s %q: endpoints %q; want %q", tt.side, tt.step, tt.target, got, tt.want)
		}
	}
	for _, rc := range rec.recs {
		if rc.Outcome == record.OK && len(rc.Endpoints) == 0 {
			t.Errorf("%s %s %q: ran, no endpoints", rc.Side, rc.Step, rc.Target)
		}
		for _, e := range rc.Endpoints {
			if strings.Contains(e, "?") || strings.Contains(e, p.ID) {
				t.Errorf("%s %s %q: endpoint %q; want no query, no persona id", rc.Side, rc.Step, rc.Target, e)
			}
		}
	}
}
