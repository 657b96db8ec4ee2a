package candidate

import (
	"crypto/sha256"
	"encoding/base64"
	"html/template"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/cutover-dev/cutover/stacks/internal/respond"
)

// PortalCookie is the session cookie of the /portal/ landing app.
const PortalCookie = "PORTAL_SESSION"

// portal is the candidate's own relying party: a landing page for browser journeys.
// It runs the same code flow with PKCE as any client, calling the provider in-process.
type portal struct {
	mu       sync.Mutex
	pending  map[string]portalPending // by state
	sessions map[string]portalSession
}

type portalPending struct {
	verifier string
	expires  time.Time
}

type portalSession struct {
	user    string
	access  string
	idToken string
}

var portalHome = template.Must(template.New("portal").Parse(`<!doctype html>
<html><head><title>Patient portal</title></head><body>
<h1 id="welcome">Welcome, {{.Name}}</h1>
<p id="roles">Roles: {{range .Roles}}<span class="role">{{.}}</span> {{end}}</p>
<form id="logout-form" method="post" action="/portal/logout">
<button type="submit" id="logout-submit">Sign out</button>
</form></body></html>
`))

const portalSignedOut = `<!doctype html><html><head><title>Patient portal</title></head><body>
<h1 id="signed-out">You are signed out.</h1><a id="sign-in" href="/portal/">Sign in again</a></body></html>`

func (s *Server) registerPortal() {
	s.portal = &portal{pending: make(map[string]portalPending), sessions: make(map[string]portalSession)}
	s.mux.HandleFunc("GET /portal/{$}", s.portalHome)
	s.mux.HandleFunc("GET /portal/callback", s.portalCallback)
	s.mux.HandleFunc("POST /portal/logout", s.portalLogout)
	s.mux.HandleFunc("GET /portal/signed-out", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(portalSignedOut))
	})
}

func (s *Server) portalSession(r *http.Request) (string, portalSession, bool) {
	ck, err := r.Cookie(PortalCookie)
	if err != nil {
		return "", portalSession{}, false
	}
	s.portal.mu.Lock()
	ps, ok := s.portal.sessions[ck.Value]
	s.portal.mu.Unlock()
	return ck.Value, ps, ok
}

func (s *Server) portalHome(w http.ResponseWriter, r *http.Request) {
	if _, ps, ok := s.portalSession(r); ok {
		if _, err := s.parseAccess(ps.access); err == nil {
			u, _ := s.user(ps.user)
			name := u.Name
			if name == "" {
				name = u.Username
			}
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Cache-Control", "no-store")
			_ = portalHome.Execute(w, struct {
				Name  string
				Roles []string
			}{name, u.Roles})
			return
		}
	}
	// Not signed in (or the token died): start a code flow with PKCE.
	state, verifier := respond.ID(), respond.ID()+respond.ID()
	sum := sha256.Sum256([]byte(verifier))
	s.portal.mu.Lock()
	s.portal.pending[state] = portalPending{verifier: verifier, expires: s.cfg.Now().Add(15 * time.Minute)}
	s.portal.mu.Unlock()
	q := url.Values{
		"response_type": {"code"}, "client_id": {PortalClientID}, "redirect_uri": {s.cfg.Issuer + "/portal/callback"},
		"scope": {"openid profile"}, "state": {state}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"},
	}
	http.Redirect(w, r, "/authorize?"+q.Encode(), http.StatusFound)
}

func (s *Server) portalCallback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.portal.mu.Lock()
	p, ok := s.portal.pending[q.Get("state")]
	delete(s.portal.pending, q.Get("state"))
	s.portal.mu.Unlock()
	if !ok || !s.cfg.Now().Before(p.expires) || q.Get("code") == "" {
		http.Error(w, "sign-in failed; start again at /portal/", http.StatusBadRequest)
		return
	}
	c, _ := s.client(PortalClientID)
	resp, err := s.exchangeCode(c, q.Get("code"), s.cfg.Issuer+"/portal/callback", p.verifier)
	if err != nil {
		http.Error(w, "sign-in failed; start again at /portal/", http.StatusBadRequest)
		return
	}
	access, _ := resp["access_token"].(string)
	ac, err := s.verifyAccess(access)
	if err != nil {
		http.Error(w, "sign-in failed", http.StatusInternalServerError)
		return
	}
	idt, _ := resp["id_token"].(string)
	sid := respond.ID()
	s.portal.mu.Lock()
	s.portal.sessions[sid] = portalSession{user: ac.Subject, access: access, idToken: idt}
	s.portal.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: PortalCookie, Value: sid, Path: "/portal/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, "/portal/", http.StatusSeeOther)
}

// portalLogout ends the portal session and hands over to the provider's end_session.
func (s *Server) portalLogout(w http.ResponseWriter, r *http.Request) {
	id, ps, ok := s.portalSession(r)
	if ok {
		s.portal.mu.Lock()
		delete(s.portal.sessions, id)
		s.portal.mu.Unlock()
	}
	http.SetCookie(w, &http.Cookie{Name: PortalCookie, Value: "", Path: "/portal/", MaxAge: -1, HttpOnly: true})
	q := url.Values{"client_id": {PortalClientID}, "post_logout_redirect_uri": {s.cfg.Issuer + "/portal/signed-out"}}
	if ps.idToken != "" {
		q.Set("id_token_hint", ps.idToken)
	}
	http.Redirect(w, r, "/end_session?"+q.Encode(), http.StatusSeeOther)
}
