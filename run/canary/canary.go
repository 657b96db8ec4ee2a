// Package canary runs a rehearsal file as a scheduled production check after
// cutover: a small journey set on an interval, with the safety rails on, each
// result compared with a stored baseline run, and Prometheus metrics of what it
// saw. `cutover canary` comes through here.
//
// It sits on top with run/rehearsal, which it repeats; only cmd/cutover imports it.
package canary

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/push"

	"github.com/cutover-dev/cutover/internal/exitcode"
	"github.com/cutover-dev/cutover/loadgen"
	"github.com/cutover-dev/cutover/results"
	"github.com/cutover-dev/cutover/results/analysis"
	"github.com/cutover-dev/cutover/run/config"
	"github.com/cutover-dev/cutover/run/rehearsal"
)

// DefaultMaxRate is the rate ceiling of a canary, in journeys per second: a
// canary checks, it does not load production.
const DefaultMaxRate = 5

// ErrRails is returned when a rehearsal file breaks a canary's safety rails.
var ErrRails = errors.New("canary safety rails")

// ErrOnceListen is returned for a canary asked both to run once and to serve its
// metrics for scraping (see ValidateListen).
var ErrOnceListen = errors.New("a canary run once cannot serve its metrics")

// ValidateListen checks that a canary run once (once) is not also asked to
// serve its metrics on addr (empty: not served). A canary run once exits as
// soon as its one check ends and its metrics server with it, so a scraper would
// only ever find a process that has not checked yet: the zeros of a fresh
// registry, or nothing. Such a canary pushes its metrics (Options.Pushgateway)
// instead. The error wraps ErrOnceListen and carries the usage exit code.
func ValidateListen(once bool, addr string) error {
	if !once || addr == "" {
		return nil
	}
	return exitcode.With(fmt.Errorf("--listen %s with --once: %w: the process exits when its check ends, so a scraper would only find the zeros of a canary that has not checked yet; push the metrics with --pushgateway, or leave out --once to run checks on an interval and serve them", addr, ErrOnceListen), exitcode.Usage)
}

// defaultAbort is the abort rule of a canary whose file has none: stop when half
// of the steps of a stack fail over 5s.
var defaultAbort = config.Abort{Grace: 2 * time.Second, Window: 5 * time.Second, MaxErrorRate: 0.5, MinSamples: 10}

// Rails checks cfg against the canary's safety rails and switches the abort rules
// on when cfg has none. A canary: sends nothing outside stacks.allow_hosts (which
// must list hosts: every request goes through the host guard); peaks at maxRate
// journeys per second at most; runs no raw attack; signs in as dedicated
// synthetic accounts imported from a file (generated personas only when
// allowGenerated); and stops on its abort rules. Every problem is reported at once.
func Rails(cfg *config.File, maxRate float64, allowGenerated bool) error {
	var errs []error
	if cfg.Personas.Generate != nil && !allowGenerated {
		errs = append(errs, errors.New("personas.generate: a canary signs in as dedicated synthetic accounts provisioned for it (personas.file); generated personas only with --allow-generated"))
	}
	if len(cfg.Stacks.AllowHosts) == 0 {
		errs = append(errs, errors.New("stacks.allow_hosts is empty: a canary only talks to listed hosts"))
	}
	if peak := loadgen.Peak(rehearsal.Pacer(cfg), cfg.Load.Duration); peak > maxRate {
		errs = append(errs, fmt.Errorf("load.profile peaks at %.4g journeys/s, above the canary ceiling %g/s (raise it with --max-rate if you mean it)", peak, maxRate))
	}
	if len(cfg.Load.Raw) > 0 {
		errs = append(errs, fmt.Errorf("load.raw has %d raw attack(s): a canary runs journeys, it does not load endpoints", len(cfg.Load.Raw)))
	}
	if len(errs) > 0 {
		return exitcode.With(fmt.Errorf("%w: %w", ErrRails, errors.Join(errs...)), exitcode.Usage)
	}
	if cfg.Load.Abort == nil {
		a := defaultAbort
		cfg.Load.Abort = &a
	}
	return nil
}

// Options configure a canary.
type Options struct {
	// Out is the folder of the runs: each run gets a folder in it (Once: Out
	// itself).
	Out string
	// Once runs one check and returns (a CronJob's canary).
	Once bool
	// Interval is the time between the starts of two checks.
	Interval time.Duration
	// Baseline is a results folder the checks are compared with: only findings
	// it does not have fail a check. Empty: every failing finding fails.
	Baseline string
	// Pushgateway, if set, is the URL of a Prometheus Pushgateway the metrics are
	// pushed to after every check.
	Pushgateway string
	// Log receives progress lines; Version goes into the summaries.
	Log     io.Writer
	Version string
	// Now is the clock of the run timestamps (nil: time.Now).
	Now func() time.Time
}

// Result is the outcome of one check.
type Result struct {
	Dir     string
	Summary *analysis.Summary
	// Verdict is pass, fail (a failing finding the baseline does not have),
	// inconclusive (the check did not see enough: a precondition, a class not
	// judged) or aborted.
	Verdict string
	// Compared reports whether the check was compared with the baseline: there
	// is one and the check was not aborted.
	Compared bool
	// New lists the failing findings the baseline does not have.
	New []analysis.DiffFinding
}

// failing returns the classes of the finding rows that fail the check, one per
// row: with a baseline, those it does not have (New); without, those that fail
// the thresholds. None unless the verdict is fail.
func (r *Result) failing() []analysis.Class {
	if r.Verdict != analysis.VerdictFail {
		return nil
	}
	var out []analysis.Class
	if r.Compared {
		for _, f := range r.New {
			out = append(out, f.Class)
		}
		return out
	}
	for _, f := range r.Summary.Failing(r.Summary.Options.Gate) {
		out = append(out, f.Class)
	}
	return out
}

// ExitCode returns the exit code `cutover canary --once` ends with after the
// check r (exported as cutover_canary_last_exit_code): Pass; Regression when a
// failing finding is a parity one, Performance when all are performance ones;
// Aborted; Precondition or Inconclusive for an inconclusive check, as for a run.
func (r *Result) ExitCode() exitcode.Code {
	switch r.Verdict {
	case analysis.VerdictAborted:
		return exitcode.Aborted
	case analysis.VerdictInconclusive:
		if len(r.Summary.Preconditions) > 0 {
			return exitcode.Precondition
		}
		return exitcode.Inconclusive
	case analysis.VerdictFail:
		for _, c := range r.failing() {
			if !c.Performance() {
				return exitcode.Regression
			}
		}
		return exitcode.Performance
	}
	return exitcode.Pass
}

// Canary runs checks and keeps their metrics. It is safe for concurrent use by
// the metrics handler and the loop.
type Canary struct {
	cfg      *config.File
	opt      Options
	baseline *analysis.Summary
	baseHist *analysis.Stats
	m        *Metrics
}

// New returns a canary for cfg (which must have passed Rails), its metrics
// registered in reg.
func New(cfg *config.File, opt Options, reg prometheus.Registerer) (*Canary, error) {
	if opt.Log == nil {
		opt.Log = io.Discard
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	c := &Canary{cfg: cfg, opt: opt, m: NewMetrics(reg)}
	if opt.Baseline != "" {
		sum, err := results.ReadSummary(opt.Baseline)
		if err != nil {
			return nil, exitcode.With(fmt.Errorf("baseline: %w", err), exitcode.Usage)
		}
		c.baseline = sum
		if h, err := results.ReadHistograms(opt.Baseline); err == nil {
			c.baseHist = h
		}
	}
	return c, nil
}

// Run runs checks until ctx is done (or one, with Once), and returns the last
// result. An error of a check (a stack unreachable, a results folder that cannot
// be written) ends a Once canary; a looping canary counts it, logs it and goes
// on.
func (c *Canary) Run(ctx context.Context, gatherer prometheus.Gatherer) (*Result, error) {
	var last *Result
	for {
		began := c.opt.Now()
		dir := c.opt.Out
		if !c.opt.Once {
			dir = filepath.Join(c.opt.Out, began.UTC().Format("20060102T150405.000Z"))
		}
		res, err := c.Check(ctx, dir)
		if res != nil {
			last = res
		}
		if c.opt.Pushgateway != "" {
			if perr := push.New(c.opt.Pushgateway, "cutover_canary").Grouping("canary", c.cfg.Name).Gatherer(gatherer).Push(); perr != nil {
				fmt.Fprintf(c.opt.Log, "cutover canary: push to %s: %v\n", c.opt.Pushgateway, perr)
				err = errors.Join(err, fmt.Errorf("pushgateway: %w", perr))
			}
		}
		if c.opt.Once {
			return last, err
		}
		if err != nil {
			fmt.Fprintf(c.opt.Log, "cutover canary: check failed: %v\n", err)
		}
		wait := time.NewTimer(max(c.opt.Interval-c.opt.Now().Sub(began), 0))
		select {
		case <-ctx.Done():
			wait.Stop()
			return last, nil
		case <-wait.C:
		}
	}
}

// Check runs one check into dir, compares it with the baseline and updates the
// metrics.
func (c *Canary) Check(ctx context.Context, dir string) (*Result, error) {
	sum, err := rehearsal.Run(ctx, c.cfg, rehearsal.Options{Out: dir, Log: c.opt.Log, Version: c.opt.Version})
	if sum == nil {
		c.m.errors.Inc()
		return nil, err
	}
	res := &Result{Dir: dir, Summary: sum, Verdict: sum.Verdict}
	if c.baseline != nil && sum.Verdict != analysis.VerdictAborted {
		// Latency deltas need both runs' histograms, or neither.
		base, h := c.baseHist, (*analysis.Stats)(nil)
		if base != nil {
			var herr error
			if h, herr = results.ReadHistograms(dir); herr != nil {
				base, h = nil, nil
			}
		}
		d := analysis.NewDiff(c.baseline, sum, base, h)
		res.Compared, res.New = true, d.NewFailing()
		switch {
		case len(res.New) > 0:
			res.Verdict = analysis.VerdictFail
		case sum.Verdict == analysis.VerdictInconclusive:
			// The baseline forgives known findings, never what the check did
			// not see.
			res.Verdict = analysis.VerdictInconclusive
		default:
			res.Verdict = analysis.VerdictPass
		}
	}
	rerr := c.m.observe(dir, res, c.opt.Now())
	fmt.Fprintf(c.opt.Log, "cutover canary: %s: %s (%s)\n", dir, res.Verdict, c.tally(res))
	return res, errors.Join(err, rerr)
}

// tally says what a check found, for its log line. Only a check compared with a
// baseline says anything about one.
func (c *Canary) tally(res *Result) string {
	n := len(res.Summary.Findings)
	switch {
	case c.baseline == nil:
		return fmt.Sprintf("%d findings, %d failing", n, len(res.failing()))
	case !res.Compared:
		return fmt.Sprintf("%d findings, not compared with the baseline", n)
	default:
		return fmt.Sprintf("%d findings, %d new against the baseline", n, len(res.New))
	}
}
