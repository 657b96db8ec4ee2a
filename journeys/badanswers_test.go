package journeys_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/cutover-dev/cutover/journeys"
	"github.com/cutover-dev/cutover/journeys/adapter"
	"github.com/cutover-dev/cutover/journeys/internal/testidp"
	"github.com/cutover-dev/cutover/journeys/legacy"
	"github.com/cutover-dev/cutover/journeys/oidc"
	"github.com/cutover-dev/cutover/personas"
	"github.com/cutover-dev/cutover/results/record"
)

// hang answers nothing until the client gives up. It reads the body first: the
// server notices a client gone only once the body is consumed.
func hang(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	select {
	case <-r.Context().Done():
	case <-time.After(2 * time.Second):
	}
}

// loginForm serves a login form that posts to /login.
func loginFormPage(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html")
	_, _ = w.Write([]byte(`<form id="login-form" method="post" action="/login"><input name="username"><input type="password" name="password"></form>`))
}

// codeRedirect ends a login at the redirect URI with a code and the state sent.
func codeRedirect(state func(*http.Request) string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://localhost/cb?code=c0de&state="+url.QueryEscape(state(r)), http.StatusFound)
	}
}

// TestBadAnswers gives each adapter an answer it cannot use: each yields a
// precise error in the record, an error outcome (an invalid one for a broken
// token: never a decision), and no panic.
func TestBadAnswers(t *testing.T) {
	p := personas.Persona{ID: "p1", Kind: personas.Patient, Username: "p1", Secret: personas.NewSecret("pw")}
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	legacyServer := func(routes map[string]http.HandlerFunc) string {
		mux := http.NewServeMux()
		for pat, h := range routes {
			mux.HandleFunc(pat, h)
		}
		srv := httptest.NewServer(mux)
		t.Cleanup(srv.Close)
		return srv.URL
	}
	jsonLegacy := func(base string) journeys.Stack {
		st, err := legacy.New(legacy.Config{
			BaseURL: base, Login: legacy.Login{Mode: "json", Path: "/api/login", SessionPath: "sid"},
			Session: legacy.SessionCarrier{Header: "X-Sid"}, Me: legacy.Me{Path: "/api/me", Roles: adapter.F("roles")},
		}, http.DefaultTransport)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	formLegacy := func(base string) journeys.Stack {
		st, err := legacy.New(legacy.Config{
			BaseURL: base, Login: legacy.Login{Mode: "form", Path: "/login", FormID: "login-form"},
			Session: legacy.SessionCarrier{Cookie: "S"}, Me: legacy.Me{Path: "/api/me", Roles: adapter.F("roles")},
		}, http.DefaultTransport)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	okLogin := func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, 200, map[string]string{"sid": "s1"}) }
	provider := func(override map[string]http.HandlerFunc) journeys.Stack {
		idp := testidp.New(t, func(p *testidp.IdP) { p.Override = override })
		st, err := oidc.New(t.Context(), oidc.Config{Issuer: idp.URL, ClientID: "harness", RedirectURI: "http://localhost/cb", FormID: "login-form"}, http.DefaultTransport)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	// state reads the state of the pending authorization request back from the
	// form's action, where authorize put it.
	var lastState string
	authorizeForm := func(w http.ResponseWriter, r *http.Request) {
		lastState = r.URL.Query().Get("state")
		loginFormPage(w, r)
	}
	tests := []struct {
		name string
		st   func() journeys.Stack
		want string
	}{
		{"legacy: garbage body", func() journeys.Stack {
			return jsonLegacy(legacyServer(map[string]http.HandlerFunc{"POST /api/login": func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				_, _ = w.Write([]byte("<html>oops"))
			}}))
		}, "legacy login: HTTP 200 with a body that is not the expected JSON (10 bytes, text/html)"},
		{"legacy: page without a form", func() journeys.Stack {
			return formLegacy(legacyServer(map[string]http.HandlerFunc{"GET /login": func(w http.ResponseWriter, _ *http.Request) {
				_, _ = w.Write([]byte("<p>Down for maintenance</p>"))
			}}))
		}, `legacy login form: HTTP 200: no form with id "login-form" among 0 forms`},
		{"legacy: roles of the wrong type", func() journeys.Stack {
			return jsonLegacy(legacyServer(map[string]http.HandlerFunc{"POST /api/login": okLogin, "GET /api/me": func(w http.ResponseWriter, _ *http.Request) {
				writeJSON(w, 200, map[string]any{"roles": 7})
			}}))
		}, `legacy who-am-i: path "roles": a number, not a string or list`},
		{"legacy: timeout", func() journeys.Stack {
			return jsonLegacy(legacyServer(map[string]http.HandlerFunc{"POST /api/login": hang}))
		}, "legacy login: unavailable: timeout"},
		{"legacy: 503", func() journeys.Stack {
			return jsonLegacy(legacyServer(map[string]http.HandlerFunc{"POST /api/login": func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(503) }}))
		}, "legacy login: unavailable (HTTP 503)"},
		{"legacy: connection refused", func() journeys.Stack { return jsonLegacy(closed.URL) }, "connection refused"},
		{"oidc: redirect loop", func() journeys.Stack {
			return provider(map[string]http.HandlerFunc{"GET /authorize": func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, "/authorize?again=1", http.StatusFound)
			}})
		}, "oidc redirect: more than 10 redirects (a redirect loop?)"},
		{"oidc: login page without a form", func() journeys.Stack {
			return provider(map[string]http.HandlerFunc{"GET /authorize": func(w http.ResponseWriter, _ *http.Request) {
				_, _ = w.Write([]byte("<h1>Sign in with your badge</h1>"))
			}})
		}, "oidc login page: HTTP 200: no form with id \"login-form\" among 0 forms"},
		{"oidc: a token that does not parse", func() journeys.Stack {
			return provider(map[string]http.HandlerFunc{
				"GET /authorize": authorizeForm, "POST /login": codeRedirect(func(*http.Request) string { return lastState }),
				"POST /token": func(w http.ResponseWriter, _ *http.Request) {
					writeJSON(w, 200, map[string]any{"access_token": "eyJ.not-a.jwt", "expires_in": 60})
				},
			})
		}, "access_token invalid: format: not a JWT"},
		{"oidc: garbage from the token endpoint", func() journeys.Stack {
			return provider(map[string]http.HandlerFunc{
				"GET /authorize": authorizeForm, "POST /login": codeRedirect(func(*http.Request) string { return lastState }),
				"POST /token": func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("<html>proxy error</html>")) },
			})
		}, "oidc token authorization_code: HTTP 200 with a body that is not the expected JSON"},
		{"oidc: state swapped", func() journeys.Stack {
			return provider(map[string]http.HandlerFunc{
				"GET /authorize": authorizeForm, "POST /login": codeRedirect(func(*http.Request) string { return "forged" }),
			})
		}, "oidc callback: state does not match the one sent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &journeys.Runner{StepTimeout: 300 * time.Millisecond, Targets: journeys.NewTargets(personas.Population{})}
			rec := &recorder{}
			r.Run(t.Context(), journeys.Journey{Name: "j", Steps: []string{journeys.StepsLogin, journeys.StepsProbes}}, record.Candidate, tt.st(), p, journeys.Iteration{}, rec.emit)
			if len(rec.recs) != 1 {
				t.Fatalf("%d records; want the login alone (the journey stops there):\n%s", len(rec.recs), rec.dump())
			}
			// A broken token is invalid; anything else an answer cannot be used for
			// is an error.
			got, want := rec.recs[0], record.Error
			if strings.Contains(tt.want, " invalid: ") {
				want = record.Invalid
			}
			if got.Outcome != want || got.Facts.Decision != "" || !strings.Contains(got.Error, tt.want) {
				t.Errorf("login: outcome %s, decision %q, error %q; want outcome %s, no decision, error containing %q", got.Outcome, got.Facts.Decision, got.Error, want, tt.want)
			}
			if want == record.Invalid && got.Facts.Check != "access_token.format" {
				t.Errorf("login: check %q; want access_token.format", got.Facts.Check)
			}
			if strings.Contains(got.Error, "pw") && !strings.Contains(tt.want, "pw") {
				t.Errorf("the error names the password: %q", got.Error)
			}
		})
	}
}

// TestProbeAnswers: a probe's 5xx and timeout are availability errors, a 404 is a
// probe error (AUTHZ_ERROR), 401/403 are denials.
func TestProbeAnswers(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/login", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, 200, map[string]string{"sid": "s1"}) })
	mux.HandleFunc("GET /api/me", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, 200, map[string]any{"roles": []string{"patient"}})
	})
	for _, code := range []int{200, 401, 403, 404, 503} {
		mux.HandleFunc("GET /r/"+http.StatusText(code), func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(code) })
	}
	mux.HandleFunc("GET /r/hang", hang)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	st, err := legacy.New(legacy.Config{
		BaseURL: srv.URL, Login: legacy.Login{Mode: "json", Path: "/api/login", SessionPath: "sid"},
		Session: legacy.SessionCarrier{Header: "X-Sid"}, Me: legacy.Me{Path: "/api/me", Roles: adapter.F("roles")},
	}, http.DefaultTransport)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		outcome  record.Outcome
		decision string
		err      string
	}{
		"OK":                  {record.OK, record.Allow, ""},
		"Unauthorized":        {record.OK, record.Deny, ""},
		"Forbidden":           {record.OK, record.Deny, ""},
		"Not Found":           {record.OK, "error", ""},
		"Service Unavailable": {record.Error, "", "GET /r/Service%20Unavailable: unavailable (HTTP 503)"},
		"hang":                {record.Error, "", "unavailable: timeout"},
	}
	var probes []journeys.Probe
	for id := range want {
		probes = append(probes, journeys.Probe{Kind: personas.Patient, Action: "get", Resource: "r:" + id})
	}
	r := &journeys.Runner{
		Probes: probes, Resources: map[record.Side]journeys.Resources{record.Legacy: {"r": {"get": {Method: "GET", Path: "/r/{id}"}}}},
		Targets: journeys.NewTargets(personas.Population{}), StepTimeout: 300 * time.Millisecond,
	}
	rec := &recorder{}
	p := personas.Persona{ID: "p1", Kind: personas.Patient, Username: "p1", Secret: personas.NewSecret("pw")}
	r.Run(t.Context(), journeys.Journey{Name: "j", Steps: []string{journeys.StepsLogin, journeys.StepsProbes}}, record.Legacy, st, p, journeys.Iteration{}, rec.emit)
	for id, w := range want {
		got := rec.one(t, record.Legacy, record.StepProbe, "get r:"+id)
		if got.Outcome != w.outcome || got.Facts.Decision != w.decision || !strings.Contains(got.Error, w.err) {
			t.Errorf("probe %s: %s %q %q; want %s %q %q", id, got.Outcome, got.Facts.Decision, got.Error, w.outcome, w.decision, w.err)
		}
	}
}
