package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"

	"github.com/cutover-dev/cutover/internal/exitcode"
	"github.com/cutover-dev/cutover/results/analysis"
	"github.com/cutover-dev/cutover/run/canary"
	"github.com/cutover-dev/cutover/run/config"
)

// canaryCmd runs FILE as a scheduled production check: on an interval until
// interrupted, or once (a CronJob's), with the canary's safety rails, metrics on
// /metrics and optionally pushed to a Pushgateway.
func canaryCmd(st *state) *cobra.Command {
	var o canaryOptions
	c := &cobra.Command{
		Use:   "canary FILE",
		Short: "run FILE as a production canary: safety rails, Prometheus metrics, compared with a baseline",
		Long: `canary runs the rehearsal file FILE as a scheduled check against production:
every --interval until interrupted, or once (--once, for a CronJob). Its rails
refuse generated personas and a profile above --max-rate. Metrics are served on
--listen and/or pushed to a Pushgateway; with --baseline, only findings the
baseline run lacks fail a check.`,
		Example: `  cutover canary canary.yaml --interval 10m --listen :9464 --baseline out/accepted
  cutover canary canary.yaml --once --pushgateway http://pushgateway:9091`,
		Args: argNamed("FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCanary(cmd.Context(), st, args[0], o)
		},
	}
	f := c.Flags()
	f.BoolVar(&o.once, "once", false, "run one check and exit with its verdict (for a CronJob)")
	durationVar(f, &o.interval, "interval", 5*time.Minute, "time between the starts of two checks")
	f.StringVar(&o.baseline, "baseline", "", "results folder to compare each check with: only findings it lacks fail a check")
	f.StringVar(&o.out, "out", "out/canary", "results folder (with --once) or the folder of the checks' folders")
	f.StringVar(&o.listen, "listen", "", "serve Prometheus metrics on ADDR/metrics (e.g. :9464); not with --once")
	f.StringVar(&o.pushURL, "pushgateway", "", "push the metrics to this Prometheus Pushgateway after every check")
	f.Float64Var(&o.maxRate, "max-rate", canary.DefaultMaxRate, "rate ceiling in journeys/s: a profile peaking above it is refused")
	f.BoolVar(&o.allowGenerated, "allow-generated", false, "allow generated personas (default: only dedicated accounts from personas.file)")
	o.load.flags(f)
	return c
}

type canaryOptions struct {
	once, allowGenerated           bool
	interval                       time.Duration
	baseline, out, listen, pushURL string
	maxRate                        float64
	load                           load
}

func runCanary(ctx context.Context, st *state, arg string, o canaryOptions) error {
	if !o.once && o.interval <= 0 {
		return exitcode.With(fmt.Errorf("--interval %s: want a positive interval, or --once", o.interval), exitcode.Usage)
	}
	if err := canary.ValidateListen(o.once, o.listen); err != nil {
		return err
	}
	cfg, err := config.Read(arg, st.getenv)
	if err != nil {
		return exitcode.With(err, exitcode.Usage)
	}
	if err := o.load.apply(cfg); err != nil {
		return err
	}
	if err := canary.Rails(cfg, o.maxRate, o.allowGenerated); err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	c, err := canary.New(cfg, canary.Options{
		Out: o.out, Once: o.once, Interval: o.interval, Baseline: o.baseline, Pushgateway: o.pushURL,
		Log: st.stderr, Version: fullVersion(),
	}, reg)
	if err != nil {
		return err
	}
	if o.listen != "" {
		stop, err := serveMetrics(st, "canary", o.listen, reg)
		if err != nil {
			return err
		}
		defer stop()
	}
	res, err := c.Run(ctx, reg)
	if err != nil || !o.once || res == nil {
		return err
	}
	switch res.Verdict {
	case analysis.VerdictAborted:
		return exitcode.With(fmt.Errorf("aborted: %s", res.Summary.Meta.Aborted), exitcode.Aborted)
	case analysis.VerdictInconclusive:
		return verdictErr(res.Summary, res.Summary.Options.Gate)
	case analysis.VerdictFail:
		if !res.Compared {
			return verdictErr(res.Summary, res.Summary.Options.Gate)
		}
		return newFailingErr(res.New, " against the baseline")
	}
	return nil
}

// serveMetrics serves reg's metrics at /metrics on addr (--listen) for command
// cmd until stop is called.
func serveMetrics(st *state, cmd, addr string, reg *prometheus.Registry) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, exitcode.With(fmt.Errorf("--listen: %w", err), exitcode.Usage)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	fmt.Fprintf(st.stderr, "cutover %s: metrics on http://%s/metrics\n", cmd, ln.Addr())
	return func() { srv.Close() }, nil
}
