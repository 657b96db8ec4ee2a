package candidate

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/cutover-dev/cutover/stacks/internal/respond"
)

// AccessTokenType is the JOSE typ of access tokens (RFC 9068 s2.1).
const AccessTokenType = "at+jwt"

// BreakGlassClaim is the claim of an exchanged break-glass access token.
type BreakGlassClaim struct {
	GrantID string `json:"grant_id"`
	Patient string `json:"patient_id"`
	Reason  string `json:"reason,omitempty"`
}

// AccessClaims are the claims of an access token (RFC 9068 s2.2).
type AccessClaims struct {
	jwt.RegisteredClaims
	ClientID string `json:"client_id"`
	Scope    string `json:"scope,omitempty"`
	// Roles is a list of names, or one comma-joined string under the
	// joined-roles dialect.
	Roles      any              `json:"roles,omitempty"`
	SessionID  string           `json:"sid,omitempty"`
	AuthTime   int64            `json:"auth_time,omitempty"`
	BreakGlass *BreakGlassClaim `json:"breakglass,omitempty"`
}

// idClaims are the claims of an ID token.
type idClaims struct {
	jwt.RegisteredClaims
	Nonce             string `json:"nonce,omitempty"`
	AuthTime          int64  `json:"auth_time,omitempty"`
	SessionID         string `json:"sid,omitempty"`
	PreferredUsername string `json:"preferred_username,omitempty"`
	Name              string `json:"name,omitempty"`
	Roles             any    `json:"roles,omitempty"`
}

// rolesClaim is how roles are written in a claim: a list, or one comma-joined
// string under the joined-roles dialect.
func (s *Server) rolesClaim(roles []string) any {
	if len(roles) == 0 {
		return nil
	}
	if s.cfg.Dialect.JoinedRoles {
		return strings.Join(roles, ",")
	}
	return roles
}

func (s *Server) sign(typ string, claims jwt.Claims) (string, error) {
	t := jwt.NewWithClaims(jwt.SigningMethodES256, claims)
	t.Header["typ"] = typ
	t.Header["kid"] = s.kid
	out, err := t.SignedString(s.key)
	if err != nil {
		return "", fmt.Errorf("candidate: sign: %w", err)
	}
	return out, nil
}

// mintAccess signs an access token for sub and records it under grantID (empty for
// client_credentials). Callers hold s.mu.
func (s *Server) mintAccess(sub, clientID string, scopes, roles []string, grantID, sid string, authTime time.Time, ttl time.Duration, bg *BreakGlassClaim) (string, error) {
	now := s.cfg.Now()
	jti := respond.ID()
	c := AccessClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: s.cfg.Issuer, Subject: sub, Audience: jwt.ClaimStrings{Audience},
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)), IssuedAt: jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now), ID: jti,
		},
		ClientID: clientID, Scope: strings.Join(scopes, " "), SessionID: sid, BreakGlass: bg,
	}
	if !authTime.IsZero() {
		c.AuthTime = authTime.Unix()
	}
	if !s.cfg.Drifts.RolesClaimDropped {
		c.Roles = s.rolesClaim(roles)
	}
	if s.cfg.Dialect.NoJTI {
		c.ID, c.ClientID = "", ""
	}
	tok, err := s.sign(AccessTokenType, c)
	if err != nil {
		return "", err
	}
	if s.cfg.Dialect.NoJTI {
		// State without a jti is kept under the token's own digest.
		jti = accessKey(tok, &c)
	}
	if s.tokens.minted++; s.tokens.minted >= pruneEvery {
		s.prune(now)
	}
	at := &accessToken{grant: grantID, expires: now.Add(ttl)}
	if bg != nil {
		at.breakGlass = bg.GrantID
	}
	s.tokens.access[jti] = at
	if g, ok := s.tokens.grants[grantID]; ok {
		g.jtis = append(g.jtis, jti)
	}
	if s.cfg.Dialect.OpaqueAccessTokens {
		handle := respond.ID() + respond.ID()
		s.tokens.opaque[handle] = opaqueToken{jwt: tok, expires: now.Add(ttl)}
		return handle, nil
	}
	return tok, nil
}

// accessKey is the key of an access token's state: its jti, or a digest of the
// token when it has none (the no-jti dialect).
func accessKey(tok string, c *AccessClaims) string {
	if c.ID != "" {
		return c.ID
	}
	d := digest(tok)
	return "digest:" + base64.RawURLEncoding.EncodeToString(d[:12])
}

var errTokenRevoked = errors.New("token revoked")

// parseAccess verifies an access token: signature, typ, iss, aud, exp, and that the
// provider has not revoked it or its grant.
func (s *Server) parseAccess(tok string) (*AccessClaims, error) {
	tok = s.unwrap(tok)
	c, err := s.verifyAccess(tok)
	if err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if !s.accessLive(accessKey(tok, c)) {
		return nil, errTokenRevoked
	}
	return c, nil
}

// unwrap returns the JWT behind an opaque access token (the token itself
// otherwise).
func (s *Server) unwrap(tok string) string {
	if !s.cfg.Dialect.OpaqueAccessTokens {
		return tok
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if o, ok := s.tokens.opaque[tok]; ok {
		return o.jwt
	}
	return tok
}

// accessLive reports whether the provider still honours access token jti. Callers
// hold s.mu.
func (s *Server) accessLive(jti string) bool {
	at, ok := s.tokens.access[jti]
	if !ok || at.revoked {
		return false
	}
	return at.grant == "" || liveGrant(s.tokens.grants[at.grant], s.cfg.Now())
}

// verifyAccess checks what an access token says about itself: signature, typ, iss,
// aud and exp. It takes no lock.
func (s *Server) verifyAccess(tok string) (*AccessClaims, error) {
	tok = s.unwrap(tok)
	c := &AccessClaims{}
	t, err := jwt.ParseWithClaims(tok, c, func(*jwt.Token) (any, error) { return &s.key.PublicKey, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodES256.Alg()}),
		jwt.WithIssuer(s.cfg.Issuer), jwt.WithAudience(Audience),
		jwt.WithExpirationRequired(), jwt.WithTimeFunc(s.cfg.Now))
	if err != nil {
		return nil, fmt.Errorf("candidate: access token: %w", err)
	}
	if typ, _ := t.Header["typ"].(string); !strings.EqualFold(typ, AccessTokenType) {
		return nil, fmt.Errorf("candidate: access token: typ %q", typ)
	}
	return c, nil
}

// parseIDTokenHint verifies an ID token given as id_token_hint; it may have expired.
func (s *Server) parseIDTokenHint(tok string) (*idClaims, error) {
	c := &idClaims{}
	_, err := jwt.ParseWithClaims(tok, c, func(*jwt.Token) (any, error) { return &s.key.PublicKey, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodES256.Alg()}), jwt.WithIssuer(s.cfg.Issuer),
		jwt.WithTimeFunc(func() time.Time { return time.Unix(0, 0) }))
	if err != nil {
		return nil, fmt.Errorf("candidate: id_token_hint: %w", err)
	}
	return c, nil
}

// jwks is the JSON Web Key Set of the signing key.
func (s *Server) jwks() map[string]any {
	b, _ := s.key.PublicKey.Bytes() // uncompressed point: 0x04 || X || Y
	enc := base64.RawURLEncoding.EncodeToString
	return map[string]any{"keys": []map[string]string{{
		"kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": s.kid,
		"x": enc(b[1:33]), "y": enc(b[33:65]),
	}}}
}
