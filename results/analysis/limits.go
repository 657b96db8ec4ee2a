package analysis

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// LatencyLimit is an absolute bound on a percentile of a step's latency on
// the candidate, as service-level objectives are written (k6: p(95)<500):
// "p95 < 300ms". It is judged beside the comparison with legacy, not instead
// of it.
type LatencyLimit struct {
	// Percentile is in (0, 100]: 50, 95, 99, 99.9; 100 is the maximum.
	Percentile float64 `json:"percentile"`
	// Max is the latency the percentile must stay below.
	Max time.Duration `json:"max_ns"`
}

// String writes the limit as it is configured: "p95 < 300ms".
func (l LatencyLimit) String() string { return l.name() + " < " + l.Max.String() }

// name is the percentile as written: p95, p99.9, max.
func (l LatencyLimit) name() string {
	if l.Percentile >= 100 {
		return "max"
	}
	return "p" + strconv.FormatFloat(l.Percentile, 'f', -1, 64)
}

// roundMs rounds a latency for reading: to the millisecond from 100ms up, to
// 10µs below.
func roundMs(d time.Duration) time.Duration {
	if d >= 100*time.Millisecond {
		return d.Round(time.Millisecond)
	}
	return d.Round(10 * time.Microsecond)
}

var limitSyntax = regexp.MustCompile(`^\s*(?:p\(?\s*([0-9]+(?:\.[0-9]+)?)\s*\)?|(max|med))\s*<\s*(\S+)\s*$`)

// ParseLatencyLimit reads "p95 < 300ms", "p(99.9)<1s", "med < 50ms" or
// "max < 2s". A duration needs its unit.
func ParseLatencyLimit(s string) (LatencyLimit, error) {
	m := limitSyntax.FindStringSubmatch(s)
	if m == nil {
		return LatencyLimit{}, fmt.Errorf("%q: want pNN < DURATION, such as \"p95 < 300ms\" (or med, max)", s)
	}
	var l LatencyLimit
	switch m[2] {
	case "max":
		l.Percentile = 100
	case "med":
		l.Percentile = 50
	default:
		p, err := strconv.ParseFloat(m[1], 64)
		if err != nil || p <= 0 || p > 100 {
			return LatencyLimit{}, fmt.Errorf("%q: percentile %s is not in (0, 100]", s, m[1])
		}
		l.Percentile = p
	}
	d, err := time.ParseDuration(m[3])
	if err != nil {
		if _, nerr := strconv.ParseFloat(m[3], 64); nerr == nil {
			return LatencyLimit{}, fmt.Errorf("%q: %s has no unit; add one: %sms", s, m[3], m[3])
		}
		return LatencyLimit{}, fmt.Errorf("%q: %s is not a duration (300ms, 1.5s)", s, m[3])
	}
	if d <= 0 {
		return LatencyLimit{}, fmt.Errorf("%q: the limit must be above 0", s)
	}
	l.Max = d
	return l, nil
}

// limitBreach judges limit on the candidate's answers h (those of a healthy
// generator): a breach when even the lower end of the 95% confidence interval
// of the percentile lies above the limit. The interval is the distribution-free
// one of order statistics: the percentile q's rank bounded by
// q -/+ 1.96 sqrt(q(1-q)/n), so that a few slow answers among few samples are
// no breach, and many are. The maximum has no interval: one answer above it
// is a breach.
func limitBreach(h *hdrhistogram.Histogram, l LatencyLimit) (observed, low time.Duration, breached bool) {
	n := float64(h.TotalCount())
	if n == 0 {
		return 0, 0, false
	}
	observed = time.Duration(h.ValueAtQuantile(l.Percentile))
	if l.Percentile >= 100 {
		return observed, observed, observed > l.Max
	}
	q := l.Percentile / 100
	lowQ := math.Max(0, q-1.96*math.Sqrt(q*(1-q)/n))
	low = time.Duration(h.ValueAtQuantile(100 * lowQ))
	return observed, low, low > l.Max
}

// limitText is the detail of the breaches of one step.
func limitText(breaches []string) string {
	return "over the absolute limits: " + strings.Join(breaches, "; ")
}
