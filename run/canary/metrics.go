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
type Metrics struct {
	steps    *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	findings *prometheus.GaugeVec
	newFind  *prometheus.GaugeVec
	verdict  *prometheus.GaugeVec
	causes   *prometheus.GaugeVec
	cohorts  *prometheus.GaugeVec
	runs     *prometheus.CounterVec
	lastRun  prometheus.Gauge
	errors   prometheus.Counter
}

// NewMetrics returns the canary metrics, registered in reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		steps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cutover_canary_steps_total", Help: "Journey steps run, by side, journey, step and outcome (ok, error, unsupported, skipped).",
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
		verdict: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "cutover_canary_last_verdict", Help: "1 for the verdict of the last check (pass, fail, aborted), 0 for the others.",
		}, []string{"verdict"}),
		causes: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "cutover_canary_causes", Help: "Root causes of the last check's findings, by severity and whether they fail the check.",
		}, []string{"severity", "fails"}),
		cohorts: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "cutover_canary_cohort_status", Help: "1 for each cohort's readiness in the last check (pass, fail, not exercised), 0 for the others.",
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
	reg.MustRegister(m.steps, m.latency, m.findings, m.newFind, m.verdict, m.causes, m.cohorts, m.runs, m.lastRun, m.errors)
	for _, v := range []string{analysis.VerdictPass, analysis.VerdictFail, analysis.VerdictInconclusive, analysis.VerdictAborted} {
		m.verdict.WithLabelValues(v)
		m.runs.WithLabelValues(v)
	}
	return m
}

// observe accounts one check: its records (read back from dir), findings and
// verdict.
func (m *Metrics) observe(dir string, res *Result, now time.Time) error {
	err := results.ReadRecords(dir, func(r *record.Record) error {
		m.steps.WithLabelValues(string(r.Side), r.Journey, r.Step, string(r.Outcome)).Inc()
		if r.Outcome == record.OK {
			m.latency.WithLabelValues(string(r.Side), r.Journey, r.Step).Observe(r.Latency.Seconds())
		}
		return nil
	})
	m.findings.Reset()
	for _, f := range res.Summary.Findings {
		m.findings.WithLabelValues(string(f.Class)).Add(float64(f.Count))
	}
	m.newFind.Reset()
	for _, f := range res.New {
		m.newFind.WithLabelValues(string(f.Class)).Add(1)
	}
	for _, v := range []string{analysis.VerdictPass, analysis.VerdictFail, analysis.VerdictInconclusive, analysis.VerdictAborted} {
		g := 0.0
		if v == res.Verdict {
			g = 1
		}
		m.verdict.WithLabelValues(v).Set(g)
	}
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
