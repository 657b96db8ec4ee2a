package rehearsal

import (
	"context"
	"fmt"
	"sync"

	"github.com/cutover-dev/cutover/journeys/adapter"

	"github.com/cutover-dev/cutover/journeys"
	"github.com/cutover-dev/cutover/journeys/browser"
	"github.com/cutover-dev/cutover/loadgen"
	"github.com/cutover-dev/cutover/personas"
	"github.com/cutover-dev/cutover/results/record"
	"github.com/cutover-dev/cutover/run/config"
)

// browserShare runs the browser share of a rehearsal's starts: one Chromium for the
// run, its journeys beside the protocol ones, recorded under the journey
// browser.Journey. A nil *browserShare takes no start.
type browserShare struct {
	chromium *browser.Chromium
	runner   *browser.Runner
	share    float64
	kinds    []personas.Kind
	seed     uint64
	// sides are the sides the run drives.
	sides []record.Side
}

// startBrowser starts the run's browser when cfg asks for a browser share, and
// returns nil when it does not. Evidence of failed browser steps goes under out.
func startBrowser(ctx context.Context, cfg *config.File, out string) (*browserShare, error) {
	b := cfg.Load.Browser
	if b == nil {
		return nil, nil
	}
	sites, err := browserSites(cfg)
	if err != nil {
		return nil, fmt.Errorf("browser: %w", err)
	}
	c, err := browser.Start(ctx, browser.Options{ExecPath: b.Chromium})
	if err != nil {
		return nil, err
	}
	r := browser.NewRunner(c, browser.RunnerOptions{
		Sites: sites, MaxTabs: b.MaxTabs, StepTimeout: cfg.Load.StepTimeout, Evidence: &browser.Evidence{Root: out},
	})
	var sides []record.Side
	for _, side := range cfg.DrivenSides() {
		sides = append(sides, record.Side(side))
	}
	return &browserShare{chromium: c, runner: r, share: b.Share, kinds: b.PersonaKinds(), seed: cfg.Seed, sides: sides}, nil
}

// takes reports whether start n runs in the browser; the choice derives from the
// seed, so a run can be reproduced.
func (b *browserShare) takes(n uint64) bool {
	if b == nil {
		return false
	}
	return loadgen.InShare(b.seed, n, b.share)
}

// run runs a persona's browser journey on both sides at once, as the protocol
// journeys run; on gives the persona as each side knows it.
func (b *browserShare) run(ctx context.Context, on func(record.Side) personas.Persona, it journeys.Iteration, emit func(*record.Record)) {
	var wg sync.WaitGroup
	for _, side := range b.sides {
		wg.Go(func() { b.runner.Run(ctx, side, on(side), it, emit) })
	}
	wg.Wait()
}

// close stops the browser and every process it started.
func (b *browserShare) close() error {
	if b == nil {
		return nil
	}
	return b.chromium.Close()
}

// pages completes, in Chromium, the pages of protocol journeys that need script
// (a script-rendered login page, a logout confirmed by script). It is nil when
// no Chromium is installed: such pages are then reported as such. Chromium
// starts only when a page needs it.
type pages struct{ c *browser.Completer }

// pageBrowser returns the run's page completer, when Chromium can be found.
func pageBrowser(cfg *config.File) *pages {
	path := ""
	if cfg.Load.Browser != nil {
		path = cfg.Load.Browser.Chromium
	}
	exe, err := browser.LookExec(path)
	if err != nil {
		return nil
	}
	return &pages{browser.NewCompleter(browser.Options{ExecPath: exe}, cfg.Stacks.AllowHosts, cfg.Load.StepTimeout)}
}

// options gives the adapters the completer, when there is one.
func (p *pages) options() []adapter.Option {
	if p == nil {
		return nil
	}
	return []adapter.Option{adapter.WithBrowser(p.c)}
}

func (p *pages) close() {
	if p != nil {
		_ = p.c.Close()
	}
}
