// Package driver drives the reference stacks over HTTP in tests, as the harness does:
// a cookie-keeping client that never follows redirects, the code flow with PKCE
// through the login form, token decoding, and a settable clock for the stacks'
// injected Now.
package driver

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// Client is an HTTP client bound to one stack's base URL. It fails the test on
// transport errors, keeps cookies and returns redirects instead of following them.
type Client struct {
	tb   testing.TB
	HTTP *http.Client
	Base string
}

// New returns a client for the stack at base.
func New(tb testing.TB, base string) *Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		tb.Fatal(err)
	}
	return &Client{tb: tb, Base: base, HTTP: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// Response is a read HTTP answer.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body as a JSON object; an empty map when it is not one.
func (r Response) JSON() map[string]any {
	m := map[string]any{}
	_ = json.Unmarshal(r.Body, &m)
	return m
}

// Str returns the string field key of the JSON body.
func (r Response) Str(key string) string {
	s, _ := r.JSON()[key].(string)
	return s
}

// Location returns the parsed Location header.
func (r Response) Location() *url.URL {
	u, _ := url.Parse(r.Header.Get("Location"))
	if u == nil {
		u = &url.URL{}
	}
	return u
}

// Send issues a request; hdr holds header name/value pairs. A path that is an absolute
// URL is used as it is.
func (c *Client) Send(method, path string, body io.Reader, contentType string, hdr ...string) Response {
	c.tb.Helper()
	target := path
	if !strings.HasPrefix(path, "http://") && !strings.HasPrefix(path, "https://") {
		target = c.Base + path
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		c.tb.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		c.tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.tb.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// Get issues a GET.
func (c *Client) Get(path string, hdr ...string) Response {
	c.tb.Helper()
	return c.Send(http.MethodGet, path, nil, "", hdr...)
}

// PostJSON posts v as JSON.
func (c *Client) PostJSON(path string, v any, hdr ...string) Response {
	c.tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		c.tb.Fatal(err)
	}
	return c.Send(http.MethodPost, path, strings.NewReader(string(b)), "application/json", hdr...)
}

// PostForm posts a URL-encoded form.
func (c *Client) PostForm(path string, form url.Values, hdr ...string) Response {
	c.tb.Helper()
	return c.Send(http.MethodPost, path, strings.NewReader(form.Encode()), "application/x-www-form-urlencoded", hdr...)
}

// Bearer returns the header pair for an access token.
func Bearer(token string) []string { return []string{"Authorization", "Bearer " + token} }

var authRequestField = regexp.MustCompile(`name="auth_request" value="([^"]+)"`)

// Verifier is a fixed PKCE code verifier (43+ characters) for tests.
const Verifier = "cutover-test-verifier-0123456789-abcdefghijklmnop"

// Challenge returns the S256 challenge of verifier.
func Challenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// Authorize starts the code flow and returns the authorization endpoint's answer.
func (c *Client) Authorize(clientID, redirect, scope string) Response {
	c.tb.Helper()
	q := url.Values{
		"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {redirect}, "scope": {scope},
		"state": {"state-1"}, "nonce": {"nonce-1"}, "code_challenge": {Challenge(Verifier)}, "code_challenge_method": {"S256"},
	}
	return c.Get("/authorize?" + q.Encode())
}

// SubmitLogin posts the login form of an authorization answer.
func (c *Client) SubmitLogin(page Response, username, password string) Response {
	c.tb.Helper()
	m := authRequestField.FindSubmatch(page.Body)
	if m == nil {
		c.tb.Fatalf("no login form in answer %d", page.Status)
	}
	return c.PostForm("/login", url.Values{"username": {username}, "password": {password}, "auth_request": {string(m[1])}})
}

// Redeem exchanges the code of a redirect for tokens.
func (c *Client) Redeem(redirect Response, clientID, redirectURI string) Response {
	c.tb.Helper()
	return c.PostForm("/token", url.Values{
		"grant_type": {"authorization_code"}, "code": {redirect.Location().Query().Get("code")},
		"redirect_uri": {redirectURI}, "client_id": {clientID}, "code_verifier": {Verifier},
	})
}

// Tokens is a token endpoint answer.
type Tokens struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"`
	Scope        string `json:"scope"`
	ExpiresIn    int64  `json:"expires_in"`
}

// Tokens decodes a token answer, failing the test unless it is a 200.
func (r Response) Tokens(tb testing.TB) Tokens {
	tb.Helper()
	if r.Status != http.StatusOK {
		tb.Fatalf("token endpoint = %d %s; want 200", r.Status, r.Body)
	}
	var t Tokens
	if err := json.Unmarshal(r.Body, &t); err != nil {
		tb.Fatal(err)
	}
	return t
}

// CodeRedirect runs the authorization request, through the login form unless the
// browser has a single sign-on session, and returns the redirect carrying the code.
func (c *Client) CodeRedirect(clientID, redirectURI, username, password, scope string) Response {
	c.tb.Helper()
	page := c.Authorize(clientID, redirectURI, scope)
	if page.Status == http.StatusOK {
		page = c.SubmitLogin(page, username, password)
	}
	if page.Location().Query().Get("code") == "" {
		c.tb.Fatalf("login of %s = %d; want a redirect with a code", username, page.Status)
	}
	return page
}

// Login runs the whole code flow with PKCE for a user and returns the token answer.
func (c *Client) Login(clientID, redirectURI, username, password, scope string) Response {
	c.tb.Helper()
	return c.Redeem(c.CodeRedirect(clientID, redirectURI, username, password, scope), clientID, redirectURI)
}

// Claims decodes a JWT without verifying it: its header and claims.
func Claims(tb testing.TB, token string) (header, claims map[string]any) {
	tb.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		tb.Fatalf("token has %d parts; want 3", len(parts))
	}
	dec := func(s string) map[string]any {
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			tb.Fatal(err)
		}
		m := map[string]any{}
		if err := json.Unmarshal(b, &m); err != nil {
			tb.Fatal(err)
		}
		return m
	}
	return dec(parts[0]), dec(parts[1])
}

// Clock is a settable clock for a stack's Now. It is safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock stopped at a fixed instant.
func NewClock() *Clock { return &Clock{t: time.Date(2026, 3, 2, 7, 0, 0, 0, time.UTC)} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
