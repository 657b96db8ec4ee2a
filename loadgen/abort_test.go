package loadgen

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cutover-dev/cutover/results/record"
)

// feed is a batch of records for a Watch: n records of one side and outcome, spread
// evenly from from to to (offsets from the start).
type feed struct {
	side     record.Side
	outcome  record.Outcome
	latency  time.Duration
	n        int
	from, to time.Duration
}

func TestWatch(t *testing.T) {
	const (
		L, C = record.Legacy, record.Candidate
		ok   = record.OK
		bad  = record.Error
	)
	tests := []struct {
		name  string
		rule  AbortRule
		feeds []feed
		want  string // "" no abort; else a piece of the message
	}{
		{"errors within the grace period are forgiven",
			AbortRule{Grace: 10 * s, MaxErrorRate: 0.1},
			[]feed{{C, bad, 0, 100, 0, 9 * s}}, ""},
		{"an error rate over the limit stops the run",
			AbortRule{Grace: s, MaxErrorRate: 0.1},
			[]feed{{C, ok, ms, 80, 0, 5 * s}, {C, bad, 0, 20, 5 * s, 6 * s}},
			"abort rule: candidate error rate"},
		{"too few steps to judge",
			AbortRule{MaxErrorRate: 0.1, MinSamples: 50},
			[]feed{{C, bad, 0, 49, 0, s}}, ""},
		{"each side is judged alone",
			AbortRule{MaxErrorRate: 0.5},
			[]feed{{L, bad, 0, 30, 0, s}, {C, ok, ms, 100, 0, 2 * s}},
			"abort rule: legacy error rate"},
		{"old errors slide out of the window",
			AbortRule{Window: 10 * s, MaxErrorRate: 0.2, MinSamples: 100},
			[]feed{{C, bad, 0, 50, 0, s}, {C, ok, ms, 100, 12 * s, 14 * s}}, ""},
		{"a slow p99 stops the run",
			AbortRule{MaxP99: s},
			[]feed{{C, ok, 10 * ms, 100, 0, 5 * s}, {C, ok, 2 * s, 5, 5 * s, 6 * s}},
			"abort rule: candidate p99 2.1"},
		{"a p99 under the limit does not",
			AbortRule{MaxP99: s},
			[]feed{{C, ok, 10 * ms, 100, 0, 5 * s}, {C, ok, 900 * ms, 1, 5 * s, 6 * s}}, ""},
		{"unsupported and skipped steps count for nothing",
			AbortRule{MaxErrorRate: 0.1},
			[]feed{{C, record.Unsupported, 0, 100, 0, s}, {C, record.Skipped, 0, 100, 0, s}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Date(2026, 1, 1, 7, 0, 0, 0, time.UTC)
			w := NewWatch(tt.rule, start)
			var got error
			for _, f := range tt.feeds {
				for i := range f.n {
					at := f.from + (f.to-f.from)*time.Duration(i)/time.Duration(max(f.n-1, 1))
					err := w.Observe(start.Add(at), &record.Record{Side: f.side, Outcome: f.outcome, Latency: f.latency})
					if err != nil && got != nil {
						t.Fatalf("a second abort after %v: %v", got, err)
					}
					if err != nil {
						got = err
					}
				}
			}
			switch {
			case tt.want == "" && got != nil:
				t.Errorf("Observe = %v; want no abort", got)
			case tt.want != "" && (got == nil || !strings.Contains(got.Error(), tt.want)):
				t.Errorf("Observe = %v; want an abort mentioning %q", got, tt.want)
			case got != nil:
				var ae *AbortError
				if !errors.As(got, &ae) {
					t.Errorf("Observe = %T; want *AbortError", got)
				}
			}
		})
	}
}

func TestBins(t *testing.T) {
	for _, d := range []time.Duration{0, 50 * time.Microsecond, ms, 10 * ms, 1234 * ms, time.Hour} {
		top := binTop(bin(d))
		if d > binFloor && d < binTop(nbins-1) && (top < d || float64(top) > 1.091*float64(d)) {
			t.Errorf("bin(%s) has top %s; want within [d, d+9%%]", d, top)
		}
	}
}
