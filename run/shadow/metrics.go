package shadow

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cutover-dev/cutover/results/analysis"
)

// Metrics are what a followed shadow run exposes on /metrics: counters over
// the whole process (rate() works on them) and gauges of the last window. Its
// collectors are safe for concurrent use.
type Metrics struct {
	lines       *prometheus.CounterVec
	requests    prometheus.Counter
	evaluations prometheus.Counter
	causeRate   *prometheus.GaugeVec
	classRate   *prometheus.GaugeVec
	compared    prometheus.Gauge
	verdict     *prometheus.GaugeVec
	lastWindow  prometheus.Gauge
	feedErrors  prometheus.Counter

	// seen are the PDP's counters already added to the counters.
	seenRequests, seenEvaluations int64
}

// Outcomes of a line, the outcome label of cutover_shadow_lines_total.
const (
	outcomeAgreed    = "agreed"
	outcomeOver      = "over_permission"
	outcomeUnder     = "under_permission"
	outcomePDPError  = "pdp_error"
	outcomeAmbiguous = "ambiguous"
	outcomeSkipped   = "skipped"
)

// NewMetrics returns the shadow metrics, registered in reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		lines: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cutover_shadow_lines_total", Help: "Legacy decision log lines read, by outcome: agreed, over_permission (legacy deny, candidate allow), under_permission (legacy allow, candidate deny), pdp_error, ambiguous (the log does not say), skipped (not a decision).",
		}, []string{"outcome"}),
		requests: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "cutover_shadow_pdp_requests_total", Help: "HTTP requests sent to the candidate's AuthZEN PDP.",
		}),
		evaluations: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "cutover_shadow_pdp_evaluations_total", Help: "Questions the candidate's PDP was asked (the others were answered from the cache).",
		}),
		causeRate: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "cutover_shadow_disagreement_rate", Help: "Share of the last window's compared lines that disagree, per root cause (its key, stable across windows: persona:kind=billing-clerk and resource_type=users) and class.",
		}, []string{"cause", "class", "severity"}),
		classRate: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "cutover_shadow_window_disagreement_rate", Help: "Share of the last window's compared lines that disagree, per class (OVER_PERMISSION, UNDER_PERMISSION) and for PDP errors (ERROR_RATE_REGRESSION).",
		}, []string{"class"}),
		compared: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "cutover_shadow_window_compared_lines", Help: "Lines compared in the last window.",
		}),
		verdict: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "cutover_shadow_last_verdict", Help: "1 for the verdict of the last window (pass, fail, inconclusive, aborted), 0 for the others.",
		}, []string{"verdict"}),
		lastWindow: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "cutover_shadow_last_window_timestamp_seconds", Help: "Unix time the last window was judged.",
		}),
		feedErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "cutover_shadow_feed_errors_total", Help: "Pages of the legacy audit feed (log.audit) that failed for want of the legacy and were asked again; 5 in a row end the run.",
		}),
	}
	reg.MustRegister(m.lines, m.requests, m.evaluations, m.causeRate, m.classRate, m.compared, m.verdict, m.lastWindow, m.feedErrors)
	for _, o := range []string{outcomeAgreed, outcomeOver, outcomeUnder, outcomePDPError, outcomeAmbiguous, outcomeSkipped} {
		m.lines.WithLabelValues(o)
	}
	for _, c := range []analysis.Class{analysis.OverPermission, analysis.UnderPermission, analysis.ErrorRateRegression} {
		m.classRate.WithLabelValues(string(c))
	}
	return m
}

// line counts one compared line.
func (m *Metrics) line(t tally, pdpErr bool) {
	switch {
	case pdpErr:
		m.lines.WithLabelValues(outcomePDPError).Inc()
	case t.Over > 0:
		m.lines.WithLabelValues(outcomeOver).Inc()
	case t.Under > 0:
		m.lines.WithLabelValues(outcomeUnder).Inc()
	default:
		m.lines.WithLabelValues(outcomeAgreed).Inc()
	}
}

// notCompared counts lines that were not compared.
func (m *Metrics) notCompared(skipped bool) {
	if skipped {
		m.lines.WithLabelValues(outcomeSkipped).Inc()
		return
	}
	m.lines.WithLabelValues(outcomeAmbiguous).Inc()
}

// pdpState adds what the PDP was sent since the last call.
func (m *Metrics) pdpState(p *pdp) {
	r, e := p.requests.Load(), p.evaluations.Load()
	m.requests.Add(float64(r - m.seenRequests))
	m.evaluations.Add(float64(e - m.seenEvaluations))
	m.seenRequests, m.seenEvaluations = r, e
}

// observe sets the gauges of a judged window.
func (m *Metrics) observe(res *Result, now time.Time) {
	r := res.Report
	m.compared.Set(float64(r.Compared))
	rate := func(n int64) float64 {
		if r.Compared == 0 {
			return 0
		}
		return float64(n) / float64(r.Compared)
	}
	m.classRate.WithLabelValues(string(analysis.OverPermission)).Set(rate(r.Over))
	m.classRate.WithLabelValues(string(analysis.UnderPermission)).Set(rate(r.Under))
	m.classRate.WithLabelValues(string(analysis.ErrorRateRegression)).Set(rate(r.PDPErrors))
	m.causeRate.Reset()
	for _, c := range res.Summary.Causes {
		for _, cc := range c.Classes {
			m.causeRate.WithLabelValues(c.Key, string(cc.Class), string(c.Severity)).Set(rate(int64(cc.Occurrences)))
		}
	}
	for _, v := range []string{analysis.VerdictPass, analysis.VerdictFail, analysis.VerdictInconclusive, analysis.VerdictAborted} {
		g := 0.0
		if v == res.Summary.Verdict {
			g = 1
		}
		m.verdict.WithLabelValues(v).Set(g)
	}
	m.lastWindow.Set(float64(now.Unix()))
}
