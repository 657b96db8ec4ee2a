package candidate

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/cutover-dev/cutover/stacks/internal/ehr"
	"github.com/cutover-dev/cutover/stacks/internal/respond"
)

// Grant types of the token endpoint.
const (
	grantCode              = "authorization_code"
	grantRefresh           = "refresh_token"
	grantClientCredentials = "client_credentials"
	grantTokenExchange     = "urn:ietf:params:oauth:grant-type:token-exchange"
	tokenTypeAccess        = "urn:ietf:params:oauth:token-type:access_token"
)

// oauthError is an error answer of the token endpoint (RFC 6749 s5.2).
type oauthError struct {
	status int
	code   string
	desc   string
}

func (e *oauthError) Error() string { return e.code + ": " + e.desc }

func invalidGrant(desc string) *oauthError {
	return &oauthError{http.StatusBadRequest, "invalid_grant", desc}
}

func writeOAuthError(w http.ResponseWriter, err error) {
	var oe *oauthError
	if !errors.As(err, &oe) {
		oe = &oauthError{http.StatusInternalServerError, "server_error", ""}
	}
	if oe.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="token"`)
	}
	respond.Error(w, oe.status, oe.code, oe.desc)
}

// writeTokenError is writeOAuthError at the token endpoint, where the
// empty-refusals dialect answers a refusal with its status and no body.
func (s *Server) writeTokenError(w http.ResponseWriter, err error) {
	var oe *oauthError
	if s.cfg.Dialect.EmptyRefusals && errors.As(err, &oe) && oe.status < 500 {
		w.WriteHeader(oe.status)
		return
	}
	writeOAuthError(w, err)
}

// authClient parses the form of a token, revocation or introspection request and
// authenticates its client: HTTP Basic or client_id/client_secret in the form, or
// a private_key_jwt assertion (RFC 7523); a public client sends only its id. The
// dialects narrow the methods a client may use.
func (s *Server) authClient(r *http.Request) (*client, error) {
	if err := r.ParseForm(); err != nil {
		return nil, &oauthError{http.StatusBadRequest, "invalid_request", "bad form"}
	}
	bad := &oauthError{http.StatusUnauthorized, "invalid_client", "client authentication failed"}
	if r.PostForm.Get("client_assertion_type") == clientAssertionType {
		return s.assertedClient(r.PostForm.Get("client_id"), r.PostForm.Get("client_assertion"))
	}
	id, secret, basic := r.BasicAuth()
	if !basic {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	c, ok := s.client(id)
	if !ok || c.key != nil {
		return nil, bad
	}
	if c.confidential {
		if basic && s.cfg.Dialect.SecretPostOnly {
			return nil, bad
		}
		sum := sha256.Sum256([]byte(secret))
		if subtle.ConstantTimeCompare(sum[:], c.secret[:]) != 1 {
			return nil, bad
		}
	} else if secret != "" {
		return nil, bad
	}
	return c, nil
}

const clientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// assertedClient authenticates a client by its signed assertion: issuer and
// subject the client, audience the token endpoint, not expired, its jti never
// seen before (RFC 7523 s3).
func (s *Server) assertedClient(id, assertion string) (*client, error) {
	bad := &oauthError{http.StatusUnauthorized, "invalid_client", "client assertion rejected"}
	var claims jwt.RegisteredClaims
	var c *client
	_, err := jwt.ParseWithClaims(assertion, &claims, func(t *jwt.Token) (any, error) {
		iss, _ := t.Claims.GetIssuer()
		if id != "" && iss != id {
			return nil, errors.New("issuer is not the client")
		}
		var ok bool
		if c, ok = s.client(iss); !ok || c.key == nil {
			return nil, errors.New("client has no key")
		}
		return c.key, nil
	}, jwt.WithValidMethods([]string{"RS256", "RS384", "RS512", "PS256", "PS384", "ES256", "ES384", "ES512", "EdDSA"}),
		jwt.WithExpirationRequired(), jwt.WithTimeFunc(s.cfg.Now))
	// The audience is the token endpoint or the issuer (RFC 7523 s3).
	aimed := slices.ContainsFunc(claims.Audience, func(a string) bool { return a == s.cfg.Issuer+"/token" || a == s.cfg.Issuer })
	if err != nil || !aimed || claims.Subject != claims.Issuer || claims.ID == "" {
		return nil, bad
	}
	now := s.cfg.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, seen := s.tokens.assertions[claims.ID]; seen {
		return nil, bad
	}
	if len(s.tokens.assertions) >= 4096 {
		// Swept when large, not on every request: the jti of an expired
		// assertion can go, the assertion itself would be refused anyway.
		for jti, exp := range s.tokens.assertions {
			if now.After(exp) {
				delete(s.tokens.assertions, jti)
			}
		}
	}
	s.tokens.assertions[claims.ID] = claims.ExpiresAt.Time
	return c, nil
}

// token is the token endpoint.
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	c, err := s.authClient(r)
	if err != nil {
		s.writeTokenError(w, err)
		return
	}
	gt := r.PostForm.Get("grant_type")
	if !c.allows(gt) {
		s.writeTokenError(w, &oauthError{http.StatusBadRequest, "unauthorized_client", "grant type not allowed for this client"})
		return
	}
	var resp map[string]any
	switch gt {
	case grantCode:
		resp, err = s.exchangeCode(c, r.PostForm.Get("code"), r.PostForm.Get("redirect_uri"), r.PostForm.Get("code_verifier"))
	case grantRefresh:
		resp, err = s.refresh(c, r.PostForm.Get("refresh_token"), r.PostForm.Get("scope"))
	case grantClientCredentials:
		resp, err = s.clientCredentials(c, r.PostForm.Get("scope"))
	case grantTokenExchange:
		resp, err = s.exchangeToken(c, r)
	}
	if err != nil {
		s.writeTokenError(w, err)
		return
	}
	w.Header().Set("Pragma", "no-cache")
	respond.JSON(w, http.StatusOK, resp)
}

// grantScopes decides the scope of a user's grant: the requested protocol scopes plus
// the requested resource scopes the user holds, or all of them when none is named.
func grantScopes(requested []string, u *User) []string {
	var out, resource []string
	for _, sc := range requested {
		switch {
		case slices.Contains(oidcScopes, sc):
			out = append(out, sc)
		case slices.Contains(u.Scopes, sc):
			resource = append(resource, sc)
		}
	}
	if len(resource) == 0 {
		resource = u.Scopes
	}
	return sortedSet(append(out, resource...))
}

func pkceOK(verifier, challenge string) bool {
	if len(verifier) < 43 || len(verifier) > 128 {
		return false
	}
	sum := sha256.Sum256([]byte(verifier))
	return subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(challenge)) == 1
}

func (s *Server) exchangeCode(c *client, codeValue, redirect, verifier string) (map[string]any, error) {
	now := s.cfg.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	cd, ok := s.tokens.codes[codeValue]
	switch {
	case !ok || !now.Before(cd.expires):
		return nil, invalidGrant("unknown or expired code")
	case cd.used:
		// A replayed code revokes what it was exchanged for (RFC 6749 s4.1.2).
		if g, ok := s.tokens.grants[cd.grant]; ok {
			s.revokeFamily(g)
		}
		return nil, invalidGrant("code already used")
	case cd.client != c.id || cd.redirect != redirect:
		return nil, invalidGrant("client or redirect_uri does not match the authorization request")
	case !pkceOK(verifier, cd.challenge):
		return nil, invalidGrant("PKCE verification failed")
	}
	u, ok := s.users[cd.user]
	if !ok || !u.Active {
		return nil, invalidGrant("user no longer active")
	}
	g := &grant{
		id: respond.ID(), user: u.ID, client: c.id, scopes: grantScopes(cd.scopes, u),
		session: cd.session, expires: now.Add(s.cfg.RefreshTokenTTL),
		// consent-for-refresh: offline access only where the user was asked.
		noRefresh: s.cfg.Dialect.ConsentForRefresh && !(cd.consent && slices.Contains(cd.scopes, "offline_access")),
	}
	s.tokens.grants[g.id] = g
	if sess, ok := s.tokens.sessions[cd.session]; ok {
		sess.grants = append(sess.grants, g.id)
	}
	cd.used, cd.grant = true, g.id
	resp, err := s.issue(g, u, cd.authTime, "")
	if err != nil {
		return nil, err
	}
	if slices.Contains(g.scopes, "openid") {
		idt, err := s.sign("JWT", idClaims{
			RegisteredClaims: jwt.RegisteredClaims{
				Issuer: s.cfg.Issuer, Subject: u.ID, Audience: jwt.ClaimStrings{c.id},
				ExpiresAt: jwt.NewNumericDate(now.Add(s.cfg.AccessTokenTTL)), IssuedAt: jwt.NewNumericDate(now),
			},
			Nonce: cd.nonce, AuthTime: cd.authTime.Unix(), SessionID: cd.session,
			PreferredUsername: u.Username, Name: u.Name, Roles: s.rolesClaim(u.Roles),
		})
		if err != nil {
			return nil, err
		}
		resp["id_token"] = idt
	}
	return resp, nil
}

// issue mints an access token and, unless keep is set, a fresh refresh token for g.
// Callers hold s.mu.
func (s *Server) issue(g *grant, u *User, authTime time.Time, keep string) (map[string]any, error) {
	at, err := s.mintAccess(u.ID, g.client, g.scopes, u.Roles, g.id, g.session, authTime, s.cfg.AccessTokenTTL, nil)
	if err != nil {
		return nil, err
	}
	resp := map[string]any{
		"access_token": at, "token_type": "Bearer", "expires_in": int64(s.cfg.AccessTokenTTL / time.Second),
		"scope": strings.Join(g.scopes, " "),
	}
	if g.noRefresh {
		return resp, nil
	}
	rt := keep
	if rt == "" {
		rt = respond.ID() + respond.ID()
		s.tokens.refresh[digest(rt)] = &refreshToken{grant: g.id, issued: s.cfg.Now()}
	}
	resp["refresh_token"], resp["refresh_expires_in"] = rt, int64(g.expires.Sub(s.cfg.Now())/time.Second)
	return resp, nil
}

func (s *Server) refresh(c *client, token, scope string) (map[string]any, error) {
	now := s.cfg.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	rt, ok := s.tokens.refresh[digest(token)]
	if !ok {
		return nil, invalidGrant("unknown refresh token")
	}
	g := s.tokens.grants[rt.grant]
	switch {
	case g == nil || g.client != c.id:
		return nil, invalidGrant("unknown refresh token")
	case !liveGrant(g, now):
		return nil, invalidGrant("refresh token revoked or expired")
	case rt.used && s.cfg.Dialect.ReuseWindow > 0 && now.Sub(rt.usedAt) < s.cfg.Dialect.ReuseWindow:
		// Inside the reuse window a rotated token still works (a client that
		// lost the answer may retry): it is answered like a fresh one.
	case rt.used && !s.cfg.Drifts.RefreshReuseAccepted:
		// Reuse detection (RFC 9700 s4.14.2): a rotated token came back, so either
		// the client or an attacker holds a stolen copy. End the whole family.
		s.revokeFamily(g)
		s.audit.Record(ehr.Event{Kind: ehr.KindDeny, Actor: g.user, Resource: "refresh_token", Reason: "reuse_detected"})
		return nil, invalidGrant("refresh token reused; grant revoked")
	}
	u, ok := s.users[g.user]
	if !ok || !u.Active {
		return nil, invalidGrant("user no longer active")
	}
	if req := strings.Fields(scope); len(req) > 0 {
		for _, sc := range req {
			if !slices.Contains(g.scopes, sc) {
				return nil, &oauthError{http.StatusBadRequest, "invalid_scope", "scope exceeds the original grant"}
			}
		}
		// A narrower scope applies to this access token only; the grant keeps its own.
		narrowed := *g
		narrowed.scopes = sortedSet(req)
		g = &narrowed
	}
	keep := ""
	if s.cfg.Drifts.RefreshNotRotated {
		keep = token
	} else if !rt.used {
		rt.used, rt.usedAt = true, now
	}
	// issue records the new access token on the grant by id, so a narrowed copy's
	// token dies with the real grant.
	return s.issue(g, u, time.Time{}, keep)
}

func (s *Server) clientCredentials(c *client, scope string) (map[string]any, error) {
	allowed := c.scopes
	if s.cfg.Drifts.ServiceScopeWidened && c.id != ProvisionerClientID {
		allowed = s.cfg.RoleMap.allServiceScopes()
	}
	scopes := allowed
	if req := strings.Fields(scope); len(req) > 0 {
		scopes = nil
		for _, sc := range req {
			if !slices.Contains(allowed, sc) {
				return nil, &oauthError{http.StatusBadRequest, "invalid_scope", "scope not allowed for this client"}
			}
			scopes = append(scopes, sc)
		}
		if s.cfg.Drifts.ServiceScopeWidened && c.id != ProvisionerClientID {
			scopes = allowed
		}
	}
	scopes = sortedSet(scopes)
	s.mu.Lock()
	defer s.mu.Unlock()
	at, err := s.mintAccess(c.subject, c.id, scopes, nil, "", "", time.Time{}, s.cfg.AccessTokenTTL, nil)
	if err != nil {
		return nil, err
	}
	return map[string]any{
		"access_token": at, "token_type": "Bearer", "expires_in": int64(s.cfg.AccessTokenTTL / time.Second),
		"scope": strings.Join(scopes, " "),
	}, nil
}

// exchangeToken is the break-glass grant: RFC 8693 token exchange of a clinician's
// access token for a short-lived token to one patient, with a reason.
func (s *Server) exchangeToken(c *client, r *http.Request) (map[string]any, error) {
	f := r.PostForm
	if t := f.Get("subject_token_type"); t != tokenTypeAccess {
		return nil, &oauthError{http.StatusBadRequest, "invalid_request", "subject_token_type must be " + tokenTypeAccess}
	}
	if t := f.Get("requested_token_type"); t != "" && t != tokenTypeAccess {
		return nil, &oauthError{http.StatusBadRequest, "invalid_request", "only access tokens can be requested"}
	}
	pid, ok := strings.CutPrefix(f.Get("resource"), "patient:")
	if !ok || pid == "" {
		return nil, &oauthError{http.StatusBadRequest, "invalid_target", "resource must be patient:{id}"}
	}
	sub, err := s.parseAccess(f.Get("subject_token"))
	if err != nil || sub.BreakGlass != nil {
		return nil, invalidGrant("subject_token is not a valid access token")
	}
	u, ok := s.user(sub.Subject)
	if !ok || !u.Active {
		return nil, invalidGrant("subject_token is not a user's token")
	}
	p := principal(u, nil)
	g, err := s.grants.Start(p, pid, f.Get("reason"), s.records)
	switch {
	case errors.Is(err, ehr.ErrReasonRequired):
		return nil, &oauthError{http.StatusBadRequest, "invalid_request", "reason_required"}
	case errors.Is(err, ehr.ErrNotEligible):
		s.audit.Record(ehr.Event{Kind: ehr.KindDeny, Actor: u.ID, Subject: pid, Resource: "breakglass", Reason: f.Get("reason")})
		return nil, &oauthError{http.StatusForbidden, "access_denied", "not_eligible"}
	case err != nil:
		return nil, &oauthError{http.StatusBadRequest, "invalid_target", "unknown patient"}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	grantID := ""
	if at, ok := s.tokens.access[sub.ID]; ok {
		grantID = at.grant
	}
	ttl := g.Expires.Sub(s.cfg.Now())
	at, err := s.mintAccess(u.ID, c.id, strings.Fields(sub.Scope), u.Roles, grantID, sub.SessionID, time.Time{}, ttl,
		&BreakGlassClaim{GrantID: g.ID, Patient: pid, Reason: g.Reason})
	if err != nil {
		return nil, err
	}
	return map[string]any{
		"access_token": at, "issued_token_type": tokenTypeAccess, "token_type": "Bearer",
		"expires_in": int64(ttl / time.Second), "scope": sub.Scope,
	}, nil
}
