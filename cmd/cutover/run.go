package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cutover-dev/cutover/internal/exitcode"
	"github.com/cutover-dev/cutover/loadgen"
	"github.com/cutover-dev/cutover/personas"
	"github.com/cutover-dev/cutover/results"
	"github.com/cutover-dev/cutover/results/analysis"
	"github.com/cutover-dev/cutover/results/report"
	"github.com/cutover-dev/cutover/run/config"
	"github.com/cutover-dev/cutover/run/rehearsal"
)

func validateCmd(st *state) *cobra.Command {
	var strict bool
	c := &cobra.Command{
		Use:   "validate FILE",
		Short: "check a rehearsal file and report every problem with its line, in one pass",
		Long: `validate reads the rehearsal file FILE and reports every problem at once, each
with its YAML path and file:line: unknown keys (with "did you mean"), wrong
types, durations without a unit, bad templates and references. What only the
run's environment supplies (stack URLs, secrets) is listed as needed at run
time unless --strict.`,
		Example: "  cutover validate rehearsal.yaml\n  cutover validate --strict rehearsal.yaml   # in the run's environment",
		Args:    argNamed("FILE"),
		RunE: func(_ *cobra.Command, args []string) error {
			cfg, notes, err := readConfig(st, args[0], strict)
			if err != nil {
				return exitcode.With(err, exitcode.Usage)
			}
			// The README says secrets are references: a plaintext one in the
			// accounts file is a warning, refused with --strict.
			plain, err := plaintextAccounts(cfg)
			if err != nil {
				return exitcode.With(err, exitcode.Usage)
			}
			if strict && len(plain) > 0 {
				return exitcode.With(fmt.Errorf("%d plaintext secret(s) in the accounts file:\n  %s", len(plain), strings.Join(plain, "\n  ")), exitcode.Usage)
			}
			fmt.Fprintf(st.stdout, "%s: ok (%s, %d journeys, %d probes)\n", args[0], cfg.Name, len(cfg.Journeys), len(cfg.Probes))
			for _, n := range notes {
				fmt.Fprintf(st.stdout, "  needed at run time: %s\n", n)
			}
			for _, w := range plain {
				fmt.Fprintf(st.stdout, "  warning: %s\n", w)
			}
			return nil
		},
	}
	c.Flags().BoolVar(&strict, "strict", false, "also require what only the run's environment supplies: every ${VAR} set, every secret readable; refuse a plaintext secret in the accounts file")
	return c
}

// plaintextAccounts lists the rows of the file's accounts file whose secret
// columns hold plaintext instead of a reference.
func plaintextAccounts(cfg *config.File) ([]string, error) {
	path := cfg.Personas.File
	if path == "" {
		return nil, nil
	}
	if !filepath.IsAbs(path) {
		path = filepath.Join(filepath.Dir(cfg.Path), path)
	}
	rows, err := personas.InlineSecrets(path)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.String()
	}
	return out, nil
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

func runCmd(st *state) *cobra.Command {
	var (
		out, segFlag, profile string
		gz                    bool
		ld                    load
	)
	c := &cobra.Command{
		Use:   "run FILE",
		Short: "run the rehearsal described by FILE",
		Long: `run drives the journeys of the rehearsal file FILE through both stacks on its
load profile, writes every step to a results folder and renders the reports
there. --duration, --rate and --seed reshape the file's load without editing it.`,
		Example: `  cutover run rehearsal.yaml
  cutover run rehearsal.yaml --duration 15s --out out/smoke
  cutover run rehearsal.yaml --rate 2x          # twice the file's load, same shape
  cutover run rehearsal.yaml --segment 0/4      # one of four machines of a distributed run`,
		Args: argNamed("FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var seg loadgen.Segment
			if segFlag != "" {
				var err error
				if seg, err = loadgen.ParseSegment(segFlag); err != nil {
					return exitcode.With(fmt.Errorf("--segment: %w", err), exitcode.Usage)
				}
			}
			cfg, err := config.Read(args[0], st.getenv)
			if err != nil {
				return exitcode.With(err, exitcode.Usage)
			}
			if err := ld.apply(cfg); err != nil {
				return err
			}
			if profile != "" {
				stop, err := startCPUProfile(profile)
				if err != nil {
					return exitcode.With(fmt.Errorf("--cpuprofile: %w", err), exitcode.Usage)
				}
				defer stop()
			}
			return runConfig(cmd.Context(), st, cfg, out, rehearsal.Options{Gzip: gz, Segment: seg})
		},
	}
	f := c.Flags()
	f.StringVar(&out, "out", "", "results folder (default out/NAME-TIMESTAMP)")
	f.BoolVar(&gz, "gzip", false, "compress the records (records.jsonl.gz)")
	f.StringVar(&profile, "cpuprofile", "", "write a CPU profile of the harness to this file, for 'go tool pprof' (where cutover spends its own CPU)")
	f.StringVar(&segFlag, "segment", "", "run segment I/N of a distributed run (0 <= I < N): the starts n with n mod N = I, with the Ith of N slices of the personas; combine them with 'cutover merge'")
	ld.flags(f)
	return c
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

// startCPUProfile starts a CPU profile written to path; stop ends and closes it.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}
