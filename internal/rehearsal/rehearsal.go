// Package rehearsal wires one run: the population, the two adapters, the schedule,
// the journeys and the record pipeline, and writes the results folder. `cutover run`
// and `cutover demo` both come through here.
package rehearsal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

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
// returns the summary even when it also returns an error about writing it; when ctx
// is cancelled mid-run it stops scheduling, drains the journeys in flight, keeps
// every record and returns an aborted summary.
func Run(ctx context.Context, cfg *config.File, opt Options) (*results.Summary, error) {
	if opt.Log == nil {
		opt.Log = io.Discard
	}
	pop, err := Population(cfg)
	if err != nil {
		return nil, err
	}
	tr := journeys.NewTransport(cfg.Load.MaxInFlight)
	defer tr.CloseIdleConnections()
	legacy, candidate, err := adapters(ctx, cfg, tr)
	if err != nil {
		return nil, exitcode.With(err, exitcode.Precondition)
	}
	brow, err := startBrowser(ctx, cfg, opt.Out)
	if err != nil {
		return nil, exitcode.With(err, exitcode.Precondition)
	}
	defer brow.close()
	if err := os.MkdirAll(opt.Out, 0o755); err != nil {
		return nil, fmt.Errorf("results folder: %w", err)
	}
	recFile, err := os.Create(filepath.Join(opt.Out, RecordsFile))
	if err != nil {
		return nil, fmt.Errorf("results folder: %w", err)
	}
	defer recFile.Close()

	analysis := results.NewAnalysis(AnalysisOptions(cfg))
	sink := newPipeline(recFile, analysis)
	runner := &journeys.Runner{
		Probes:      cfg.Probes,
		Resources:   map[results.Side]journeys.Resources{results.Legacy: cfg.SideResources("legacy"), results.Candidate: cfg.SideResources("candidate")},
		Targets:     journeys.NewTargets(pop),
		StepTimeout: cfg.Load.StepTimeout,
	}
	pool := loadgen.NewPool(len(pop.Personas), cfg.Seed)
	plan := loadgen.Plan{
		Pacer:       vegeta.ConstantPacer{Freq: int(math.Round(cfg.Load.Profile.Rate)), Per: time.Second},
		Duration:    cfg.Load.Duration,
		MaxInFlight: cfg.Load.MaxInFlight,
		Drain:       cfg.Load.Drain,
	}
	start := time.Now()
	fmt.Fprintf(opt.Log, "cutover: %s: %d personas, %v/s for %s, results in %s\n", cfg.Name, len(pop.Personas), cfg.Load.Profile.Rate, cfg.Load.Duration, opt.Out)
	acct := loadgen.Run(ctx, plan, func(ctx context.Context, t loadgen.Tick) bool {
		j := pickJourney(cfg.Journeys, cfg.Seed, t.N)
		inBrowser, kinds := brow.takes(t.N), j.Kinds
		if inBrowser {
			kinds = brow.kinds
		}
		i, ok := pool.Acquire(t.N, func(i int) bool { return kindIn(pop.Personas[i].Kind, kinds) })
		if !ok {
			return false
		}
		defer pool.Release(i)
		p := pop.Personas[i]
		it := journeys.Iteration{N: t.N, Intended: t.Intended}
		if inBrowser {
			brow.run(ctx, p, it, sink.emit)
			return true
		}
		var wg sync.WaitGroup
		for side, st := range map[results.Side]journeys.Stack{results.Legacy: legacy, results.Candidate: candidate} {
			wg.Go(func() { runner.Run(ctx, j, side, st, p, it, sink.emit) })
		}
		wg.Wait()
		return true
	})
	meta := results.Meta{
		Name: cfg.Name, Version: opt.Version, Seed: cfg.Seed, ConfigHash: cfg.Hash,
		Start: start.UTC(), Duration: time.Since(start), AA: cfg.Mode == config.ModeAA, Drifts: opt.Drifts,
	}
	if ctx.Err() != nil {
		meta.Aborted = fmt.Sprintf("interrupted after %s: %v", time.Since(start).Round(time.Millisecond), context.Cause(ctx))
	}
	werr := sink.close()
	sum := analysis.Summary(meta, acct)
	if err := sum.WriteJSON(filepath.Join(opt.Out, SummaryFile)); err != nil {
		werr = errors.Join(werr, err)
	}
	return &sum, werr
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
func adapters(ctx context.Context, cfg *config.File, tr *http.Transport) (journeys.Stack, journeys.Stack, error) {
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

func adapter(ctx context.Context, name string, s config.Side, tr *http.Transport) (journeys.Stack, error) {
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

func kindIn(k personas.Kind, ks []personas.Kind) bool {
	for _, x := range ks {
		if x == k {
			return true
		}
	}
	return false
}

// pickJourney chooses the journey of start n by weight, from the seed.
func pickJourney(js []journeys.Journey, seed, n uint64) journeys.Journey {
	total := 0.0
	for _, j := range js {
		total += j.Weight
	}
	x := float64(mix64(seed^(n*0x9e3779b97f4a7c15))>>11) / (1 << 53) * total
	for _, j := range js {
		if x < j.Weight {
			return j
		}
		x -= j.Weight
	}
	return js[len(js)-1]
}

func mix64(x uint64) uint64 {
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}
