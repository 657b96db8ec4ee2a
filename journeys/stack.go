// Package journeys drives personas through a stack, step by step, and records what
// each step observed as normalised facts. A Stack is one side's adapter: the OIDC
// adapter speaks to any standards provider, the legacy adapter to a homegrown
// system described in config. A Journey is the same sequence of steps on either side.
package journeys

import (
	"context"
	"net/http"
	"time"

	"github.com/cutover-dev/cutover/personas"
)

// Stack is one side of a rehearsal as the journeys see it. Implementations must be
// safe for concurrent use: many personas run at once.
//
// Methods return nil on success, a *RefusedError when the stack decided "no", a
// *UnavailableError on an availability failure, a *ProtocolError on an answer that
// cannot be used, and ErrUnsupported for what the stack does not offer.
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

// Request is a resource request, already resolved from its template.
type Request struct {
	Method string
	Path   string
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
	refresh       string
	idToken       string
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
