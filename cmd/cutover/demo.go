package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

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

func demoCmd(st *state) *cobra.Command {
	var (
		out, drift        string
		gz, aa, noBrowser bool
		ld                load
	)
	c := &cobra.Command{
		Use:   "demo",
		Short: "start the embedded stacks and run examples/demo.yaml on them",
		Long: `demo starts both reference stacks in-process on loopback (the candidate with
the drifts of --drift), runs the demo rehearsal file against them (a shift
change compressed into a minute) and writes its reports. It needs no setup.`,
		Example: `  cutover demo
  cutover demo --drift none --duration 15s     # clean stacks: nothing to find
  cutover demo --drift patient-sees-others --aa`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDemo(cmd.Context(), st, demoOptions{out: out, drift: drift, gz: gz, aa: aa, noBrowser: noBrowser, load: ld})
		},
	}
	f := c.Flags()
	f.StringVar(&out, "out", "", "results folder (default out/demo-TIMESTAMP)")
	f.StringVar(&drift, "drift", DefaultDemoDrifts, "candidate drifts: none, or NAME[=PARAM],... (see 'cutover stacks --help')")
	f.BoolVar(&gz, "gzip", false, "compress the records (records.jsonl.gz)")
	f.BoolVar(&aa, "aa", false, "A/A run: legacy against itself, to measure the noise floor")
	f.BoolVar(&noBrowser, "no-browser", false, "no browser journeys, even when Chromium is installed")
	ld.flags(f)
	return c
}

type demoOptions struct {
	out, drift        string
	gz, aa, noBrowser bool
	load              load
}

func runDemo(ctx context.Context, st *state, o demoOptions) error {
	drifts, err := stacks.ParseDrifts(o.drift)
	if err != nil {
		return exitcode.With(err, exitcode.Usage)
	}
	// The demo's flags override its file.
	override := func(cfg *config.File) error {
		if err := o.load.apply(cfg); err != nil {
			return err
		}
		if o.aa {
			cfg.Mode = config.ModeAA
		}
		// A few journeys in a real browser beside the protocol ones, when there is a
		// browser to run them in (the demo needs no setup either way).
		if _, err := browser.LookExec(""); err == nil && !o.noBrowser && cfg.Load.Browser == nil {
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
	out := o.out
	if out == "" {
		out = "out/demo-" + time.Now().UTC().Format("20060102T150405Z")
	}
	return runConfig(ctx, st, cfg, out, rehearsal.Options{Drifts: drifts.Names(), Gzip: o.gz, Population: &pop})
}

func driftList(d stacks.Drifts) string {
	if n := d.Names(); len(n) > 0 {
		return strings.Join(n, ", ")
	}
	return "none"
}
