package loadgen

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

// connTransport is the generator's HTTP/1.1 client transport: each request's
// writing and reading happen on the goroutine that sends it, over a pool of
// keep-alive connections. net/http's Transport gives every connection a reading
// and a writing goroutine and hands each request and response between them and
// the caller; at a few hundred requests a second on two cores those hand-offs
// and the scheduler's wake-ups cost as much CPU as the requests themselves
// (BenchmarkTransportCPU). What it parses and writes is net/http's own
// (Request.Write, ReadResponse); what it does not do, no request of the harness
// needs: HTTP/2 (the guarded transport never negotiated it), proxies (targets
// are named, stacks.allow_hosts), compression (a server answers uncompressed,
// which costs the generator less).
//
// A connection goes back to the pool only when its response was read to the end
// and neither side asked to close it; an idle connection is reused only when the
// server has neither closed it nor sent anything on it since (a non-blocking
// peek, peer.go), so a keep-alive the server timed out is dialled again rather
// than failing a request. A request that fails on a reused connection before any
// of its response arrived is sent again on a new one when it is safe to repeat
// (GET, HEAD, OPTIONS or TRACE, or an Idempotency-Key, and a body it can send
// again), as net/http does; a POST is not: the server may have acted on it.
type connTransport struct {
	dial          func(ctx context.Context, network, addr string) (net.Conn, error)
	tls           *tls.Config
	handshake     time.Duration // TLS handshake limit
	headerTimeout time.Duration // from the request written to the response's header
	idleTimeout   time.Duration
	maxIdle       int // idle connections kept per host

	mu   sync.Mutex
	idle map[string][]*pconn
}

var _ http.RoundTripper = (*connTransport)(nil)

// newConnTransport takes the limits of tr (idle connections per host, the
// timeouts, its TLS configuration) and dials with dial.
func newConnTransport(tr *http.Transport, dial func(ctx context.Context, network, addr string) (net.Conn, error)) *connTransport {
	t := &connTransport{dial: dial, tls: tr.TLSClientConfig, handshake: tr.TLSHandshakeTimeout,
		headerTimeout: tr.ResponseHeaderTimeout, idleTimeout: tr.IdleConnTimeout, maxIdle: tr.MaxIdleConnsPerHost,
		idle: map[string][]*pconn{}}
	if t.maxIdle <= 0 {
		t.maxIdle = http.DefaultMaxIdleConnsPerHost
	}
	return t
}

// pconn is one connection with its buffers.
type pconn struct {
	key    string
	conn   net.Conn // what is read and written: the TLS connection for https
	raw    net.Conn // the TCP connection under it, peeked at before reuse
	br     *bufio.Reader
	bw     *bufio.Writer
	reused bool
	since  time.Time // when it was last put back
}

func (pc *pconn) close() { _ = pc.conn.Close() }

// aLongTimeAgo is a deadline in the past: it makes blocked reads and writes
// return at once.
var aLongTimeAgo = time.Unix(1, 0)

// RoundTrip implements http.RoundTripper.
func (t *connTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL == nil || req.URL.Host == "" || (req.URL.Scheme != "http" && req.URL.Scheme != "https") {
		closeReqBody(req)
		return nil, fmt.Errorf("unsupported request URL %q: http or https with a host", req.URL.Redacted())
	}
	for attempt := 0; ; attempt++ {
		pc, err := t.get(req.Context(), req.URL.Scheme, canonicalAddr(req.URL.Scheme, req.URL.Host), req.URL.Hostname())
		if err != nil {
			closeReqBody(req)
			return nil, err
		}
		resp, err := t.send(pc, req)
		if err == nil {
			return resp, nil
		}
		pc.close()
		var early *beforeResponse
		if !errors.As(err, &early) {
			return nil, err
		}
		if attempt > 0 || !pc.reused || !repeatable(req) || req.Context().Err() != nil {
			return nil, early.err
		}
		if req.GetBody != nil {
			body, berr := req.GetBody()
			if berr != nil {
				return nil, early.err
			}
			r := *req
			r.Body = body
			req = &r
		}
	}
}

// beforeResponse is a failure of a request before any byte of its response
// was read: one RoundTrip may send it again on a new connection.
type beforeResponse struct{ err error }

func (e *beforeResponse) Error() string { return e.err.Error() }
func (e *beforeResponse) Unwrap() error { return e.err }

// repeatable reports whether req may be sent twice (RFC 9110 s9.2.2, and net/http's
// rule for requests that failed on a reused connection).
func repeatable(req *http.Request) bool {
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		return false
	}
	switch req.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	_, key := req.Header["Idempotency-Key"]
	_, xkey := req.Header["X-Idempotency-Key"]
	return key || xkey
}

// send writes req on pc and reads its response's header; the body is read by
// the caller, and gives the connection back at its end.
func (t *connTransport) send(pc *pconn, req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	deadline, _ := ctx.Deadline()
	// A cancelled request unblocks its reads and writes at once.
	stop := context.AfterFunc(ctx, func() { _ = pc.conn.SetDeadline(aLongTimeAgo) })
	head := deadline
	if t.headerTimeout > 0 {
		if h := time.Now().Add(t.headerTimeout); head.IsZero() || h.Before(head) {
			head = h
		}
	}
	fail := func(err error, early bool) (*http.Response, error) {
		stop()
		switch {
		case ctx.Err() != nil:
			err = fmt.Errorf("%s %s: %w", req.Method, req.URL.Redacted(), ctx.Err())
		case pastDeadline(err, deadline):
			err = fmt.Errorf("%s %s: %w", req.Method, req.URL.Redacted(), context.DeadlineExceeded)
		case pastDeadline(err, head):
			err = fmt.Errorf("%s %s: timeout awaiting response headers (%s): %w", req.Method, req.URL.Redacted(), t.headerTimeout, err)
		}
		if early {
			return nil, &beforeResponse{err}
		}
		return nil, err
	}
	_ = pc.conn.SetWriteDeadline(deadline)
	if err := req.Write(pc.bw); err != nil {
		return fail(err, true)
	}
	if err := pc.bw.Flush(); err != nil {
		return fail(err, true)
	}
	_ = pc.conn.SetReadDeadline(head)
	var resp *http.Response
	for {
		if _, err := pc.br.Peek(1); err != nil {
			return fail(err, true)
		}
		r, err := http.ReadResponse(pc.br, req)
		if err != nil {
			return fail(err, false)
		}
		// 1xx answers (an early hint, a continue nobody asked for) come before
		// the response; 101 would switch protocols, which no request asks.
		if r.StatusCode >= 100 && r.StatusCode < 200 && r.StatusCode != http.StatusSwitchingProtocols {
			continue
		}
		resp = r
		break
	}
	_ = pc.conn.SetReadDeadline(deadline)
	if tc, ok := pc.conn.(*tls.Conn); ok {
		st := tc.ConnectionState()
		resp.TLS = &st
	}
	b := &connBody{rc: resp.Body, pc: pc, t: t, ctx: ctx, deadline: deadline, stop: stop, keep: !resp.Close && !req.Close && resp.StatusCode != http.StatusSwitchingProtocols}
	if resp.Body == http.NoBody {
		b.finish(true)
		return resp, nil
	}
	resp.Body = b
	return resp, nil
}

// connBody is a response body that gives its connection back when read to the
// end, and closes it when closed before.
type connBody struct {
	rc       io.ReadCloser
	pc       *pconn
	t        *connTransport
	ctx      context.Context
	deadline time.Time
	stop     func() bool
	keep     bool

	mu   sync.Mutex
	done bool
}

func (b *connBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	switch {
	case err == io.EOF:
		b.finish(true)
	case err != nil:
		b.finish(false)
		// As net/http says it: a body cut by the request's end is the
		// request's error, which callers tell timeouts by.
		if cerr := b.ctx.Err(); cerr != nil {
			err = fmt.Errorf("reading the body: %w", cerr)
		} else if pastDeadline(err, b.deadline) {
			err = fmt.Errorf("reading the body: %w", context.DeadlineExceeded)
		}
	}
	return n, err
}

// pastDeadline reports whether err is a connection's deadline that fell at or
// after d: the request's own, when d is its context's.
func pastDeadline(err error, d time.Time) bool {
	return !d.IsZero() && errors.Is(err, os.ErrDeadlineExceeded) && !time.Now().Before(d)
}

func (b *connBody) Close() error {
	b.finish(false)
	return nil
}

// finish ends the response once: the connection goes back to the pool when its
// body was read to the end, the request was not cancelled meanwhile and both
// sides keep it alive; else it is closed.
func (b *connBody) finish(complete bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done {
		return
	}
	b.done = true
	cancelled := !b.stop()
	if complete && b.keep && !cancelled && b.pc.br.Buffered() == 0 {
		b.t.put(b.pc)
		return
	}
	b.pc.close()
}

// get returns an idle connection to key that is still usable, or dials one.
func (t *connTransport) get(ctx context.Context, scheme, addr, host string) (*pconn, error) {
	key := scheme + "://" + addr
	for {
		t.mu.Lock()
		list := t.idle[key]
		if len(list) == 0 {
			t.mu.Unlock()
			break
		}
		pc := list[len(list)-1]
		t.idle[key] = list[:len(list)-1]
		t.mu.Unlock()
		if t.idleTimeout > 0 && time.Since(pc.since) > t.idleTimeout || !peerQuiet(pc.raw) {
			pc.close()
			continue
		}
		pc.reused = true
		_ = pc.conn.SetDeadline(time.Time{})
		return pc, nil
	}
	raw, err := t.dial(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	conn := raw
	if scheme == "https" {
		cfg := &tls.Config{}
		if t.tls != nil {
			cfg = t.tls.Clone()
		}
		if cfg.ServerName == "" {
			cfg.ServerName = host
		}
		cfg.NextProtos = []string{"http/1.1"}
		tc := tls.Client(raw, cfg)
		hctx := ctx
		if t.handshake > 0 {
			var cancel context.CancelFunc
			hctx, cancel = context.WithTimeout(ctx, t.handshake)
			defer cancel()
		}
		if err := tc.HandshakeContext(hctx); err != nil {
			_ = raw.Close()
			return nil, err
		}
		conn = tc
	}
	return &pconn{key: key, conn: conn, raw: raw, br: bufio.NewReaderSize(conn, 4<<10), bw: bufio.NewWriterSize(conn, 4<<10)}, nil
}

// put keeps pc for the next request to its host, or closes it when the host
// has enough idle connections.
func (t *connTransport) put(pc *pconn) {
	pc.since = time.Now()
	t.mu.Lock()
	if len(t.idle[pc.key]) < t.maxIdle {
		t.idle[pc.key] = append(t.idle[pc.key], pc)
		t.mu.Unlock()
		return
	}
	t.mu.Unlock()
	pc.close()
}

// CloseIdleConnections closes every idle connection.
func (t *connTransport) CloseIdleConnections() {
	t.mu.Lock()
	idle := t.idle
	t.idle = map[string][]*pconn{}
	t.mu.Unlock()
	for _, list := range idle {
		for _, pc := range list {
			pc.close()
		}
	}
}

// canonicalAddr is host:port of a URL's host, the scheme's port when it names
// none.
func canonicalAddr(scheme, hostport string) string {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		host, port = strings.Trim(hostport, "[]"), "80"
		if scheme == "https" {
			port = "443"
		}
	}
	return net.JoinHostPort(host, port)
}

func closeReqBody(req *http.Request) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
}
