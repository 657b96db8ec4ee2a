package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cutover-dev/cutover/internal/exitcode"
	"github.com/cutover-dev/cutover/run/capacity"
	"github.com/cutover-dev/cutover/run/config"
)

// capacityCmd searches each stack's highest rate within the file's service
// level.
func capacityCmd(st *state) *cobra.Command {
	var (
		o     capacity.Options
		sides string
	)
	c := &cobra.Command{
		Use:   "capacity FILE",
		Short: "raise the rate step by step on each stack and report where each breaks its service level",
		Long: `capacity runs FILE's journeys on one stack at a time at a constant rate, raised
step by step (--start, times --factor, up to --max), each step judged against
the file's absolute latency limits (thresholds.latency, per step under
thresholds.steps) and an error-rate ceiling. It reports each stack's highest
passing rate, the step that broke first and why, and the candidate's share of
legacy's rate, with a plot. A step the generator could not keep on schedule is
harness-bound: the search says the machine, not the stack, was the limit.`,
		Example: `  cutover capacity rehearsal.yaml --start 10 --factor 1.5 --max 200 --step 30s
  cutover capacity rehearsal.yaml --sides candidate --out out/capacity`,
		Args: argNamed("FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := config.Read(args[0], st.getenv)
			if err != nil {
				return exitcode.With(err, exitcode.Usage)
			}
			if sides != "" {
				o.Sides = strings.Split(sides, ",")
				for _, s := range o.Sides {
					if s != "legacy" && s != "candidate" {
						return exitcode.With(fmt.Errorf("--sides %s: %q is not a side (legacy, candidate)", sides, s), exitcode.Usage)
					}
				}
			}
			if o.Out == "" {
				o.Out = filepath.Join("out", fmt.Sprintf("%s-capacity-%s", cfg.Name, time.Now().UTC().Format("20060102T150405Z")))
			}
			o.Log, o.Version = st.stderr, fullVersion()
			res, err := capacity.Run(cmd.Context(), cfg, o)
			if res == nil {
				return exitcode.With(err, exitcode.Usage)
			}
			if werr := capacity.Write(o.Out, res); werr != nil && err == nil {
				err = werr
			}
			fmt.Fprintf(st.stdout, "%s\n\nreport: %s\n", res.Sentence(), filepath.Join(o.Out, capacity.MarkdownFile))
			return err
		},
	}
	f := c.Flags()
	f.Float64Var(&o.Start, "start", 0, "first rate in journeys/s (default: a sixteenth of load.max_rate, at least 1)")
	f.Float64Var(&o.Factor, "factor", 1.5, "each step's rate is the previous times this")
	f.Float64Var(&o.Max, "max", 0, "highest rate tried (default: load.max_rate)")
	durationVar(f, &o.Step, "step", 20*time.Second, "how long each step runs")
	f.Float64Var(&o.MaxErrorRate, "max-error-rate", 0.01, "share of errors any step of the journeys may have")
	f.StringVar(&sides, "sides", "", "the stacks to search, legacy,candidate (default both)")
	f.StringVar(&o.Out, "out", "", "results folder (default out/NAME-capacity-TIMESTAMP); each step's run under SIDE/RATE")
	return c
}
