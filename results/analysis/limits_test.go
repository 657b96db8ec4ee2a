package analysis

import (
	"strings"
	"testing"
	"time"

	"github.com/cutover-dev/cutover/results/record"
)

func TestParseLatencyLimit(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want LatencyLimit
		err  string
	}{
		{"p95 < 300ms", LatencyLimit{95, 300 * time.Millisecond}, ""},
		{"p(99.9)<1s", LatencyLimit{99.9, time.Second}, ""},
		{"  p99<1.5s ", LatencyLimit{99, 1500 * time.Millisecond}, ""},
		{"med < 50ms", LatencyLimit{50, 50 * time.Millisecond}, ""},
		{"max < 2s", LatencyLimit{100, 2 * time.Second}, ""},
		{"p100 < 2s", LatencyLimit{100, 2 * time.Second}, ""},
		{"p95 < 300", LatencyLimit{}, "has no unit; add one: 300ms"},
		{"p95 > 300ms", LatencyLimit{}, "want pNN < DURATION"},
		{"p0 < 1s", LatencyLimit{}, "not in (0, 100]"},
		{"p101 < 1s", LatencyLimit{}, "not in (0, 100]"},
		{"p95 < soon", LatencyLimit{}, "is not a duration"},
		{"p95 < 0s", LatencyLimit{}, "above 0"},
		{"", LatencyLimit{}, "want pNN < DURATION"},
	} {
		got, err := ParseLatencyLimit(tt.in)
		switch {
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("ParseLatencyLimit(%q) error %v; want one saying %q", tt.in, err, tt.err)
		case tt.err == "" && (err != nil || got != tt.want):
			t.Errorf("ParseLatencyLimit(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
	if s := (LatencyLimit{99.9, time.Second}).String(); s != "p99.9 < 1s" {
		t.Errorf("String() = %q", s)
	}
}

// limitStats records n answers of one step on each side: legacy all at 20ms,
// the candidate at 20ms but slow (500ms) on every tenth.
func limitStats(n int, slowEvery int) *Stats {
	start := time.Date(2026, 12, 6, 6, 0, 0, 0, time.UTC)
	st := NewStats(start)
	for i := range n {
		for _, side := range []record.Side{record.Legacy, record.Candidate} {
			lat := 20 * time.Millisecond
			if side == record.Candidate && slowEvery > 0 && i%slowEvery == 0 {
				lat = 500 * time.Millisecond
			}
			at := start.Add(time.Duration(i) * 10 * time.Millisecond)
			st.Add(&record.Record{Side: side, Persona: "p", Kind: "patient", Journey: "session", Step: record.StepLogin, Intended: at, Start: at, Latency: lat, Outcome: record.OK})
		}
	}
	return st
}

// TestLatencyLimits: a candidate whose slowest tenth takes 500ms breaks
// "p95 < 300ms" but keeps "p50 < 300ms", and is a LATENCY_REGRESSION naming
// the limit and legacy's value even though its median equals legacy's; a
// step's own limits replace the run's; too few answers are no verdict.
func TestLatencyLimits(t *testing.T) {
	p95 := LatencyLimit{95, 300 * time.Millisecond}
	p50 := LatencyLimit{50, 300 * time.Millisecond}
	for _, tt := range []struct {
		name       string
		n, every   int
		opt        PerfOptions
		wantDetail string // "" means no finding
	}{
		{"p95 breached", 400, 10, PerfOptions{Limits: []LatencyLimit{p95, p50}}, "p95 500ms (95% CI from 500ms) > limit 300ms (legacy 20ms)"},
		{"p50 kept", 400, 10, PerfOptions{Limits: []LatencyLimit{p50}}, ""},
		{"no slow answers", 400, 0, PerfOptions{Limits: []LatencyLimit{p95}}, ""},
		{"max", 400, 100, PerfOptions{Limits: []LatencyLimit{{100, time.Second}, {100, 400 * time.Millisecond}}}, "max 500ms > limit 400ms (legacy 20ms)"},
		{"step replaces the run's", 400, 10, PerfOptions{Limits: []LatencyLimit{p95}, Steps: map[string]StepTolerance{"session/login": {Limits: []LatencyLimit{{95, time.Second}}}}}, ""},
		{"too few answers", 20, 10, PerfOptions{Limits: []LatencyLimit{p95}}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fs := limitStats(tt.n, tt.every).PerfFindings(tt.opt)
			var got string
			for _, f := range fs {
				if f.Class == LatencyRegression {
					got = f.Detail
				}
			}
			switch {
			case tt.wantDetail == "" && got != "":
				t.Errorf("finding %q; want none", got)
			case tt.wantDetail != "" && !strings.Contains(got, tt.wantDetail):
				t.Errorf("finding %q; want one saying %q", got, tt.wantDetail)
			}
			if strings.Contains(got, "candidate/legacy") {
				t.Errorf("finding %q compares medians: they are equal", got)
			}
		})
	}
}

// TestLatencyLimitInterval: 3% of answers slow among 100 is no breach of
// p95 (the interval reaches below the limit), 12% is.
func TestLatencyLimitInterval(t *testing.T) {
	h := newHist()
	for i := range 100 {
		v := 20 * time.Millisecond
		if i < 3 {
			v = 500 * time.Millisecond
		}
		_ = h.RecordValue(int64(v))
	}
	if _, _, b := limitBreach(h, LatencyLimit{95, 300 * time.Millisecond}); b {
		t.Errorf("3 slow answers of 100 breach p95 < 300ms")
	}
	h.Reset()
	for i := range 100 {
		v := 20 * time.Millisecond
		if i < 12 {
			v = 500 * time.Millisecond
		}
		_ = h.RecordValue(int64(v))
	}
	if _, _, b := limitBreach(h, LatencyLimit{95, 300 * time.Millisecond}); !b {
		t.Errorf("12 slow answers of 100 keep p95 < 300ms")
	}
}
