package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"path/filepath"
	"time"

	"github.com/cutover-dev/cutover/internal/exitcode"
	"github.com/cutover-dev/cutover/loadgen"
	"github.com/cutover-dev/cutover/results"
	"github.com/cutover-dev/cutover/results/analysis"
	"github.com/cutover-dev/cutover/results/report"
	"github.com/cutover-dev/cutover/run/config"
	"github.com/cutover-dev/cutover/run/rehearsal"
)

func cmdValidate(_ context.Context, st *state, args []string) error {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	strict := fs.Bool("strict", false, "also require what only the run's environment supplies: every ${VAR} set, every secret readable")
	arg, err := oneArg(fs, st, args, "FILE")
	if err != nil {
		return err
	}
	cfg, notes, err := readConfig(st, arg, *strict)
	if err != nil {
		return exitcode.With(err, exitcode.Usage)
	}
	fmt.Fprintf(st.stdout, "%s: ok (%s, %d journeys, %d probes)\n", arg, cfg.Name, len(cfg.Journeys), len(cfg.Probes))
	for _, n := range notes {
		fmt.Fprintf(st.stdout, "  needed at run time: %s\n", n)
	}
	return nil
}

// readConfig reads a rehearsal file for a command that sends nothing: what
// only the run's environment supplies is noted, not refused, unless strict.
func readConfig(st *state, path string, strict bool) (*config.File, []string, error) {
	if strict {
		cfg, err := config.Read(path, st.getenv)
		return cfg, nil, err
	}
	return config.ReadOffline(path, st.getenv)
}

func cmdRun(ctx context.Context, st *state, args []string) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	out := fs.String("out", "", "results folder (default out/NAME-TIMESTAMP)")
	gz := fs.Bool("gzip", false, "compress the records (records.jsonl.gz)")
	segFlag := fs.String("segment", "", "run segment I/N of a distributed run (0 <= I < N): the starts n with n mod N = I, with the Ith of N slices of the personas; combine them with `cutover merge`")
	arg, err := oneArg(fs, st, args, "FILE")
	if err != nil {
		return err
	}
	var seg loadgen.Segment
	if *segFlag != "" {
		if seg, err = loadgen.ParseSegment(*segFlag); err != nil {
			return exitcode.With(fmt.Errorf("--segment: %w", err), exitcode.Usage)
		}
	}
	cfg, err := config.Read(arg, st.getenv)
	if err != nil {
		return exitcode.With(err, exitcode.Usage)
	}
	return runConfig(ctx, st, cfg, *out, rehearsal.Options{Gzip: *gz, Segment: seg})
}

// runConfig runs a loaded config, prints the summary table and turns the verdict
// into an error carrying its exit code.
func runConfig(ctx context.Context, st *state, cfg *config.File, out string, opt rehearsal.Options) error {
	if out == "" {
		out = filepath.Join("out", fmt.Sprintf("%s-%s", cfg.Name, time.Now().UTC().Format("20060102T150405Z")))
	}
	opt.Out, opt.Log, opt.Version, opt.Hurry = out, st.stderr, fullVersion(), st.hurry
	sum, err := rehearsal.Run(ctx, cfg, opt)
	if sum == nil {
		return err
	}
	if terr := report.WriteTable(st.stdout, sum); terr != nil {
		err = errors.Join(err, terr)
	}
	fmt.Fprintf(st.stdout, "\nresults: %s\nreport: %s\n", filepath.Join(out, rehearsal.SummaryFile), filepath.Join(out, results.HTMLFile))
	if err != nil {
		return err
	}
	return verdictErr(sum, rehearsal.AnalysisOptions(cfg).Gate)
}

// verdictErr maps a summary's verdict to an exit code.
func verdictErr(sum *analysis.Summary, gate analysis.Gate) error {
	switch sum.Verdict {
	case analysis.VerdictAborted:
		return exitcode.With(fmt.Errorf("aborted: %s", sum.Meta.Aborted), exitcode.Aborted)
	case analysis.VerdictInconclusive:
		first := ""
		if len(sum.Inconclusive) > 0 {
			first = ": " + sum.Inconclusive[0]
		}
		if len(sum.Preconditions) > 0 {
			return exitcode.With(fmt.Errorf("inconclusive: %d step(s) failed on every attempt%s", len(sum.Preconditions), first), exitcode.Precondition)
		}
		return exitcode.With(fmt.Errorf("inconclusive: %d reason(s)%s", len(sum.Inconclusive), first), exitcode.Inconclusive)
	case analysis.VerdictFail:
		failing := sum.Failing(gate)
		for _, f := range failing {
			if !f.Class.Performance() {
				return exitcode.With(fmt.Errorf("%d finding(s) fail the thresholds", len(failing)), exitcode.Regression)
			}
		}
		return exitcode.With(fmt.Errorf("%d performance finding(s) fail the thresholds", len(failing)), exitcode.Performance)
	}
	return nil
}
