package ehr

import (
	"errors"
	"sync"
	"time"

	"github.com/cutover-dev/cutover/stacks/internal/respond"
)

// Break-glass refusals, for the stacks to turn into their own error answers.
var (
	ErrReasonRequired = errors.New("reason_required")
	ErrNotEligible    = errors.New("not_eligible")
	ErrUnknownPatient = errors.New("unknown_patient")
)

// Grant is a time-boxed emergency access of one clinician to one patient.
type Grant struct {
	ID      string
	Actor   string
	Patient string
	Reason  string
	Expires time.Time
	ended   bool
}

// Grants holds break-glass grants and audits their start, use and end. It is safe for
// concurrent use.
type Grants struct {
	cfg   GrantsConfig
	audit *Audit

	mu     sync.Mutex
	grants map[string]*Grant
}

// GrantsConfig is the break-glass policy of a stack.
type GrantsConfig struct {
	// TTL is the time box of a grant.
	TTL time.Duration
	Now func() time.Time
	// Refuse refuses every request (drift breakglass-denied).
	Refuse bool
	// ReasonOptional accepts a request without a reason (drift breakglass-no-reason).
	ReasonOptional bool
	// Unaudited records no break-glass event (drift breakglass-not-audited).
	Unaudited bool
}

// NewGrants returns a grant store under cfg, auditing to audit.
func NewGrants(cfg GrantsConfig, audit *Audit) *Grants {
	return &Grants{cfg: cfg, audit: audit, grants: make(map[string]*Grant)}
}

// TTL is how long a grant lives.
func (g *Grants) TTL() time.Duration { return g.cfg.TTL }

func (g *Grants) now() time.Time { return g.cfg.Now() }

func (g *Grants) record(e Event) {
	if !g.cfg.Unaudited {
		g.audit.Record(e)
	}
}

// Start opens a grant for p to patient after checking the policy: p must hold
// RoleBreakGlass, give a reason, and name a known patient. The checks run in that
// order, so a refusing drift changes only the answer to an otherwise valid request.
func (g *Grants) Start(p Principal, patient, reason string, records *Records) (Grant, error) {
	switch {
	case !p.Has(RoleBreakGlass):
		return Grant{}, ErrNotEligible
	case reason == "" && !g.cfg.ReasonOptional:
		return Grant{}, ErrReasonRequired
	case g.cfg.Refuse:
		return Grant{}, ErrNotEligible
	case !records.Exists(patient):
		return Grant{}, ErrUnknownPatient
	}
	gr := &Grant{ID: respond.ID(), Actor: p.ID, Patient: patient, Reason: reason, Expires: g.now().Add(g.cfg.TTL)}
	g.mu.Lock()
	g.grants[gr.ID] = gr
	g.mu.Unlock()
	g.record(Event{Kind: KindBreakGlassStart, Actor: p.ID, Subject: patient, Resource: "patient:" + patient, Reason: reason})
	return *gr, nil
}

// End closes a grant of actor early; it reports false when there is no such live grant.
func (g *Grants) End(actor, id string) bool {
	g.mu.Lock()
	gr, ok := g.grants[id]
	live := ok && gr.Actor == actor && !gr.ended && g.now().Before(gr.Expires)
	if live {
		gr.ended = true
	}
	g.mu.Unlock()
	if live {
		g.record(Event{Kind: KindBreakGlassEnd, Actor: actor, Subject: gr.Patient, Resource: "patient:" + gr.Patient, Reason: gr.Reason})
	}
	return live
}

// Live returns the ids of actor's live grants, closing (and auditing the end of) the
// ones whose time box has passed.
func (g *Grants) Live(actor string) []string {
	g.sweep(actor)
	g.mu.Lock()
	defer g.mu.Unlock()
	var ids []string
	for id, gr := range g.grants {
		if gr.Actor == actor && !gr.ended {
			ids = append(ids, id)
		}
	}
	return ids
}

// Sweep closes every grant whose time box has passed and audits its end.
func (g *Grants) Sweep() { g.sweep("") }

// sweep closes the expired grants of actor (of everyone when actor is empty).
func (g *Grants) sweep(actor string) {
	g.mu.Lock()
	var expired []Grant
	now := g.now()
	for _, gr := range g.grants {
		if (actor == "" || gr.Actor == actor) && !gr.ended && !now.Before(gr.Expires) {
			gr.ended = true
			expired = append(expired, *gr)
		}
	}
	g.mu.Unlock()
	for _, gr := range expired {
		g.record(Event{Kind: KindBreakGlassEnd, Actor: gr.Actor, Subject: gr.Patient, Resource: "patient:" + gr.Patient, Reason: "expired"})
	}
}

// Active reports whether grant id is live now.
func (g *Grants) Active(id string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	gr, ok := g.grants[id]
	return ok && !gr.ended && g.now().Before(gr.Expires)
}

// use reports whether one of ids is a live grant of actor to patient, and audits the
// access. A grant found expired is closed and its end audited once.
func (g *Grants) use(actor, patient string, ids []string, resource string) bool {
	g.mu.Lock()
	var hit *Grant
	var expired []Grant
	now := g.now()
	for _, id := range ids {
		gr, ok := g.grants[id]
		if !ok || gr.Actor != actor || gr.Patient != patient || gr.ended {
			continue
		}
		if !now.Before(gr.Expires) {
			gr.ended = true
			expired = append(expired, *gr)
			continue
		}
		hit = gr
		break
	}
	var reason string
	if hit != nil {
		reason = hit.Reason
	}
	g.mu.Unlock()
	for _, gr := range expired {
		g.record(Event{Kind: KindBreakGlassEnd, Actor: actor, Subject: gr.Patient, Resource: "patient:" + gr.Patient, Reason: "expired"})
	}
	if hit == nil {
		return false
	}
	g.record(Event{Kind: KindBreakGlassAccess, Actor: actor, Subject: patient, Resource: resource, Reason: reason})
	return true
}
