package loadgen

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
)

// TestGuardRefusesARedirectToAnUnlistedHost: an allowed server redirects to a
// server reached by another name; the client follows, the guard refuses the hop,
// and the second server sees nothing.
func TestGuardRefusesARedirectToAnUnlistedHost(t *testing.T) {
	var hits atomic.Int64
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer elsewhere.Close()
	u, _ := url.Parse(elsewhere.URL)
	target := "http://localhost:" + u.Port() + "/steal"
	allowed := httptest.NewServer(http.RedirectHandler(target, http.StatusFound))
	defer allowed.Close()

	g := NewGuard([]string{"127.0.0.1"}, &http.Transport{})
	defer g.CloseIdleConnections()
	_, err := (&http.Client{Transport: g}).Get(allowed.URL)
	var he *HostError
	if !errors.Is(err, ErrHostNotAllowed) || !errors.As(err, &he) || he.Host != "localhost" {
		t.Fatalf("GET through a redirect to localhost = %v; want a HostError for localhost", err)
	}
	if hits.Load() != 0 {
		t.Errorf("the unlisted host received %d requests", hits.Load())
	}
	if !strings.Contains(err.Error(), `refused to send to host "localhost": not in stacks.allow_hosts`) {
		t.Errorf("error = %q; want it to name the host and the setting", err)
	}
}

// TestGuardRefusesToDialAnUnlistedHost: the request's host is allowed but the
// connection would go elsewhere (a proxy here); the dial check refuses it.
func TestGuardRefusesToDialAnUnlistedHost(t *testing.T) {
	var hits atomic.Int64
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer proxy.Close()
	pu, _ := url.Parse(proxy.URL)
	pu.Host = "localhost:" + pu.Port()
	g := NewGuard([]string{"127.0.0.1"}, &http.Transport{Proxy: http.ProxyURL(pu)})
	defer g.CloseIdleConnections()
	_, err := (&http.Client{Transport: g}).Get("http://127.0.0.1:1/")
	if !errors.Is(err, ErrHostNotAllowed) || hits.Load() != 0 {
		t.Errorf("GET via an unlisted proxy = %v, %d proxy hits; want refused at dial, none", err, hits.Load())
	}
}

func TestGuardLetsListedHostsThrough(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer srv.Close()
	g := NewGuard([]string{"LocalHost", "127.0.0.1", "[::1]"}, &http.Transport{})
	defer g.CloseIdleConnections()
	resp, err := (&http.Client{Transport: g}).Get(srv.URL)
	if err != nil {
		t.Fatalf("GET %s = %v", srv.URL, err)
	}
	resp.Body.Close()
	for _, h := range []string{"localhost", "LOCALHOST", "::1", "127.0.0.1"} {
		if !g.Allows(h) {
			t.Errorf("Allows(%q) = false", h)
		}
	}
	if g.Allows("127.0.0.2") || g.Allows("") {
		t.Error("an unlisted host is allowed")
	}
}
