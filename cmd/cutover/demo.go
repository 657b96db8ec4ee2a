package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/cutover-dev/cutover/examples"
	"github.com/cutover-dev/cutover/internal/exitcode"
	"github.com/cutover-dev/cutover/journeys/browser"
	"github.com/cutover-dev/cutover/run/config"
	"github.com/cutover-dev/cutover/run/rehearsal"
	"github.com/cutover-dev/cutover/stacks"
)

// DefaultDemoDrifts is the realistic drift set the demo runs with unless told
// otherwise: a role mapping mistake, a broken lazy hash migration for the older
// cohort, and a slower token endpoint, the three regressions a cutover most often
// ships with.
const DefaultDemoDrifts = "role-map-billing-admin,lazy-migration-broken,slow-token"

// demoBreakGlassTTL is the time box of emergency access on the demo's stacks: short
// enough for the break-glass journey to wait for it and check the access ended.
const demoBreakGlassTTL = 4 * time.Second

// demoBrowserShare is the share of the demo's starts run in a real browser when
// Chromium is installed: the hybrid practice of load testers, a few browser
// journeys beside many protocol ones.
const demoBrowserShare = 0.03

func cmdDemo(ctx context.Context, st *state, args []string) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	out := fs.String("out", "", "results folder (default out/demo-TIMESTAMP)")
	duration := fs.Duration("duration", 0, "run length (default: the demo file's)")
	rate := fs.Float64("rate", 0, "journeys per second (default: the demo file's)")
	seed := fs.Uint64("seed", 0, "seed of personas and schedule (default: the demo file's)")
	drift := fs.String("drift", DefaultDemoDrifts, "candidate drifts: none, or NAME[=PARAM],... (see `cutover stacks --help`)")
	gz := fs.Bool("gzip", false, "compress the records (records.jsonl.gz)")
	aa := fs.Bool("aa", false, "A/A run: legacy against itself, to measure the noise floor")
	noBrowser := fs.Bool("no-browser", false, "no browser journeys, even when Chromium is installed")
	if _, err := flags(fs, st, args); err != nil {
		return err
	}
	drifts, err := stacks.ParseDrifts(*drift)
	if err != nil {
		return exitcode.With(err, exitcode.Usage)
	}
	// The demo's flags override its file.
	override := func(cfg *config.File) error {
		if *duration > 0 {
			// A storm's cohort is a count: scale it with the run, so a shorter demo
			// keeps the same shape and peak rate instead of a sharper one.
			if p := &cfg.Load.Profile; p.Cohort > 0 && cfg.Load.Duration > 0 {
				p.Cohort = max(1, int(math.Round(float64(p.Cohort)*float64(*duration)/float64(cfg.Load.Duration))))
			}
			cfg.Load.Duration = *duration
		}
		if *rate > 0 {
			cfg.Load.Profile.Rate = *rate
		}
		if *seed > 0 {
			cfg.Seed = *seed
		}
		if *aa {
			cfg.Mode = config.ModeAA
		}
		// A few journeys in a real browser beside the protocol ones, when there is a
		// browser to run them in (the demo needs no setup either way).
		if _, err := browser.LookExec(""); err == nil && !*noBrowser && cfg.Load.Browser == nil {
			cfg.Load.Browser = &config.Browser{Share: demoBrowserShare, MaxTabs: 2}
		}
		return cfg.Validate()
	}
	// The stacks' addresses and client secrets exist once they listen: the file is
	// read once against them, the population built once from it, and the stacks
	// seeded with that population before the run drives it.
	pair, err := stacks.Listen(ctx, stacks.Options{Drifts: drifts, BreakGlassTTL: demoBreakGlassTTL})
	if err != nil {
		return exitcode.With(fmt.Errorf("start embedded stacks: %w", err), exitcode.Precondition)
	}
	defer pair.Close()
	cfg, err := config.Parse("examples/demo.yaml", examples.Demo, examples.DemoEnv(pair, st.getenv))
	if err == nil {
		err = override(cfg)
	}
	if err != nil {
		return exitcode.With(err, exitcode.Usage)
	}
	pop, err := rehearsal.Population(cfg)
	if err != nil {
		return err
	}
	if err := pair.Serve(ctx, pop); err != nil {
		return exitcode.With(fmt.Errorf("start embedded stacks: %w", err), exitcode.Precondition)
	}
	fmt.Fprintf(st.stderr, "cutover demo: legacy %s, candidate %s, drifts: %s\n", pair.LegacyURL, pair.CandidateURL, driftList(drifts))
	if *out == "" {
		*out = "out/demo-" + time.Now().UTC().Format("20060102T150405Z")
	}
	return runConfig(ctx, st, cfg, *out, rehearsal.Options{Drifts: drifts.Names(), Gzip: *gz, Population: &pop})
}

func driftList(d stacks.Drifts) string {
	if n := d.Names(); len(n) > 0 {
		return strings.Join(n, ", ")
	}
	return "none"
}
