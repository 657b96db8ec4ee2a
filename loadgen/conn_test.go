package loadgen

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// counted is a test server that counts the connections it accepted.
func counted(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &conns
}

func guardedClient(t *testing.T, tr *http.Transport) *http.Client {
	t.Helper()
	g := NewGuard([]string{"127.0.0.1"}, tr)
	t.Cleanup(g.CloseIdleConnections)
	return &http.Client{Transport: g, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func mustRead(t *testing.T, c *http.Client, req *http.Request) (int, string) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", req.Method, req.URL, err)
	}
	return resp.StatusCode, string(b)
}

// TestConnTransportKeepsAlive: requests one after another, of every shape of
// body (sized, chunked, none, HEAD, 204, a redirect), travel on one connection;
// a body closed before its end costs that connection, and the next request
// dials a new one.
func TestConnTransportKeepsAlive(t *testing.T) {
	srv, conns := counted(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/chunked":
			w.(http.Flusher).Flush() // no length: chunked
			fmt.Fprint(w, "part one, ")
			w.(http.Flusher).Flush()
			fmt.Fprint(w, "part two")
		case "/empty":
			w.WriteHeader(http.StatusNoContent)
		case "/moved":
			http.Redirect(w, r, "/sized", http.StatusFound)
		case "/big":
			fmt.Fprint(w, strings.Repeat("x", 64<<10))
		default:
			body, _ := io.ReadAll(r.Body)
			fmt.Fprintf(w, "%s %s %s", r.Method, r.URL.Path, body)
		}
	})
	c := guardedClient(t, &http.Transport{})
	for i := range 3 {
		for _, tc := range []struct{ method, path, body, want string }{
			{"GET", "/sized", "", "GET /sized "},
			{"POST", "/token", "grant_type=x", "POST /token grant_type=x"},
			{"GET", "/chunked", "", "part one, part two"},
			{"GET", "/empty", "", ""},
			{"HEAD", "/sized", "", ""},
			{"GET", "/moved", "", "<a href=\"/sized\">Found</a>.\n\n"},
		} {
			req, _ := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(tc.body))
			if tc.body == "" {
				req.Body = nil
			}
			if _, got := mustRead(t, c, req); got != tc.want {
				t.Errorf("round %d: %s %s = %q; want %q", i, tc.method, tc.path, got, tc.want)
			}
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("18 requests one after another opened %d connections; want 1", n)
	}
	resp, err := c.Get(srv.URL + "/big")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = resp.Body.Read(make([]byte, 10))
	resp.Body.Close() // 64 KiB unread: the connection cannot carry another request
	if _, got := mustRead(t, c, mustReq(t, "GET", srv.URL+"/after")); got != "GET /after " {
		t.Errorf("after a body closed early: %q", got)
	}
	if n := conns.Load(); n != 2 {
		t.Errorf("after a body closed early, %d connections; want 2", n)
	}
}

func mustReq(t *testing.T, method, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// TestConnTransportServerClosesIdle: a server that closes each connection a
// moment after its response, without saying so (a keep-alive timeout shorter
// than the client's): the next request, a POST that must not be sent twice,
// goes on a new connection and succeeds, and the server sees it once.
func TestConnTransportServerClosesIdle(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var posts atomic.Int64
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				req, err := http.ReadRequest(bufio.NewReader(conn))
				if err != nil {
					return
				}
				if req.Method == http.MethodPost {
					posts.Add(1)
				}
				fmt.Fprint(conn, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
				// Closed right after, with no "Connection: close".
			}()
		}
	}()
	c := guardedClient(t, &http.Transport{})
	url := "http://" + ln.Addr().String() + "/token"
	for i := range 5 {
		time.Sleep(20 * time.Millisecond) // the server's close has arrived
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader("code=x"))
		if code, body := mustRead(t, c, req); code != 200 || body != "ok" {
			t.Fatalf("POST %d = %d %q; want 200 ok", i, code, body)
		}
	}
	if n := posts.Load(); n != 5 {
		t.Errorf("the server saw %d POSTs; want 5 (none sent twice)", n)
	}
}

// TestConnTransportDeadlines: a request whose context ends while the server
// holds the header, or while the body is being read, fails with an error that
// says so (context.DeadlineExceeded, which the adapters name as a timeout); the
// connection is not reused, and the next request succeeds.
func TestConnTransportDeadlines(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	srv, conns := counted(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/slow-header":
			select {
			case <-release:
			case <-r.Context().Done():
			}
		case "/slow-body":
			w.Header().Set("Content-Length", "100")
			fmt.Fprint(w, "first half")
			w.(http.Flusher).Flush()
			select {
			case <-release:
			case <-r.Context().Done():
			}
		default:
			fmt.Fprint(w, "fine")
		}
	})
	c := guardedClient(t, &http.Transport{})
	for _, path := range []string{"/slow-header", "/slow-body"} {
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+path, nil)
		resp, err := c.Do(req)
		if err == nil {
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("GET %s past its deadline = %v; want context.DeadlineExceeded", path, err)
		}
		if _, got := mustRead(t, c, mustReq(t, "GET", srv.URL+"/next")); got != "fine" {
			t.Errorf("after %s: %q", path, got)
		}
	}
	// Two timed-out requests cost two connections; the one after each reused
	// neither of them.
	if n := conns.Load(); n != 3 {
		t.Errorf("%d connections; want 3 (a timed-out one is not reused, the others are)", n)
	}

	// A request cancelled while waiting for the header.
	ctx, cancel := context.WithCancel(t.Context())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/slow-header", nil)
	time.AfterFunc(50*time.Millisecond, cancel)
	if _, err := c.Do(req); !errors.Is(err, context.Canceled) {
		t.Errorf("a cancelled GET = %v; want context.Canceled", err)
	}

	// The transport's own limit on the header.
	g := guardedClient(t, &http.Transport{ResponseHeaderTimeout: 50 * time.Millisecond})
	if _, err := g.Get(srv.URL + "/slow-header"); err == nil || !strings.Contains(err.Error(), "awaiting response headers") {
		t.Errorf("GET past ResponseHeaderTimeout = %v; want a header timeout", err)
	}
}

// TestConnTransportTLS: https, with the TLS configuration of the transport it
// was made from; the response says which TLS it came over.
func TestConnTransportTLS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, r.Proto)
	}))
	t.Cleanup(srv.Close)
	tr := srv.Client().Transport.(*http.Transport).Clone()
	c := guardedClient(t, tr)
	for range 2 {
		resp, err := c.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != "HTTP/1.1" || resp.TLS == nil || !resp.TLS.HandshakeComplete {
			t.Errorf("GET over TLS = %q, TLS %v; want HTTP/1.1 over a completed handshake", b, resp.TLS != nil)
		}
	}
	// Without the test server's certificate authority, the handshake fails.
	if _, err := guardedClient(t, &http.Transport{}).Get(srv.URL); err == nil {
		t.Error("GET to a server whose certificate nobody trusts succeeded")
	}
}

// TestConnTransportConcurrent: many goroutines at once (run with -race), each
// request answered with its own body.
func TestConnTransportConcurrent(t *testing.T) {
	srv, conns := counted(t, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, r.URL.Query().Get("n"))
	})
	c := guardedClient(t, &http.Transport{MaxIdleConnsPerHost: 4})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				n := fmt.Sprint(g*1000 + i)
				resp, err := c.Get(srv.URL + "/?n=" + n)
				if err != nil {
					t.Error(err)
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if string(b) != n {
					t.Errorf("asked %s, got %q", n, b)
				}
			}
		})
	}
	wg.Wait()
	if n := conns.Load(); n > 8 {
		t.Errorf("400 requests from 8 goroutines opened %d connections; want at most 8: idle ones are not reused", n)
	}
}

// dropFirst is a raw HTTP/1.1 server that answers every request with "ok" and
// keeps the connection, except that the second request of the first
// connection is read and then dropped unanswered (the server closed the
// connection as the request arrived): what a client sees on a keep-alive the
// server timed out a moment too late.
func dropFirst(t *testing.T) (url string, seen *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	seen = &atomic.Int64{}
	var first atomic.Bool
	first.Store(true)
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			drop := first.Swap(false)
			go func() {
				defer conn.Close()
				br := bufio.NewReader(conn)
				for n := 0; ; n++ {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					_, _ = io.Copy(io.Discard, req.Body)
					seen.Add(1)
					if drop && n == 1 {
						return
					}
					fmt.Fprint(conn, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
				}
			}()
		}
	}()
	return "http://" + ln.Addr().String(), seen
}

// TestConnTransportResend: a GET whose reused connection dies before any answer
// is sent again on a new one, once, as net/http does; a POST is not (the
// server may have acted on it: here it did), and its error says the
// connection was closed.
func TestConnTransportResend(t *testing.T) {
	url, seen := dropFirst(t)
	c := guardedClient(t, &http.Transport{})
	mustRead(t, c, mustReq(t, "GET", url+"/a"))
	if code, body := mustRead(t, c, mustReq(t, "GET", url+"/b")); code != 200 || body != "ok" {
		t.Errorf("GET on a connection dropped under it = %d %q; want 200 ok, sent again", code, body)
	}
	if n := seen.Load(); n != 3 {
		t.Errorf("the server saw %d requests; want 3 (the dropped GET, then again)", n)
	}

	url, seen = dropFirst(t)
	c = guardedClient(t, &http.Transport{})
	mustRead(t, c, mustReq(t, "GET", url+"/a"))
	req, _ := http.NewRequest(http.MethodPost, url+"/token", strings.NewReader("code=x"))
	if _, err := c.Do(req); err == nil || !errors.Is(err, io.EOF) {
		t.Errorf("POST on a connection dropped under it = %v; want the EOF, not a second POST", err)
	}
	if n := seen.Load(); n != 2 {
		t.Errorf("the server saw %d requests; want 2 (the POST once)", n)
	}
}

// TestConnTransportHeaderTimeoutNotResent: a GET on a reused connection that
// outlives ResponseHeaderTimeout is a timeout (context.DeadlineExceeded, as
// net/http reports it), never sent a second time.
func TestConnTransportHeaderTimeoutNotResent(t *testing.T) {
	var slow atomic.Int64
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	srv, _ := counted(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			slow.Add(1)
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
	})
	c := guardedClient(t, &http.Transport{ResponseHeaderTimeout: 100 * time.Millisecond})
	mustRead(t, c, mustReq(t, "GET", srv.URL+"/warm"))
	_, err := c.Get(srv.URL + "/slow")
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "awaiting response headers") {
		t.Errorf("GET past ResponseHeaderTimeout = %v; want a header timeout matching context.DeadlineExceeded", err)
	}
	time.Sleep(50 * time.Millisecond)
	if n := slow.Load(); n != 1 {
		t.Errorf("the slow GET reached the server %d times; want 1", n)
	}
}

// TestConnTransportReuseAfterDeadline: a request with a short deadline that
// finished in time leaves its connection fit for the next request, even once
// that deadline has passed; a request whose context is already done is not
// sent and costs no connection.
func TestConnTransportReuseAfterDeadline(t *testing.T) {
	srv, conns := counted(t, func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "fine") })
	c := guardedClient(t, &http.Transport{})
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	mustRead(t, c, req)
	cancel()
	time.Sleep(80 * time.Millisecond)
	mustRead(t, c, mustReq(t, "GET", srv.URL))
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections; want 1 (a deadline that passed after its request does not spoil the connection)", n)
	}
	done, cancel := context.WithCancel(t.Context())
	cancel()
	req, _ = http.NewRequestWithContext(done, http.MethodGet, srv.URL, nil)
	if _, err := c.Do(req); !errors.Is(err, context.Canceled) {
		t.Errorf("a request already cancelled = %v; want context.Canceled", err)
	}
	mustRead(t, c, mustReq(t, "GET", srv.URL))
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections; want 1 (a cancelled request takes no connection)", n)
	}
}

// TestConnTransportServerSays: an early hint before the answer, a server that
// says "Connection: close", a HEAD with a length and a header past
// MaxResponseHeaderBytes.
func TestConnTransportServerSays(t *testing.T) {
	srv, conns := counted(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/hint":
			w.Header().Set("Link", "</style.css>; rel=preload")
			w.WriteHeader(http.StatusEarlyHints)
			fmt.Fprint(w, "after the hint")
		case "/close":
			w.Header().Set("Connection", "close")
			fmt.Fprint(w, "bye")
		case "/huge":
			w.Header().Set("X-Huge", strings.Repeat("h", 64<<10))
		default:
			w.Header().Set("Content-Length", "5")
			if r.Method != http.MethodHead {
				fmt.Fprint(w, "hello")
			}
		}
	})
	c := guardedClient(t, &http.Transport{MaxResponseHeaderBytes: 16 << 10})
	if code, body := mustRead(t, c, mustReq(t, "GET", srv.URL+"/hint")); code != 200 || body != "after the hint" {
		t.Errorf("GET after an early hint = %d %q", code, body)
	}
	if _, body := mustRead(t, c, mustReq(t, "HEAD", srv.URL+"/len")); body != "" {
		t.Errorf("HEAD body = %q; want none", body)
	}
	if _, body := mustRead(t, c, mustReq(t, "GET", srv.URL+"/len")); body != "hello" {
		t.Errorf("GET after HEAD = %q", body)
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections after a hint, a HEAD and a GET; want 1", n)
	}
	mustRead(t, c, mustReq(t, "GET", srv.URL+"/close"))
	mustRead(t, c, mustReq(t, "GET", srv.URL+"/len"))
	if n := conns.Load(); n != 2 {
		t.Errorf("%d connections after the server said close; want 2", n)
	}
	if _, err := c.Get(srv.URL + "/huge"); err == nil || !strings.Contains(err.Error(), "MaxResponseHeaderBytes") {
		t.Errorf("a 64 KiB header with a 16 KiB limit = %v; want it refused", err)
	}
}

// TestConnTransportErrorsNameNoURL: a request's query may carry a credential
// (a code, a verifier); the transport's own errors, which the adapters keep
// once they unwrap http.Client's url.Error, never quote it.
func TestConnTransportErrorsNameNoURL(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	srv, _ := counted(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	g := NewGuard([]string{"127.0.0.1"}, &http.Transport{ResponseHeaderTimeout: 50 * time.Millisecond})
	t.Cleanup(g.CloseIdleConnections)
	const secret = "consent-verifier-Zq8Xr2Lm9Tn4"
	for _, cancelFirst := range []bool{true, false} {
		ctx, cancel := context.WithCancel(t.Context())
		if cancelFirst {
			cancel()
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/auth?consent_verifier="+secret, nil)
		_, err := g.RoundTrip(req)
		cancel()
		if err == nil || strings.Contains(err.Error(), secret) {
			t.Errorf("RoundTrip error (cancelled first: %v) = %v; want an error that does not quote the query", cancelFirst, err)
		}
	}
}
