package journeys

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cutover-dev/cutover/personas"
	"github.com/cutover-dev/cutover/results/record"
)

// TestTap sends real requests through Tap: within a step's context each is noted
// once, folded and without its query, in first-call order, from any goroutine;
// outside a step it passes through untouched.
func TestTap(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	c := &http.Client{Transport: Tap(&http.Transport{})}
	defer c.CloseIdleConnections()
	send := func(ctx context.Context, method, path string) {
		t.Helper()
		// Called from several goroutines: t.Error, never t.Fatal.
		req, err := http.NewRequestWithContext(ctx, method, srv.URL+path, nil)
		if err == nil {
			var resp *http.Response
			if resp, err = c.Do(req); err == nil {
				resp.Body.Close()
				if resp.StatusCode != http.StatusNoContent {
					t.Errorf("%s %s: HTTP %d; want 204", method, path, resp.StatusCode)
				}
			}
		}
		if err != nil {
			t.Errorf("%s %s: %v", method, path, err)
		}
	}

	ctx, log := withEndpointLog(t.Context())
	for _, r := range []struct{ method, path string }{
		{"GET", "/authorize?client_id=harness&state=af0ifjsldkj"},
		{"POST", "/token"},
		{"GET", "/api/patients/patient-00012/record"},
		{"GET", "/api/patients/patient-00077/record?access_token=SlAV32hkKG"},
		{"POST", "/token"},
		{"GET", "/oauth2/v1/jwks.json"},
	} {
		send(ctx, r.method, r.path)
	}
	want := []string{"GET /authorize", "POST /token", "GET /api/patients/{id}/record", "GET /oauth2/v1/jwks.json"}
	if got := log.endpoints(); !slices.Equal(got, want) {
		t.Errorf("endpoints = %q; want %q", got, want)
	}

	ctx, log = withEndpointLog(t.Context())
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			send(ctx, "GET", fmt.Sprintf("/api/patients/patient-%05d/notes", i))
			send(ctx, "POST", "/api/patients/patient-00001/notes")
		})
	}
	wg.Wait()
	want = []string{"GET /api/patients/{id}/notes", "POST /api/patients/{id}/notes"}
	if got := log.endpoints(); !slices.Equal(sorted(got), want) {
		t.Errorf("endpoints of 16 concurrent requests = %q; want %q, each once", got, want)
	}

	before := hits.Load()
	send(t.Context(), "GET", "/outside/a/step")
	if n := hits.Load() - before; n != 1 {
		t.Errorf("a request outside a step reached the server %d times; want 1", n)
	}
	if got := log.endpoints(); len(got) != 2 {
		t.Errorf("a request outside a step was noted in another step's log: %q", got)
	}
}

// TestTapClosesIdleConnections: a client on a tapped transport closes the inner
// transport's idle connections.
func TestTapClosesIdleConnections(t *testing.T) {
	closed := make(chan struct{}, 1)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateClosed {
			select {
			case closed <- struct{}{}:
			default:
			}
		}
	}
	srv.Start()
	defer srv.Close()
	c := &http.Client{Transport: Tap(&http.Transport{})}
	resp, err := c.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close() // the connection goes back to the pool, idle
	c.CloseIdleConnections()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("the idle connection is still open 10s after CloseIdleConnections")
	}
}

// TestEmbeddedEndpoints: on the embedded stacks, through a tapped transport, each
// step's record lists the requests the step made, folded; a step that did not run
// lists none, and no endpoint carries a query or the persona's id.
func TestEmbeddedEndpoints(t *testing.T) {
	clk := &testClock{}
	leg, cand, pop := embeddedAdapters(t, clk, "none")
	r := embeddedRunner(pop, clk)
	rec := &recorder{}
	p := pop.ByKind(personas.Patient)[0]
	j := Journey{Name: "session", Steps: []string{StepsLogin, StepsProbes, StepsRefresh, StepsLogout}}
	for side, st := range map[record.Side]Stack{record.Legacy: leg, record.Candidate: cand} {
		r.Run(t.Context(), j, side, st, p, Iteration{N: 1}, rec.emit)
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
