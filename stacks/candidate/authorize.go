package candidate

import (
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/cutover-dev/cutover/stacks/internal/ehr"
	"github.com/cutover-dev/cutover/stacks/internal/passhash"
	"github.com/cutover-dev/cutover/stacks/internal/respond"
)

// SessionCookie is the provider's single sign-on session cookie.
const SessionCookie = "CANDIDATE_SSO"

// oidcScopes are the protocol scopes any client may request besides resource scopes.
var oidcScopes = []string{"openid", "profile", "email", "offline_access"}

var loginPage = template.Must(template.New("login").Parse(`<!doctype html>
<html><head><title>Candidate IdP: sign in</title></head><body>
<h1>Sign in to continue to {{.Client}}</h1>
{{if .Error}}<p id="error" role="alert">{{.Error}}</p>{{end}}
<form id="login-form" method="post" action="/login">
{{if .Email}}<label>E-mail <input name="username" type="email" autocomplete="email"></label>{{else}}<label>Username <input name="username" autocomplete="username"></label>{{end}}
<label>Password <input name="password" type="password" autocomplete="current-password"></label>
<input type="hidden" name="auth_request" value="{{.AuthRequest}}">
<button type="submit" id="login-submit">Sign in</button>
</form></body></html>
`))

// loginScriptPage is the login page of the login-script dialect: a script
// renders the form, so the page's HTML has none.
var loginScriptPage = template.Must(template.New("login-script").Parse(`<!doctype html>
<html><head><title>Candidate IdP: sign in</title></head><body>
<div id="app">Loading...</div>
<script>
const app = document.getElementById("app");
app.textContent = "";
const f = document.createElement("form");
f.id = "login-form"; f.method = "post"; f.action = "/login";
const add = (tag, attrs) => { const e = document.createElement(tag); Object.assign(e, attrs); f.appendChild(e); return e; };
{{if .Error}}const p = document.createElement("p"); p.id = "error"; p.textContent = {{.Error}}; app.appendChild(p);{{end}}
add("input", {name: "username", autocomplete: "username"});
add("input", {name: "password", type: "password", autocomplete: "current-password"});
add("input", {name: "auth_request", type: "hidden", value: {{.AuthRequest}}});
add("button", {type: "submit", id: "login-submit", textContent: "Sign in"});
app.appendChild(f);
</script></body></html>
`))

func (s *Server) renderLogin(w http.ResponseWriter, status int, client, authReq, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if s.cfg.Dialect.LoginScript {
		_ = loginScriptPage.Execute(w, struct{ AuthRequest, Error string }{authReq, msg})
		return
	}
	_ = loginPage.Execute(w, struct {
		Client, AuthRequest, Error string
		Email                      bool
	}{client, authReq, msg, s.cfg.Dialect.EmailLogin})
}

// redirectError sends an authorization error back to the client (RFC 6749 s4.1.2.1).
func (s *Server) redirectError(w http.ResponseWriter, r *http.Request, redirect, state, code, desc string) {
	q := url.Values{"error": {code}, "error_description": {desc}, "iss": {s.cfg.Issuer}}
	if state != "" {
		q.Set("state", state)
	}
	http.Redirect(w, r, withQuery(redirect, q), http.StatusFound)
}

func withQuery(u string, q url.Values) string {
	if strings.Contains(u, "?") {
		return u + "&" + q.Encode()
	}
	return u + "?" + q.Encode()
}

// authorize is the authorization endpoint: code flow with PKCE S256 only.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	c, ok := s.client(q.Get("client_id"))
	if !ok || !c.allows(grantCode) {
		respond.Error(w, http.StatusBadRequest, "invalid_client", "unknown client")
		return
	}
	redirect := q.Get("redirect_uri")
	if !slices.Contains(c.redirects, redirect) {
		respond.Error(w, http.StatusBadRequest, "invalid_request", "redirect_uri is not registered for this client")
		return
	}
	state := q.Get("state")
	switch {
	case q.Get("response_type") != "code":
		s.redirectError(w, r, redirect, state, "unsupported_response_type", "only code is supported")
		return
	case q.Get("code_challenge") == "" || q.Get("code_challenge_method") != "S256":
		s.redirectError(w, r, redirect, state, "invalid_request", "PKCE with code_challenge_method S256 is required")
		return
	}
	ar := &authRequest{
		client: c.id, redirect: redirect, scopes: strings.Fields(q.Get("scope")), state: state,
		nonce: q.Get("nonce"), challenge: q.Get("code_challenge"), expires: s.cfg.Now().Add(s.cfg.SessionTTL),
		consent: slices.Contains(strings.Fields(q.Get("prompt")), "consent"),
	}
	prompt := q.Get("prompt")
	if sid, sess, ok := s.ssoSession(r); ok && prompt != "login" {
		s.issueCode(w, r, ar, sess.user, sid, sess.authTime)
		return
	}
	if prompt == "none" {
		s.redirectError(w, r, redirect, state, "login_required", "no session")
		return
	}
	id := respond.ID()
	ar.expires = s.cfg.Now().Add(15 * time.Minute)
	s.mu.Lock()
	s.tokens.authRequests[id] = ar
	s.mu.Unlock()
	s.renderLogin(w, http.StatusOK, c.id, id, "")
}

// ssoSession returns the live single sign-on session of the browser.
func (s *Server) ssoSession(r *http.Request) (string, ssoSession, bool) {
	ck, err := r.Cookie(SessionCookie)
	if err != nil {
		return "", ssoSession{}, false
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	sess, ok := s.tokens.sessions[ck.Value]
	if !ok || sess.ended || !s.cfg.Now().Before(sess.expires) {
		return "", ssoSession{}, false
	}
	return ck.Value, *sess, true
}

// login takes the login form of a pending authorization request.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		respond.Error(w, http.StatusBadRequest, "invalid_request", "bad form")
		return
	}
	id := r.PostForm.Get("auth_request")
	s.mu.RLock()
	ar, ok := s.tokens.authRequests[id]
	s.mu.RUnlock()
	if !ok || !s.cfg.Now().Before(ar.expires) {
		respond.Error(w, http.StatusBadRequest, "invalid_request", "unknown or expired authorization request; start again")
		return
	}
	name := r.PostForm.Get("username")
	if s.cfg.Dialect.EmailLogin {
		name = s.usernameByEmail(name)
	}
	u, status := s.checkPassword(name, r.PostForm.Get("password"))
	switch status {
	case http.StatusLocked:
		s.renderLogin(w, status, ar.client, id, "Account locked. Try again later.")
		return
	case http.StatusUnauthorized:
		s.renderLogin(w, status, ar.client, id, "Invalid username or password.")
		return
	}
	now := s.cfg.Now()
	sid := respond.ID()
	s.mu.Lock()
	delete(s.tokens.authRequests, id)
	s.tokens.sessions[sid] = &ssoSession{user: u.ID, authTime: now, expires: now.Add(s.cfg.SessionTTL)}
	s.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: sid, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
	s.issueCode(w, r, ar, u.ID, sid, now)
}

// usernameByEmail is the username of the user with e-mail address email, or
// "" (the email-login dialect signs users in by address only).
func (s *Server) usernameByEmail(email string) string {
	if email == "" || !strings.Contains(email, "@") {
		return ""
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, u := range s.byName {
		if strings.EqualFold(u.Email, email) {
			return u.Username
		}
	}
	return ""
}

// checkPassword authenticates a user with lockout, lazy migration and audit; it
// returns http.StatusOK, StatusUnauthorized or StatusLocked.
func (s *Server) checkPassword(username, password string) (User, int) {
	s.mu.RLock()
	var u User
	p, ok := s.byName[username]
	actor := "unknown"
	if ok {
		u, actor, ok = *p, p.ID, p.Active
	}
	s.mu.RUnlock()
	hash, imported := u.Hash, u.imported
	if s.lock.Locked(username) {
		s.audit.Record(ehr.Event{Kind: ehr.KindLoginFailed, Actor: actor, Reason: "locked"})
		return User{}, http.StatusLocked
	}
	verified := ok && hash.Verify(password)
	if imported != nil {
		verified = ok && imported.verify(password)
	}
	if verified && hash.Scheme == passhash.SaltedSHA256 && s.cfg.Drifts.LazyMigrationBroken {
		verified = false
	}
	if !verified {
		s.audit.Record(ehr.Event{Kind: ehr.KindLoginFailed, Actor: actor, Reason: "invalid_credentials"})
		if s.lock.Fail(username) {
			return User{}, http.StatusLocked
		}
		return User{}, http.StatusUnauthorized
	}
	s.lock.Reset(username)
	if hash.Scheme != passhash.Bcrypt || imported != nil {
		// Lazy migration: the password is known good, store it as bcrypt from now on.
		if nh, err := passhash.New(passhash.Bcrypt, password, s.cfg.BcryptCost); err == nil {
			s.mu.Lock()
			if cur, ok := s.users[u.ID]; ok {
				cur.Hash, cur.imported = nh, nil
			}
			s.mu.Unlock()
		}
	}
	s.audit.Record(ehr.Event{Kind: ehr.KindLogin, Actor: u.ID})
	return u, http.StatusOK
}

// issueCode ends an authorization request with a code sent to the redirect URI.
func (s *Server) issueCode(w http.ResponseWriter, r *http.Request, ar *authRequest, user, sid string, authTime time.Time) {
	c := respond.ID()
	cd := &code{authRequest: *ar, user: user, session: sid, authTime: authTime}
	cd.expires = s.cfg.Now().Add(s.cfg.CodeTTL)
	s.mu.Lock()
	s.tokens.codes[c] = cd
	s.mu.Unlock()
	q := url.Values{"code": {c}, "iss": {s.cfg.Issuer}}
	if ar.state != "" {
		q.Set("state", ar.state)
	}
	http.Redirect(w, r, withQuery(ar.redirect, q), http.StatusSeeOther)
}

// HashScheme reports the scheme the password of user id is stored under now, so a
// test can see a lazy migration happen.
func (s *Server) HashScheme(id string) string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if u, ok := s.users[id]; ok {
		if u.imported != nil {
			return u.imported.scheme
		}
		return u.Hash.Scheme
	}
	return ""
}
