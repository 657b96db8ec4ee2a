// Package rehearsal wires one run: the population, the two adapters, the schedule,
// the journeys and the record pipeline, and writes the results folder. `cutover run`
// and `cutover demo` both come through here.
package rehearsal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cutover-dev/cutover/internal/config"
	"github.com/cutover-dev/cutover/internal/exitcode"
	"github.com/cutover-dev/cutover/journeys"
	"github.com/cutover-dev/cutover/loadgen"
	"github.com/cutover-dev/cutover/personas"
	"github.com/cutover-dev/cutover/results"
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
}

// Files in the results folder.
const (
	RecordsFile = "records.jsonl"
	SummaryFile = "summary.json"
)

// Population builds the run's personas from the config.
func Population(cfg *config.File) (personas.Population, error) {
	pop, err := personas.Generate(cfg.Seed, cfg.Personas.Generate.Options())
	if err != nil {
		return personas.Population{}, exitcode.With(fmt.Errorf("personas: %w", err), exitcode.Usage)
	}
	return pop, nil
}

// Run runs the rehearsal described by cfg and writes its results under opt.Out. It
// returns the summary even when it also returns an error about writing it. When
// ctx is cancelled (a signal) or an abort rule trips mid-run, it stops scheduling,
// drains the journeys in flight (load.drain at most), keeps every record and
// returns an aborted summary.
func Run(ctx context.Context, cfg *config.File, opt Options) (*results.Summary, error) {
	if opt.Log == nil {
		opt.Log = io.Discard
	}
	pop, err := Population(cfg)
	if err != nil {
		return nil, err
	}
	// Every request of the run, journeys and raw attacks alike, goes through the
	// host guard: nothing reaches a host that stacks.allow_hosts does not list.
	guard := loadgen.NewGuard(cfg.Stacks.AllowHosts, journeys.NewTransport(cfg.Load.MaxInFlight))
	defer guard.CloseIdleConnections()
	legacy, candidate, err := adapters(ctx, cfg, guard)
	if err != nil {
		return nil, exitcode.With(err, exitcode.Precondition)
	}
	raws, err := rawAttacks(ctx, cfg, pop, &http.Client{Transport: guard, Timeout: cfg.Load.StepTimeout})
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(opt.Out, 0o755); err != nil {
		return nil, fmt.Errorf("results folder: %w", err)
	}
	recFile, err := os.Create(filepath.Join(opt.Out, RecordsFile))
	if err != nil {
		return nil, fmt.Errorf("results folder: %w", err)
	}
	defer recFile.Close()

	runCtx, stopRun := context.WithCancelCause(ctx)
	defer stopRun(nil)
	start := time.Now()
	var m meter
	analysis := results.NewAnalysis(AnalysisOptions(cfg))
	var watch *loadgen.Watch
	if cfg.Load.Abort != nil {
		watch = loadgen.NewWatch(cfg.Load.Abort.Rule(), start)
	}
	seen := 0
	sink := newPipeline(recFile, analysis, func(r *results.Record) {
		m.record(r)
		if seen++; seen%64 == 0 {
			m.findings.Store(int64(analysis.FindingsSoFar()))
		}
		if watch != nil {
			if err := watch.Observe(time.Now(), r); err != nil {
				stopRun(err)
			}
		}
	})
	runner := &journeys.Runner{
		Probes:      cfg.Probes,
		Resources:   map[results.Side]journeys.Resources{results.Legacy: cfg.SideResources("legacy"), results.Candidate: cfg.SideResources("candidate")},
		Targets:     journeys.NewTargets(pop),
		StepTimeout: cfg.Load.StepTimeout,
	}
	plan := loadgen.Plan{
		Pacer:       cfg.Load.Pacer(),
		Duration:    cfg.Load.Duration,
		MaxInFlight: cfg.Load.MaxInFlight,
		MaxDelay:    cfg.Load.MaxDelay,
		Drain:       cfg.Load.Drain,
		Live:        &m.live,
	}
	fmt.Fprintf(opt.Log, "cutover: %s: %d personas, %s for %s (%s pairing), results in %s\n",
		cfg.Name, len(pop.Personas), plan.Pacer, cfg.Load.Duration, cfg.Load.Pairing, opt.Out)
	for _, r := range raws {
		fmt.Fprintf(opt.Log, "cutover: raw attack on %s: %s on %d stack(s)\n", r.Endpoint, r.Pacer, len(r.Targets))
	}
	stopProgress := startProgress(ctx, opt.Log, &m, plan.Pacer, cfg.Load.Duration)
	var rawWG sync.WaitGroup
	for _, r := range raws {
		rawWG.Go(func() { loadgen.Attack(runCtx, r, sink.emit) })
	}
	acct := loadgen.Run(runCtx, plan, journeyJob(cfg, pop, runner, [2]journeys.Stack{legacy, candidate}, &m, sink.emit))
	rawWG.Wait()
	stopProgress()

	meta := results.Meta{
		Name: cfg.Name, Version: opt.Version, Seed: cfg.Seed, ConfigHash: cfg.Hash,
		Start: start.UTC(), Duration: time.Since(start), AA: cfg.Mode == config.ModeAA, Drifts: opt.Drifts,
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
	sum := analysis.Summary(meta, acct)
	if f, ok := saturation(acct); ok {
		sum.Findings = append(sum.Findings, f)
		results.SortFindings(sum.Findings)
	}
	if err := sum.WriteJSON(filepath.Join(opt.Out, SummaryFile)); err != nil {
		werr = errors.Join(werr, err)
	}
	return &sum, werr
}

// journeyJob runs one scheduled journey: the journey the mix picks, for an idle
// persona of its kinds, on both stacks: at the same instant, or one after the
// other in an order drawn from the seed (load.pairing).
func journeyJob(cfg *config.File, pop personas.Population, runner *journeys.Runner, stacks [2]journeys.Stack, m *meter, emit func(*results.Record)) loadgen.Job {
	pool := loadgen.NewPool(len(pop.Personas), cfg.Seed)
	mix := cfg.Mix()
	sides := [2]results.Side{results.Legacy, results.Candidate}
	return func(ctx context.Context, t loadgen.Tick) bool {
		j := cfg.Journeys[mix.Pick(t)]
		i, ok := pool.Acquire(t.N, func(i int) bool { return slices.Contains(j.Kinds, pop.Personas[i].Kind) })
		if !ok {
			return false
		}
		defer pool.Release(i)
		p := pop.Personas[i]
		run := func(k int, intended time.Time) {
			m.begun[k].Add(1)
			runner.Run(ctx, j, sides[k], stacks[k], p, journeys.Iteration{N: t.N, Intended: intended}, emit)
		}
		if cfg.Load.Pairing == config.PairRandomOrder {
			first := sideIndex(loadgen.FirstSide(cfg.Seed, t.N))
			run(first, t.Intended)
			// The second side was meant to start when the first was done.
			run(1-first, time.Now())
			return true
		}
		var wg sync.WaitGroup
		wg.Go(func() { run(1, t.Intended) })
		run(0, t.Intended)
		wg.Wait()
		return true
	}
}

// saturation turns the windows where the generator fell behind into a
// GENERATOR_SATURATED finding: not a regression, a warning that the latency
// verdicts of those windows are not trustworthy.
func saturation(acct results.Accounting) (results.Finding, bool) {
	if len(acct.Saturated) == 0 {
		return results.Finding{}, false
	}
	spans := make([]string, 0, len(acct.Saturated))
	for _, w := range acct.Saturated {
		spans = append(spans, fmt.Sprintf("%s-%s", w.From, w.To))
	}
	return results.Finding{
		Class: results.GeneratorSaturated, Severity: results.GeneratorSaturated.Severity(), Journey: "-", Step: "-",
		Count: len(acct.Saturated), Examples: []results.Example{},
		Detail: fmt.Sprintf("the generator fell behind its schedule in %s (%d late, %d dropped of %d): latency verdicts from those windows are not trustworthy",
			strings.Join(spans, ", "), acct.Late, acct.Dropped, acct.Scheduled),
	}, true
}

// AnalysisOptions derives the comparison and gate settings from the config.
func AnalysisOptions(cfg *config.File) results.Options {
	var gate results.Gate
	for _, s := range cfg.Thresholds.FailOn {
		gate.FailOn = append(gate.FailOn, results.Severity(s))
	}
	return results.Options{
		Compare: results.CompareOptions{AA: cfg.Mode == config.ModeAA, MaxAccessTTL: cfg.Thresholds.MaxAccessTTL},
		Perf:    results.PerfOptions{LatencyRatio: cfg.Thresholds.LatencyRatio, LatencyMinDelta: cfg.Thresholds.LatencyMinDelta, ErrorRateDelta: cfg.Thresholds.ErrorRateDelta, Seed: cfg.Seed},
		Gate:    gate,
	}
}

// adapters builds both sides; in A/A mode the candidate is the legacy stack again.
func adapters(ctx context.Context, cfg *config.File, tr http.RoundTripper) (journeys.Stack, journeys.Stack, error) {
	legacy, err := adapter(ctx, "legacy", cfg.Stacks.Legacy, tr)
	if err != nil {
		return nil, nil, err
	}
	if cfg.Mode == config.ModeAA {
		candidate, err := adapter(ctx, "candidate (A/A: legacy again)", cfg.Stacks.Legacy, tr)
		return legacy, candidate, err
	}
	candidate, err := adapter(ctx, "candidate", cfg.Stacks.Candidate, tr)
	return legacy, candidate, err
}

func adapter(ctx context.Context, name string, s config.Side, tr http.RoundTripper) (journeys.Stack, error) {
	var (
		st  journeys.Stack
		err error
	)
	switch s.Adapter {
	case "oidc":
		st, err = journeys.NewOIDC(ctx, *s.OIDC, tr)
	default:
		st, err = journeys.NewLegacy(*s.Legacy, tr)
	}
	if err != nil {
		return nil, fmt.Errorf("%s stack: %w", name, err)
	}
	return st, nil
}
