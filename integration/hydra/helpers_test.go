package hydra_test

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/cutover-dev/cutover/internal/syncbuf"

	"github.com/cutover-dev/cutover/integration/hydra"
	"github.com/cutover-dev/cutover/personas"
)

// redirectURI is where the public test client is sent back to. Nothing listens there:
// the browser stops at it (CheckRedirect) and reads the code from the Location header.
const redirectURI = "http://localhost/cutover/callback"

// The personas of these tests. Passwords are test fixtures, never printed.
var (
	clinician = hydra.User{ID: "clinician-00001", Username: "dr.grey", Password: personas.NewSecret("correct horse battery"), Roles: []string{"clinician", "breakglass-eligible"}}
	billing   = hydra.User{ID: "billing-00001", Username: "b.clerk", Password: personas.NewSecret("staple tuna 42"), Roles: []string{"billing-clerk"}}
	patient   = hydra.User{ID: "patient-00001", Username: "p.jones", Password: personas.NewSecret("hunter2 hunter2")}
	testUsers = []hydra.User{clinician, billing, patient}
)

// startHydra starts Hydra for the test and closes it when the test ends. A missing
// binary fails the test (CI builds it): the error names integration/hydra/build.sh.
func startHydra(t testing.TB, opt hydra.Options) *hydra.Server {
	t.Helper()
	if opt.Users == nil {
		opt.Users = testUsers
	}
	logs := &syncbuf.Buffer{}
	opt.Log = logs
	t.Cleanup(func() {
		if out := logs.String(); t.Failed() && out != "" {
			t.Logf("hydra output:\n%s", out)
		}
	})
	s, err := hydra.Start(t.Context(), opt)
	if err != nil {
		t.Fatalf("hydra.Start: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// createClient registers c or fails the test.
func createClient(t testing.TB, s *hydra.Server, c hydra.Client) hydra.Client {
	t.Helper()
	got, err := s.CreateClient(t.Context(), c)
	if err != nil {
		t.Fatalf("CreateClient(%s): %v", c, err)
	}
	return got
}

// discovery is the part of the OpenID Provider metadata the tests use.
type discovery struct {
	Issuer                string   `json:"issuer"`
	AuthorizationEndpoint string   `json:"authorization_endpoint"`
	TokenEndpoint         string   `json:"token_endpoint"`
	RevocationEndpoint    string   `json:"revocation_endpoint"`
	EndSessionEndpoint    string   `json:"end_session_endpoint"`
	IntrospectionEndpoint string   `json:"introspection_endpoint"`
	JWKSURI               string   `json:"jwks_uri"`
	UserinfoEndpoint      string   `json:"userinfo_endpoint"`
	CodeChallengeMethods  []string `json:"code_challenge_methods_supported"`
	GrantTypes            []string `json:"grant_types_supported"`
}

func discover(t testing.TB, s *hydra.Server) discovery {
	t.Helper()
	var d discovery
	getJSON(t, s.Issuer+"/.well-known/openid-configuration", &d)
	return d
}

func getJSON(t testing.TB, u string, out any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %d; want 200", u, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatalf("GET %s: decode: %v", u, err)
	}
}

// browser is a cookie-keeping user agent that follows redirects until it reaches
// stopAt, and remembers every URL it was redirected through.
type browser struct {
	c      *http.Client
	stopAt string
	mu     sync.Mutex
	hops   []string
}

func newBrowser(stopAt string) *browser {
	jar, _ := cookiejar.New(nil)
	b := &browser{stopAt: stopAt}
	b.c = &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		b.mu.Lock()
		b.hops = append(b.hops, req.URL.Scheme+"://"+req.URL.Host+req.URL.Path)
		b.mu.Unlock()
		if strings.HasPrefix(req.URL.String(), b.stopAt) {
			return http.ErrUseLastResponse
		}
		if len(via) >= 20 {
			return errors.New("more than 20 redirects")
		}
		return nil
	}}
	return b
}

// visited reports whether the browser was redirected through a URL starting with prefix.
func (b *browser) visited(prefix string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.ContainsFunc(b.hops, func(h string) bool { return strings.HasPrefix(h, prefix) })
}

func (b *browser) resetHops() {
	b.mu.Lock()
	b.hops = nil
	b.mu.Unlock()
}

// page is what the browser ended on: the final URL, status and body.
type page struct {
	url      *url.URL
	status   int
	location string
	body     string
}

func (b *browser) do(t testing.TB, req *http.Request) page {
	t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Redacted(), err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return page{url: resp.Request.URL, status: resp.StatusCode, location: resp.Header.Get("Location"), body: string(body)}
}

func (b *browser) get(t testing.TB, u string) page {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return b.do(t, req)
}

func (b *browser) post(t testing.TB, u string, form url.Values) page {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(t, req)
}

// pkce is an RFC 7636 verifier and its S256 challenge.
type pkce struct{ verifier, challenge string }

func newPKCE(t testing.TB) pkce {
	t.Helper()
	v := randomString(t)
	sum := sha256.Sum256([]byte(v))
	return pkce{verifier: v, challenge: base64.RawURLEncoding.EncodeToString(sum[:])}
}

func randomString(t testing.TB) string {
	t.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// authRequest is one authorization code + PKCE request of clientID.
type authRequest struct {
	clientID, scope, state, nonce string
	pkce                          pkce
}

func newAuthRequest(t testing.TB, clientID, scope string) authRequest {
	return authRequest{clientID: clientID, scope: scope, state: randomString(t), nonce: randomString(t), pkce: newPKCE(t)}
}

func (a authRequest) url(d discovery) string {
	return d.AuthorizationEndpoint + "?" + url.Values{
		"response_type":         {"code"},
		"client_id":             {a.clientID},
		"redirect_uri":          {redirectURI},
		"scope":                 {a.scope},
		"state":                 {a.state},
		"nonce":                 {a.nonce},
		"code_challenge":        {a.pkce.challenge},
		"code_challenge_method": {"S256"},
	}.Encode()
}

// codeFrom returns the code of a redirect to redirectURI and checks its state.
func codeFrom(t testing.TB, p page, state string) string {
	t.Helper()
	if !strings.HasPrefix(p.location, redirectURI) {
		t.Fatalf("ended on %s (%d), Location %q; want a redirect to %s\n%s", p.url.Redacted(), p.status, p.location, redirectURI, p.body)
	}
	u, err := url.Parse(p.location)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if e := q.Get("error"); e != "" {
		t.Fatalf("redirect carries error %s: %s", e, q.Get("error_description"))
	}
	if got := q.Get("state"); got != state {
		t.Fatalf("redirect state = %q; want the request's", got)
	}
	if q.Get("code") == "" {
		t.Fatal("redirect has no code")
	}
	return q.Get("code")
}

// login drives the login form: authorize, fill in user's credentials, follow through
// consent to the redirect URI. It returns the authorization code.
func login(t testing.TB, b *browser, d discovery, ar authRequest, u hydra.User) string {
	t.Helper()
	return codeFrom(t, submitLogin(t, b, ar.url(d), u), ar.state)
}

// submitLogin opens authorizeURL, fills in the login form with user's credentials and
// returns where the browser stopped: at the redirect URI, or on an error page.
func submitLogin(t testing.TB, b *browser, authorizeURL string, u hydra.User) page {
	t.Helper()
	p := b.get(t, authorizeURL)
	if p.status != http.StatusOK {
		t.Fatalf("authorize ended on %s with %d; want the login form (200)\n%s", p.url.Redacted(), p.status, p.body)
	}
	f, err := parseForm(strings.NewReader(p.body), "login-form")
	if err != nil {
		t.Fatalf("login page: %v", err)
	}
	f.fields.Set("username", u.Username)
	f.fields.Set("password", u.Password.Reveal())
	return b.post(t, f.target(p.url), f.fields)
}

// tokens is a token endpoint answer, success or error.
type tokens struct {
	status           int
	AccessToken      string `json:"access_token"`
	RefreshToken     string `json:"refresh_token"`
	IDToken          string `json:"id_token"`
	TokenType        string `json:"token_type"`
	ExpiresIn        int64  `json:"expires_in"`
	Scope            string `json:"scope"`
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
}

// postForm posts form to u, with HTTP Basic when c has a secret, and decodes the JSON
// answer into out; it returns the status.
func postForm(t testing.TB, u string, c hydra.Client, form url.Values, out any) int {
	t.Helper()
	public := c.Secret.IsZero()
	if public {
		form.Set("client_id", c.ID) // RFC 6749 s2.3: a public client names itself
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if !public {
		// RFC 6749 s2.3.1: client id and secret are form-encoded before Basic.
		req.SetBasicAuth(url.QueryEscape(c.ID), url.QueryEscape(c.Secret.Reveal()))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("POST %s = %d: decode: %v", u, resp.StatusCode, err)
		}
	}
	return resp.StatusCode
}

// bearerGet GETs u with tok as bearer token and decodes a JSON answer into out.
func bearerGet(t testing.TB, u, tok string, out any) int {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatalf("GET %s: decode: %v", u, err)
		}
	}
	return resp.StatusCode
}

func token(t testing.TB, d discovery, c hydra.Client, form url.Values) tokens {
	t.Helper()
	var tk tokens
	tk.status = postForm(t, d.TokenEndpoint, c, form, &tk)
	return tk
}

func exchange(t testing.TB, d discovery, c hydra.Client, code string, p pkce) tokens {
	t.Helper()
	tk := token(t, d, c, url.Values{
		"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {redirectURI}, "code_verifier": {p.verifier},
	})
	if tk.status != http.StatusOK {
		t.Fatalf("code exchange = %d %s: %s; want 200", tk.status, tk.Error, tk.ErrorDescription)
	}
	return tk
}

func refresh(t testing.TB, d discovery, c hydra.Client, rt string) tokens {
	t.Helper()
	return token(t, d, c, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
}

func introspect(t testing.TB, s *hydra.Server, tok string) hydra.Introspection {
	t.Helper()
	in, err := s.Introspect(t.Context(), tok)
	if err != nil {
		t.Fatalf("Introspect: %v", err)
	}
	return in
}
