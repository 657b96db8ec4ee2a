package adapter

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"time"

	"github.com/antchfx/xmlquery"
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

// NoRedirect makes a client hand back every redirect, so adapters follow them
// themselves: to capture an authorization code without a listening server and to
// stop redirect loops with a precise error.
func NoRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

const MaxBody = 1 << 20

// Send performs req and classifies transport failures and 5xx as unavailable.
// The caller closes the body.
func Send(c *http.Client, req *http.Request, op string) (*http.Response, error) {
	resp, err := c.Do(req)
	if err != nil {
		return nil, TransportErr(op, timeoutDetail(req, err))
	}
	if resp.StatusCode >= 500 {
		if _, ok := peekSenderFault(resp); ok {
			return resp, nil // a refusal in SOAP's way: see RefusalOf
		}
		Drain(resp)
		return nil, &UnavailableError{Op: op, Status: resp.StatusCode}
	}
	return resp, nil
}

// Drain reads what is left of a body, up to MaxBody, and closes it, so the
// connection goes back to the pool.
func Drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, MaxBody))
	resp.Body.Close()
}

// DecodeJSON reads a JSON body into v with a precise error on garbage and on a
// body larger than MaxBody, which is refused rather than read.
func DecodeJSON(resp *http.Response, op string, v any) error {
	defer Drain(resp)
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxBody+1))
	if err != nil {
		return TransportErr(op, timeoutDetail(resp.Request, err))
	}
	if len(b) > MaxBody {
		return ProtocolErr(op, "HTTP %d with a body larger than %d KiB: refused", resp.StatusCode, MaxBody>>10)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return ProtocolErr(op, "HTTP %d with a body that is not the expected JSON (%d bytes, %s): %v",
			resp.StatusCode, len(b), resp.Header.Get("Content-Type"), err)
	}
	return nil
}

// DecodeAnswer reads an answer the configuration's paths are evaluated on: an
// XML document (a Content-Type naming XML: SOAP services, HL7v3 and IHE-style
// interfaces), queried with XPath, or JSON, queried with JSONPath. Limits and
// errors are DecodeJSON's.
func DecodeAnswer(resp *http.Response, op string) (any, error) {
	ct := strings.ToLower(resp.Header.Get("Content-Type"))
	if !strings.Contains(ct, "xml") {
		var doc any
		return doc, DecodeJSON(resp, op, &doc)
	}
	defer Drain(resp)
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxBody+1))
	if err != nil {
		return nil, TransportErr(op, timeoutDetail(resp.Request, err))
	}
	if len(b) > MaxBody {
		return nil, ProtocolErr(op, "HTTP %d with a body larger than %d KiB: refused", resp.StatusCode, MaxBody>>10)
	}
	doc, err := xmlquery.Parse(bytes.NewReader(b))
	if err != nil {
		return nil, ProtocolErr(op, "HTTP %d with a body that is not the expected XML (%d bytes, %s): %v", resp.StatusCode, len(b), ct, err)
	}
	return doc, nil
}

// NewRequest builds a request bound to ctx.
func NewRequest(ctx context.Context, method, url string, body io.Reader) (*http.Request, error) {
	ctx = context.WithValue(ctx, sentKey{}, time.Now())
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return nil, fmt.Errorf("build request %s: %w", method, err)
	}
	req.Header.Set("User-Agent", "cutover")
	return req, nil
}

// Resolve joins a path (with an optional query) to a base URL.
func Resolve(base *url.URL, path string) string {
	ref, err := url.Parse(path)
	if err != nil {
		return base.String() + path
	}
	return base.ResolveReference(ref).String()
}

// Do sends an authenticated request and returns its status; the body is drained.
func Do(ctx context.Context, tr http.RoundTripper, u string, s *Session, r Request) (int, error) {
	resp, err := Call(ctx, tr, u, s, r)
	if err != nil {
		return 0, err
	}
	Drain(resp)
	return resp.StatusCode, nil
}

// Call sends an authenticated request and returns the response; the caller closes
// its body. 5xx and transport failures are *UnavailableError.
func Call(ctx context.Context, tr http.RoundTripper, u string, s *Session, r Request) (*http.Response, error) {
	return CallAs(ctx, tr, u, s, r, "")
}

// CallAs is call with op naming the request in errors ("" names it by method and
// path).
func CallAs(ctx context.Context, tr http.RoundTripper, u string, s *Session, r Request, op string) (*http.Response, error) {
	method := r.Method
	if method == "" {
		method = http.MethodGet
	}
	var body io.Reader
	if r.Body != nil {
		body = bytes.NewReader(r.Body)
	}
	req, err := NewRequest(ctx, method, u, body)
	if err != nil {
		return nil, err
	}
	if r.ContentType != "" {
		req.Header.Set("Content-Type", r.ContentType)
	}
	if s != nil {
		s.Cred.apply(req)
	}
	if op == "" {
		op = method + " " + PathOnly(r.Path)
	}
	return Send(&http.Client{Transport: tr, CheckRedirect: NoRedirect}, req, op)
}

// PathOnly drops the query of a path for error messages: queries may carry ids.
func PathOnly(p string) string {
	path, _, _ := strings.Cut(p, "?")
	return path
}

// ClientAuth is how a client authenticates at a token, revocation or
// introspection endpoint (RFC 6749 s2.3, OIDC Core s9).
type ClientAuth struct {
	ID     string
	Secret string
	// Post sends the credentials in the form (client_secret_post) instead of
	// HTTP Basic (client_secret_basic).
	Post bool
	// Assertion, when set, signs a fresh client assertion (private_key_jwt,
	// RFC 7523 s2.2) sent instead of a secret.
	Assertion func() (string, error)
}

// ClientAssertionType is the client_assertion_type of a JWT client assertion.
const ClientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// PostForm posts an OAuth form, with client authentication when a is not nil (a
// public client sends its id in the form).
func PostForm(ctx context.Context, tr http.RoundTripper, u string, form url.Values, a ClientAuth, op string) (*http.Response, error) {
	h := http.Header{}
	if err := a.Apply(form, h); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	req, err := NewRequest(ctx, http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if v := h.Get("Authorization"); v != "" {
		req.Header.Set("Authorization", v)
	}
	return Send(&http.Client{Transport: tr, CheckRedirect: NoRedirect}, req, op)
}

// Apply authenticates one request of the client: its id (and secret, or a
// fresh assertion) in form, or HTTP Basic in h (RFC 6749 s2.3.1: both parts
// form-encoded first).
func (a ClientAuth) Apply(form url.Values, h http.Header) error {
	switch {
	case a.Assertion != nil:
		assertion, err := a.Assertion()
		if err != nil {
			return fmt.Errorf("client assertion: %w", err)
		}
		form.Set("client_id", a.ID)
		form.Set("client_assertion_type", ClientAssertionType)
		form.Set("client_assertion", assertion)
	case a.Secret == "":
		if a.ID != "" {
			form.Set("client_id", a.ID)
		}
	case a.Post:
		form.Set("client_id", a.ID)
		form.Set("client_secret", a.Secret)
	default:
		h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(a.ID)+":"+url.QueryEscape(a.Secret))))
	}
	return nil
}

// GetJSON GETs u (with s's credential when s is not nil) and decodes a 200 answer
// into v; any other status is a protocol error naming the URL's path.
func GetJSON(ctx context.Context, tr http.RoundTripper, u string, s *Session, op string, v any) error {
	resp, err := CallAs(ctx, tr, u, s, Request{Method: http.MethodGet}, op)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		Drain(resp)
		return ProtocolErr(op, "GET %s: HTTP %d", PathOnly(resp.Request.URL.Path), resp.StatusCode)
	}
	return DecodeJSON(resp, op, v)
}

// NewJar returns an empty cookie jar: each sign-in gets its own, so no cookie
// crosses personas.
func NewJar() http.CookieJar {
	jar, _ := cookiejar.New(nil) // never fails with nil options
	return jar
}

// RandomString returns n random bytes, base64url-encoded: PKCE verifiers,
// states and nonces.
func RandomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

// sentKey marks a request's context with when it was built, so a timeout can say
// how long the answer had.
type sentKey struct{}

// timeoutDetail turns a deadline that ran out while req waited for its answer
// (headers or body) into an error that says how long it had.
func timeoutDetail(req *http.Request, err error) error {
	if req == nil || !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	ctx := req.Context()
	if d, ok := ctx.Value(boundKey{}).(time.Duration); ok {
		return &timeoutError{limit: d}
	}
	sent, ok := ctx.Value(sentKey{}).(time.Time)
	deadline, has := ctx.Deadline()
	if !ok || !has {
		return err
	}
	return &timeoutError{limit: deadline.Sub(sent).Round(time.Millisecond)}
}

// boundKey holds the limit Bound set.
type boundKey struct{}

// Bound returns ctx with a deadline d from now; the timeouts of requests made
// with it name d as their limit, however much of it was left when they started.
func Bound(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithValue(ctx, boundKey{}, d), d)
}

// timeoutError is a deadline that ran out on a request, with the time it had.
type timeoutError struct{ limit time.Duration }

func (e *timeoutError) Error() string {
	return fmt.Sprintf("timeout: no complete answer within %s", e.limit)
}

func (e *timeoutError) Unwrap() error { return context.DeadlineExceeded }
