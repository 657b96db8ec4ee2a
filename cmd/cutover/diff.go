package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cutover-dev/cutover/internal/exitcode"
	"github.com/cutover-dev/cutover/results"
	"github.com/cutover-dev/cutover/results/analysis"
	"github.com/cutover-dev/cutover/results/report"
)

// diffCmd compares two results folders: baseline A and run B. It fails (exit 1
// or 5, as a run does) when B has new findings that fail its thresholds.
func diffCmd(st *state) *cobra.Command {
	return &cobra.Command{
		Use:   "diff BASELINE NOW",
		Short: "compare two results folders: new, fixed, persisting findings; latency deltas",
		Long: `diff compares the results folder NOW with BASELINE: the findings NOW has and
BASELINE lacks (new), the ones it lost (fixed) and kept, and the latency of
every step. It exits as a run would on the new findings alone.`,
		Example: "  cutover diff out/rehearsal-monday out/rehearsal-friday",
		Args: func(c *cobra.Command, args []string) error {
			if len(args) != 2 {
				return errors.New("diff takes two results folders: BASELINE NOW")
			}
			return nil
		},
		RunE: func(_ *cobra.Command, args []string) error {
			a, ha, err := results.Read(args[0])
			if err != nil {
				return exitcode.With(err, exitcode.Usage)
			}
			b, hb, err := results.Read(args[1])
			if err != nil {
				return exitcode.With(err, exitcode.Usage)
			}
			d := analysis.NewDiff(a, b, ha, hb)
			if err := report.WriteDiff(st.stdout, d); err != nil {
				return err
			}
			return newFailingErr(d.NewFailing(), "")
		},
	}
}

// newFailingErr turns the new failing findings of a comparison with a baseline
// into an error with its exit code, as a run's verdict is: 1 for a parity
// finding, 5 for performance only.
func newFailingErr(failing []analysis.DiffFinding, against string) error {
	for _, f := range failing {
		if !f.Class.Performance() {
			return exitcode.With(fmt.Errorf("%d new finding(s)%s fail the thresholds", len(failing), against), exitcode.Regression)
		}
	}
	if len(failing) > 0 {
		return exitcode.With(fmt.Errorf("%d new performance finding(s)%s fail the thresholds", len(failing), against), exitcode.Performance)
	}
	return nil
}
