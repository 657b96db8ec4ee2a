package journeys

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/cutover-dev/cutover/personas"
	"github.com/cutover-dev/cutover/results"
)

// Journey is a named sequence of steps that personas of some kinds run on each side.
type Journey struct {
	Name string `yaml:"name"`
	// Kinds lists the persona kinds that run it.
	Kinds []personas.Kind `yaml:"kinds"`
	// Steps in order; see the Step* constants.
	Steps []string `yaml:"steps"`
	// Weight is the journey's share of scheduled starts.
	Weight float64 `yaml:"weight"`
}

// Step groups a journey can be made of.
const (
	StepsLogin  = "login"
	StepsProbes = "probes"
	StepsLogout = "logout"
)

// StepGroups lists the step groups a journey may name.
var StepGroups = []string{StepsLogin, StepsProbes, StepsLogout}

// Iteration is one scheduled run of a journey.
type Iteration struct {
	N uint64
	// Intended is when the scheduler meant the journey to start.
	Intended time.Time
}

// Runner runs journeys and records each step. It is safe for concurrent use.
type Runner struct {
	Probes    []Probe
	Resources map[results.Side]Resources
	Targets   *Targets
	// StepTimeout bounds each step.
	StepTimeout time.Duration
}

// run carries one journey's state on one side.
type run struct {
	r     *Runner
	side  results.Side
	st    Stack
	p     personas.Persona
	j     Journey
	it    Iteration
	emit  func(*results.Record)
	first bool
	sess  *Session
	// allowed is the first probe this side allowed: logout.probe replays it.
	allowed *Request
	aTarget string
}

// Run runs journey j for persona p on one side and emits a record per step.
// It returns when the journey is over or ctx is done.
func (r *Runner) Run(ctx context.Context, j Journey, side results.Side, st Stack, p personas.Persona, it Iteration, emit func(*results.Record)) {
	x := &run{r: r, side: side, st: st, p: p, j: j, it: it, emit: emit, first: true}
	for _, group := range j.Steps {
		if ctx.Err() != nil {
			return
		}
		var ok bool
		switch group {
		case StepsLogin:
			ok = x.login(ctx)
		case StepsProbes:
			ok = x.probes(ctx)
		case StepsLogout:
			ok = x.logout(ctx)
		}
		if !ok {
			return
		}
	}
}

// step times fn and emits its record. The first step of a journey is timed from the
// intended start when the generator was late, so queueing in the harness shows up
// as latency instead of vanishing (no coordinated omission).
func (x *run) step(ctx context.Context, name, target string, fn func(ctx context.Context, f *results.Facts) error) error {
	ctx, cancel := context.WithTimeout(ctx, x.r.StepTimeout)
	defer cancel()
	start := time.Now()
	from := start
	if x.first && x.it.Intended.Before(start) && !x.it.Intended.IsZero() {
		from = x.it.Intended
	}
	x.first = false
	rec := &results.Record{
		Side: x.side, Persona: x.p.ID, Kind: string(x.p.Kind), Cohort: x.p.Cohort.String(),
		Journey: x.j.Name, Iteration: x.it.N, Step: name, Target: target,
		Intended: x.it.Intended, Start: start, Outcome: results.OK,
	}
	err := fn(ctx, &rec.Facts)
	rec.Latency = time.Since(from)
	if err != nil {
		rec.Outcome, rec.Error = outcomeOf(err)
		if rec.Outcome == results.OK {
			rec.Facts.Decision = results.Deny
			var re *RefusedError
			if errors.As(err, &re) {
				rec.Facts.Status = re.Status
			}
		}
	}
	x.emit(rec)
	return err
}

// outcomeOf classifies a step error: a refusal is a decision (OK outcome, deny),
// unsupported is reported as such, everything else is an error.
func outcomeOf(err error) (results.Outcome, string) {
	var re *RefusedError
	switch {
	case errors.As(err, &re):
		return results.OK, err.Error()
	case errors.Is(err, ErrUnsupported):
		return results.Unsupported, err.Error()
	default:
		return results.Error, err.Error()
	}
}

func (x *run) login(ctx context.Context) bool {
	err := x.step(ctx, results.StepLogin, "", func(ctx context.Context, f *results.Facts) error {
		f.Expected = results.Allow
		s, err := x.st.Login(ctx, x.p)
		if err != nil {
			return err
		}
		x.sess = s
		f.Decision = results.Allow
		f.Roles, f.Scopes, f.MissingClaims = s.Roles, s.Scopes, s.MissingClaims
		f.TTL = int64(s.TTL / time.Second)
		if s.TTL < 0 {
			f.TTL = -1
		}
		return nil
	})
	return err == nil
}

func (x *run) probes(ctx context.Context) bool {
	if x.sess == nil {
		return false
	}
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
			x.emit(x.configError(results.StepProbe, pr.Target(), err))
			continue
		}
		_ = x.step(ctx, results.StepProbe, pr.Target(), func(ctx context.Context, f *results.Facts) error {
			f.Expected = pr.Expect
			status, err := x.st.Do(ctx, x.sess, req)
			if err != nil {
				return err
			}
			f.Status, f.Decision = status, Decide(status)
			if f.Decision == results.Allow && x.allowed == nil {
				x.allowed, x.aTarget = &req, pr.Target()
			}
			return nil
		})
	}
	return true
}

func (x *run) logout(ctx context.Context) bool {
	if x.sess == nil {
		return false
	}
	err := x.step(ctx, results.StepLogout, "", func(ctx context.Context, f *results.Facts) error {
		if err := x.st.Logout(ctx, x.sess); err != nil {
			return err
		}
		f.Decision = results.Allow
		return nil
	})
	if err != nil || x.allowed == nil {
		return err == nil
	}
	req := *x.allowed
	_ = x.step(ctx, results.StepLogoutProbe, x.aTarget, func(ctx context.Context, f *results.Facts) error {
		f.Expected = results.Deny
		status, err := x.st.Do(ctx, x.sess, req)
		if err != nil {
			return err
		}
		f.Status, f.Decision = status, Decide(status)
		return nil
	})
	return true
}

// configError records a step that could not be built from the configuration.
func (x *run) configError(step, target string, err error) *results.Record {
	return &results.Record{
		Side: x.side, Persona: x.p.ID, Kind: string(x.p.Kind), Cohort: x.p.Cohort.String(),
		Journey: x.j.Name, Iteration: x.it.N, Step: step, Target: target,
		Intended: x.it.Intended, Start: time.Now(), Outcome: results.Error, Error: "config: " + err.Error(),
	}
}
