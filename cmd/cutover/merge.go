package main

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/cutover-dev/cutover/internal/exitcode"
	"github.com/cutover-dev/cutover/results"
	"github.com/cutover-dev/cutover/results/report"
)

// mergeCmd combines the results folders of the segments of a distributed run
// into one, and exits with the verdict of the whole, as a run does.
func mergeCmd(st *state) *cobra.Command {
	var out string
	c := &cobra.Command{
		Use:   "merge DIR... --out DIR",
		Short: "merge the results folders of a distributed run's segments into one run",
		Long: `merge combines the results folders of the segments of a distributed run (run
--segment I/N on N machines) into one results folder, --out, and judges the
whole run as one.`,
		Example: "  cutover merge out/seg-0 out/seg-1 out/seg-2 out/seg-3 --out out/merged",
		Args: func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return errors.New("merge takes the segments' results folders and --out DIR")
			}
			return nil
		},
		RunE: func(_ *cobra.Command, pos []string) error {
			if out == "" {
				return exitcode.With(errors.New("merge takes the segments' results folders and --out DIR"), exitcode.Usage)
			}
			for _, d := range pos {
				if filepath.Clean(d) == filepath.Clean(out) {
					return exitcode.With(fmt.Errorf("merge: --out %s is one of the segments", out), exitcode.Usage)
				}
			}
			sum, err := results.Merge(out, pos, st.stderr)
			if sum == nil {
				return exitcode.With(err, exitcode.Usage)
			}
			if terr := report.WriteTable(st.stdout, sum); terr != nil {
				err = errors.Join(err, terr)
			}
			fmt.Fprintf(st.stdout, "\nmerged %d segments: %s\nreport: %s\n", len(pos), filepath.Join(out, results.SummaryFile), filepath.Join(out, results.HTMLFile))
			if err != nil {
				return err
			}
			return verdictErr(sum, sum.Options.Gate)
		},
	}
	c.Flags().StringVar(&out, "out", "", "results folder of the merged run (required)")
	return c
}
