package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/cutover-dev/cutover/internal/config"
	"github.com/cutover-dev/cutover/internal/exitcode"
	"github.com/cutover-dev/cutover/results"
)

// cmdReport re-renders every report of a results folder from its records: the
// comparison and the statistics run again, with the thresholds saved in
// summary.json, or those of --config to re-judge the run.
func cmdReport(_ context.Context, st *state, args []string) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	cfgPath := fs.String("config", "", "judge with the thresholds of this rehearsal file (required when summary.json is missing)")
	cohortBy := fs.String("cohort-by", "", "cut the cohort table by this persona attribute (wave, hash_scheme, cohort, kind, or an attribute of the personas file)")
	findings := fs.Bool("findings", false, "also print the finding rows by step, each with its cause")
	pos, err := flags(fs, st, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return exitcode.With(errors.New("report takes one DIR"), exitcode.Usage)
	}
	dir := pos[0]
	recPath, err := results.RecordsPath(dir)
	if err != nil {
		return exitcode.With(err, exitcode.Usage)
	}
	prev, err := results.ReadSummaryFile(filepath.Join(dir, results.SummaryFile))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return exitcode.With(err, exitcode.Usage)
	}
	var opt results.Options
	var meta results.Meta
	var acct results.Accounting
	switch {
	case *cfgPath != "":
		cfg, err := config.Read(*cfgPath, st.getenv)
		if err != nil {
			return exitcode.With(err, exitcode.Usage)
		}
		opt = cfg.AnalysisOptions()
		meta = results.Meta{Name: cfg.Name, Seed: cfg.Seed, ConfigHash: cfg.Hash, AA: cfg.Mode == config.ModeAA}
		if prev != nil {
			meta, acct = prev.Meta, prev.Generator
		}
	case prev != nil:
		opt, meta, acct = prev.Options, prev.Meta, prev.Generator
	default:
		return exitcode.With(fmt.Errorf("%s: no %s: give the rehearsal file with --config", dir, results.SummaryFile), exitcode.Usage)
	}
	if *cohortBy != "" {
		opt.Causes.CohortBy = *cohortBy
	}
	a := results.NewAnalysis(opt, meta.Start)
	table, err := results.ReadPersonasFile(filepath.Join(dir, results.PersonasFile))
	switch {
	case err == nil:
		a.SetPersonas(table)
	case errors.Is(err, os.ErrNotExist):
		fmt.Fprintf(st.stderr, "cutover: report: no %s in %s: causes group by the kind and cohort records carry, cohorts list only those that ran\n", results.PersonasFile, dir)
	default:
		return exitcode.With(err, exitcode.Usage)
	}
	var first, last time.Time
	rerr := results.ReadRecordsFile(recPath, func(r *results.Record) error {
		a.Add(r)
		if first.IsZero() || r.Start.Before(first) {
			first = r.Start
		}
		if end := r.Start.Add(r.Latency); end.After(last) {
			last = end
		}
		return nil
	})
	if rerr != nil {
		// Render what was read: a run cut short leaves a truncated last line.
		fmt.Fprintf(st.stderr, "cutover: report: %v; rendering the records read before it\n", rerr)
	}
	if prev == nil {
		meta.Start, meta.Duration = first.UTC(), last.Sub(first)
		meta.Aborted = "no summary.json: the run did not finish, generator accounting is unknown"
	}
	sum := a.Summary(meta, acct)
	err = errors.Join(sum.WriteJSON(filepath.Join(dir, results.SummaryFile)),
		a.Stats().WriteHistogramsFile(filepath.Join(dir, results.HistogramsFile)),
		results.WriteReports(dir, &sum))
	if err != nil {
		return err
	}
	if err := results.WriteTable(st.stdout, &sum); err != nil {
		return err
	}
	if *findings {
		fmt.Fprintln(st.stdout)
		if err := results.WriteFindings(st.stdout, &sum); err != nil {
			return err
		}
	}
	fmt.Fprintf(st.stdout, "\nreports: %s\n", filepath.Join(dir, results.HTMLFile))
	if rerr != nil {
		return exitcode.With(rerr, exitcode.Usage)
	}
	return verdictErr(&sum, opt.Gate)
}

// readRun reads a results folder's summary and, if present, its histograms.
func readRun(dir string) (*results.Summary, *results.Stats, error) {
	sum, err := results.ReadSummaryFile(filepath.Join(dir, results.SummaryFile))
	if err != nil {
		return nil, nil, err
	}
	h, err := results.ReadHistogramsFile(filepath.Join(dir, results.HistogramsFile))
	if errors.Is(err, os.ErrNotExist) {
		return sum, nil, nil
	}
	return sum, h, err
}
