package hydra

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/url"
)

// Paths of the login app, which Hydra's config (urls.*) points at.
const (
	pathLogin     = "/login"
	pathConsent   = "/consent"
	pathLogout    = "/logout"
	pathError     = "/error"
	pathLoggedOut = "/logged-out"
)

// RolesClaim is the claim the login app puts a user's roles in: under "ext" in access
// tokens and introspection, at the top level of ID tokens.
const RolesClaim = "roles"

// loginApp is what every Hydra deployment provides itself: it renders the login form,
// checks passwords against a fixed user table and accepts Hydra's login, consent and
// logout challenges through the admin API. Consent is granted without asking: every
// requested scope and audience. It never logs a password or a token.
type loginApp struct {
	admin    string
	http     *http.Client
	byName   map[string]User
	byID     map[string]User
	remember bool
	log      io.Writer
	mux      *http.ServeMux
}

func newLoginApp(admin string, c *http.Client, users []User, remember bool, log io.Writer) (*loginApp, error) {
	a := &loginApp{
		admin: admin, http: c, remember: remember, log: log,
		byName: make(map[string]User, len(users)),
		byID:   make(map[string]User, len(users)),
		mux:    http.NewServeMux(),
	}
	for _, u := range users {
		if _, dup := a.byName[u.Username]; dup {
			return nil, fmt.Errorf("login app: duplicate username %q", u.Username)
		}
		a.byName[u.Username], a.byID[u.ID] = u, u
	}
	a.mux.HandleFunc("GET "+pathLogin, a.loginForm)
	a.mux.HandleFunc("POST "+pathLogin, a.loginSubmit)
	a.mux.HandleFunc("GET "+pathConsent, a.consent)
	a.mux.HandleFunc("GET "+pathLogout, a.logout)
	a.mux.HandleFunc("GET "+pathError, a.oauthError)
	a.mux.HandleFunc("GET "+pathLoggedOut, a.loggedOut)
	return a, nil
}

func (a *loginApp) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.mux.ServeHTTP(w, r) }

var loginPage = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in</title></head>
<body>
<h1>Sign in</h1>
{{if .Error}}<p id="login-error" role="alert">{{.Error}}</p>
{{end}}<form id="login-form" method="post">
<input type="hidden" name="login_challenge" value="{{.Challenge}}">
<label>Username <input name="username" autocomplete="username" value="{{.Username}}" required></label>
<label>Password <input type="password" name="password" autocomplete="current-password" required></label>
<button type="submit">Sign in</button>
</form>
</body></html>
`))

type loginView struct{ Challenge, Username, Error string }

// loginRequest is the part of Hydra's login request the app reads.
type loginRequest struct {
	Skip    bool   `json:"skip"`
	Subject string `json:"subject"`
}

// consentRequest is the part of Hydra's consent request the app reads.
type consentRequest struct {
	Subject                      string   `json:"subject"`
	RequestedScope               []string `json:"requested_scope"`
	RequestedAccessTokenAudience []string `json:"requested_access_token_audience"`
}

type redirect struct {
	To string `json:"redirect_to"`
}

func (a *loginApp) loginForm(w http.ResponseWriter, r *http.Request) {
	ch, ok := challenge(w, r.URL.Query(), "login")
	if !ok {
		return
	}
	var lr loginRequest
	if err := a.get(r.Context(), "login", ch, &lr); err != nil {
		a.fail(w, "get login request", err)
		return
	}
	if lr.Skip {
		// Hydra already authenticated this browser (remembered session): it requires
		// the same subject to be accepted without asking again.
		a.acceptLogin(w, r, ch, lr.Subject)
		return
	}
	a.render(w, http.StatusOK, loginView{Challenge: ch})
}

func (a *loginApp) loginSubmit(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	ch, ok := challenge(w, r.PostForm, "login")
	if !ok {
		return
	}
	name := r.PostForm.Get("username")
	u, ok := a.byName[name]
	if !ok || !samePassword(u.Password.Reveal(), r.PostForm.Get("password")) {
		a.render(w, http.StatusUnauthorized, loginView{Challenge: ch, Username: name, Error: "Invalid username or password."})
		return
	}
	a.acceptLogin(w, r, ch, u.ID)
}

func (a *loginApp) acceptLogin(w http.ResponseWriter, r *http.Request, ch, subject string) {
	a.accept(w, r, "login", ch, map[string]any{"subject": subject, "remember": a.remember, "remember_for": 0})
}

func (a *loginApp) consent(w http.ResponseWriter, r *http.Request) {
	ch, ok := challenge(w, r.URL.Query(), "consent")
	if !ok {
		return
	}
	var cr consentRequest
	if err := a.get(r.Context(), "consent", ch, &cr); err != nil {
		a.fail(w, "get consent request", err)
		return
	}
	u, ok := a.byID[cr.Subject]
	if !ok {
		a.fail(w, "consent", fmt.Errorf("unknown subject %q", cr.Subject))
		return
	}
	roles := u.Roles
	if roles == nil {
		roles = []string{} // an empty claim, not a missing one
	}
	body := map[string]any{
		"grant_scope":                 cr.RequestedScope,
		"grant_access_token_audience": cr.RequestedAccessTokenAudience,
		"remember":                    false,
		"session": map[string]any{
			"access_token": map[string]any{RolesClaim: roles},
			"id_token":     map[string]any{RolesClaim: roles},
		},
	}
	a.accept(w, r, "consent", ch, body)
}

func (a *loginApp) logout(w http.ResponseWriter, r *http.Request) {
	if ch, ok := challenge(w, r.URL.Query(), "logout"); ok {
		a.accept(w, r, "logout", ch, nil)
	}
}

// accept accepts the login, consent or logout request of ch with body and sends the
// browser where Hydra says.
func (a *loginApp) accept(w http.ResponseWriter, r *http.Request, flow, ch string, body any) {
	var to redirect
	if err := a.put(r.Context(), flow, ch, body, &to); err != nil {
		a.fail(w, "accept "+flow, err)
		return
	}
	http.Redirect(w, r, to.To, http.StatusFound)
}

// challenge returns the <flow>_challenge parameter of v, or answers 400 without it.
func challenge(w http.ResponseWriter, v url.Values, flow string) (string, bool) {
	ch := v.Get(flow + "_challenge")
	if ch == "" {
		http.Error(w, "missing "+flow+"_challenge", http.StatusBadRequest)
	}
	return ch, ch != ""
}

// oauthError is where Hydra sends the browser when it cannot redirect an error back
// to the client (unknown client, bad redirect_uri...).
func (a *loginApp) oauthError(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusBadRequest)
	fmt.Fprintf(w, "oauth2 error: %s: %s %s\n", q.Get("error"), q.Get("error_description"), q.Get("error_hint"))
}

// loggedOut is Hydra's default post-logout redirect, used when the client names none.
func (a *loginApp) loggedOut(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	io.WriteString(w, "<!doctype html><html><body><h1 id=\"logged-out\">Signed out</h1></body></html>\n")
}

func (a *loginApp) render(w http.ResponseWriter, status int, v loginView) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	loginPage.Execute(w, v)
}

// fail answers 502 for a failed admin call; the message carries no credential.
func (a *loginApp) fail(w http.ResponseWriter, what string, err error) {
	fmt.Fprintf(a.log, "hydra login app: %s: %v\n", what, err)
	status := http.StatusBadGateway
	var apiErr *APIError
	if errors.As(err, &apiErr) && apiErr.Status/100 == 4 {
		status = http.StatusBadRequest // an expired or already used challenge
	}
	http.Error(w, what+": "+err.Error(), status)
}

// get fetches the login, consent or logout request of challenge.
func (a *loginApp) get(ctx context.Context, flow, challenge string, out any) error {
	return adminJSON(ctx, a.http, http.MethodGet, a.flowURL(flow, "", challenge), nil, out)
}

// put accepts the login, consent or logout request of challenge.
func (a *loginApp) put(ctx context.Context, flow, challenge string, body, out any) error {
	return adminJSON(ctx, a.http, http.MethodPut, a.flowURL(flow, "/accept", challenge), body, out)
}

func (a *loginApp) flowURL(flow, action, challenge string) string {
	return a.admin + "/admin/oauth2/auth/requests/" + flow + action + "?" +
		url.Values{flow + "_challenge": {challenge}}.Encode()
}

// samePassword compares in time independent of where the two differ or their length.
func samePassword(want, got string) bool {
	w, g := sha256.Sum256([]byte(want)), sha256.Sum256([]byte(got))
	return subtle.ConstantTimeCompare(w[:], g[:]) == 1
}
