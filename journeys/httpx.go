package journeys

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// NewTransport returns the HTTP transport adapters share: keep-alive connections
// sized for a load test, no proxy (targets are named explicitly), bounded waits.
func NewTransport(maxConnsPerHost int) *http.Transport {
	return &http.Transport{
		Proxy:                 nil,
		MaxIdleConns:          maxConnsPerHost * 2,
		MaxIdleConnsPerHost:   maxConnsPerHost,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
	}
}

// noRedirect makes a client hand back every redirect, so adapters follow them
// themselves: to capture an authorization code without a listening server and to
// stop redirect loops with a precise error.
func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

const maxBody = 1 << 20

// send performs req and classifies transport failures and 5xx as unavailable.
// The caller closes the body.
func send(c *http.Client, req *http.Request, op string) (*http.Response, error) {
	resp, err := c.Do(req)
	if err != nil {
		return nil, transportErr(op, err)
	}
	if resp.StatusCode >= 500 {
		drain(resp)
		return nil, &UnavailableError{Op: op, Status: resp.StatusCode}
	}
	return resp, nil
}

func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
	resp.Body.Close()
}

// decodeJSON reads a JSON body into v with a precise error on garbage.
func decodeJSON(resp *http.Response, op string, v any) error {
	defer drain(resp)
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return transportErr(op, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return protocolErr(op, "HTTP %d with a body that is not the expected JSON (%d bytes, %s): %v",
			resp.StatusCode, len(b), resp.Header.Get("Content-Type"), err)
	}
	return nil
}

// newRequest builds a request bound to ctx.
func newRequest(ctx context.Context, method, url string, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return nil, fmt.Errorf("build request %s: %w", method, err)
	}
	req.Header.Set("User-Agent", "cutover")
	return req, nil
}

// resolve joins a path (with an optional query) to a base URL.
func resolve(base *url.URL, path string) string {
	ref, err := url.Parse(path)
	if err != nil {
		return base.String() + path
	}
	return base.ResolveReference(ref).String()
}

// do sends an authenticated request and returns its status; the body is drained.
func do(ctx context.Context, tr http.RoundTripper, u string, s *Session, r Request) (int, error) {
	resp, err := call(ctx, tr, u, s, r)
	if err != nil {
		return 0, err
	}
	drain(resp)
	return resp.StatusCode, nil
}

// call sends an authenticated request and returns the response; the caller closes
// its body. 5xx and transport failures are *UnavailableError.
func call(ctx context.Context, tr http.RoundTripper, u string, s *Session, r Request) (*http.Response, error) {
	return callAs(ctx, tr, u, s, r, "")
}

// callAs is call with op naming the request in errors ("" names it by method and
// path).
func callAs(ctx context.Context, tr http.RoundTripper, u string, s *Session, r Request, op string) (*http.Response, error) {
	method := r.Method
	if method == "" {
		method = http.MethodGet
	}
	var body io.Reader
	if r.Body != nil {
		body = bytes.NewReader(r.Body)
	}
	req, err := newRequest(ctx, method, u, body)
	if err != nil {
		return nil, err
	}
	if r.ContentType != "" {
		req.Header.Set("Content-Type", r.ContentType)
	}
	if s != nil {
		s.cred.apply(req)
	}
	if op == "" {
		op = method + " " + pathOnly(r.Path)
	}
	return send(&http.Client{Transport: tr, CheckRedirect: noRedirect}, req, op)
}

// pathOnly drops the query of a path for error messages: queries may carry ids.
func pathOnly(p string) string {
	path, _, _ := strings.Cut(p, "?")
	return path
}

// clientAuth is how a confidential client authenticates at a token, revocation or
// introspection endpoint.
type clientAuth struct {
	id     string
	secret string
	// post sends the credentials in the form (client_secret_post) instead of
	// HTTP Basic (client_secret_basic).
	post bool
}

// postForm posts an OAuth form, with client authentication when a is not nil (a
// public client sends its id in the form).
func postForm(ctx context.Context, tr http.RoundTripper, u string, form url.Values, a clientAuth, op string) (*http.Response, error) {
	switch {
	case a.secret == "":
		if a.id != "" {
			form.Set("client_id", a.id)
		}
	case a.post:
		form.Set("client_id", a.id)
		form.Set("client_secret", a.secret)
	}
	req, err := newRequest(ctx, http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if a.secret != "" && !a.post {
		// RFC 6749 s2.3.1: both parts form-encoded before Basic.
		req.SetBasicAuth(url.QueryEscape(a.id), url.QueryEscape(a.secret))
	}
	return send(&http.Client{Transport: tr, CheckRedirect: noRedirect}, req, op)
}

// getJSON GETs u (with s's credential when s is not nil) and decodes a 200 answer
// into v; any other status is a protocol error naming the URL's path.
func getJSON(ctx context.Context, tr http.RoundTripper, u string, s *Session, op string, v any) error {
	resp, err := callAs(ctx, tr, u, s, Request{Method: http.MethodGet}, op)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		drain(resp)
		return protocolErr(op, "GET %s: HTTP %d", pathOnly(resp.Request.URL.Path), resp.StatusCode)
	}
	return decodeJSON(resp, op, v)
}
