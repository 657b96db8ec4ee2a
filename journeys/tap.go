package journeys

import (
	"context"
	"net/http"
	"slices"
	"sync"

	"github.com/cutover-dev/cutover/results/record"
)

// Tap returns a RoundTripper that sends each request through rt and, when the
// request's context is a step's, notes it in that step's record (see
// record.Record.Endpoints): the method and the folded path, never the query, a
// header or the body. A request made outside a step passes through untouched. The
// adapters and the Runner's Transport are given a tapped transport so that each
// record lists the requests its step made. A nil rt is http.DefaultTransport.
// Tap is safe for concurrent use when rt is; CloseIdleConnections reaches rt's.
func Tap(rt http.RoundTripper) http.RoundTripper {
	if rt == nil {
		rt = http.DefaultTransport
	}
	return &tap{rt: rt}
}

type tap struct {
	rt http.RoundTripper
}

// RoundTrip implements http.RoundTripper. The request is noted before it is
// sent: a step that was refused a connection still made the request.
func (t *tap) RoundTrip(req *http.Request) (*http.Response, error) {
	if log, ok := req.Context().Value(endpointLogKey{}).(*endpointLog); ok {
		log.add(record.Endpoint(req.Method, req.URL.EscapedPath()), req.URL.Host)
	}
	return t.rt.RoundTrip(req)
}

// CloseIdleConnections closes the idle connections of the tapped transport, if
// it has a way to (http.Client.CloseIdleConnections looks for this method).
func (t *tap) CloseIdleConnections() {
	if c, ok := t.rt.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// endpointLog collects the endpoints of one step's requests, each once, in the
// order first made. It is safe for concurrent use: a step's requests may come
// from more than one goroutine.
type endpointLog struct {
	mu    sync.Mutex
	list  []string
	hosts []string
}

type endpointLogKey struct{}

// withEndpointLog returns ctx carrying a new, empty log for Tap to write to.
func withEndpointLog(ctx context.Context) (context.Context, *endpointLog) {
	log := &endpointLog{}
	return context.WithValue(ctx, endpointLogKey{}, log), log
}

func (l *endpointLog) add(endpoint, host string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !slices.Contains(l.list, endpoint) {
		l.list = append(l.list, endpoint)
	}
	if host != "" && !slices.Contains(l.hosts, host) {
		l.hosts = append(l.hosts, host)
	}
}

// hostList returns a copy of the hosts logged (nil when none).
func (l *endpointLog) hostList() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.hosts)
}

// endpoints returns a copy of the log (nil when empty): the record owns it, while
// a request the step left running may still add to the log.
func (l *endpointLog) endpoints() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.list)
}
