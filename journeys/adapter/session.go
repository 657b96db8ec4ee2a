package adapter

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/cutover-dev/cutover/personas"
)

// Canonical audit event kinds; a side's configuration maps its own names to these.
const (
	AuditLogin            = "login"
	AuditLogout           = "logout"
	AuditDeny             = "deny"
	AuditBreakglassStart  = "breakglass_start"
	AuditBreakglassAccess = "breakglass_access"
	AuditBreakglassEnd    = "breakglass_end"
)

// AuditEvent is one event of an audit feed, normalised.
type AuditEvent struct {
	Kind    string
	Actor   string
	Subject string
}

// Grant is emergency access obtained by a break-glass request.
type Grant struct {
	// Session carries the access: the requesting session itself on stacks where
	// grants ride on the session, a new token on stacks that issue one.
	Session *Session
	// TTL is the time box the stack announced; 0 when it said nothing.
	TTL time.Duration
	// id is the stack's grant id, for ending it early.
	id string
}

// Ref names the grant in notes and reports without its id: a short hash of
// it, or "" when the stack gave none.
func (g *Grant) Ref() string {
	if g == nil || g.id == "" {
		return ""
	}
	sum := sha256.Sum256([]byte("cutover-grant:" + g.id))
	return hex.EncodeToString(sum[:3])
}

// Request is a resource request, already resolved from its template.
type Request struct {
	Method string
	Path   string
	// Body and ContentType, for requests that send one (POST a note).
	Body        []byte
	ContentType string
}

// Session is what a login yields: the facts the comparison needs, and the
// credential, which only adapters read and which never prints.
type Session struct {
	// Subject is the stack's user id for the persona.
	Subject string
	// Roles and Scopes are in the candidate vocabulary (legacy adapters map theirs).
	Roles  []string
	Scopes []string
	// TTL is the lifetime of the session or access token; -1 means no expiry.
	TTL time.Duration
	// MissingClaims lists required token claims that were absent.
	MissingClaims []string
	// ClientBound says the session's refresh token is bound to a client that
	// authenticates at the token endpoint (a confidential client): RFC 9700
	// s4.14.2 asks rotation only of refresh tokens a public client holds.
	ClientBound bool

	// Cred authenticates the session's requests. Adapters set and read it; the
	// journeys never do (they ask RefreshIssued and Rotated).
	Cred Credential
}

// RefreshIssued reports whether the session holds a refresh token.
func (s *Session) RefreshIssued() bool { return s.Cred.Refresh != "" }

// Rotated reports whether next carries a new refresh token in place of prev's;
// nil when prev had none (a session renewed in place: rotation does not apply).
func Rotated(prev, next *Session) *bool {
	if prev.Cred.Refresh == "" {
		return nil
	}
	r := next.Cred.Refresh != "" && next.Cred.Refresh != prev.Cred.Refresh
	return &r
}

// Credential is how an adapter authenticates a session's requests. It formats
// as "[redacted]" so a stray %v cannot leak it.
type Credential struct {
	// Header and Value are sent with every request (Authorization: Bearer x, or
	// X-Session-Id: x); Cookie, when set, too.
	Header, Value string
	Cookie        *http.Cookie
	// Access, Refresh and IDToken are the bare OAuth tokens, for introspection,
	// revocation, refresh and logout hints.
	Access, Refresh, IDToken string
	// Jar holds the provider's single sign-on cookies, for RP-initiated logout and
	// step-up; Who is the persona that signed in, for a step-up that asks again.
	Jar http.CookieJar
	Who personas.Persona
}

// Bearer is the credential of an access token sent as a bearer token.
func Bearer(token string) Credential {
	return Credential{Header: "Authorization", Value: "Bearer " + token, Access: token}
}

// String hides the credential.
func (Credential) String() string { return "[redacted]" }

// GoString hides the credential from %#v.
func (Credential) GoString() string { return "[redacted]" }

// apply sets the credential on req.
func (c *Credential) apply(req *http.Request) {
	if c.Header != "" {
		req.Header.Set(c.Header, c.Value)
	}
	if c.Cookie != nil {
		req.AddCookie(c.Cookie)
	}
}
