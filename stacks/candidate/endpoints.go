package candidate

import (
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/cutover-dev/cutover/stacks/internal/ehr"
	"github.com/cutover-dev/cutover/stacks/internal/respond"
)

func (s *Server) routes() {
	s.mux.HandleFunc("GET /.well-known/openid-configuration", s.discovery)
	s.mux.HandleFunc("GET /jwks.json", func(w http.ResponseWriter, _ *http.Request) { respond.JSON(w, http.StatusOK, s.jwks()) })
	s.mux.HandleFunc("GET /authorize", s.authorize)
	s.mux.HandleFunc("POST /login", s.login)
	s.mux.HandleFunc("POST /token", s.token)
	if !s.cfg.Dialect.NoRevocation {
		s.mux.HandleFunc("POST /revoke", s.revoke)
	}
	s.mux.HandleFunc("POST /introspect", s.introspect)
	s.mux.HandleFunc("GET /userinfo", s.userinfo)
	s.mux.HandleFunc("POST /userinfo", s.userinfo)
	s.mux.HandleFunc("GET /end_session", s.endSession)
	s.mux.HandleFunc("POST /end_session", s.endSession)
	s.registerSCIM()
	s.registerBulkImport()
	s.registerPortal()
	s.resources.Register(s.mux)
}

func (s *Server) discovery(w http.ResponseWriter, _ *http.Request) {
	iss := s.cfg.Issuer
	doc := map[string]any{
		"issuer":                                         iss,
		"authorization_endpoint":                         iss + "/authorize",
		"token_endpoint":                                 iss + "/token",
		"jwks_uri":                                       iss + "/jwks.json",
		"userinfo_endpoint":                              iss + "/userinfo",
		"revocation_endpoint":                            iss + "/revoke",
		"introspection_endpoint":                         iss + "/introspect",
		"end_session_endpoint":                           iss + "/end_session",
		"response_types_supported":                       []string{"code"},
		"grant_types_supported":                          []string{grantCode, grantRefresh, grantClientCredentials, grantTokenExchange},
		"code_challenge_methods_supported":               []string{"S256"},
		"subject_types_supported":                        []string{"public"},
		"id_token_signing_alg_values_supported":          []string{"ES256"},
		"token_endpoint_auth_methods_supported":          []string{"none", "client_secret_basic", "client_secret_post"},
		"scopes_supported":                               s.scopesSupported(),
		"claims_supported":                               []string{"iss", "sub", "aud", "exp", "iat", "jti", "client_id", "scope", "roles", "sid", "auth_time", "nonce", "preferred_username", "name", "email"},
		"authorization_response_iss_parameter_supported": true,
		"scim_endpoint":                                  iss + "/scim/v2",
		"resource_identifier":                            Audience,
		"breakglass_token_ttl_s":                         int64(s.cfg.BreakGlassTTL / time.Second),
	}
	if s.cfg.Dialect.NoRevocation {
		delete(doc, "revocation_endpoint")
	}
	if s.cfg.Dialect.OmitGrants {
		doc["grant_types_supported"] = []string{grantCode}
	}
	switch {
	case s.cfg.Dialect.PrivateKeyJWTOnly:
		doc["token_endpoint_auth_methods_supported"] = []string{"private_key_jwt"}
		doc["token_endpoint_auth_signing_alg_values_supported"] = []string{"RS384", "ES256", "ES384", "EdDSA"}
	case s.cfg.Dialect.SecretPostOnly:
		doc["token_endpoint_auth_methods_supported"] = []string{"client_secret_post"}
	}
	respond.JSON(w, http.StatusOK, doc)
}

func (s *Server) scopesSupported() []string {
	out := slices.Clone(oidcScopes)
	for _, m := range s.cfg.RoleMap.Roles {
		out = append(out, m.Scopes...)
	}
	out = append(out, s.cfg.RoleMap.allServiceScopes()...)
	return sortedSet(append(out, ProvisionerScope))
}

// authn resolves bearer access tokens to principals for the resource server.
type authn struct{ s *Server }

func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

func (a authn) Authenticate(r *http.Request) (ehr.Principal, bool) {
	c, err := a.s.parseAccess(bearer(r))
	if err != nil {
		return ehr.Principal{}, false
	}
	if u, ok := a.s.user(c.Subject); ok {
		if !u.Active {
			return ehr.Principal{}, false
		}
		return principal(u, c.BreakGlass), true
	}
	// Otherwise a service account: its client must still exist with this subject.
	if cl, ok := a.s.client(c.ClientID); !ok || cl.subject != c.Subject {
		return ehr.Principal{}, false
	}
	p := ehr.Principal{ID: c.Subject}
	for _, sc := range strings.Fields(c.Scope) {
		if perm, ok := a.s.cfg.RoleMap.permission(sc); ok {
			p.Permissions = append(p.Permissions, perm)
		}
	}
	return p, true
}

// principal is a user as the shared policy sees it: candidate role names are the
// policy's role names. The roles come from the directory, not the token, so a token
// without a roles claim (drift roles-claim-dropped) still decides the same.
func principal(u User, bg *BreakGlassClaim) ehr.Principal {
	p := ehr.Principal{ID: u.ID}
	for _, r := range u.Roles {
		p.Roles = append(p.Roles, ehr.Role(r))
	}
	if bg != nil {
		p.BreakGlass = []string{bg.GrantID}
	}
	return p
}

// revoke is the RFC 7009 revocation endpoint. Revoking a refresh token or an access
// token revokes the whole grant (s2.1 allows both); the answer is 200 whatever the token.
func (s *Server) revoke(w http.ResponseWriter, r *http.Request) {
	c, err := s.authClient(r)
	if err != nil {
		writeOAuthError(w, err)
		return
	}
	tok := r.PostForm.Get("token")
	ac, acErr := s.verifyAccess(tok)
	raw := s.unwrap(tok)
	s.mu.Lock()
	var user, endGrant string
	if rt, ok := s.tokens.refresh[digest(tok)]; ok {
		if g := s.tokens.grants[rt.grant]; g != nil && g.client == c.id {
			s.revokeGrant(g)
			user = g.user
		}
	} else if acErr == nil && s.issuedTo(ac, raw, c.id) {
		if at := s.tokens.access[accessKey(raw, ac)]; at != nil {
			at.revoked = true
			endGrant = at.breakGlass
			if g := s.tokens.grants[at.grant]; g != nil && at.breakGlass == "" {
				s.revokeGrant(g)
			}
		}
		user = ac.Subject
	}
	s.mu.Unlock()
	if endGrant != "" {
		s.grants.End(user, endGrant)
	} else if user != "" {
		s.audit.Record(ehr.Event{Kind: ehr.KindLogout, Actor: user, Reason: "revocation"})
	}
	w.WriteHeader(http.StatusOK)
}

// issuedTo reports whether access token raw (claims ac) was issued to client:
// its client_id claim, or without one (the no-jti dialect) its grant's client.
// Callers hold s.mu.
func (s *Server) issuedTo(ac *AccessClaims, raw, client string) bool {
	if ac.ClientID != "" {
		return ac.ClientID == client
	}
	at := s.tokens.access[accessKey(raw, ac)]
	if at == nil {
		return false
	}
	g := s.tokens.grants[at.grant]
	return g != nil && g.client == client
}

// issuedToLocked is issuedTo, taking s.mu.
func (s *Server) issuedToLocked(ac *AccessClaims, raw, client string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.issuedTo(ac, raw, client)
}

// introspect is the RFC 7662 introspection endpoint, for the introspection client.
func (s *Server) introspect(w http.ResponseWriter, r *http.Request) {
	c, err := s.authClient(r)
	if err != nil || !c.introspect {
		writeOAuthError(w, &oauthError{http.StatusUnauthorized, "invalid_client", "client may not introspect"})
		return
	}
	tok := r.PostForm.Get("token")
	inactive := map[string]any{"active": false}
	own := s.cfg.Dialect.IntrospectOwnClient
	if ac, err := s.parseAccess(tok); err == nil && (s.cfg.Dialect.IntrospectionInactive || own && !s.issuedToLocked(ac, s.unwrap(tok), c.id)) {
		respond.JSON(w, http.StatusOK, inactive)
		return
	} else if err == nil {
		respond.JSON(w, http.StatusOK, map[string]any{
			"active": true, "token_type": "Bearer", "scope": ac.Scope, "client_id": ac.ClientID,
			"sub": ac.Subject, "aud": ac.Audience, "iss": ac.Issuer, "jti": ac.ID,
			"exp": ac.ExpiresAt.Unix(), "iat": ac.IssuedAt.Unix(),
		})
		return
	}
	now := s.cfg.Now()
	s.mu.RLock()
	defer s.mu.RUnlock()
	rt, ok := s.tokens.refresh[digest(tok)]
	if !ok {
		respond.JSON(w, http.StatusOK, inactive)
		return
	}
	g := s.tokens.grants[rt.grant]
	if !liveGrant(g, now) || rt.used && !s.cfg.Drifts.RefreshReuseAccepted || own && g.client != c.id {
		respond.JSON(w, http.StatusOK, inactive)
		return
	}
	respond.JSON(w, http.StatusOK, map[string]any{
		"active": true, "token_type": "refresh_token", "scope": strings.Join(g.scopes, " "),
		"client_id": g.client, "sub": g.user, "iss": s.cfg.Issuer,
		"exp": g.expires.Unix(), "iat": rt.issued.Unix(),
	})
}

func (s *Server) userinfo(w http.ResponseWriter, r *http.Request) {
	c, err := s.parseAccess(bearer(r))
	if err != nil {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		respond.Error(w, http.StatusUnauthorized, "invalid_token", "")
		return
	}
	u, ok := s.user(c.Subject)
	if !ok || !u.Active {
		respond.Error(w, http.StatusForbidden, "insufficient_scope", "not a user's token")
		return
	}
	respond.JSON(w, http.StatusOK, map[string]any{
		"sub": u.ID, "preferred_username": u.Username, "name": u.Name, "email": u.Email, "roles": s.rolesClaim(u.Roles),
	})
}

// endSession is RP-initiated logout: it ends the single sign-on session named by the
// id_token_hint (or the session cookie) and revokes every grant issued in it.
func (s *Server) endSession(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		respond.Error(w, http.StatusBadRequest, "invalid_request", "bad form")
		return
	}
	sid, clientID := "", r.Form.Get("client_id")
	if hint := r.Form.Get("id_token_hint"); hint != "" {
		c, err := s.parseIDTokenHint(hint)
		if err != nil {
			respond.Error(w, http.StatusBadRequest, "invalid_request", "id_token_hint is not valid")
			return
		}
		sid = c.SessionID
		if clientID == "" && len(c.Audience) > 0 {
			clientID = c.Audience[0]
		}
	} else if ck, err := r.Cookie(SessionCookie); err == nil {
		sid = ck.Value
	}
	redirect, state := r.Form.Get("post_logout_redirect_uri"), r.Form.Get("state")
	if redirect != "" {
		c, ok := s.client(clientID)
		if !ok || !slices.Contains(c.postLogout, redirect) {
			respond.Error(w, http.StatusBadRequest, "invalid_request", "post_logout_redirect_uri is not registered")
			return
		}
	}
	if d := s.cfg.Dialect; d.LogoutConfirm || d.LogoutScript {
		var ok bool
		if sid, redirect, state, ok = s.confirmLogout(w, r, sid, redirect, state); !ok {
			return
		}
	}
	if user := s.endSSO(sid); user != "" {
		s.audit.Record(ehr.Event{Kind: ehr.KindLogout, Actor: user, Reason: "end_session"})
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true})
	if redirect != "" {
		q := url.Values{}
		if state != "" {
			q.Set("state", state)
		}
		if len(q) > 0 {
			redirect = withQuery(redirect, q)
		}
		http.Redirect(w, r, redirect, http.StatusFound)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write([]byte(`<!doctype html><html><head><title>Signed out</title></head><body><h1 id="signed-out">You are signed out.</h1></body></html>`))
}

// endSSO ends session sid and revokes its grants; it returns the session's user.
func (s *Server) endSSO(sid string) string {
	if sid == "" {
		return ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.tokens.sessions[sid]
	if !ok || sess.ended {
		return ""
	}
	sess.ended = true
	for _, id := range sess.grants {
		if g := s.tokens.grants[id]; g != nil {
			s.revokeGrant(g)
		}
	}
	return sess.user
}

// pendingLogout is an end_session request waiting for the user's confirmation.
type pendingLogout struct {
	sid, redirect, state string
	expires              time.Time
}

// confirmLogout asks the user to confirm an end_session request (the
// logout-confirm and logout-script dialects): the first request gets the
// confirmation page and false; the confirmation posted back (logout=yes with
// the page's anti-forgery value) returns the request it confirms and true.
func (s *Server) confirmLogout(w http.ResponseWriter, r *http.Request, sid, redirect, state string) (string, string, string, bool) {
	now := s.cfg.Now()
	if xsrf := r.PostForm.Get("xsrf"); r.Method == http.MethodPost && xsrf != "" {
		s.mu.Lock()
		p, ok := s.tokens.logouts[xsrf]
		delete(s.tokens.logouts, xsrf)
		s.mu.Unlock()
		switch {
		case !ok || !now.Before(p.expires):
			respond.Error(w, http.StatusBadRequest, "invalid_request", "unknown or expired logout request; start again")
			return "", "", "", false
		case r.PostForm.Get("logout") != "yes":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = w.Write([]byte(`<!doctype html><html><head><title>Still signed in</title></head><body><h1>You are still signed in.</h1></body></html>`))
			return "", "", "", false
		}
		return p.sid, p.redirect, p.state, true
	}
	xsrf := respond.ID()
	s.mu.Lock()
	for k, p := range s.tokens.logouts {
		if !now.Before(p.expires) {
			delete(s.tokens.logouts, k)
		}
	}
	s.tokens.logouts[xsrf] = pendingLogout{sid: sid, redirect: redirect, state: state, expires: now.Add(10 * time.Minute)}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	page := logoutConfirmPage
	if s.cfg.Dialect.LogoutScript {
		page = logoutScriptPage
	}
	_ = page.Execute(w, struct{ Action, XSRF string }{s.cfg.Issuer + "/end_session", xsrf})
	return "", "", "", false
}

var logoutConfirmPage = template.Must(template.New("confirm").Parse(`<!doctype html><html><head><title>Sign out?</title></head><body>
<h1>Do you want to sign out?</h1>
<form id="logout-form" method="post" action="{{.Action}}">
<input type="hidden" name="xsrf" value="{{.XSRF}}">
<button type="submit" name="logout" value="yes">Yes, sign me out</button>
<button type="submit" name="logout" value="no">No, stay signed in</button>
</form></body></html>`))

// logoutScriptPage confirms by script only, as single-page logout apps do.
var logoutScriptPage = template.Must(template.New("script").Parse(`<!doctype html><html><head><title>Signing out</title></head><body>
<h1 id="status">Signing out...</h1>
<script>
const f = document.createElement("form");
f.method = "post";
f.action = {{.Action}};
for (const [k, v] of [["xsrf", {{.XSRF}}], ["logout", "yes"]]) {
  const i = document.createElement("input");
  i.type = "hidden"; i.name = k; i.value = v;
  f.appendChild(i);
}
document.body.appendChild(f);
f.submit();
</script></body></html>`))
