package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"github.com/cutover-dev/cutover/internal/exitcode"
	"github.com/cutover-dev/cutover/results"
	"github.com/cutover-dev/cutover/results/analysis"
	"github.com/cutover-dev/cutover/results/report"
)

// cmdDiff compares two results folders: baseline A and run B. It fails (exit 1
// or 5, as a run does) when B has new findings that fail its thresholds.
func cmdDiff(_ context.Context, st *state, args []string) error {
	fs := flag.NewFlagSet("diff", flag.ContinueOnError)
	pos, err := flags(fs, st, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return exitcode.With(errors.New("diff takes two results folders: BASELINE NOW"), exitcode.Usage)
	}
	a, ha, err := results.Read(pos[0])
	if err != nil {
		return exitcode.With(err, exitcode.Usage)
	}
	b, hb, err := results.Read(pos[1])
	if err != nil {
		return exitcode.With(err, exitcode.Usage)
	}
	d := analysis.NewDiff(a, b, ha, hb)
	if err := report.WriteDiff(st.stdout, d); err != nil {
		return err
	}
	return newFailingErr(d.NewFailing(), "")
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
