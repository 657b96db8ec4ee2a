package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/cutover-dev/cutover/internal/exitcode"
	"github.com/cutover-dev/cutover/results"
	"github.com/cutover-dev/cutover/results/report"
	"github.com/cutover-dev/cutover/run/shadow"
)

// shadowOptions are the flags of cutover shadow.
type shadowOptions struct {
	out, listen, log string
	follow, check    bool
	window           time.Duration
	maxRate          float64
}

// shadowCmd compares the candidate PDP's decisions with every decision the
// legacy logged.
func shadowCmd(st *state) *cobra.Command {
	var o shadowOptions
	c := &cobra.Command{
		Use:   "shadow FILE",
		Short: "compare the candidate PDP's decisions with every decision the legacy logged",
		Long: `shadow reads the legacy's own decision log (JSON lines or CSV, as the shadow
file FILE maps it, or the events of the legacy audit feed a rehearsal file
describes), asks the candidate's AuthZEN policy decision point the same
question for every line (once per distinct question, under a rate ceiling, to
allowed hosts only) and reports every disagreement as a rehearsal does:
OVER_PERMISSION and UNDER_PERMISSION findings, root causes by subject
attribute, action and resource type, cohort readiness, coverage, the verdict
and its exit code, every report; 'cutover diff' compares two shadow runs.
Lines where the log itself is ambiguous are counted and shown, never guessed.
With --follow it tails the log as it grows and judges it window by window,
with Prometheus metrics on --listen.`,
		Example: `  cutover shadow examples/shadow/shadow.yaml --check
  cutover shadow shadow.yaml --out out/shadow-monday
  cutover shadow shadow.yaml --log /var/log/legacy/access.jsonl.1
  cutover shadow shadow.yaml --follow --listen :9465 --window 5m`,
		Args: argNamed("FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runShadow(cmd.Context(), st, args[0], o)
		},
	}
	f := c.Flags()
	f.StringVar(&o.out, "out", "", "results folder (default out/NAME-shadow-TIMESTAMP); a followed log's last window is written there")
	f.StringVar(&o.log, "log", "", "read this decision log instead of the file's log.path or log.audit")
	f.BoolVar(&o.follow, "follow", false, "follow the log as it grows (and is rotated) until interrupted, judging it window by window")
	durationVar(f, &o.window, "window", time.Minute, "with --follow: how long a window lasts")
	f.StringVar(&o.listen, "listen", "", "with --follow: serve Prometheus metrics on ADDR/metrics (e.g. :9465)")
	f.Float64Var(&o.maxRate, "max-rate", shadow.DefaultMaxRate, "ceiling of candidate.rate (PDP requests/s) and log.audit.rate (legacy audit feed pages/s): a file asking for more is refused")
	f.BoolVar(&o.check, "check", false, "check FILE (every problem at once, with its line and YAML path) and exit; nothing is read or sent")
	return c
}

func runShadow(ctx context.Context, st *state, path string, o shadowOptions) error {
	if o.listen != "" && !o.follow {
		return exitcode.With(errors.New("--listen needs --follow: a run to the end of the log exits when it is judged, so a scraper would find nothing"), exitcode.Usage)
	}
	if o.window <= 0 {
		return exitcode.With(fmt.Errorf("--window %s: want a positive duration", o.window), exitcode.Usage)
	}
	f, err := shadow.Read(path, st.getenv)
	if err != nil {
		return exitcode.With(err, exitcode.Usage)
	}
	if o.log != "" {
		abs, err := filepath.Abs(o.log)
		if err != nil {
			return exitcode.With(fmt.Errorf("--log: %w", err), exitcode.Usage)
		}
		f.Log.Path, f.Log.Audit = abs, nil
	}
	if o.check {
		fmt.Fprintf(st.stdout, "%s: ok (%s: %s log %s, PDP %s at %g requests/s at most)\n", path, f.Name, f.Log.Format, f.Source(), f.Candidate.URL, f.Candidate.Rate)
		return nil
	}
	if o.out == "" {
		o.out = filepath.Join("out", fmt.Sprintf("%s-shadow-%s", f.Name, time.Now().UTC().Format("20060102T150405Z")))
	}
	opt := shadow.Options{Out: o.out, Version: fullVersion(), Log: st.stderr, Follow: o.follow, Window: o.window, MaxRate: o.maxRate}
	if o.listen != "" {
		reg := prometheus.NewRegistry()
		opt.Metrics = shadow.NewMetrics(reg)
		stop, err := serveMetrics(st, "shadow", o.listen, reg)
		if err != nil {
			return err
		}
		defer stop()
	}
	res, err := shadow.Run(ctx, f, opt)
	if res == nil {
		return err
	}
	if terr := report.WriteTable(st.stdout, res.Summary); terr != nil {
		err = errors.Join(err, terr)
	}
	fmt.Fprintf(st.stdout, "\n%s\nresults: %s\nreport: %s\n", res.Report.Sentence(), filepath.Join(o.out, results.SummaryFile), filepath.Join(o.out, shadow.MarkdownFile))
	if err != nil {
		return err
	}
	if o.follow {
		// A followed log ends by interrupt, the normal way to stop it: the
		// verdicts were the windows' (the metrics, the results folder).
		return nil
	}
	return verdictErr(res.Summary, res.Summary.Options.Gate)
}
