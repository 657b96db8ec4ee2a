package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/cutover-dev/cutover/internal/exitcode"
	"github.com/cutover-dev/cutover/personas"
	"github.com/cutover-dev/cutover/run/config"
	"github.com/cutover-dev/cutover/run/rehearsal"
)

func planCmd(st *state) *cobra.Command {
	var strict bool
	c := &cobra.Command{
		Use:   "plan FILE",
		Short: "print FILE's schedule and requests per endpoint, sending nothing",
		Long: `plan prints what a run of the rehearsal file FILE would do, sending nothing:
the schedule of journey starts, the journeys by persona kind, the requests
per endpoint and stack, and the safety rails.`,
		Example: "  cutover plan rehearsal.yaml",
		Args:    argNamed("FILE"),
		RunE: func(_ *cobra.Command, args []string) error {
			cfg, notes, err := readConfig(st, args[0], strict)
			if err != nil {
				return exitcode.With(err, exitcode.Usage)
			}
			for _, n := range notes {
				fmt.Fprintf(st.stderr, "needed at run time: %s\n", n)
			}
			e, err := rehearsal.Plan(cfg)
			if err != nil {
				return err
			}
			return writePlan(st.stdout, cfg, e)
		},
	}
	c.Flags().BoolVar(&strict, "strict", false, "also require what only the run's environment supplies: every ${VAR} set, every secret readable")
	return c
}

// writePlan prints what a run of cfg would do: the schedule, the journeys, the
// requests per endpoint per stack and the safety rails.
func writePlan(w io.Writer, cfg *config.File, e *rehearsal.Estimate) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	p := func(format string, a ...any) { fmt.Fprintf(tw, format, a...) }
	p("plan: %s (%s): nothing is sent\n", e.Name, cfg.Path)
	p("schedule: %s for %s: %d journey starts, peak %.4g/s (ceiling load.max_rate %v/s)\n\n", e.Profile, e.Duration, e.Starts, e.Peak, cfg.Load.MaxRate)

	if err := tw.Flush(); err != nil {
		return err
	}
	most := slices.Max(append([]int{1}, e.Buckets...))
	fmt.Fprintf(w, "%-8s %7s %7s\n", "FROM", "RATE/s", "STARTS")
	for i, n := range e.Buckets {
		from := time.Duration(i) * e.Bucket
		span := min(e.Bucket, e.Duration-from)
		fmt.Fprintf(w, "%-8s %7.1f %7d  %s\n", from, float64(n)/span.Seconds(), n, strings.Repeat("█", int(math.Round(40*float64(n)/float64(most)))))
	}

	p("\nJOURNEY\tSTARTS\tBY KIND (estimate: a start takes an idle persona of the journey's kinds)\n")
	for _, j := range e.Journeys {
		var kinds []string
		for _, k := range personas.Kinds {
			if n, ok := j.Kinds[k]; ok {
				kinds = append(kinds, fmt.Sprintf("%s %.0f", k, n))
			}
		}
		p("%s\t%d\t%s\n", j.Name, j.Starts, strings.Join(kinds, ", "))
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	fmt.Fprintln(w, "\nRequests per endpoint, an estimate: counts marked ≤ hold only if the steps before")
	fmt.Fprintln(w, "answer as expected (a refused login ends its journey; logout replays the first")
	fmt.Fprintln(w, "allowed probe), and no start is dropped.")
	p("STACK\tENDPOINT\tSENT BY\tREQUESTS\n")
	for _, r := range e.Requests {
		mark := "≈"
		if r.DependsOnAnswers {
			mark = "≤"
		}
		p("%s\t%s\t%s\t%s %.0f\n", r.Side, r.Endpoint, r.Source, mark, r.Count)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, s := range e.Setup {
		fmt.Fprintf(w, "once, before the schedule: %s\n", s)
	}
	if len(e.Unmodelled) > 0 {
		fmt.Fprintf(w, "not estimated: the requests of step group(s) %s\n", strings.Join(e.Unmodelled, ", "))
	}

	l := cfg.Load
	fmt.Fprintf(w, "\nsafety: sends only to %s; at most %d journeys in flight (a start waits up to %s, then is dropped);\n",
		strings.Join(cfg.Stacks.AllowHosts, ", "), l.MaxInFlight, l.MaxDelay)
	fmt.Fprintf(w, "        %s pairing; on stop or SIGINT, %s to drain", l.Pairing, l.Drain)
	if a := l.Abort; a != nil {
		var limits []string
		if a.MaxErrorRate > 0 {
			limits = append(limits, fmt.Sprintf("error rate > %g%%", 100*a.MaxErrorRate))
		}
		if a.MaxP99 > 0 {
			limits = append(limits, fmt.Sprintf("p99 > %s", a.MaxP99))
		}
		fmt.Fprintf(w, "; abort on %s over %s, after %s", strings.Join(limits, " or "), a.Window, a.Grace)
	}
	fmt.Fprintln(w)
	return nil
}
