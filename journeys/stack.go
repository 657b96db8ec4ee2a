// Package journeys drives personas through a stack, step by step, and records what
// each step observed as normalised facts. A Stack is one side's adapter: the OIDC
// adapter speaks to any standards provider, the legacy adapter to a homegrown
// system described in config. A Journey is the same sequence of steps on either side.
package journeys

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/cutover-dev/cutover/personas"
)

// Stack is one side of a rehearsal as the journeys see it. Implementations must be
// safe for concurrent use: many personas run at once.
//
// Methods return nil on success, a *RefusedError when the stack decided "no", a
// *UnavailableError on an availability failure, a *ProtocolError on an answer that
// cannot be used, and ErrUnsupported for what the stack does not offer.
//
// What a stack offers beyond login, requests and logout is told by the optional
// interfaces below (Refresher, Introspector, BreakGlasser, ServiceAuthenticator,
// AuditReader); a step whose interface a stack lacks is recorded as unsupported.
type Stack interface {
	// Login signs a human persona in and returns its session.
	Login(ctx context.Context, p personas.Persona) (*Session, error)
	// Do sends req with the session's credential (nil: anonymous) and returns the
	// HTTP status. Bodies are drained and discarded.
	Do(ctx context.Context, s *Session, req Request) (int, error)
	// Logout ends the session the way a user would: legacy logout, candidate
	// revocation and end_session.
	Logout(ctx context.Context, s *Session) error
}

// Refresher renews sessions: an OAuth refresh_token grant, or a legacy keep-alive.
type Refresher interface {
	// Refresh presents the refresh credential of s and returns the renewed session;
	// s itself is left as it was, so presenting it again replays its refresh token.
	Refresh(ctx context.Context, s *Session) (*Session, error)
}

// Introspector asks a stack whether a session's credentials are still alive: RFC
// 7662 introspection of the tokens, or a legacy who-am-I with the session.
type Introspector interface {
	// Credentials names the credentials of s that can be asked about, such as
	// "access_token" and "refresh_token", or "session".
	Credentials(s *Session) []string
	// Active reports whether the stack still honours credential of s.
	Active(ctx context.Context, s *Session, credential string) (bool, error)
}

// BreakGlasser requests emergency access ("break the glass") to one patient.
type BreakGlasser interface {
	// BreakGlass asks, as s, for emergency access to patient with reason (""
	// sends none). A refusal is a *RefusedError.
	BreakGlass(ctx context.Context, s *Session, patient, reason string) (*Grant, error)
	// EndBreakGlass ends a grant before its time box, where the stack allows it.
	EndBreakGlass(ctx context.Context, g *Grant) error
}

// ServiceAuthenticator authenticates non-human personas: an OAuth
// client_credentials grant, or a legacy API key.
type ServiceAuthenticator interface {
	// ServiceLogin returns the service persona's session: its scopes in the
	// candidate vocabulary, its lifetime (-1: no expiry) and whether a refresh
	// token came with it.
	ServiceLogin(ctx context.Context, p personas.Persona) (*Session, error)
}

// AuditReader reads a stack's audit feed with the auditor credential configured
// for it.
type AuditReader interface {
	// AuditEvents returns the events of actor at or after since, kinds in the
	// canonical vocabulary (AuditLogin, AuditDeny, ...).
	AuditEvents(ctx context.Context, actor string, since time.Time) ([]AuditEvent, error)
}

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

// Request is a resource request, already resolved from its template.
type Request struct {
	Method string
	Path   string
	// Body and ContentType, for requests that send one (POST a note).
	Body        []byte
	ContentType string
}

// Session is what a login yields: the facts the comparison needs, and the credential,
// which never leaves the adapter and never prints.
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

	cred credential
}

// credential is how an adapter authenticates a session's requests. It formats as
// "[redacted]" so a stray %v cannot leak it.
type credential struct {
	header, value string // e.g. Authorization: Bearer x, or X-Session-Id: x
	cookie        *http.Cookie
	// access is the bare access token, for introspection and revocation.
	access  string
	refresh string
	idToken string
	// jar holds the provider's single sign-on cookies, for RP-initiated logout and
	// step-up; who is the persona that signed in, for a step-up that asks again.
	jar http.CookieJar
	who personas.Persona
}

func (credential) String() string   { return "[redacted]" }
func (credential) GoString() string { return "[redacted]" }

func (c *credential) apply(req *http.Request) {
	if c.header != "" {
		req.Header.Set(c.header, c.value)
	}
	if c.cookie != nil {
		req.AddCookie(c.cookie)
	}
}

// rotated reports whether next carries a new refresh token in place of prev's;
// nil when prev had none (a session renewed in place: rotation does not apply).
func rotated(prev, next *Session) *bool {
	if prev.cred.refresh == "" {
		return nil
	}
	r := next.cred.refresh != "" && next.cred.refresh != prev.cred.refresh
	return &r
}

// widened returns the scopes of next beyond those of prev, sorted; nil when prev's
// scopes are unknown.
func widened(prev, next *Session) []string {
	if len(prev.Scopes) == 0 {
		return nil // the original grant's scope is unknown: nothing to judge
	}
	var out []string
	for _, s := range next.Scopes {
		if !slices.Contains(prev.Scopes, s) && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out
}
