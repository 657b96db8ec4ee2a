package canary

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cutover-dev/cutover/results"
	"github.com/cutover-dev/cutover/results/analysis"
	"github.com/cutover-dev/cutover/results/record"
)

// Metrics are what a canary exposes on /metrics. Its collectors are safe for
// concurrent use.
//
// Two kinds: counters and a histogram that add up every check of the process
// (for a looping canary scraped on --listen: rate() works on them), and gauges
// of the last check alone. A canary run once (a CronJob's) pushes a fresh
// process's registry after its one check, so the Pushgateway holds that check
// and nothing before it: dashboards and alerts that must work for both read the
// last-check gauges.
type Metrics struct {
	steps       *prometheus.CounterVec
	latency     *prometheus.HistogramVec
	findings    *prometheus.GaugeVec
	newFind     *prometheus.GaugeVec
	failing     *prometheus.GaugeVec
	verdict     *prometheus.GaugeVec
	exitCode    prometheus.Gauge
	lastSteps   *prometheus.GaugeVec
	lastLatency *prometheus.GaugeVec
	causes      *prometheus.GaugeVec
	cohorts     *prometheus.GaugeVec
	runs        *prometheus.CounterVec
	lastRun     prometheus.Gauge
	errors      prometheus.Counter
}

// Kinds of failing findings, the kind label of cutover_canary_failing_findings:
// a parity regression (exit code 1) or a performance one (latency, error rate:
// exit code 5 when only those fail).
const (
	kindParity      = "parity"
	kindPerformance = "performance"
)

// quantiles are the latency quantiles of the last check, as the reports give
// them: label value and the summary's figure in milliseconds.
var quantiles = []struct {
	label string
	ms    func(analysis.SideSummary) float64
}{
	{"0.5", func(s analysis.SideSummary) float64 { return s.P50 }},
	{"0.95", func(s analysis.SideSummary) float64 { return s.P95 }},
	{"0.99", func(s analysis.SideSummary) float64 { return s.P99 }},
}

// NewMetrics returns the canary metrics, registered in reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		steps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cutover_canary_steps_total", Help: "Journey steps run, by side, journey, step and outcome (ok, error, invalid, unsupported, skipped, unverified).",
		}, []string{"side", "journey", "step", "outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "cutover_canary_step_latency_seconds", Help: "Latency of the answered journey steps, by side, journey and step.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 15),
		}, []string{"side", "journey", "step"}),
		findings: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "cutover_canary_findings", Help: "Findings of the last check, by regression class.",
		}, []string{"class"}),
		newFind: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "cutover_canary_new_findings", Help: "Failing findings of the last check that the baseline run does not have, by regression class.",
		}, []string{"class"}),
		failing: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "cutover_canary_failing_findings", Help: "Finding rows that fail the last check (with a baseline: those it does not have), by regression class and kind (parity, performance).",
		}, []string{"class", "kind"}),
		verdict: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "cutover_canary_last_verdict", Help: "1 for the verdict of the last check (pass, fail, inconclusive, aborted), 0 for the others.",
		}, []string{"verdict"}),
		exitCode: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "cutover_canary_last_exit_code", Help: "Exit code of the last check as cutover canary --once ends with it (0 pass, 1 parity regression, 3 aborted, 4 precondition failed, 5 performance regression only, 6 inconclusive).",
		}),
		lastSteps: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "cutover_canary_last_steps", Help: "Journey steps of the last check, by side, journey, step and outcome (ok, error, invalid, unsupported, skipped, unverified).",
		}, []string{"side", "journey", "step", "outcome"}),
		lastLatency: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "cutover_canary_last_step_latency_seconds", Help: "Latency quantiles (0.5, 0.95, 0.99) of the answered steps of the last check, by side, journey and step, from the run's HDR histograms.",
		}, []string{"side", "journey", "step", "quantile"}),
		causes: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "cutover_canary_causes", Help: "Root causes of the last check's findings, by severity and whether they fail the check.",
		}, []string{"severity", "fails"}),
		cohorts: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "cutover_canary_cohort_status", Help: "1 for each cohort's readiness in the last check (pass, fail, inconclusive, not exercised), 0 for the others.",
		}, []string{"cohort", "status"}),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cutover_canary_runs_total", Help: "Checks run, by verdict.",
		}, []string{"verdict"}),
		lastRun: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "cutover_canary_last_run_timestamp_seconds", Help: "Unix time the last check ended.",
		}),
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "cutover_canary_check_errors_total", Help: "Checks that could not run (a stack unreachable, a results folder not written).",
		}),
	}
	reg.MustRegister(m.steps, m.latency, m.findings, m.newFind, m.failing, m.verdict, m.exitCode, m.lastSteps, m.lastLatency,
		m.causes, m.cohorts, m.runs, m.lastRun, m.errors)
	for _, v := range []string{analysis.VerdictPass, analysis.VerdictFail, analysis.VerdictInconclusive, analysis.VerdictAborted} {
		m.verdict.WithLabelValues(v)
		m.runs.WithLabelValues(v)
	}
	return m
}

// observe accounts one check: its records (read back from dir), findings and
// verdict.
func (m *Metrics) observe(dir string, res *Result, now time.Time) error {
	m.lastSteps.Reset()
	err := results.ReadRecords(dir, func(r *record.Record) error {
		m.steps.WithLabelValues(string(r.Side), r.Journey, r.Step, string(r.Outcome)).Inc()
		m.lastSteps.WithLabelValues(string(r.Side), r.Journey, r.Step, string(r.Outcome)).Inc()
		if r.Outcome == record.OK {
			m.latency.WithLabelValues(string(r.Side), r.Journey, r.Step).Observe(r.Latency.Seconds())
		}
		return nil
	})
	m.lastLatency.Reset()
	for _, st := range res.Summary.Steps {
		for _, side := range []struct {
			name record.Side
			s    analysis.SideSummary
		}{{record.Legacy, st.Legacy}, {record.Candidate, st.Candidate}} {
			if side.s.Count-side.s.Errors-side.s.Invalid <= 0 { // no answered step: no latency
				continue
			}
			for _, q := range quantiles {
				m.lastLatency.WithLabelValues(string(side.name), st.Journey, st.Step, q.label).Set(q.ms(side.s) / 1000)
			}
		}
	}
	m.findings.Reset()
	for _, f := range res.Summary.Findings {
		m.findings.WithLabelValues(string(f.Class)).Add(float64(f.Count))
	}
	m.newFind.Reset()
	for _, f := range res.New {
		m.newFind.WithLabelValues(string(f.Class)).Add(1)
	}
	m.failing.Reset()
	for _, c := range res.failing() {
		m.failing.WithLabelValues(string(c), kind(c)).Add(1)
	}
	for _, v := range []string{analysis.VerdictPass, analysis.VerdictFail, analysis.VerdictInconclusive, analysis.VerdictAborted} {
		g := 0.0
		if v == res.Verdict {
			g = 1
		}
		m.verdict.WithLabelValues(v).Set(g)
	}
	m.exitCode.Set(float64(res.ExitCode()))
	m.causes.Reset()
	for _, c := range res.Summary.Causes {
		m.causes.WithLabelValues(string(c.Severity), fmt.Sprint(c.Fails)).Inc()
	}
	m.cohorts.Reset()
	for _, c := range res.Summary.Cohorts {
		for _, st := range []string{analysis.CohortPass, analysis.CohortFail, analysis.CohortInconclusive, analysis.CohortNotExercised} {
			g := 0.0
			if st == c.Status {
				g = 1
			}
			m.cohorts.WithLabelValues(c.Name, st).Set(g)
		}
	}
	m.runs.WithLabelValues(res.Verdict).Inc()
	m.lastRun.Set(float64(now.Unix()))
	if err != nil {
		return fmt.Errorf("canary metrics: %w", err)
	}
	return nil
}

// kind is the kind label of a failing finding of class c.
func kind(c analysis.Class) string {
	if c.Performance() {
		return kindPerformance
	}
	return kindParity
}
