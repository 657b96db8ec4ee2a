package journeys

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/cutover-dev/cutover/journeys/adapter"
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
	// StepsWrongPassword signs in with a wrong password on purpose, as many
	// times as WrongPasswordPlan says: each must be refused, and together they
	// may set off the side's lockout, which the later sign-ins run under.
	StepsWrongPassword = "wrong_password"
)

// StepGroups lists the step groups a journey may name.
var StepGroups = []string{StepsLogin, StepsProbes, StepsRefresh, StepsLogout, StepsBreakglass, StepsService, StepsAudit, StepsWrongPassword}

// NeedsSession reports whether group needs a session from an earlier login or
// service group.
func NeedsSession(group string) bool {
	return group != StepsLogin && group != StepsService && group != StepsWrongPassword
}

// WrongPasswordPlan is what the wrong_password group does.
type WrongPasswordPlan struct {
	// Attempts is how many wrong passwords it sends (default 1).
	Attempts int `yaml:"attempts"`
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
	PDP     map[record.Side]*adapter.AuthZEN
	Targets *Targets
	// PatientIDs are, per side, how the stack names a patient in its
	// break-glass requests and audit events: a template over the patient's id
	// and attributes ("{attr.mrn}", "Patient/{id}"); empty is the persona id.
	PatientIDs    map[record.Side]string
	BreakGlass    BreakGlassPlan
	Audit         AuditPlan
	WrongPassword WrongPasswordPlan
	// Policy tells, per side, what configuration knows of its lockout and its
	// break-glass grants; the runner keeps the state the run creates (see
	// StatePolicy) and records it with every decision it bears on.
	Policy map[record.Side]StatePolicy
	// Waits are the pauses a side's journeys make on purpose (see Waits).
	Waits map[record.Side]Waits
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

	ledger ledger
	// subjects maps, per side, each subject a sign-in was given to the
	// persona it was given to first (see claimSubject).
	subjects sync.Map
}

// claimSubject notes that persona id signed in on side as subject, and returns
// the other persona that was given the same subject first, if any: one
// subject for two people is one person's data open to another.
func (r *Runner) claimSubject(side record.Side, subject, id string) string {
	if subject == "" {
		return ""
	}
	owner, _ := r.subjects.LoadOrStore(string(side)+"\x00"+subject, id)
	if owner.(string) == id {
		return ""
	}
	return owner.(string)
}

// Waits are pauses a side's journeys make between steps on purpose, so that a
// time window of the stack can be probed: a provider that keeps a rotated
// refresh token valid for a few seconds (a reuse window) refuses its replay
// only once the window has passed. The pauses are not part of any step's
// latency.
type Waits struct {
	// BeforeRefresh pauses between the sign-in and the first refresh.
	BeforeRefresh time.Duration `yaml:"before_refresh"`
	// BeforeReplay pauses between a refresh and the replay of the refresh
	// token it replaced.
	BeforeReplay time.Duration `yaml:"before_replay"`
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
	sess  *adapter.Session
	// allowed is the first probe this side allowed: logout.probe replays it.
	allowed *adapter.Request
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
		case StepsWrongPassword:
			ok = x.wrongPassword(ctx)
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
	rec.Endpoints, rec.Hosts = sent.endpoints(), sent.hostList()
	if err != nil {
		rec.Outcome, rec.Error = outcomeOf(err)
		var ie *adapter.InvalidTokenError
		if errors.As(err, &ie) {
			rec.Facts.Check = ie.Name()
		}
		if rec.Outcome == record.OK {
			rec.Facts.Decision = record.Deny
			var re *adapter.RefusedError
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
// a token that fails validation is invalid, unsupported is reported as such,
// everything else is an error.
func outcomeOf(err error) (record.Outcome, string) {
	var re *adapter.RefusedError
	var ie *adapter.InvalidTokenError
	switch {
	case errors.As(err, &re):
		return record.OK, err.Error()
	case errors.As(err, &ie):
		return record.Invalid, err.Error()
	case errors.Is(err, adapter.ErrUnsupported):
		return record.Unsupported, err.Error()
	case errors.Is(err, adapter.ErrUnverified):
		return record.Unverified, err.Error()
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

// Steps returns the record step names a journey may record for a persona of
// kind: what its step groups record, service personas' login and probes under
// their service names. A group may stop short (a refused login ends the
// journey), so these are the steps it is configured to reach, not the ones it
// will. The analysis tells "no journey runs it" from "no journey got there" by
// them.
func Steps(j Journey, kind personas.Kind) []string {
	human := kind != personas.Service
	var out []string
	add := func(steps ...string) {
		for _, s := range steps {
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	for _, g := range j.Steps {
		switch g {
		case StepsLogin:
			if human {
				add(record.StepLogin)
			} else {
				add(record.StepServiceToken)
			}
		case StepsService:
			add(record.StepServiceToken)
		case StepsProbes:
			if human {
				add(record.StepProbe)
			} else {
				add(record.StepServiceProbe)
			}
		case StepsRefresh:
			add(record.StepRefresh, record.StepRefreshReplay, record.StepRefreshFamily)
		case StepsLogout:
			add(record.StepLogout)
			// The logout probe replays a probe the persona was allowed: only a
			// journey with probes has one.
			if human && slices.Contains(j.Steps, StepsProbes) {
				add(record.StepLogoutProbe)
			}
			add(record.StepLogoutIntrospect, record.StepLogoutRefresh)
		case StepsBreakglass:
			add(record.StepBreakglassNoReason, record.StepBreakglass, record.StepBreakglassAccess, record.StepBreakglassAudit,
				record.StepBreakglassExpired, record.StepBreakglassInelig)
		case StepsAudit:
			add(record.StepAudit)
		case StepsWrongPassword:
			if human {
				add(record.StepLoginWrongPassword)
			}
		}
	}
	return out
}
