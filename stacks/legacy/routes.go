package legacy

import (
	"crypto/subtle"
	"encoding/json"
	"html/template"
	"io"
	"net/http"
	"time"

	"github.com/cutover-dev/cutover/stacks/internal/ehr"
	"github.com/cutover-dev/cutover/stacks/internal/respond"
)

// CSRFCookie binds the hidden csrf_token of the login form to the browser.
const CSRFCookie = "legacy_csrf"

func (s *Server) routes() {
	s.mux.HandleFunc("GET /login", s.loginPage)
	s.mux.HandleFunc("POST /login", s.loginForm)
	s.mux.HandleFunc("GET /home", s.home)
	s.mux.HandleFunc("POST /logout", s.logoutForm)
	s.mux.HandleFunc("POST /api/login", s.loginJSON)
	s.mux.HandleFunc("GET /api/me", s.me)
	s.mux.HandleFunc("POST /api/session/renew", s.renew)
	s.mux.HandleFunc("POST /api/logout", s.logoutJSON)
	s.mux.HandleFunc("GET /api/whoami", s.whoami)
	s.mux.HandleFunc("POST /api/breakglass", s.breakGlass)
	s.mux.HandleFunc("DELETE /api/breakglass/{id}", s.endBreakGlass)
	s.resources.Register(s.mux)
}

var pages = template.Must(template.New("login").Parse(`<!doctype html>
<html><head><title>Legacy CIAM: sign in</title></head><body>
<h1>Sign in</h1>
{{if .Error}}<p id="error" role="alert">{{.Error}}</p>{{end}}
<form id="login-form" method="post" action="/login">
<label>Username <input name="username" autocomplete="username"></label>
<label>Password <input name="password" type="password" autocomplete="current-password"></label>
<input type="hidden" name="csrf_token" value="{{.CSRF}}">
<button type="submit" id="login-submit">Sign in</button>
</form></body></html>
`))

var homePage = template.Must(template.New("home").Parse(`<!doctype html>
<html><head><title>Legacy CIAM: home</title></head><body>
<h1 id="welcome">Welcome, {{.Name}}</h1>
<form id="logout-form" method="post" action="/logout">
<input type="hidden" name="csrf_token" value="{{.CSRF}}">
<button type="submit" id="logout-submit">Sign out</button>
</form></body></html>
`))

// renderLogin answers with the login form and a fresh CSRF token bound to a cookie.
func (s *Server) renderLogin(w http.ResponseWriter, status int, msg string) {
	token := respond.ID()
	http.SetCookie(w, &http.Cookie{Name: CSRFCookie, Value: token, Path: "/login", HttpOnly: true, SameSite: http.SameSiteStrictMode})
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = pages.Execute(w, struct{ Error, CSRF string }{msg, token})
}

func (s *Server) loginPage(w http.ResponseWriter, _ *http.Request) {
	s.renderLogin(w, http.StatusOK, "")
}

func sameToken(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// login outcomes.
type outcome int

const (
	loggedIn outcome = iota
	badCredentials
	locked
)

// authenticate checks a username and password, with lockout and audit.
func (s *Server) authenticate(username, password string) (*User, outcome) {
	if s.lock.Locked(username) {
		s.audit.Record(ehr.Event{Kind: ehr.KindLoginFailed, Actor: s.actorOf(username), Reason: "locked"})
		return nil, locked
	}
	s.mu.RLock()
	u, ok := s.byName[username]
	s.mu.RUnlock()
	if !ok || !u.Hash.Verify(password) {
		nowLocked := s.lock.Fail(username)
		s.audit.Record(ehr.Event{Kind: ehr.KindLoginFailed, Actor: s.actorOf(username), Reason: "invalid_credentials"})
		if nowLocked {
			return nil, locked
		}
		return nil, badCredentials
	}
	s.lock.Reset(username)
	s.audit.Record(ehr.Event{Kind: ehr.KindLogin, Actor: u.ID})
	return u, loggedIn
}

// actorOf names the actor of a login attempt: the user id when the username exists.
func (s *Server) actorOf(username string) string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if u, ok := s.byName[username]; ok {
		return u.ID
	}
	return "unknown"
}

func (s *Server) setSessionCookie(w http.ResponseWriter, ss *session) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: ss.id, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
}

func (s *Server) loginForm(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.renderLogin(w, http.StatusBadRequest, "Bad request.")
		return
	}
	c, err := r.Cookie(CSRFCookie)
	if err != nil || !sameToken(c.Value, r.PostForm.Get("csrf_token")) {
		s.renderLogin(w, http.StatusForbidden, "Your session expired, please try again.")
		return
	}
	u, out := s.authenticate(r.PostForm.Get("username"), r.PostForm.Get("password"))
	switch out {
	case locked:
		s.renderLogin(w, http.StatusLocked, "Account locked. Try again later.")
		return
	case badCredentials:
		s.renderLogin(w, http.StatusUnauthorized, "Invalid username or password.")
		return
	}
	s.setSessionCookie(w, s.newSession(u.ID))
	http.Redirect(w, r, "/home", http.StatusSeeOther)
}

func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	ss, u, ok := s.lookup(r, true)
	if !ok {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	name := u.Name
	if name == "" {
		name = u.Username
	}
	_ = homePage.Execute(w, struct{ Name, CSRF string }{name, ss.csrf})
}

func (s *Server) logoutForm(w http.ResponseWriter, r *http.Request) {
	if ss, _, ok := s.lookup(r, false); ok {
		if !sameToken(ss.csrf, r.PostFormValue("csrf_token")) {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		s.endSession(ss.id)
		s.audit.Record(ehr.Event{Kind: ehr.KindLogout, Actor: ss.user})
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

func decodeJSON(r *http.Request, v any) error {
	return json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(v)
}

func (s *Server) loginJSON(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if err := decodeJSON(r, &in); err != nil {
		respond.Error(w, http.StatusBadRequest, "invalid_request", "want a JSON body with username and password")
		return
	}
	u, out := s.authenticate(in.Username, in.Password)
	switch out {
	case locked:
		respond.Error(w, http.StatusLocked, "locked", "")
		return
	case badCredentials:
		respond.Error(w, http.StatusUnauthorized, "invalid_credentials", "")
		return
	}
	ss := s.newSession(u.ID)
	s.setSessionCookie(w, ss)
	respond.JSON(w, http.StatusOK, map[string]any{
		"session_id":         ss.id,
		"idle_timeout_s":     int64(s.cfg.IdleTimeout / time.Second),
		"absolute_timeout_s": int64(s.cfg.AbsoluteTimeout / time.Second),
	})
}

func (s *Server) me(w http.ResponseWriter, r *http.Request) {
	ss, u, ok := s.lookup(r, true)
	if !ok {
		respond.Error(w, http.StatusUnauthorized, "unauthenticated", "")
		return
	}
	respond.JSON(w, http.StatusOK, map[string]any{"id": u.ID, "username": u.Username, "roles": u.Roles, "session": s.remaining(ss)})
}

func (s *Server) renew(w http.ResponseWriter, r *http.Request) {
	ss, _, ok := s.lookup(r, true)
	if !ok {
		respond.Error(w, http.StatusUnauthorized, "unauthenticated", "")
		return
	}
	respond.JSON(w, http.StatusOK, s.remaining(ss))
}

func (s *Server) logoutJSON(w http.ResponseWriter, r *http.Request) {
	ss, _, ok := s.lookup(r, false)
	if !ok {
		respond.Error(w, http.StatusUnauthorized, "unauthenticated", "")
		return
	}
	s.endSession(ss.id)
	s.audit.Record(ehr.Event{Kind: ehr.KindLogout, Actor: ss.user})
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true})
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) whoami(w http.ResponseWriter, r *http.Request) {
	sa, ok := s.serviceAccount(r.Header.Get(APIKeyHeader))
	if !ok {
		respond.Error(w, http.StatusUnauthorized, "unauthenticated", "")
		return
	}
	respond.JSON(w, http.StatusOK, map[string]any{"id": sa.ID, "username": sa.Username, "permissions": sa.Permissions})
}

func (s *Server) breakGlass(w http.ResponseWriter, r *http.Request) {
	_, u, ok := s.lookup(r, true)
	if !ok {
		respond.Error(w, http.StatusUnauthorized, "unauthenticated", "")
		return
	}
	var in struct {
		Patient string `json:"patient_id"`
		Reason  string `json:"reason"`
	}
	if err := decodeJSON(r, &in); err != nil {
		respond.Error(w, http.StatusBadRequest, "invalid_request", "want a JSON body with patient_id and reason")
		return
	}
	g, err := s.grants.Start(s.principal(u), in.Patient, in.Reason, s.records)
	switch err {
	case nil:
	case ehr.ErrReasonRequired:
		respond.Error(w, http.StatusBadRequest, "reason_required", "")
		return
	case ehr.ErrNotEligible:
		s.audit.Record(ehr.Event{Kind: ehr.KindDeny, Actor: u.ID, Subject: in.Patient, Resource: "breakglass", Reason: in.Reason})
		respond.Error(w, http.StatusForbidden, "not_eligible", "")
		return
	default:
		respond.Error(w, http.StatusNotFound, "not_found", "")
		return
	}
	respond.JSON(w, http.StatusCreated, map[string]any{"grant_id": g.ID, "expires_in": int64(s.grants.TTL() / time.Second)})
}

func (s *Server) endBreakGlass(w http.ResponseWriter, r *http.Request) {
	_, u, ok := s.lookup(r, true)
	if !ok {
		respond.Error(w, http.StatusUnauthorized, "unauthenticated", "")
		return
	}
	if !s.grants.End(u.ID, r.PathValue("id")) {
		respond.Error(w, http.StatusNotFound, "not_found", "")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
