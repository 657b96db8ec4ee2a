// Package rehearsal wires one run: the population, the two adapters, the schedule,
// the journeys and the record pipeline, and writes the results folder. `cutover run`
// and `cutover demo` both come through here.
//
// It is where a run is put together, the only package that imports both the
// journeys and the load generator; only run/canary and cmd/cutover import it.
package rehearsal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cutover-dev/cutover/internal/exitcode"
	"github.com/cutover-dev/cutover/journeys"
	"github.com/cutover-dev/cutover/journeys/adapter"
	"github.com/cutover-dev/cutover/journeys/legacy"
	"github.com/cutover-dev/cutover/journeys/oidc"
	"github.com/cutover-dev/cutover/loadgen"
	"github.com/cutover-dev/cutover/personas"
	"github.com/cutover-dev/cutover/results"
	"github.com/cutover-dev/cutover/results/analysis"
	"github.com/cutover-dev/cutover/results/record"
	"github.com/cutover-dev/cutover/run/config"
)

// Options are the run's surroundings: where results go and what to say about them.
type Options struct {
	// Out is the results folder; it is created.
	Out string
	// Log receives progress lines.
	Log io.Writer
	// Version of cutover, written into the summary.
	Version string
	// Drifts names embedded-candidate drifts, for the summary (demo runs).
	Drifts []string
	// Gzip compresses the records (records.jsonl.gz).
	Gzip bool
	// Segment, if set, runs one segment of a distributed run: the segment's starts
	// of the schedule, driven by the segment's personas (personas.Partition). Probes
	// and break-glass targets still resolve against the whole population.
	Segment loadgen.Segment
	// Population, if set, is the run's population, already built from the config
	// (by a caller that seeded stacks with it); nil builds it.
	Population *personas.Population
	// Hurry, once closed, ends the drain at once (a second interrupt): the
	// journeys in flight are cancelled and what was measured is written.
	Hurry <-chan struct{}
}

// Files in the results folder.
const (
	RecordsFile = results.RecordsFile
	SummaryFile = results.SummaryFile
)

// Run runs the rehearsal described by cfg and writes its results under opt.Out. It
// returns the summary even when it also returns an error about writing it. When
// ctx is cancelled (a signal) or an abort rule trips mid-run, it stops scheduling,
// drains the journeys in flight (load.drain at most), keeps every record and
// returns an aborted summary.
func Run(ctx context.Context, cfg *config.File, opt Options) (*analysis.Summary, error) {
	if opt.Log == nil {
		opt.Log = io.Discard
	}
	var pop personas.Population
	if opt.Population != nil {
		pop = *opt.Population
	} else {
		var err error
		if pop, err = Population(cfg); err != nil {
			return nil, err
		}
	}
	driven, err := pop, error(nil)
	if !opt.Segment.Whole() {
		if driven, err = personas.Partition(pop, opt.Segment.I, opt.Segment.N); err != nil {
			return nil, exitcode.With(err, exitcode.Usage)
		}
	}
	// Every request of the run, journeys and raw attacks alike, goes through the
	// host guard: nothing reaches a host that stacks.allow_hosts does not list.
	guard := loadgen.NewGuard(cfg.Stacks.AllowHosts, adapter.NewTransport(cfg.Load.MaxInFlight))
	defer guard.CloseIdleConnections()
	// The journeys' requests are tapped: each step's record lists them.
	tapped := journeys.Tap(guard)
	// Setup: an interrupt here stops the run before any journey or attack sends
	// a request (a request of the setup itself, in flight, is cancelled).
	pages := pageBrowser(cfg)
	defer pages.close()
	legacy, candidate, err := adapters(ctx, cfg, tapped, pop, pages.options()...)
	if err := setupErr(ctx, "building the adapters", err); err != nil {
		return nil, err
	}
	notices, err := preflight(ctx, cfg, pop, legacy, candidate)
	if err := setupErr(ctx, "checking the stacks", err); err != nil {
		return nil, err
	}
	raws, err := rawAttacks(ctx, cfg, pop, &http.Client{Transport: guard, Timeout: cfg.Load.StepTimeout})
	if ctx.Err() != nil {
		return nil, setupErr(ctx, "preparing the raw attacks", err)
	}
	if err != nil {
		return nil, err
	}
	for i := range raws {
		raws[i].Segment = opt.Segment
	}
	brow, err := startBrowser(ctx, cfg, opt.Out)
	if err := setupErr(ctx, "starting the browser", err); err != nil {
		return nil, err
	}
	defer brow.close()
	if err := os.MkdirAll(opt.Out, 0o755); err != nil {
		return nil, fmt.Errorf("results folder: %w", err)
	}
	// One redactor for everything the folder gets: records and persona table.
	red := redactor(pop, cfg.SecretValues()...)
	// The whole population, driven by this segment or not: cohorts nobody ran
	// show as not exercised, and a merge of segments sees every persona.
	table := personaTable(pop, red)
	if err := results.WritePersonas(opt.Out, table); err != nil {
		return nil, fmt.Errorf("results folder: %w", err)
	}
	// Closed by the pipeline, which every path from here on closes.
	recs, err := results.CreateRecords(opt.Out, opt.Gzip, record.WithRedactor(red))
	if err != nil {
		return nil, fmt.Errorf("results folder: %w", err)
	}

	runCtx, stopRun := context.WithCancelCause(ctx)
	defer stopRun(nil)
	start := time.Now()
	var m meter
	a := analysis.New(AnalysisOptions(cfg), start)
	a.SetPersonas(&table)
	var watch *loadgen.Watch
	if rule := abortRule(cfg); rule != nil {
		watch = loadgen.NewWatch(*rule, start)
	}
	// The generator watches its own health: steps it measured while starved are
	// set apart from the latency and error-rate verdicts.
	health := loadgen.StartHealth(healthOptions(cfg))
	defer health.Stop()
	seen := 0
	sink := newPipeline(recs, a, health, func(r *record.Record) {
		m.record(r)
		if seen++; seen%64 == 0 {
			m.findings.Store(int64(a.FindingsSoFar()))
		}
		if watch != nil {
			if err := watch.Observe(time.Now(), r); err != nil {
				stopRun(err)
			}
		}
	})
	runner := newRunner(cfg, pop, tapped)
	plan := loadgen.Plan{
		Pacer:       Pacer(cfg),
		Duration:    cfg.Load.Duration,
		MaxInFlight: cfg.Load.MaxInFlight,
		MaxDelay:    cfg.Load.MaxDelay,
		Drain:       cfg.Load.Drain,
		Live:        &m.live,
		Segment:     opt.Segment,
		Shortfalls:  new(loadgen.Shortfalls),
		Hurry:       opt.Hurry,
	}
	if !opt.Segment.Whole() {
		fmt.Fprintf(opt.Log, "cutover: segment %s: the starts n with n mod %d = %d, driven by %d of the %d personas\n",
			opt.Segment, opt.Segment.N, opt.Segment.I, len(driven.Personas), len(pop.Personas))
	}
	fmt.Fprintf(opt.Log, "cutover: %s: %d personas, %s for %s (%s pairing), results in %s\n",
		cfg.Name, len(driven.Personas), plan.Pacer, cfg.Load.Duration, cfg.Load.Pairing, opt.Out)
	for _, r := range raws {
		fmt.Fprintf(opt.Log, "cutover: raw attack on %s: %s on %d stack(s)\n", r.Endpoint, r.Pacer, len(r.Targets))
	}
	stopProgress := startProgress(ctx, opt.Log, &m, opt.Segment.Pacer(plan.Pacer, 0), cfg.Load.Duration)
	var rawWG sync.WaitGroup
	for _, r := range raws {
		rawWG.Go(func() { loadgen.Attack(runCtx, r, sink.emit) })
	}
	acct := loadgen.Run(runCtx, plan, journeyJob(cfg, driven, runner, [2]journeys.Stack{legacy, candidate}, brow, &m, plan.Shortfalls, sink.emit))
	rawWG.Wait()
	stopProgress()
	health.Stop()
	acct.Health, acct.Unhealthy = healthAccount(health.Report())

	meta := analysis.Meta{
		Name: cfg.Name, Version: opt.Version, Seed: cfg.Seed, ConfigHash: cfg.Hash,
		Start: start.UTC(), Duration: time.Since(start), AA: cfg.Mode == config.ModeAA, Drifts: opt.Drifts,
		Segment: opt.Segment.String(),
	}
	if runCtx.Err() != nil {
		cause := context.Cause(runCtx)
		var ae *loadgen.AbortError
		if errors.As(cause, &ae) {
			meta.Aborted = ae.Error()
		} else {
			meta.Aborted = fmt.Sprintf("interrupted after %s: %v", time.Since(start).Round(time.Millisecond), cause)
		}
	}
	werr := sink.close()
	sum := a.Summary(meta, acct)
	sum.Notices = append(sum.Notices, notices...)
	return &sum, errors.Join(werr, results.Write(opt.Out, &sum, a.Stats()))
}

// setupErr is the error of a setup stage: an interrupt (ctx done) aborts the
// run, exit 3, with nothing sent after it; another failure is a precondition,
// exit 4.
func setupErr(ctx context.Context, stage string, err error) error {
	if ctx.Err() != nil {
		return exitcode.With(fmt.Errorf("interrupted while %s: the run stopped before any traffic", stage), exitcode.Aborted)
	}
	if err != nil {
		return exitcode.With(err, exitcode.Precondition)
	}
	return nil
}

// journeyJob runs one scheduled journey: the journey the mix picks, for an idle
// persona of its kinds, on both stacks: at the same instant, or one after the
// other in an order drawn from the seed (load.pairing).
func journeyJob(cfg *config.File, pop personas.Population, runner *journeys.Runner, stacks [2]journeys.Stack, brow *browserShare, m *meter, short *loadgen.Shortfalls, emit func(*record.Record)) loadgen.Job {
	pool := loadgen.NewPool(len(pop.Personas), cfg.Seed)
	mix := mix(cfg)
	sides := [2]record.Side{record.Legacy, record.Candidate}
	return func(ctx context.Context, t loadgen.Tick) error {
		j := cfg.Journeys[mix.Pick(t)]
		// The seed picks the starts that run in a real browser (load.browser).
		inBrowser, kinds := brow.takes(t.N), j.Kinds
		if inBrowser {
			kinds = brow.kinds
		}
		i, ok := pool.Acquire(t.N, func(i int) bool { return slices.Contains(kinds, pop.Personas[i].Kind) })
		name := j.Name
		if inBrowser {
			name = "browser"
		}
		if !ok {
			return &loadgen.NoIdlePersona{Journey: name, Kinds: kindNames(kinds), Pool: countKinds(pop, kinds)}
		}
		began := time.Now()
		defer func() {
			pool.Release(i)
			short.Ended(name, time.Since(began))
		}()
		p := pop.Personas[i]
		if inBrowser {
			brow.run(ctx, func(side record.Side) personas.Persona { return personaOn(cfg, side, p) }, journeys.Iteration{N: t.N, Intended: t.Intended}, emit)
			return nil
		}
		run := func(k int, intended time.Time) {
			if stacks[k] == nil {
				return // a one-sided run: the side is not driven
			}
			m.begun[k].Add(1)
			runner.Run(ctx, j, sides[k], stacks[k], personaOn(cfg, sides[k], p), journeys.Iteration{N: t.N, Intended: intended}, emit)
		}
		if cfg.Load.Pairing == config.PairRandomOrder {
			first := sideIndex(loadgen.FirstSide(cfg.Seed, t.N))
			run(first, t.Intended)
			// The second side was meant to start when the first was done.
			run(1-first, time.Now())
			return nil
		}
		var wg sync.WaitGroup
		wg.Go(func() { run(1, t.Intended) })
		run(0, t.Intended)
		wg.Wait()
		return nil
	}
}

func kindNames(kinds []personas.Kind) []string {
	out := make([]string, len(kinds))
	for i, k := range kinds {
		out[i] = string(k)
	}
	return out
}

// countKinds counts the personas of pop of one of kinds.
func countKinds(pop personas.Population, kinds []personas.Kind) int {
	n := 0
	for _, p := range pop.Personas {
		if slices.Contains(kinds, p.Kind) {
			n++
		}
	}
	return n
}

// healthOptions are the limits of a healthy generator (load.health).
func healthOptions(cfg *config.File) loadgen.HealthOptions {
	h := cfg.Load.Health
	return loadgen.HealthOptions{MaxHiccup: h.MaxHiccup, MaxSchedLatency: h.MaxSchedLatency, MaxGCPause: h.MaxGCPause, MaxCPU: h.MaxCPU}
}

// healthAccount turns what the monitor saw into the run's accounting.
func healthAccount(r loadgen.HealthReport) (*record.Health, []record.Window) {
	h := &record.Health{
		Intervals: r.Intervals, Unhealthy: r.Unhealthy,
		WorstHiccup: r.Worst.Hiccup, WorstSchedP99: r.Worst.SchedP99, WorstGCPause: r.Worst.GCPause, WorstCPU: r.Worst.CPU,
	}
	var ws []record.Window
	for _, w := range r.Windows {
		ws = append(ws, record.Window{From: w.From, To: w.To})
		for _, why := range w.Reasons {
			kind, _, _ := strings.Cut(why, " ")
			if !slices.ContainsFunc(h.Reasons, func(s string) bool { return strings.HasPrefix(s, kind) }) {
				h.Reasons = append(h.Reasons, why)
			}
		}
	}
	return h, ws
}

// redactor knows the population's secrets and more (the configuration's), so the records writer removes them
// wherever a stack might echo one.
func redactor(pop personas.Population, more ...string) *record.Redactor {
	secrets := append(make([]string, 0, len(pop.Personas)+len(more)), more...)
	for _, p := range pop.Personas {
		secrets = append(secrets, p.Secret.Reveal())
		if c := p.CandidateSecret.Reveal(); c != "" {
			secrets = append(secrets, c)
		}
	}
	return record.NewRedactor(secrets...)
}

// adapters builds both sides, with extra options; in A/A mode the candidate is
// the legacy stack again.
func adapters(ctx context.Context, cfg *config.File, tr http.RoundTripper, pop personas.Population, extra ...adapter.Option) (journeys.Stack, journeys.Stack, error) {
	jopts := append([]adapter.Option{adapter.WithPersonas(pop), adapter.WithSetupTimeout(cfg.Load.StepTimeout)}, extra...)
	var leg journeys.Stack
	if cfg.Drives("legacy") {
		var err error
		if leg, err = newAdapter(ctx, "legacy", cfg.Stacks.Legacy, tr, jopts); err != nil {
			return nil, nil, err
		}
	}
	if !cfg.Drives("candidate") {
		return leg, nil, nil
	}
	if cfg.Mode == config.ModeAA {
		cand, err := newAdapter(ctx, "candidate (A/A: legacy again)", cfg.Stacks.Legacy, tr, jopts)
		return leg, cand, err
	}
	// The candidate's personas sign in with the secrets it holds.
	copts := append([]adapter.Option{adapter.WithPersonas(pop.ForCandidate())}, jopts[1:]...)
	cand, err := newAdapter(ctx, "candidate", cfg.Stacks.Candidate, tr, copts)
	return leg, cand, err
}

// newAdapter builds the adapter of one side: oidc for a standards provider, the
// declarative legacy adapter otherwise.
func newAdapter(ctx context.Context, name string, s config.Side, tr http.RoundTripper, opts []adapter.Option) (journeys.Stack, error) {
	var (
		st  journeys.Stack
		err error
	)
	switch s.Adapter {
	case "oidc":
		st, err = oidc.New(ctx, *s.OIDC, tr, opts...)
	default:
		st, err = legacy.New(*s.Legacy, tr, opts...)
	}
	if err != nil {
		return nil, fmt.Errorf("%s stack: %w", name, err)
	}
	return st, nil
}

// checker is a stack that can tell whether it is reachable.
type checker interface {
	Check(ctx context.Context) error
}

// preflight makes sure, before any load, that both stacks answer and that both
// hold the population (PROVISIONING_DRIFT); it returns the notices the summary
// carries about it.
func preflight(ctx context.Context, cfg *config.File, pop personas.Population, legacy, candidate journeys.Stack) ([]analysis.Notice, error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.Load.StepTimeout)
	defer cancel()
	var errs []error
	for _, s := range []struct {
		name string
		st   journeys.Stack
	}{{"legacy", legacy}, {"candidate", candidate}} {
		if c, ok := s.st.(checker); ok && s.st != nil {
			if err := c.Check(ctx); err != nil {
				errs = append(errs, fmt.Errorf("%s stack unreachable: %w", s.name, err))
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if cfg.Only != "" {
		return []analysis.Notice{{Class: analysis.ProvisioningDrift, Detail: fmt.Sprintf(
			"one-sided run: only the %s stack was driven (only: %s); nothing was compared with the other, so the classes that compare the stacks are not judged, and the directories were not checked against each other", cfg.Only, cfg.Only)}}, nil
	}
	return parity(ctx, cfg, pop, legacy, candidate)
}

// newRunner builds the journey runner of a run from the config.
func newRunner(cfg *config.File, pop personas.Population, tr http.RoundTripper) *journeys.Runner {
	pdp := map[record.Side]*adapter.AuthZEN{record.Legacy: cfg.Stacks.Legacy.AuthZEN, record.Candidate: cfg.Stacks.Candidate.AuthZEN}
	policy := map[record.Side]journeys.StatePolicy{record.Legacy: cfg.Stacks.Legacy.State, record.Candidate: cfg.Stacks.Candidate.State}
	waits := map[record.Side]journeys.Waits{record.Legacy: cfg.Stacks.Legacy.Waits, record.Candidate: cfg.Stacks.Candidate.Waits}
	names := map[record.Side]string{record.Legacy: cfg.Stacks.Legacy.PatientID, record.Candidate: cfg.Stacks.Candidate.PatientID}
	if cfg.Mode == config.ModeAA {
		names[record.Candidate] = cfg.Stacks.Legacy.PatientID
		pdp[record.Candidate] = cfg.Stacks.Legacy.AuthZEN
		policy[record.Candidate] = cfg.Stacks.Legacy.State
		waits[record.Candidate] = cfg.Stacks.Legacy.Waits
	}
	for side, p := range pdp {
		if p == nil {
			delete(pdp, side)
		}
	}
	return &journeys.Runner{
		Probes:        cfg.Probes,
		Resources:     map[record.Side]journeys.Resources{record.Legacy: cfg.SideResources("legacy"), record.Candidate: cfg.SideResources("candidate")},
		PDP:           pdp,
		Waits:         waits,
		Targets:       journeys.NewTargets(pop),
		PatientIDs:    names,
		BreakGlass:    cfg.BreakGlass,
		Audit:         cfg.Audit,
		WrongPassword: cfg.WrongPassword,
		Policy:        policy,
		StepTimeout:   cfg.Load.StepTimeout,
		Transport:     tr,
	}
}

// personaOn is persona p as side knows it: on the candidate of a parity run,
// with the candidate's secret where the accounts file gives one.
func personaOn(cfg *config.File, side record.Side, p personas.Persona) personas.Persona {
	if side == record.Candidate && cfg.Mode == config.ModeParity {
		return p.ForCandidate()
	}
	return p
}
