package journeys

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/cutover-dev/cutover/results/record"
)

// HTTPBreakGlass is a break-glass request made by one HTTP call with the
// requester's session: a homegrown endpoint, or a provider's custom API.
type HTTPBreakGlass struct {
	// Request asks for access; placeholders {patient} and {reason}. A request
	// without a reason leaves the members holding only {reason} out.
	Request RequestTemplate `yaml:"request"`
	// GrantID and ExpiresIn are paths in the answer: the grant's id and its time
	// box in seconds. Both optional.
	GrantID   string `yaml:"grant_id"`
	ExpiresIn string `yaml:"expires_in"`
	// Token is the path of a token in the answer that carries the access, sent as a
	// bearer token; empty means the session itself carries the grant.
	Token string `yaml:"token"`
	// End ends a grant early; placeholder {grant_id}.
	End *RequestTemplate `yaml:"end"`
}

const opBreakGlass = "break-glass"

// refusalStatus reports the answers that are a decision, not an error, on a request
// for access or a login: bad request (no reason), unauthenticated, forbidden,
// conflict, unprocessable, locked.
func refusalStatus(status int) bool {
	switch status {
	case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusConflict,
		http.StatusUnprocessableEntity, http.StatusLocked:
		return true
	}
	return false
}

var errorCode = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,64}$`)

// refusal builds the RefusedError of an answer, with the stack's error code when
// its JSON body has a short one ("reason_required").
func refusal(resp *http.Response) *RefusedError {
	var doc any
	if decodeJSON(resp, "", &doc) == nil {
		for _, p := range []string{"error", "error.code", "code"} {
			if s, err := stringAt(doc, p); err == nil && errorCode.MatchString(s) {
				return &RefusedError{Status: resp.StatusCode, Reason: s}
			}
		}
	}
	return &RefusedError{Status: resp.StatusCode}
}

func (h *HTTPBreakGlass) request(ctx context.Context, tr http.RoundTripper, base *url.URL, s *Session, patient, reason string) (*Grant, error) {
	req, err := h.Request.Expand(map[string]string{"patient": patient, "reason": reason})
	if err != nil {
		return nil, err
	}
	resp, err := call(ctx, tr, resolve(base, req.Path), s, req)
	if err != nil {
		return nil, err
	}
	switch {
	case refusalStatus(resp.StatusCode):
		return nil, refusal(resp)
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		drain(resp)
		return nil, protocolErr(opBreakGlass, "HTTP %d is neither a grant nor a refusal", resp.StatusCode)
	}
	g := &Grant{Session: s}
	if h.GrantID == "" && h.ExpiresIn == "" && h.Token == "" {
		drain(resp)
		return g, nil
	}
	var doc any
	if err := decodeJSON(resp, opBreakGlass, &doc); err != nil {
		return nil, err
	}
	if h.GrantID != "" {
		if g.id, err = stringAt(doc, h.GrantID); err != nil {
			return nil, protocolErr(opBreakGlass, "%v", err)
		}
	}
	if h.ExpiresIn != "" {
		secs, err := numberAt(doc, h.ExpiresIn)
		if err != nil {
			return nil, protocolErr(opBreakGlass, "%v", err)
		}
		g.TTL = time.Duration(secs * float64(time.Second))
	}
	if h.Token != "" {
		tok, err := stringAt(doc, h.Token)
		if err != nil {
			return nil, protocolErr(opBreakGlass, "%v", err)
		}
		gs := *s
		gs.cred = credential{header: "Authorization", value: "Bearer " + tok, access: tok}
		g.Session = &gs
	}
	return g, nil
}

func (h *HTTPBreakGlass) end(ctx context.Context, tr http.RoundTripper, base *url.URL, g *Grant) error {
	if h.End == nil || g.id == "" {
		return ErrUnsupported
	}
	req, err := h.End.Expand(map[string]string{"grant_id": g.id})
	if err != nil {
		return err
	}
	status, err := do(ctx, tr, resolve(base, req.Path), g.Session, req)
	if err != nil {
		return err
	}
	if status >= 400 {
		return &RefusedError{Status: status, Reason: "end of grant refused"}
	}
	return nil
}

// breakglass runs the break-glass group. An ineligible persona asks once, with a
// reason, and must be refused. An eligible one asks without a reason (refused),
// with one (granted), uses the grant, checks that the start and the use were
// audited, and, when the time box is short enough to wait for, that the access
// ended with it.
func (x *run) breakglass(ctx context.Context) bool {
	bg, ok := x.st.(BreakGlasser)
	if !ok {
		x.skip(record.StepBreakglass, "", record.Unsupported, ErrUnsupported.Error())
		return true
	}
	plan := x.r.BreakGlass
	probe := Probe{Kind: x.p.Kind, Action: valueOr(plan.Action, "read"), Resource: plan.Resource}
	_, sel, _ := strings.Cut(probe.Resource, ":")
	patient, ok := x.r.Targets.Resolve(sel, x.p, x.it.N)
	if !ok {
		return true // nobody to break the glass for
	}
	target := probe.Target()
	if !x.p.BreakGlass {
		_ = x.step(ctx, record.StepBreakglassInelig, target, func(ctx context.Context, f *record.Facts) error {
			f.Expected = record.Deny
			g, err := bg.BreakGlass(ctx, x.sess, patient, plan.Reason)
			x.end(bg, g)
			return decided(f, err)
		})
		return true
	}
	_ = x.step(ctx, record.StepBreakglassNoReason, target, func(ctx context.Context, f *record.Facts) error {
		f.Expected = record.Deny
		g, err := bg.BreakGlass(ctx, x.sess, patient, "")
		x.end(bg, g)
		return decided(f, err)
	})
	var (
		g    *Grant
		sent time.Time // the time box cannot have started before this
	)
	err := x.step(ctx, record.StepBreakglass, target, func(ctx context.Context, f *record.Facts) error {
		f.Expected = record.Allow
		var err error
		sent = x.r.now()
		if g, err = bg.BreakGlass(ctx, x.sess, patient, plan.Reason); err != nil {
			return err
		}
		f.Decision, f.TTL = record.Allow, ttlSeconds(g.TTL)
		return nil
	})
	if err != nil {
		return true
	}
	req, err := x.r.Resources[x.side].request(probe, patient)
	if err != nil {
		x.emit(x.configError(record.StepBreakglassAccess, target, err))
		x.end(bg, g)
		return true
	}
	// A harness slower than the time box (a very short box under heavy load) would
	// see the grant expire before it uses it and report BREAKGLASS_DENIED for its
	// own lateness: with less than a quarter of the box left, plus up to a second
	// more for the granularity of a JWT's exp, give no verdict.
	if g.TTL > 0 && !x.r.now().Before(sent.Add(g.TTL-g.TTL/4-min(g.TTL/4, time.Second))) {
		why := fmt.Sprintf("the harness reached the access %s after asking, too late in the %s time box for a verdict", x.r.now().Sub(sent).Round(time.Millisecond), g.TTL)
		x.skip(record.StepBreakglassAccess, target, record.Skipped, why)
		x.skip(record.StepBreakglassAudit, AuditBreakglassAccess, record.Skipped, why)
		x.end(bg, g)
		return true
	}
	accessed := x.request(ctx, record.StepBreakglassAccess, target, record.Allow, g.Session, req) == record.Allow
	if ar, ok := x.st.(AuditReader); ok {
		deadline := x.r.now().Add(x.r.Audit.Within)
		x.auditStep(ctx, ar, record.StepBreakglassAudit, AuditBreakglassStart, patient, record.Allow, deadline)
		// The use can only be audited if it happened: an access that got no answer
		// (an outage) or was refused (BREAKGLASS_DENIED already) leaves nothing to
		// look for, and must not read as BREAKGLASS_NOT_AUDITED.
		if accessed {
			x.auditStep(ctx, ar, record.StepBreakglassAudit, AuditBreakglassAccess, patient, record.Allow, deadline)
		} else {
			x.skip(record.StepBreakglassAudit, AuditBreakglassAccess, record.Skipped, "the access with the grant did not happen")
		}
	} else {
		x.skip(record.StepBreakglassAudit, "", record.Unsupported, "no audit feed configured")
	}
	switch {
	case g.TTL <= 0:
		x.skip(record.StepBreakglassExpired, target, record.Skipped, "the stack announced no time box for the grant")
		x.end(bg, g)
	case g.TTL > plan.MaxWait:
		x.skip(record.StepBreakglassExpired, target, record.Skipped,
			fmt.Sprintf("time box %s is longer than breakglass.max_wait %s: expiry not checked", g.TTL, plan.MaxWait))
		x.end(bg, g)
	default:
		// Announced lifetimes are whole seconds, rounded down: wait one more.
		if err := x.r.wait(ctx, g.TTL+time.Second); err != nil {
			return false
		}
		x.request(ctx, record.StepBreakglassExpired, target, record.Deny, g.Session, req)
	}
	return true
}

// end ends a grant that must not stay open, best effort: it is not a step.
func (x *run) end(bg BreakGlasser, g *Grant) {
	if g == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), x.r.StepTimeout)
	defer cancel()
	_ = bg.EndBreakGlass(ctx, g)
}
