package journeys

import (
	"context"
	"time"

	"github.com/cutover-dev/cutover/journeys/adapter"
	"github.com/cutover-dev/cutover/results/record"
)

// audit checks that each auditable action of the journey so far left its event
// in the stack's audit feed within the bound. The expected decision is legacy's:
// an event legacy records and the candidate does not is AUDIT_EVENT_MISSING.
func (x *run) audit(ctx context.Context) bool {
	ar, ok := x.st.(AuditReader)
	if !ok {
		x.skip(record.StepAudit, "", record.Unsupported, adapter.ErrUnsupported.Error())
		return true
	}
	deadline := x.r.now().Add(x.r.Audit.Within)
	for _, kind := range x.actions {
		x.auditStep(ctx, ar, record.StepAudit, kind, "", "", deadline)
	}
	return true
}

// auditStep records as step name whether an event of kind (about subject, when
// not empty) reached the audit feed by deadline.
func (x *run) auditStep(ctx context.Context, ar AuditReader, name, kind, subject, expected string, deadline time.Time) {
	_ = x.step(ctx, name, kind, func(ctx context.Context, f *record.Facts) error {
		f.Expected = expected
		found, err := x.awaitEvent(ctx, ar, kind, subject, deadline)
		if err != nil {
			return err
		}
		f.Decision = record.Deny
		if found {
			f.Decision = record.Allow
		}
		return nil
	})
}

// awaitEvent reads the feed until an event of kind by the persona (about subject,
// when not empty) shows up or deadline passes on the runner's clock.
func (x *run) awaitEvent(ctx context.Context, ar AuditReader, kind, subject string, deadline time.Time) (bool, error) {
	if x.sess.Subject == "" {
		return false, adapter.ProtocolErr("audit feed", "the session has no subject to look events up by (legacy: set me.subject or service.subject; oidc: the access token is opaque and neither introspection nor an ID token says who it is)")
	}
	since := x.start.Add(-x.r.Audit.Skew)
	for {
		events, err := ar.AuditEvents(ctx, x.sess.Subject, since)
		if err != nil {
			return false, err
		}
		for _, e := range events {
			if e.Kind == kind && e.Actor == x.sess.Subject && (subject == "" || e.Subject == subject) {
				return true, nil
			}
		}
		if !x.r.now().Before(deadline) {
			return false, nil
		}
		if err := x.r.wait(ctx, min(x.r.Audit.Poll, deadline.Sub(x.r.now())+time.Millisecond)); err != nil {
			return false, adapter.TransportErr("audit feed", err)
		}
	}
}
