package journeys

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/cutover-dev/cutover/personas"
	"github.com/cutover-dev/cutover/results/record"
)

// Journey is a named sequence of step groups that personas of some kinds run on
// each side.
type Journey struct {
	Name string `yaml:"name"`
	// Kinds lists the persona kinds that run it.
	Kinds []personas.Kind `yaml:"kinds"`
	// Steps are step groups, in order; see StepGroups.
	Steps []string `yaml:"steps"`
	// Weight is the journey's share of scheduled starts.
	Weight float64 `yaml:"weight"`
}

// Step groups a journey is composed of. Each group records one or more steps
// under the step names of package results.
const (
	// StepsLogin signs the persona in (a service persona gets its service token).
	StepsLogin = "login"
	// StepsProbes runs the persona kind's rows of the probe table.
	StepsProbes = "probes"
	// StepsRefresh renews the session, then replays the previous refresh token and
	// tries the newest one after a refused reuse (rotation and reuse detection).
	StepsRefresh = "refresh"
	// StepsLogout logs out, then tries the old credentials: a probe, introspection
	// and a refresh.
	StepsLogout = "logout"
	// StepsBreakglass requests emergency access without and with a reason, uses it,
	// checks its audit and its expiry; an ineligible persona is refused.
	StepsBreakglass = "breakglass"
	// StepsService authenticates a service persona: client_credentials or API key.
	StepsService = "service"
	// StepsAudit checks that the journey's auditable actions (login, logout,
	// denials) appear in the stack's audit feed within the bound.
	StepsAudit = "audit"
)

// StepGroups lists the step groups a journey may name.
var StepGroups = []string{StepsLogin, StepsProbes, StepsRefresh, StepsLogout, StepsBreakglass, StepsService, StepsAudit}

// NeedsSession reports whether group needs a session from an earlier login or
// service group.
func NeedsSession(group string) bool {
	return group != StepsLogin && group != StepsService
}

// Iteration is one scheduled run of a journey.
type Iteration struct {
	N uint64
	// Intended is when the scheduler meant the journey to start.
	Intended time.Time
}

// BreakGlassPlan is what the break-glass group asks for.
type BreakGlassPlan struct {
	// Action and Resource name the probe the grant is used for, resolved through
	// the side's request templates: "read", "record:unassigned".
	Action   string `yaml:"action"`
	Resource string `yaml:"resource"`
	// Reason is the justification sent with the request.
	Reason string `yaml:"reason"`
	// MaxWait is the longest a journey waits for a grant's time box to pass to
	// check that the access ended; a longer time box is not checked (the step is
	// recorded as skipped, with the reason).
	MaxWait time.Duration `yaml:"max_wait"`
}

// AuditPlan bounds the audit checks.
type AuditPlan struct {
	// Within is how long after an action its event may take to appear.
	Within time.Duration `yaml:"within"`
	// Poll is the interval between two reads of the feed.
	Poll time.Duration `yaml:"poll"`
	// Skew allows for the stack's clock being behind the harness's: events are
	// asked for from the journey's start minus Skew.
	Skew time.Duration `yaml:"skew"`
}

// Runner runs journeys and records each step. It is safe for concurrent use.
type Runner struct {
	Probes    []Probe
	Resources map[record.Side]Resources
	// PDP, for a side that has one, evaluates that side's probes at an AuthZEN
	// policy decision point instead of requesting the resources.
	PDP        map[record.Side]*AuthZEN
	Targets    *Targets
	BreakGlass BreakGlassPlan
	Audit      AuditPlan
	// StepTimeout bounds each step.
	StepTimeout time.Duration
	// Transport carries the PDP requests.
	Transport http.RoundTripper
	// Now is the clock audit queries and waits are measured on (nil: time.Now);
	// step latencies are always measured on the wall clock.
	Now func() time.Time
	// Wait pauses a journey (break-glass expiry, audit polling); nil waits on a
	// timer. Tests that run the stacks on an injected clock advance it here.
	Wait func(ctx context.Context, d time.Duration) error
}

func (r *Runner) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Runner) wait(ctx context.Context, d time.Duration) error {
	if r.Wait != nil {
		return r.Wait(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// run carries one journey's state on one side.
type run struct {
	r     *Runner
	side  record.Side
	st    Stack
	p     personas.Persona
	j     Journey
	it    Iteration
	emit  func(*record.Record)
	first bool
	sess  *Session
	// allowed is the first probe this side allowed: logout.probe replays it.
	allowed *Request
	aTarget string
	// start is when the journey began on the runner's clock; actions lists the
	// auditable actions it performed, for the audit group.
	start   time.Time
	actions []string
}

// Run runs journey j for persona p on one side and emits a record per step.
// It returns when the journey is over or ctx is done. emit takes ownership of
// each record (the pipeline redacts it in place): the journey never touches a
// record once emitted.
func (r *Runner) Run(ctx context.Context, j Journey, side record.Side, st Stack, p personas.Persona, it Iteration, emit func(*record.Record)) {
	x := &run{r: r, side: side, st: st, p: p, j: j, it: it, emit: emit, first: true, start: r.now()}
	for _, group := range j.Steps {
		if ctx.Err() != nil {
			return
		}
		if NeedsSession(group) && x.sess == nil {
			return
		}
		var ok bool
		switch group {
		case StepsLogin:
			ok = x.login(ctx)
		case StepsProbes:
			ok = x.probes(ctx)
		case StepsRefresh:
			ok = x.refresh(ctx)
		case StepsLogout:
			ok = x.logout(ctx)
		case StepsBreakglass:
			ok = x.breakglass(ctx)
		case StepsService:
			ok = x.service(ctx)
		case StepsAudit:
			ok = x.audit(ctx)
		}
		if !ok {
			return
		}
	}
}

// step times fn and emits its record. The first step of a journey is timed from the
// intended start when the generator was late, so queueing in the harness shows up
// as latency instead of vanishing (no coordinated omission). The record lists the
// requests fn made through a tapped transport (see Tap).
func (x *run) step(ctx context.Context, name, target string, fn func(ctx context.Context, f *record.Facts) error) error {
	ctx, cancel := context.WithTimeout(ctx, x.r.StepTimeout)
	defer cancel()
	ctx, sent := withEndpointLog(ctx)
	start := time.Now()
	from := start
	if x.first && x.it.Intended.Before(start) && !x.it.Intended.IsZero() {
		from = x.it.Intended
	}
	x.first = false
	rec := x.record(name, target, start)
	err := fn(ctx, &rec.Facts)
	rec.Latency = time.Since(from)
	rec.Endpoints = sent.endpoints()
	if err != nil {
		rec.Outcome, rec.Error = outcomeOf(err)
		if rec.Outcome == record.OK {
			rec.Facts.Decision = record.Deny
			var re *RefusedError
			if errors.As(err, &re) {
				rec.Facts.Status = re.Status
			}
		}
	}
	x.emit(rec)
	return err
}

func (x *run) record(name, target string, start time.Time) *record.Record {
	return &record.Record{
		Side: x.side, Persona: x.p.ID, Kind: string(x.p.Kind), Cohort: x.p.Cohort.String(),
		Journey: x.j.Name, Iteration: x.it.N, Step: name, Target: target,
		Intended: x.it.Intended, Start: start, Outcome: record.OK,
	}
}

// skip records a step that did not run: unsupported by the stack, or skipped
// because what it checks could not be set up; why says which.
func (x *run) skip(name, target string, outcome record.Outcome, why string) {
	rec := x.record(name, target, time.Now())
	rec.Outcome, rec.Error = outcome, why
	x.emit(rec)
}

// outcomeOf classifies a step error: a refusal is a decision (OK outcome, deny),
// unsupported is reported as such, everything else is an error.
func outcomeOf(err error) (record.Outcome, string) {
	var re *RefusedError
	switch {
	case errors.As(err, &re):
		return record.OK, err.Error()
	case errors.Is(err, ErrUnsupported):
		return record.Unsupported, err.Error()
	default:
		return record.Error, err.Error()
	}
}

// decided runs a call that grants or refuses and records the decision: nil is
// allow, a refusal deny; anything else stays an error.
func decided(f *record.Facts, err error) error {
	if err != nil {
		return err
	}
	f.Decision = record.Allow
	return nil
}

func (x *run) note(action string) {
	if !slices.Contains(x.actions, action) {
		x.actions = append(x.actions, action)
	}
}

func (x *run) login(ctx context.Context) bool {
	if !x.p.Human() {
		return x.service(ctx)
	}
	return x.signIn(ctx, "")
}

// signIn logs the persona in and records the login step under target.
func (x *run) signIn(ctx context.Context, target string) bool {
	err := x.step(ctx, record.StepLogin, target, func(ctx context.Context, f *record.Facts) error {
		f.Expected = record.Allow
		s, err := x.st.Login(ctx, x.p)
		if err != nil {
			return err
		}
		x.sess = s
		f.Decision = record.Allow
		f.Roles, f.Scopes, f.MissingClaims = s.Roles, s.Scopes, s.MissingClaims
		f.TTL = ttlSeconds(s.TTL)
		return nil
	})
	if err == nil {
		x.note(AuditLogin)
	}
	return err == nil
}

func ttlSeconds(d time.Duration) int64 {
	if d < 0 {
		return -1
	}
	return int64(d / time.Second)
}

func (x *run) probes(ctx context.Context) bool {
	name := record.StepProbe
	if !x.p.Human() {
		name = record.StepServiceProbe
	}
	pdp := x.r.PDP[x.side]
	for _, pr := range x.r.Probes {
		if pr.Kind != x.p.Kind {
			continue
		}
		_, sel, _ := strings.Cut(pr.Resource, ":")
		id, ok := x.r.Targets.Resolve(sel, x.p, x.it.N)
		if !ok {
			continue
		}
		req, err := x.r.Resources[x.side].request(pr, id)
		if err != nil {
			x.emit(x.configError(name, pr.Target(), err))
			continue
		}
		_ = x.step(ctx, name, pr.Target(), func(ctx context.Context, f *record.Facts) error {
			f.Expected = pr.Expect
			if pdp != nil {
				d, status, err := pdp.evaluate(ctx, x.r.Transport, x.sess, x.p.Kind, pr.Action, pr.Type(), id)
				if err != nil {
					return err
				}
				f.Status, f.Decision = status, d
			} else {
				status, err := x.st.Do(ctx, x.sess, req)
				if err != nil {
					return err
				}
				f.Status, f.Decision = status, Decide(status)
				if f.Decision == record.Deny {
					x.note(AuditDeny)
				}
			}
			if f.Decision == record.Allow && x.allowed == nil {
				x.allowed, x.aTarget = &req, pr.Target()
			}
			return nil
		})
	}
	return true
}

// configError records a step that could not be built from the configuration.
func (x *run) configError(step, target string, err error) *record.Record {
	rec := x.record(step, target, time.Now())
	rec.Outcome, rec.Error = record.Error, "config: "+err.Error()
	return rec
}

// refresh renews the session, then checks rotation and reuse detection: the
// previous refresh token replayed must be refused, and after that refusal the
// newest one must be dead too (RFC 9700 s4.14.2). A stack that does revoke the
// family has ended the session, so the persona signs in again for the rest of
// the journey (recorded as a login with target "relogin").
func (x *run) refresh(ctx context.Context) bool {
	r, ok := x.st.(Refresher)
	if !ok {
		x.skip(record.StepRefresh, "", record.Unsupported, ErrUnsupported.Error())
		return true
	}
	prev := x.sess
	var rot *bool
	err := x.step(ctx, record.StepRefresh, "", func(ctx context.Context, f *record.Facts) error {
		f.Expected = record.Allow
		next, err := r.Refresh(ctx, prev)
		if err != nil {
			return err
		}
		f.Decision = record.Allow
		rot = rotated(prev, next)
		f.Rotated, f.Widened = rot, widened(prev, next)
		f.Scopes, f.TTL = next.Scopes, ttlSeconds(next.TTL)
		x.sess = next
		return nil
	})
	if err != nil {
		return true // the old session may still serve the rest of the journey
	}
	switch {
	case rot == nil:
		why := "the session is renewed in place: no refresh token to replay"
		x.skip(record.StepRefreshReplay, "", record.Unsupported, why)
		x.skip(record.StepRefreshFamily, "", record.Unsupported, why)
		return true
	case !*rot:
		why := "the refresh token was not rotated: there is no previous one to replay"
		x.skip(record.StepRefreshReplay, "", record.Skipped, why)
		x.skip(record.StepRefreshFamily, "", record.Skipped, why)
		return true
	}
	var refused bool
	_ = x.step(ctx, record.StepRefreshReplay, "", func(ctx context.Context, f *record.Facts) error {
		f.Expected = record.Deny
		_, err := r.Refresh(ctx, prev)
		var re *RefusedError
		refused = errors.As(err, &re)
		return decided(f, err)
	})
	if !refused {
		x.skip(record.StepRefreshFamily, "", record.Skipped, "the replayed refresh token was not refused")
		return true
	}
	var familyAlive bool
	_ = x.step(ctx, record.StepRefreshFamily, "", func(ctx context.Context, f *record.Facts) error {
		f.Expected = record.Deny
		next, err := r.Refresh(ctx, x.sess)
		if err == nil {
			familyAlive, x.sess = true, next
		}
		return decided(f, err)
	})
	if familyAlive {
		return true
	}
	return x.signIn(ctx, "relogin")
}

// logout logs out, then checks that the old credentials are dead: the first
// allowed probe replayed, each credential introspected, a refresh attempted.
func (x *run) logout(ctx context.Context) bool {
	err := x.step(ctx, record.StepLogout, "", func(ctx context.Context, f *record.Facts) error {
		return decided(f, x.st.Logout(ctx, x.sess))
	})
	if err != nil {
		// Not logged out (refused, unsupported or unavailable): checking that the
		// credentials died would only report noise.
		return false
	}
	x.note(AuditLogout)
	if x.allowed != nil {
		x.request(ctx, record.StepLogoutProbe, x.aTarget, record.Deny, x.sess, *x.allowed)
	}
	if in, ok := x.st.(Introspector); ok && len(in.Credentials(x.sess)) > 0 {
		for _, c := range in.Credentials(x.sess) {
			_ = x.step(ctx, record.StepLogoutIntrospect, c, func(ctx context.Context, f *record.Facts) error {
				f.Expected = record.Deny
				active, err := in.Active(ctx, x.sess, c)
				if err != nil {
					return err
				}
				f.Decision = record.Deny
				if active {
					f.Decision = record.Allow
				}
				return nil
			})
		}
	} else {
		x.skip(record.StepLogoutIntrospect, "", record.Unsupported, "no introspection configured or offered")
	}
	if r, ok := x.st.(Refresher); ok {
		_ = x.step(ctx, record.StepLogoutRefresh, "", func(ctx context.Context, f *record.Facts) error {
			f.Expected = record.Deny
			_, err := r.Refresh(ctx, x.sess)
			return decided(f, err)
		})
	} else {
		x.skip(record.StepLogoutRefresh, "", record.Unsupported, ErrUnsupported.Error())
	}
	return true
}

func (x *run) service(ctx context.Context) bool {
	sa, ok := x.st.(ServiceAuthenticator)
	if !ok {
		x.skip(record.StepServiceToken, "", record.Unsupported, ErrUnsupported.Error())
		return false
	}
	err := x.step(ctx, record.StepServiceToken, "", func(ctx context.Context, f *record.Facts) error {
		f.Expected = record.Allow
		s, err := sa.ServiceLogin(ctx, x.p)
		if err != nil {
			return err
		}
		x.sess = s
		f.Decision = record.Allow
		f.Scopes, f.TTL, f.RefreshIssued, f.MissingClaims = s.Scopes, ttlSeconds(s.TTL), s.cred.refresh != "", s.MissingClaims
		return nil
	})
	return err == nil
}

// audit checks that each auditable action of the journey so far left its event
// in the stack's audit feed within the bound. The expected decision is legacy's:
// an event legacy records and the candidate does not is AUDIT_EVENT_MISSING.
func (x *run) audit(ctx context.Context) bool {
	ar, ok := x.st.(AuditReader)
	if !ok {
		x.skip(record.StepAudit, "", record.Unsupported, ErrUnsupported.Error())
		return true
	}
	deadline := x.r.now().Add(x.r.Audit.Within)
	for _, kind := range x.actions {
		x.auditStep(ctx, ar, record.StepAudit, kind, "", "", deadline)
	}
	return true
}

// request sends req with s as step name, records its decision against expected
// and returns the decision ("" when the step got no answer).
func (x *run) request(ctx context.Context, name, target, expected string, s *Session, req Request) string {
	var decision string
	_ = x.step(ctx, name, target, func(ctx context.Context, f *record.Facts) error {
		f.Expected = expected
		status, err := x.st.Do(ctx, s, req)
		if err != nil {
			return err
		}
		f.Status, f.Decision = status, Decide(status)
		decision = f.Decision
		return nil
	})
	return decision
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
		return false, protocolErr(opAudit, "the session has no subject to look events up by (configure the subject path)")
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
			return false, transportErr(opAudit, err)
		}
	}
}
