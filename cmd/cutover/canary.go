package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cutover-dev/cutover/internal/exitcode"
	"github.com/cutover-dev/cutover/results/analysis"
	"github.com/cutover-dev/cutover/run/canary"
	"github.com/cutover-dev/cutover/run/config"
)

// cmdCanary runs FILE as a scheduled production check: on an interval until
// interrupted, or once (a CronJob's), with the canary's safety rails, metrics on
// /metrics and optionally pushed to a Pushgateway.
func cmdCanary(ctx context.Context, st *state, args []string) error {
	fs := flag.NewFlagSet("canary", flag.ContinueOnError)
	once := fs.Bool("once", false, "run one check and exit with its verdict (for a CronJob)")
	interval := fs.Duration("interval", 5*time.Minute, "time between the starts of two checks")
	baseline := fs.String("baseline", "", "results folder to compare each check with: only findings it lacks fail a check")
	out := fs.String("out", "out/canary", "results folder (with --once) or the folder of the checks' folders")
	listen := fs.String("listen", "", "serve Prometheus metrics on ADDR/metrics (e.g. :9464)")
	pushURL := fs.String("pushgateway", "", "push the metrics to this Prometheus Pushgateway after every check")
	maxRate := fs.Float64("max-rate", canary.DefaultMaxRate, "rate ceiling in journeys/s: a profile peaking above it is refused")
	allowGenerated := fs.Bool("allow-generated", false, "allow generated personas (default: only dedicated accounts from personas.file)")
	arg, err := oneArg(fs, st, args, "FILE")
	if err != nil {
		return err
	}
	if !*once && *interval <= 0 {
		return exitcode.With(fmt.Errorf("--interval %s: want a positive interval, or --once", *interval), exitcode.Usage)
	}
	cfg, err := config.Read(arg, st.getenv)
	if err != nil {
		return exitcode.With(err, exitcode.Usage)
	}
	if err := canary.Rails(cfg, *maxRate, *allowGenerated); err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	c, err := canary.New(cfg, canary.Options{
		Out: *out, Once: *once, Interval: *interval, Baseline: *baseline, Pushgateway: *pushURL,
		Log: st.stderr, Version: fullVersion(),
	}, reg)
	if err != nil {
		return err
	}
	if *listen != "" {
		ln, err := net.Listen("tcp", *listen)
		if err != nil {
			return exitcode.With(fmt.Errorf("--listen: %w", err), exitcode.Usage)
		}
		mux := http.NewServeMux()
		mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go srv.Serve(ln)
		defer srv.Close()
		fmt.Fprintf(st.stderr, "cutover canary: metrics on http://%s/metrics\n", ln.Addr())
	}
	res, err := c.Run(ctx, reg)
	if err != nil || !*once || res == nil {
		return err
	}
	switch res.Verdict {
	case analysis.VerdictAborted:
		return exitcode.With(fmt.Errorf("aborted: %s", res.Summary.Meta.Aborted), exitcode.Aborted)
	case analysis.VerdictInconclusive:
		return verdictErr(res.Summary, res.Summary.Options.Gate)
	case analysis.VerdictFail:
		if res.New == nil {
			return verdictErr(res.Summary, res.Summary.Options.Gate)
		}
		return newFailingErr(res.New, " against the baseline")
	}
	return nil
}
