// Package record is what a rehearsal measured, at the bottom of results/...: the
// step record of one persona's journey step on one side (legacy or candidate)
// with its normalised facts, the step names journeys record under, the
// JSON-lines codec of the records file with its redactor, the request endpoints
// a record names, the persona table (personas.json) and the load generator's
// accounting. It knows records, not how they were produced nor what they mean:
// it imports nothing of this module (no loadgen, no journeys, no
// results/analysis), so every producer and every reader can depend on it.
package record

import (
	"time"
)

// Side names one of the two stacks.
type Side string

// The two sides of a rehearsal.
const (
	Legacy    Side = "legacy"
	Candidate Side = "candidate"
)

// Outcome says how a step ended.
type Outcome string

// Step outcomes. Only OK steps carry a decision that can be compared; Error is an
// availability error (timeout, 5xx, connection refused) and counts toward
// ERROR_RATE_REGRESSION only, never toward an authorization or session class;
// Invalid is the stack breaking the protocol with a token, and counts toward
// TOKEN_INVALID only.
const (
	// OK: the stack answered and the step observed its facts.
	OK Outcome = "ok"
	// Error: the stack was unavailable (5xx, timeout, refused, garbage answer).
	Error Outcome = "error"
	// Invalid: the stack issued a token that fails validation (Facts.Check names
	// the check): neither a decision nor an outage.
	Invalid Outcome = "invalid"
	// Unsupported: the stack does not offer what the step needs (no revocation
	// endpoint, no break-glass grant); reported, never a failure.
	Unsupported Outcome = "unsupported"
	// Skipped: an earlier step of the journey failed, so this one did not run.
	Skipped Outcome = "skipped"
	// Unverified: the step ran but the harness could not tell whether it took
	// effect (a logout page that needs script); like Unsupported, nothing is
	// judged on it or on the checks that depend on it.
	Unverified Outcome = "unverified"
)

// Decisions a step observes or expects.
const (
	Allow = "allow"
	Deny  = "deny"
)

// Record is one step of one journey of one persona on one side. Records never carry
// credentials: persona ids, not usernames with passwords; token hashes, not tokens.
type Record struct {
	Side      Side   `json:"side"`
	Persona   string `json:"persona"`
	Kind      string `json:"kind"`
	Cohort    string `json:"cohort,omitempty"`
	Journey   string `json:"journey"`
	Iteration uint64 `json:"iter"`
	Step      string `json:"step"`
	// Target distinguishes records of the same step within one journey, e.g. the
	// probe "read record:{panel}".
	Target string `json:"target,omitempty"`
	// Intended is when the scheduler meant the journey to start. A step's latency
	// is measured from its own start, except the first step of a journey, whose
	// latency runs from Intended when the generator was late (no coordinated omission).
	Intended time.Time     `json:"intended"`
	Start    time.Time     `json:"start"`
	Latency  time.Duration `json:"latency_ns"`
	Outcome  Outcome       `json:"outcome"`
	// Error says what went wrong, precisely and without secrets.
	Error string `json:"error,omitempty"`
	// Evidence lists files, relative to the results folder, that show what went
	// wrong: a browser step's screenshot and redacted DOM excerpt.
	Evidence []string `json:"evidence,omitempty"`
	// Endpoints lists the requests the step made, in the order first made, each
	// as "METHOD /path" with the query dropped and id-like path segments folded
	// to {id} ("POST /token", "GET /api/patients/{id}/record"): the request facts
	// findings are grouped by (see results/analysis, Cause).
	Endpoints []string `json:"endpoints,omitempty"`
	// Hosts lists the hosts (host:port) the step's requests went to, in the
	// order first sent to: a slow or failing resource server is a host.
	Hosts []string `json:"hosts,omitempty"`
	// Unhealthy reports that the load generator was itself unhealthy while the
	// step ran (late timers, a queueing scheduler, a long GC pause, its cores
	// saturated): the step's latency and availability are not judged.
	Unhealthy bool  `json:"unhealthy,omitempty"`
	Facts     Facts `json:"facts,omitzero"`
}

// Facts are the normalised observations of a step: the things that must agree
// between the stacks. Raw tokens, ids and timestamps never appear here.
type Facts struct {
	// Decision is Allow or Deny: access granted or refused, a credential accepted or
	// refused, an audit event present or absent.
	Decision string `json:"decision,omitempty"`
	// Expected is the decision the expected table (or the step's own rule, like
	// "denied after logout") demands; empty means "whatever legacy decided".
	Expected string `json:"expected,omitempty"`
	// Roles are the candidate-vocabulary roles the session carries (legacy roles are
	// mapped through the configured mapping before they are recorded).
	Roles []string `json:"roles,omitempty"`
	// Scopes are the scopes or permissions the credential carries, mapped likewise.
	Scopes []string `json:"scopes,omitempty"`
	// TTL is the lifetime of the session or token in seconds; -1 means no expiry.
	TTL int64 `json:"ttl_s,omitempty"`
	// MissingClaims lists required token claims that were absent.
	MissingClaims []string `json:"missing_claims,omitempty"`
	// Rotated reports whether a refresh returned a new refresh token.
	Rotated *bool `json:"rotated,omitempty"`
	// ClientBound, on a refresh, says the refresh token is bound to a client
	// that authenticates (a confidential client): not rotating it is allowed
	// (RFC 9700 s4.14.2 asks rotation of public clients).
	ClientBound bool `json:"client_bound,omitempty"`
	// Widened lists scopes a refreshed token carries beyond the original grant.
	Widened []string `json:"widened,omitempty"`
	// RefreshIssued reports that a grant returned a refresh token.
	RefreshIssued bool `json:"refresh_issued,omitempty"`
	// SubjectOf, on a sign-in, names the persona (its id) whose account the
	// sign-in landed in: the stack gave this persona the subject (sub, OIDC
	// Core s2: never reassigned, one per end-user) another persona of the run
	// was given first. The subject itself is never recorded.
	SubjectOf string `json:"subject_of,omitempty"`
	// Status is the HTTP status that decided the step, for the report's examples.
	Status int `json:"status,omitempty"`
	// Check names the validation a token failed, on an Invalid step:
	// "id_token.nonce", "access_token.alg".
	Check string `json:"check,omitempty"`
	// State is the state the run itself created on this side that bears on
	// this step's decision (one of the State kinds: a break-glass grant held, an
	// account locked by refused sign-ins); empty when it created none. Two sides
	// whose steps ran under different state are not compared (see StateSure).
	State string `json:"state,omitempty"`
	// StateNote says what the state is, in words ("holds break-glass grant
	// 3f2a1c for patient-00012 since 10:02:11, until 10:07:11"); StateFrom names
	// the step that made it, "journey/step", and how that step ended ("error",
	// "deny", "allow"): "breakglass/breakglass.request error".
	StateNote string `json:"state_note,omitempty"`
	StateFrom string `json:"state_from,omitempty"`
}

// State kinds (Facts.State). A sure state is known on its side; an unsure one
// leaves the step's decision unknowable, so the step is never compared.
const (
	// StateGrantCovers: a live break-glass grant for the step's patient opens
	// the credential the step used (the grant rides on it, or the side's grants
	// cover every session of the persona).
	StateGrantCovers = "grant:covers"
	// StateGrantElsewhere: a live grant for the patient rides on another
	// credential, and the side's grants are known to open only their own.
	StateGrantElsewhere = "grant:elsewhere"
	// StateGrantUnknown: a live grant for the patient rides on another
	// credential, and whether it opens this one is not configured.
	StateGrantUnknown = "grant:unknown-scope"
	// StateGrantUncertain: the request for a grant got no answer (an
	// availability error): the stack may or may not hold one.
	StateGrantUncertain = "grant:uncertain"
	// StateGrantExpiring: the step ran so near the grant's end that the stack's
	// clock may put it on either side.
	StateGrantExpiring = "grant:expiring"
	// StateGrantHeld: asking for a grant while one from an earlier journey
	// still lives: the answer may be the old grant's.
	StateGrantHeld = "grant:held"
	// StateLocked: the side's configured lockout locks the account after the
	// refused sign-ins the run made.
	StateLocked = "lockout:locked"
	// StateLockProbable: a sign-in with the right password was refused after
	// refused ones, on a side whose lockout is not configured (or the answer
	// named a lock): probably a lockout.
	StateLockProbable = "lockout:probable"
)

// StateSure reports whether a step that ran under state kind can be judged.
func StateSure(kind string) bool {
	switch kind {
	case StateGrantUncertain, StateGrantExpiring, StateGrantUnknown, StateGrantHeld, StateLockProbable:
		return false
	}
	return true
}

// Key identifies the pair of records, one per side, that must agree.
type Key struct {
	Persona   string
	Journey   string
	Iteration uint64
	Step      string
	Target    string
}

// Key returns the pairing key of r.
func (r *Record) Key() Key {
	return Key{Persona: r.Persona, Journey: r.Journey, Iteration: r.Iteration, Step: r.Step, Target: r.Target}
}

// Bool returns a pointer to b, for the optional facts.
func Bool(b bool) *bool { return &b }
