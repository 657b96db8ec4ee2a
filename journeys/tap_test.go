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
	if got := log.hostList(); len(got) != 1 || !strings.HasPrefix(got[0], "127.0.0.1:") {
		t.Errorf("hosts = %q; want the test server's host:port, once", got)
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
	if got := log.endpoints(); !slices.Equal(slices.Sorted(slices.Values(got)), want) {
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
