package journeys

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/cutover-dev/cutover/journeys/adapter"
	"github.com/cutover-dev/cutover/results/record"
)

// breakglass runs the break-glass group. An ineligible persona asks once, with a
// reason, and must be refused. An eligible one asks without a reason (refused),
// with one (granted), uses the grant, checks that the start and the use were
// audited, and, when the time box is short enough to wait for, that the access
// ended with it.
func (x *run) breakglass(ctx context.Context) bool {
	bg, ok := x.st.(BreakGlasser)
	if !ok {
		x.skip(record.StepBreakglass, "", record.Unsupported, adapter.ErrUnsupported.Error())
		return true
	}
	plan := x.r.BreakGlass
	probe := Probe{Kind: x.p.Kind, Action: cmp.Or(plan.Action, "read"), Resource: plan.Resource}
	_, sel, _ := strings.Cut(probe.Resource, ":")
	patient, ok := x.r.Targets.Resolve(sel, x.p, x.it.N)
	if !ok {
		return true // nobody to break the glass for
	}
	target := probe.Target()
	name, err := x.r.Targets.Name(x.r.PatientIDs[x.side], patient)
	if err != nil {
		x.emit(x.configError(record.StepBreakglass, target, err))
		return true
	}
	// A grant for the patient from an earlier journey that still lives (or may)
	// on this side can answer for the new requests: they run under it, unjudged.
	prior := x.grantState(patient, nil)
	if prior.kind != "" {
		prior.kind, prior.note = record.StateGrantHeld, "asked again while it "+prior.note
	}
	from := x.j.Name + "/"
	if !x.p.BreakGlass {
		_ = x.step(ctx, record.StepBreakglassInelig, target, func(ctx context.Context, f *record.Facts) error {
			f.Expected = record.Deny
			prior.set(f)
			sent := x.r.now()
			g, err := bg.BreakGlass(ctx, x.sess, name, plan.Reason)
			x.settle(bg, patient, g, err, sent, from+record.StepBreakglassInelig)
			return decided(f, err)
		})
		return true
	}
	_ = x.step(ctx, record.StepBreakglassNoReason, target, func(ctx context.Context, f *record.Facts) error {
		f.Expected = record.Deny
		prior.set(f)
		sent := x.r.now()
		g, err := bg.BreakGlass(ctx, x.sess, name, "")
		x.settle(bg, patient, g, err, sent, from+record.StepBreakglassNoReason)
		return decided(f, err)
	})
	var (
		g    *adapter.Grant
		sent time.Time // the time box cannot have started before this
	)
	err = x.step(ctx, record.StepBreakglass, target, func(ctx context.Context, f *record.Facts) error {
		f.Expected = record.Allow
		prior.set(f)
		var err error
		sent = x.r.now()
		g, err = bg.BreakGlass(ctx, x.sess, name, plan.Reason)
		if err != nil {
			x.grantFailed(patient, err, sent, from+record.StepBreakglass)
			return err
		}
		x.granted(patient, g, sent, from+record.StepBreakglass+" allow")
		f.Decision, f.TTL = record.Allow, ttlSeconds(g.TTL)
		return nil
	})
	if err != nil {
		return true
	}
	req, err := x.r.Resources[x.side].request(probe, patient, x.r.Targets)
	if err != nil {
		x.emit(x.configError(record.StepBreakglassAccess, target, err))
		x.end(bg, patient, g)
		return true
	}
	// A harness slower than the time box (a very short box under heavy load) would
	// see the grant expire before it uses it and report BREAKGLASS_DENIED for its
	// own lateness: with less than a quarter of the box left, plus up to a second
	// more for the granularity of a JWT's exp, give no verdict.
	if g.TTL > 0 && !x.r.now().Before(sent.Add(g.TTL-g.TTL/4-min(g.TTL/4, time.Second))) {
		why := fmt.Sprintf("the harness reached the access %s after asking, too late in the %s time box for a verdict", x.r.now().Sub(sent).Round(time.Millisecond), g.TTL)
		x.skip(record.StepBreakglassAccess, target, record.Skipped, why)
		x.skip(record.StepBreakglassAudit, adapter.AuditBreakglassAccess, record.Skipped, why)
		x.end(bg, patient, g)
		return true
	}
	accessed := x.request(ctx, record.StepBreakglassAccess, target, record.Allow, g.Session, req) == record.Allow
	if ar, ok := x.st.(AuditReader); ok {
		deadline := x.r.now().Add(x.r.Audit.Within)
		x.auditStep(ctx, ar, record.StepBreakglassAudit, adapter.AuditBreakglassStart, name, record.Allow, deadline)
		// The use can only be audited if it happened: an access that got no answer
		// (an outage) or was refused (BREAKGLASS_DENIED already) leaves nothing to
		// look for, and must not read as BREAKGLASS_NOT_AUDITED.
		if accessed {
			x.auditStep(ctx, ar, record.StepBreakglassAudit, adapter.AuditBreakglassAccess, name, record.Allow, deadline)
		} else {
			x.skip(record.StepBreakglassAudit, adapter.AuditBreakglassAccess, record.Skipped, "the access with the grant did not happen")
		}
	} else {
		x.skip(record.StepBreakglassAudit, "", record.Unsupported, "no audit feed configured")
	}
	switch {
	case g.TTL <= 0:
		x.skip(record.StepBreakglassExpired, target, record.Skipped, "the stack announced no time box for the grant")
		x.end(bg, patient, g)
	case g.TTL > plan.MaxWait:
		x.skip(record.StepBreakglassExpired, target, record.Skipped,
			fmt.Sprintf("time box %s is longer than breakglass.max_wait %s: expiry not checked", g.TTL, plan.MaxWait))
		x.end(bg, patient, g)
	default:
		// Announced lifetimes are whole seconds, rounded down: wait one more.
		if err := x.r.wait(ctx, g.TTL+time.Second); err != nil {
			return false
		}
		if x.request(ctx, record.StepBreakglassExpired, target, record.Deny, g.Session, req) == record.Deny {
			x.grantEnded(patient) // seen to end
		}
	}
	return true
}

// end ends a grant that must not stay open, best effort: it is not a step.
// A grant the stack would not end lives on in the ledger until its time box
// ends.
func (x *run) end(bg BreakGlasser, patient string, g *adapter.Grant) {
	if g == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), x.r.StepTimeout)
	defer cancel()
	if bg.EndBreakGlass(ctx, g) == nil {
		x.grantEnded(patient)
	}
}

// settle notes the answer to a grant request that must be refused (no reason,
// an ineligible persona) sent at sent by step from, and ends a grant it got.
func (x *run) settle(bg BreakGlasser, patient string, g *adapter.Grant, err error, sent time.Time, from string) {
	if err != nil {
		if x.grantState(patient, nil).kind == "" {
			x.grantFailed(patient, err, sent, from)
		}
		return
	}
	x.granted(patient, g, sent, from+" allow")
	x.end(bg, patient, g)
}
