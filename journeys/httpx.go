package journeys

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
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
