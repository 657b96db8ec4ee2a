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
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/net/idna"
)

// connTransport is the generator's HTTP/1.1 client transport: each request's
// writing and reading happen on the goroutine that sends it, over a pool of
// keep-alive connections. net/http's Transport gives every connection a reading
// and a writing goroutine and hands each request and response between them and
// the caller; at a few hundred requests a second on two cores those hand-offs
// and the scheduler's wake-ups cost over a quarter of the generator's CPU per
// request (BenchmarkTransportCPU: 0.72x net/http's). What it parses and writes
// is net/http's own (Request.Write, ReadResponse); what it does not do, no
// request of the harness needs: HTTP/2 (the guarded transport never negotiated
// it), proxies (targets are named, stacks.allow_hosts; a transport with a proxy
// keeps net/http's, see Guard), compression (a server answers uncompressed,
// which costs the generator less).
//
// A connection goes back to the pool only when its response was read to the end
// and neither side asked to close it; an idle connection is reused only when the
// server has neither closed it nor sent anything on it since (a non-blocking
// peek, peer_unix.go), so a keep-alive the server timed out is dialled again
// rather than failing a request. A request whose reused connection the server
// closed or reset before any of the response arrived is sent again, once, on a
// new one when it is safe to repeat (GET, HEAD, OPTIONS or TRACE, or an
// Idempotency-Key) or could not even be written, and its body can be sent again,
// as net/http does; a POST that went out is not: the server may have acted on
// it. A timeout is never a reason to send again.
type connTransport struct {
	dial          func(ctx context.Context, network, addr string) (net.Conn, error)
	tls           *tls.Config
	handshake     time.Duration // TLS handshake limit
	headerTimeout time.Duration // from the request written to the response's header
	idleTimeout   time.Duration
	maxIdle       int   // idle connections kept per host
	maxHeader     int64 // bytes of a response's header
	keepAlive     bool

	mu   sync.Mutex
	idle map[string][]*pconn
}

var _ http.RoundTripper = (*connTransport)(nil)

// newConnTransport takes the limits of tr (idle connections per host, the
// timeouts, its TLS configuration) and dials with dial.
func newConnTransport(tr *http.Transport, dial func(ctx context.Context, network, addr string) (net.Conn, error)) *connTransport {
	t := &connTransport{dial: dial, tls: tr.TLSClientConfig, handshake: tr.TLSHandshakeTimeout,
		headerTimeout: tr.ResponseHeaderTimeout, idleTimeout: tr.IdleConnTimeout, maxIdle: tr.MaxIdleConnsPerHost,
		maxHeader: tr.MaxResponseHeaderBytes, keepAlive: !tr.DisableKeepAlives, idle: map[string][]*pconn{}}
	if t.maxIdle <= 0 {
		t.maxIdle = http.DefaultMaxIdleConnsPerHost
	}
	if t.maxHeader <= 0 {
		t.maxHeader = 10 << 20 // net/http's default
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
	// headerLimit, while a response's header is read, is how many more bytes
	// it may take (MaxResponseHeaderBytes); 0 the rest of the time.
	headerLimit atomic.Int64
}

func (pc *pconn) close() { _ = pc.conn.Close() }

// Read is what the connection's buffered reader reads through: a response
// header that goes on past the limit is an error, not a growing buffer.
func (pc *pconn) Read(p []byte) (int, error) {
	if pc.headerLimit.Load() == 0 {
		return pc.conn.Read(p)
	}
	left := pc.headerLimit.Load()
	if left <= 1 {
		return 0, errHeaderTooLong
	}
	if int64(len(p)) > left-1 {
		p = p[:left-1]
	}
	n, err := pc.conn.Read(p)
	pc.headerLimit.Add(-int64(n))
	return n, err
}

var errHeaderTooLong = errors.New("the response's header is longer than MaxResponseHeaderBytes")

// RoundTrip implements http.RoundTripper. Its errors never name the URL: its
// query may carry a code or a verifier, and http.Client adds the URL in a
// url.Error that the adapters unwrap (adapter.TransportErr).
func (t *connTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL == nil || req.URL.Host == "" || (req.URL.Scheme != "http" && req.URL.Scheme != "https") {
		closeReqBody(req)
		return nil, errors.New("unsupported request URL: http or https with a host")
	}
	for attempt := 0; ; attempt++ {
		if err := req.Context().Err(); err != nil {
			closeReqBody(req)
			return nil, err
		}
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
		// Once, on a connection that had served before (the server may have
		// closed it as the request went out): a request that may be repeated,
		// or any whose writing failed (the server cannot have acted on it).
		if attempt > 0 || !pc.reused || !(repeatable(req) || early.unwritten) || !replayable(req) {
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

// beforeResponse is a failure of a request on a connection that died before
// any byte of the response arrived (the server closed or reset it): one
// RoundTrip may send it again on a new connection. unwritten reports that the
// request could not even be written.
type beforeResponse struct {
	err       error
	unwritten bool
}

func (e *beforeResponse) Error() string { return e.err.Error() }
func (e *beforeResponse) Unwrap() error { return e.err }

// connDied reports whether err is the connection closed or reset by the
// server, as opposed to a deadline, a cancellation or garbage.
func connDied(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNABORTED)
}

// replayable reports whether req's body, if any, can be sent again.
func replayable(req *http.Request) bool {
	return req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
}

// repeatable reports whether req may be sent twice (RFC 9110 s9.2.2, and net/http's
// rule for requests that failed on a reused connection).
func repeatable(req *http.Request) bool {
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
	// A cancelled request closes its connection, which ends any read or write
	// on it at once (as net/http does); the connection is not reused.
	stop := context.AfterFunc(ctx, pc.close)
	head := deadline
	if t.headerTimeout > 0 {
		if h := time.Now().Add(t.headerTimeout); head.IsZero() || h.Before(head) {
			head = h
		}
	}
	fail := func(err error, early, unwritten bool) (*http.Response, error) {
		stop()
		switch {
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case pastDeadline(err, deadline):
			return nil, context.DeadlineExceeded
		case pastDeadline(err, head):
			return nil, errHeaderTimeout{t.headerTimeout}
		case early && connDied(err):
			return nil, &beforeResponse{err: err, unwritten: unwritten}
		}
		return nil, err
	}
	_ = pc.conn.SetWriteDeadline(deadline)
	if err := req.Write(pc.bw); err != nil {
		return fail(err, true, true)
	}
	if err := pc.bw.Flush(); err != nil {
		return fail(err, true, true)
	}
	_ = pc.conn.SetReadDeadline(head)
	var resp *http.Response
	for {
		if _, err := pc.br.Peek(1); err != nil {
			return fail(err, true, false)
		}
		pc.headerLimit.Store(t.maxHeader)
		r, err := http.ReadResponse(pc.br, req)
		pc.headerLimit.Store(0)
		if err != nil {
			return fail(err, false, false)
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
	b := &connBody{rc: resp.Body, pc: pc, t: t, ctx: ctx, deadline: deadline, stop: stop,
		keep: t.keepAlive && !resp.Close && !req.Close && resp.StatusCode != http.StatusSwitchingProtocols}
	if resp.Body == http.NoBody {
		b.finish(true)
		return resp, nil
	}
	resp.Body = b
	return resp, nil
}

// errHeaderTimeout is the transport's limit on waiting for a response's header
// (ResponseHeaderTimeout), a timeout as net/http reports it: it matches
// context.DeadlineExceeded.
type errHeaderTimeout struct{ limit time.Duration }

func (e errHeaderTimeout) Error() string {
	return fmt.Sprintf("timeout awaiting response headers (%s)", e.limit)
}
func (e errHeaderTimeout) Is(target error) bool { return target == context.DeadlineExceeded }
func (e errHeaderTimeout) Timeout() bool        { return true }

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
	if complete && b.keep && !cancelled && b.pc.br.Buffered() == 0 && b.pc.conn.SetDeadline(time.Time{}) == nil {
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
		if t.handshake > 0 {
			_ = raw.SetDeadline(time.Now().Add(t.handshake))
		}
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = raw.Close()
			if ctx.Err() == nil && errors.Is(err, os.ErrDeadlineExceeded) {
				// As net/http says it: the handshake's own limit, not the
				// request's.
				return nil, fmt.Errorf("TLS handshake timeout (%s) with %s", t.handshake, addr)
			}
			return nil, err
		}
		_ = raw.SetDeadline(time.Time{})
		conn = tc
	}
	pc := &pconn{key: key, conn: conn, raw: raw, bw: bufio.NewWriterSize(conn, 4<<10)}
	pc.br = bufio.NewReaderSize(pc, 4<<10)
	return pc, nil
}

// put keeps pc for the next request to its host, or closes it when the host
// has enough idle connections.
func (t *connTransport) put(pc *pconn) {
	pc.since = time.Now()
	t.mu.Lock()
	// The oldest are first: those idle past the limit go (a server may have
	// closed them long ago; they would otherwise wait to be peeked at).
	list := t.idle[pc.key]
	n := 0
	for n < len(list) && t.idleTimeout > 0 && pc.since.Sub(list[n].since) > t.idleTimeout {
		list[n].close()
		n++
	}
	if n > 0 {
		t.idle[pc.key] = append(list[:0], list[n:]...)
	}
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
		host, port = strings.Trim(hostport, "[]"), ""
	}
	if port == "" {
		port = "80"
		if scheme == "https" {
			port = "443"
		}
	}
	if a, err := idna.Lookup.ToASCII(host); err == nil {
		host = a // an internationalised name, as the resolver takes it
	}
	return net.JoinHostPort(host, port)
}

func closeReqBody(req *http.Request) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
}
