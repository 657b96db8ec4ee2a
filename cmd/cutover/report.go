package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"path/filepath"

	"github.com/cutover-dev/cutover/internal/exitcode"
	"github.com/cutover-dev/cutover/results"
	"github.com/cutover-dev/cutover/results/analysis"
	"github.com/cutover-dev/cutover/results/report"
	"github.com/cutover-dev/cutover/run/config"
	"github.com/cutover-dev/cutover/run/rehearsal"
)

// cmdReport re-renders every report of a results folder from its records: the
// comparison and the statistics run again, with the thresholds saved in
// summary.json, or those of --config to re-judge the run.
func cmdReport(_ context.Context, st *state, args []string) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	cfgPath := fs.String("config", "", "judge with the thresholds of this rehearsal file (required when summary.json is missing)")
	cohortBy := fs.String("cohort-by", "", "cut the cohort table by this persona attribute (wave, hash_scheme, cohort, kind, or an attribute of the personas file)")
	findings := fs.Bool("findings", false, "also print the finding rows by step, each with its cause")
	arg, err := oneArg(fs, st, args, "DIR")
	if err != nil {
		return err
	}
	dir := arg
	ro := results.RerenderOptions{CohortBy: *cohortBy, Warn: st.stderr}
	if *cfgPath != "" {
		cfg, err := config.Read(*cfgPath, st.getenv)
		if err != nil {
			return exitcode.With(err, exitcode.Usage)
		}
		opt := rehearsal.AnalysisOptions(cfg)
		ro.Options = &opt
		ro.Meta = analysis.Meta{Name: cfg.Name, Seed: cfg.Seed, ConfigHash: cfg.Hash, AA: cfg.Mode == config.ModeAA}
	}
	run, err := results.Rerender(dir, ro)
	if run == nil {
		if errors.Is(err, results.ErrNoSummary) {
			err = fmt.Errorf("%w: give the rehearsal file with --config", err)
		}
		return exitcode.With(err, exitcode.Usage)
	}
	if err != nil {
		return err
	}
	sum := &run.Summary
	if err := report.WriteTable(st.stdout, sum); err != nil {
		return err
	}
	if *findings {
		fmt.Fprintln(st.stdout)
		if err := report.WriteFindings(st.stdout, sum); err != nil {
			return err
		}
	}
	fmt.Fprintf(st.stdout, "\nreports: %s\n", filepath.Join(dir, results.HTMLFile))
	if run.CutShort != nil {
		return exitcode.With(run.CutShort, exitcode.Usage)
	}
	return verdictErr(sum, sum.Options.Gate)
}
