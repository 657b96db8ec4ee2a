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
	// Gzip compresses the records (records.jsonl.gz).
	Gzip bool
	// Parity, when set, checks before any load that both stacks hold the
	// population (PROVISIONING_DRIFT); an error aborts the run with exit 4. It is
	// the seam for personas' parity check (issue 4), not yet on main.
	Parity func(ctx context.Context, pop personas.Population) error
}

// Files in the results folder.
const (
	RecordsFile = results.RecordsFile
	SummaryFile = results.SummaryFile
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
	legacy, candidate, err := adapters(ctx, cfg, tr, pop)
	if err != nil {
		return nil, exitcode.With(err, exitcode.Precondition)
	}
	if err := preflight(ctx, cfg, pop, opt, legacy, candidate); err != nil {
		return nil, exitcode.With(err, exitcode.Precondition)
	}
	if err := os.MkdirAll(opt.Out, 0o755); err != nil {
		return nil, fmt.Errorf("results folder: %w", err)
	}
	recName, wopts := RecordsFile, []results.WriterOption{results.WithRedactor(redactor(pop))}
	if opt.Gzip {
		recName, wopts = results.RecordsFileGz, append(wopts, results.WithGzip())
	}
	recFile, err := os.Create(filepath.Join(opt.Out, recName))
	if err != nil {
		return nil, fmt.Errorf("results folder: %w", err)
	}
	defer recFile.Close()

	start := time.Now()
	analysis := results.NewAnalysis(AnalysisOptions(cfg), start)
	sink := newPipeline(results.NewWriter(recFile, wopts...), analysis)
	runner := newRunner(cfg, pop, tr)
	pool := loadgen.NewPool(len(pop.Personas), cfg.Seed)
	plan := loadgen.Plan{
		Pacer:       vegeta.ConstantPacer{Freq: int(math.Round(cfg.Load.Profile.Rate)), Per: time.Second},
		Duration:    cfg.Load.Duration,
		MaxInFlight: cfg.Load.MaxInFlight,
		Drain:       cfg.Load.Drain,
	}
	fmt.Fprintf(opt.Log, "cutover: %s: %d personas, %v/s for %s, results in %s\n", cfg.Name, len(pop.Personas), cfg.Load.Profile.Rate, cfg.Load.Duration, opt.Out)
	acct := loadgen.Run(ctx, plan, func(ctx context.Context, t loadgen.Tick) bool {
		j := pickJourney(cfg.Journeys, cfg.Seed, t.N)
		i, ok := pool.Acquire(t.N, func(i int) bool { return kindIn(pop.Personas[i].Kind, j.Kinds) })
		if !ok {
			return false
		}
		defer pool.Release(i)
		p := pop.Personas[i]
		it := journeys.Iteration{N: t.N, Intended: t.Intended}
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
	werr = errors.Join(werr, analysis.Stats().WriteHistogramsFile(filepath.Join(opt.Out, results.HistogramsFile)),
		results.WriteReports(opt.Out, &sum))
	return &sum, werr
}

// redactor knows the population's secrets, so the records writer removes them
// wherever a stack might echo one.
func redactor(pop personas.Population) *results.Redactor {
	secrets := make([]string, 0, len(pop.Personas))
	for _, p := range pop.Personas {
		secrets = append(secrets, p.Secret.Reveal())
	}
	return results.NewRedactor(secrets...)
}

// AnalysisOptions derives the comparison and gate settings from the config.
func AnalysisOptions(cfg *config.File) results.Options { return cfg.AnalysisOptions() }

// adapters builds both sides; in A/A mode the candidate is the legacy stack again.
func adapters(ctx context.Context, cfg *config.File, tr *http.Transport, pop personas.Population) (journeys.Stack, journeys.Stack, error) {
	jopts := []journeys.Option{journeys.WithPersonas(pop)}
	legacy, err := adapter(ctx, "legacy", cfg.Stacks.Legacy, tr, jopts)
	if err != nil {
		return nil, nil, err
	}
	if cfg.Mode == config.ModeAA {
		candidate, err := adapter(ctx, "candidate (A/A: legacy again)", cfg.Stacks.Legacy, tr, jopts)
		return legacy, candidate, err
	}
	candidate, err := adapter(ctx, "candidate", cfg.Stacks.Candidate, tr, jopts)
	return legacy, candidate, err
}

func adapter(ctx context.Context, name string, s config.Side, tr *http.Transport, opts []journeys.Option) (journeys.Stack, error) {
	var (
		st  journeys.Stack
		err error
	)
	switch s.Adapter {
	case "oidc":
		st, err = journeys.NewOIDC(ctx, *s.OIDC, tr, opts...)
	default:
		st, err = journeys.NewLegacy(*s.Legacy, tr, opts...)
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

// preflight makes sure, before any load, that both stacks answer and (when a
// parity check is wired) that both hold the population.
func preflight(ctx context.Context, cfg *config.File, pop personas.Population, opt Options, legacy, candidate journeys.Stack) error {
	ctx, cancel := context.WithTimeout(ctx, cfg.Load.StepTimeout)
	defer cancel()
	var errs []error
	for _, s := range []struct {
		name string
		st   journeys.Stack
	}{{"legacy", legacy}, {"candidate", candidate}} {
		if c, ok := s.st.(checker); ok {
			if err := c.Check(ctx); err != nil {
				errs = append(errs, fmt.Errorf("%s stack unreachable: %w", s.name, err))
			}
		}
	}
	if len(errs) == 0 && opt.Parity != nil {
		if err := opt.Parity(ctx, pop); err != nil {
			errs = append(errs, fmt.Errorf("personas differ between the stacks: %w", err))
		}
	}
	return errors.Join(errs...)
}

// newRunner builds the journey runner of a run from the config.
func newRunner(cfg *config.File, pop personas.Population, tr http.RoundTripper) *journeys.Runner {
	pdp := map[results.Side]*journeys.AuthZEN{results.Legacy: cfg.Stacks.Legacy.AuthZEN, results.Candidate: cfg.Stacks.Candidate.AuthZEN}
	if cfg.Mode == config.ModeAA {
		pdp[results.Candidate] = cfg.Stacks.Legacy.AuthZEN
	}
	for side, p := range pdp {
		if p == nil {
			delete(pdp, side)
		}
	}
	return &journeys.Runner{
		Probes:      cfg.Probes,
		Resources:   map[results.Side]journeys.Resources{results.Legacy: cfg.SideResources("legacy"), results.Candidate: cfg.SideResources("candidate")},
		PDP:         pdp,
		Targets:     journeys.NewTargets(pop),
		BreakGlass:  cfg.BreakGlass,
		Audit:       cfg.Audit,
		StepTimeout: cfg.Load.StepTimeout,
		Transport:   tr,
	}
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
