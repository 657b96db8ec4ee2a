package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"path/filepath"

	"github.com/cutover-dev/cutover/internal/exitcode"
	"github.com/cutover-dev/cutover/results"
	"github.com/cutover-dev/cutover/results/report"
)

// cmdMerge combines the results folders of the segments of a distributed run into
// one, and exits with the verdict of the whole, as a run does.
func cmdMerge(_ context.Context, st *state, args []string) error {
	fs := flag.NewFlagSet("merge", flag.ContinueOnError)
	out := fs.String("out", "", "results folder of the merged run (required)")
	pos, err := flags(fs, st, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 || *out == "" {
		return exitcode.With(errors.New("merge takes the segments' results folders and --out DIR"), exitcode.Usage)
	}
	for _, d := range pos {
		if filepath.Clean(d) == filepath.Clean(*out) {
			return exitcode.With(fmt.Errorf("merge: --out %s is one of the segments", *out), exitcode.Usage)
		}
	}
	sum, err := results.Merge(*out, pos, st.stderr)
	if sum == nil {
		return exitcode.With(err, exitcode.Usage)
	}
	if terr := report.WriteTable(st.stdout, sum); terr != nil {
		err = errors.Join(err, terr)
	}
	fmt.Fprintf(st.stdout, "\nmerged %d segments: %s\nreport: %s\n", len(pos), filepath.Join(*out, results.SummaryFile), filepath.Join(*out, results.HTMLFile))
	if err != nil {
		return err
	}
	return verdictErr(sum, sum.Options.Gate)
}
