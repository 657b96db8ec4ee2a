package main

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/cutover-dev/cutover/internal/exitcode"
	"github.com/cutover-dev/cutover/results"
	"github.com/cutover-dev/cutover/results/analysis"
	"github.com/cutover-dev/cutover/results/report"
	"github.com/cutover-dev/cutover/run/config"
	"github.com/cutover-dev/cutover/run/rehearsal"
)

// reportCmd judges a results folder again from its records: the comparison
// and the statistics run again, with the thresholds saved in summary.json, or
// those of --config to re-judge the run. It writes the reports to --out, or
// back into the folder with --in-place; with neither it only prints.
func reportCmd(st *state) *cobra.Command {
	var (
		cfgPath, cohortBy, out string
		findings, inPlace      bool
	)
	c := &cobra.Command{
		Use:   "report DIR",
		Short: "judge a results folder again from its records and render its reports",
		Long: `report reads the records of the results folder DIR and judges them again: with
the thresholds saved in its summary.json, or those of the rehearsal file
--config. It prints the summary; the reports (summary.json, report.md,
report.html, junit.xml) are written to --out, or back into DIR with
--in-place, never silently over the run's own.`,
		Example: `  cutover report out/demo-20261206T071500Z
  cutover report out/run --cohort-by site --out out/run-by-site
  cutover report out/run --config stricter.yaml --in-place`,
		Args: argNamed("DIR"),
		RunE: func(_ *cobra.Command, args []string) error {
			dir := args[0]
			if inPlace && out != "" {
				return exitcode.With(errors.New("--in-place and --out: give one"), exitcode.Usage)
			}
			ro := results.RerenderOptions{CohortBy: cohortBy, Warn: st.stderr, Out: out}
			if inPlace {
				ro.Out = dir
			}
			if cfgPath != "" {
				cfg, err := config.Read(cfgPath, st.getenv)
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
			if findings {
				fmt.Fprintln(st.stdout)
				if err := report.WriteFindings(st.stdout, sum); err != nil {
					return err
				}
			}
			if ro.Out != "" {
				fmt.Fprintf(st.stdout, "\nreports: %s\n", filepath.Join(ro.Out, results.HTMLFile))
			} else {
				fmt.Fprintln(st.stdout, "\nno report written: --out DIR writes them there, --in-place into "+dir)
			}
			if run.CutShort != nil {
				return exitcode.With(run.CutShort, exitcode.Usage)
			}
			return verdictErr(sum, sum.Options.Gate)
		},
	}
	f := c.Flags()
	f.StringVar(&cfgPath, "config", "", "judge with the thresholds of this rehearsal file (required when summary.json is missing)")
	f.StringVar(&cohortBy, "cohort-by", "", "cut the cohort table by this persona attribute (wave, hash_scheme, cohort, kind, or an attribute of the personas file); an attribute no persona has is an error")
	f.BoolVar(&findings, "findings", false, "also print the finding rows by step, each with its cause")
	f.StringVar(&out, "out", "", "write the summary and reports to this folder")
	f.BoolVar(&inPlace, "in-place", false, "write the summary and reports back into DIR, over the run's")
	return c
}
