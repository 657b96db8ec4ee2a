// Package journeys drives personas through a stack, step by step, and records what
// each step observed as normalised facts: the runner. A Journey is the same
// sequence of step groups on either side; a Stack is one side as the runner sees
// it, through the small interfaces below, which the adapters implement (package
// journeys/oidc for any standards provider, journeys/legacy for a homegrown system
// described in configuration, both built from journeys/adapter).
//
// journeys imports journeys/adapter, personas and results/record; it never
// imports an adapter (journeys/oidc, journeys/legacy, journeys/browser), loadgen
// or the analysis: the rehearsal wires adapters in.
package journeys

import (
	"context"
	"time"

	"github.com/cutover-dev/cutover/journeys/adapter"
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
	Login(ctx context.Context, p personas.Persona) (*adapter.Session, error)
	// Do sends req with the session's credential (nil: anonymous) and returns the
	// HTTP status. Bodies are drained and discarded.
	Do(ctx context.Context, s *adapter.Session, req adapter.Request) (int, error)
	// Logout ends the session the way a user would: legacy logout, candidate
	// revocation and end_session.
	Logout(ctx context.Context, s *adapter.Session) error
}

// Refresher renews sessions: an OAuth refresh_token grant, or a legacy keep-alive.
type Refresher interface {
	// Refresh presents the refresh credential of s and returns the renewed session;
	// s itself is left as it was, so presenting it again replays its refresh token.
	Refresh(ctx context.Context, s *adapter.Session) (*adapter.Session, error)
}

// Introspector asks a stack whether a session's credentials are still alive: RFC
// 7662 introspection of the tokens, or a legacy who-am-I with the session.
type Introspector interface {
	// Credentials names the credentials of s that can be asked about, such as
	// "access_token" and "refresh_token", or "session".
	Credentials(s *adapter.Session) []string
	// Active reports whether the stack still honours credential of s.
	Active(ctx context.Context, s *adapter.Session, credential string) (bool, error)
}

// BreakGlasser requests emergency access ("break the glass") to one patient.
type BreakGlasser interface {
	// BreakGlass asks, as s, for emergency access to patient with reason (""
	// sends none). A refusal is a *RefusedError.
	BreakGlass(ctx context.Context, s *adapter.Session, patient, reason string) (*adapter.Grant, error)
	// EndBreakGlass ends a grant before its time box, where the stack allows it.
	EndBreakGlass(ctx context.Context, g *adapter.Grant) error
}

// ServiceAuthenticator authenticates non-human personas: an OAuth
// client_credentials grant, or a legacy API key.
type ServiceAuthenticator interface {
	// ServiceLogin returns the service persona's session: its scopes in the
	// candidate vocabulary, its lifetime (-1: no expiry) and whether a refresh
	// token came with it.
	ServiceLogin(ctx context.Context, p personas.Persona) (*adapter.Session, error)
}

// AuditReader reads a stack's audit feed with the auditor credential configured
// for it.
type AuditReader interface {
	// AuditEvents returns the events of actor at or after since, kinds in the
	// canonical vocabulary (AuditLogin, AuditDeny, ...).
	AuditEvents(ctx context.Context, actor string, since time.Time) ([]adapter.AuditEvent, error)
}
