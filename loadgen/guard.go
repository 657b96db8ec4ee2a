package loadgen

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
)

// ErrHostNotAllowed marks a request or connection refused because its host is not
// in stacks.allow_hosts.
var ErrHostNotAllowed = errors.New("not in stacks.allow_hosts")

// HostError is a refusal to send to Host. It matches ErrHostNotAllowed.
type HostError struct {
	Host string
}

func (e *HostError) Error() string {
	return fmt.Sprintf("refused to send to host %q: %v", e.Host, ErrHostNotAllowed)
}

// Is reports whether target is ErrHostNotAllowed.
func (e *HostError) Is(target error) bool { return target == ErrHostNotAllowed }

// Guard is an http.RoundTripper that sends only to allowed hosts, so the harness
// cannot be pointed at a system nobody listed: not by a typo in a config, not by a
// redirect, not by a discovery document naming another host. It checks twice: each
// request's URL before it is sent (every hop of a redirect is a request of its
// own), and each connection's address before it is dialled (a proxy, or anything
// that resolves a URL to another address). It is safe for concurrent use.
type Guard struct {
	allow map[string]bool
	tr    *http.Transport
	rt    *connTransport
}

var _ http.RoundTripper = (*Guard)(nil)

// NewGuard returns a guard that lets requests to hosts through tr. Hosts are names
// or addresses as in a URL, without port, matched exactly (case aside). tr is
// cloned: the guard's copy refuses to dial any other host.
func NewGuard(hosts []string, tr *http.Transport) *Guard {
	g := &Guard{allow: make(map[string]bool, len(hosts)), tr: tr.Clone()}
	for _, h := range hosts {
		g.allow[strings.ToLower(strings.Trim(h, "[]"))] = true
	}
	dial := g.tr.DialContext
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	g.tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			host = addr
		}
		if !g.Allows(host) {
			return nil, &HostError{Host: host}
		}
		return dial(ctx, network, addr)
	}
	g.rt = newConnTransport(g.tr, g.tr.DialContext)
	return g
}

// Allows reports whether host may be sent to.
func (g *Guard) Allows(host string) bool { return g.allow[strings.ToLower(host)] }

// RoundTrip implements http.RoundTripper.
func (g *Guard) RoundTrip(req *http.Request) (*http.Response, error) {
	if h := req.URL.Hostname(); !g.Allows(h) {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, &HostError{Host: h}
	}
	if g.tr.Proxy != nil {
		return g.tr.RoundTrip(req)
	}
	return g.rt.RoundTrip(req)
}

// CloseIdleConnections closes the idle connections of the guarded transport.
func (g *Guard) CloseIdleConnections() {
	g.rt.CloseIdleConnections()
	g.tr.CloseIdleConnections()
}
