package stacks_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/cutover-dev/cutover/personas"
	"github.com/cutover-dev/cutover/stacks"
)

func startPair(t *testing.T, drifts string) (*stacks.Pair, personas.Population) {
	t.Helper()
	pop, err := personas.Generate(7, personas.GenerateOptions{Count: 30, LegacySHA256Share: 0.3, UnassignedShare: 0.2})
	if err != nil {
		t.Fatal(err)
	}
	d, err := stacks.ParseDrifts(drifts)
	if err != nil {
		t.Fatal(err)
	}
	p, err := stacks.Start(t.Context(), stacks.Options{Population: pop, Drifts: d})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = p.Shutdown(context.Background()) })
	return p, pop
}

func newClient(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func do(t *testing.T, c *http.Client, req *http.Request) (int, []byte) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func TestPairLoginProbeLogout(t *testing.T) {
	p, pop := startPair(t, "none")
	for _, pe := range pop.ByKind(personas.Clinician)[:1] {
		pid := pe.Panel[0]
		t.Run("legacy", func(t *testing.T) {
			c := newClient(t)
			body := `{"username":"` + pe.Username + `","password":"` + pe.Secret.Reveal() + `"}`
			req, _ := http.NewRequest("POST", p.LegacyURL+"/api/login", strings.NewReader(body))
			if code, b := do(t, c, req); code != 200 {
				t.Fatalf("POST /api/login = %d %s; want 200", code, b)
			}
			req, _ = http.NewRequest("GET", p.LegacyURL+"/api/patients/"+pid+"/notes", nil)
			if code, _ := do(t, c, req); code != 200 {
				t.Fatalf("GET notes of panel patient = %d; want 200", code)
			}
			req, _ = http.NewRequest("POST", p.LegacyURL+"/api/logout", nil)
			if code, _ := do(t, c, req); code != 204 {
				t.Fatalf("POST /api/logout = %d; want 204", code)
			}
			req, _ = http.NewRequest("GET", p.LegacyURL+"/api/patients/"+pid+"/notes", nil)
			if code, _ := do(t, c, req); code != 401 {
				t.Fatalf("GET notes after logout = %d; want 401", code)
			}
		})
		t.Run("candidate", func(t *testing.T) {
			c := newClient(t)
			tok := candidateLogin(t, c, p, pe.Username, pe.Secret.Reveal())
			get := func() int {
				req, _ := http.NewRequest("GET", p.CandidateURL+"/api/patients/"+pid+"/notes", nil)
				req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
				code, _ := do(t, c, req)
				return code
			}
			if code := get(); code != 200 {
				t.Fatalf("GET notes of panel patient = %d; want 200", code)
			}
			form := url.Values{"token": {tok.RefreshToken}, "client_id": {p.HarnessClientID}}
			req, _ := http.NewRequest("POST", p.CandidateURL+"/revoke", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if code, _ := do(t, c, req); code != 200 {
				t.Fatalf("POST /revoke = %d; want 200", code)
			}
			if code := get(); code != 401 {
				t.Fatalf("GET notes after revocation = %d; want 401", code)
			}
		})
	}
}

type tokens struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"`
	ExpiresIn    int    `json:"expires_in"`
	Scope        string `json:"scope"`
}

var authReqRe = regexp.MustCompile(`name="auth_request" value="([^"]+)"`)

// candidateLogin runs the authorization code flow with PKCE through the login form.
func candidateLogin(t *testing.T, c *http.Client, p *stacks.Pair, username, password string) tokens {
	t.Helper()
	verifier := strings.Repeat("v", 20) + base64.RawURLEncoding.EncodeToString([]byte(username+"-verifier-0123456789"))
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{
		"response_type": {"code"}, "client_id": {p.HarnessClientID}, "redirect_uri": {p.HarnessRedirectURI},
		"scope": {"openid offline_access"}, "state": {"st"}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"},
	}
	req, _ := http.NewRequest("GET", p.CandidateURL+"/authorize?"+q.Encode(), nil)
	code, page := do(t, c, req)
	m := authReqRe.FindSubmatch(page)
	if code != 200 || m == nil {
		t.Fatalf("GET /authorize = %d without a login form", code)
	}
	form := url.Values{"username": {username}, "password": {password}, "auth_request": {string(m[1])}}
	req, _ = http.NewRequest("POST", p.CandidateURL+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusSeeOther || loc.Query().Get("code") == "" {
		t.Fatalf("POST /login = %d to %q; want 303 with a code", resp.StatusCode, loc.Redacted())
	}
	form = url.Values{
		"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")}, "redirect_uri": {p.HarnessRedirectURI},
		"client_id": {p.HarnessClientID}, "code_verifier": {verifier},
	}
	req, _ = http.NewRequest("POST", p.CandidateURL+"/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	status, b := do(t, c, req)
	if status != 200 {
		t.Fatalf("POST /token = %d %s; want 200", status, b)
	}
	var tok tokens
	if err := json.Unmarshal(b, &tok); err != nil {
		t.Fatal(err)
	}
	return tok
}
