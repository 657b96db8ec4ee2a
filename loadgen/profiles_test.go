package loadgen

import (
	"math"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

const (
	ms = time.Millisecond
	s  = time.Second
)

// TestPace checks each profile's schedule at chosen hits, without sleeping: the
// wanted instants are worked out by hand from the area under the rate (the comment
// on each row), as in vegeta's lib/pacer_test.go.
func TestPace(t *testing.T) {
	spike := Spike{Base: 10, Peak: 50, At: 10 * s, Ramp: 2 * s, Hold: 4 * s}
	shift := ShiftChange{Base: 0, Cohort: 100, At: 10 * s, Over: 20 * s}
	storm := RefreshStorm{Base: 0, Cohort: 100, At: 0, Over: 10 * s}
	tests := []struct {
		p       vegeta.Pacer
		elapsed time.Duration
		hits    uint64
		wait    time.Duration
		stop    bool
	}{
		// Constant: hit n is due at (n+1)/rate.
		{Constant{PerSecond: 20}, 0, 0, 50 * ms, false},
		{Constant{PerSecond: 20}, 0, 1, 100 * ms, false},
		{Constant{PerSecond: 20}, s, 19, 0, false},           // due at 1s exactly
		{Constant{PerSecond: 20}, s, 20, 50 * ms, false},     // next one 50ms on
		{Constant{PerSecond: 20}, 2 * s, 5, 0, false},        // overdue: at once
		{Constant{PerSecond: 0.5}, 0, 0, 2 * s, false},       // a fraction of a hit per second
		{Constant{PerSecond: 0}, 0, 0, 0, true},              // nothing to do
		{Constant{PerSecond: -1}, 0, 0, 0, true},             // invalid
		{Constant{PerSecond: math.NaN()}, 0, 0, 0, true},     // invalid
		{Constant{PerSecond: 1e-12}, 0, 1 << 40, 0, true},    // beyond time.Duration
		{Constant{PerSecond: 1000}, 900 * ms, 899, 0, false}, // due at 0.9s

		// Stages 0→10/s over 10s: area s²/2, so hit n is due at sqrt(2(n+1)).
		{Stages{Start: 0, Stages: []Stage{{10 * s, 10}}}, 0, 0, 1414213562, false},
		{Stages{Start: 0, Stages: []Stage{{10 * s, 10}}}, 3 * s, 7, s, false},   // area 8 at 4s
		{Stages{Start: 0, Stages: []Stage{{10 * s, 10}}}, 10 * s, 49, 0, false}, // area 50 at 10s
		{Stages{Start: 0, Stages: []Stage{{10 * s, 10}}}, 9 * s, 50, 0, true},   // k6 ends with the last stage
		// 10→0/s over 10s: area 10s - s²/2; the last hit lands on the end.
		{Stages{Start: 10, Stages: []Stage{{10 * s, 0}}}, 0, 0, 100505063, false}, // 10 - sqrt(98)
		{Stages{Start: 10, Stages: []Stage{{10 * s, 0}}}, 0, 49, 10 * s, false},
		// k6's carry-over: 4.9s at 2/s is 9.8 hits; the 10th needs 0.2 more, 0.1s into the next stage.
		{Stages{Start: 2, Stages: []Stage{{4900 * ms, 2}, {5 * s, 2}}}, 0, 9, 5 * s, false},
		// Zero-rate legs are waited through: 2s at 0, then 0→4/s over 2s (area s²) reaches 1 at 3s.
		{Stages{Start: 0, Stages: []Stage{{s, 0}, {s, 0}, {2 * s, 4}}}, 0, 0, 3 * s, false},
		{Stages{Start: 0, Stages: []Stage{{s, -1}}}, 0, 0, 0, true}, // invalid
		{Stages{Start: 5}, 0, 0, 0, true},                           // no stages: nothing

		// Spike: 10/s for 10s (100 hits), then 10→50/s over 2s (area 10s + 10s²).
		{spike, 0, 0, 100 * ms, false},
		{spike, 0, 99, 10 * s, false},
		{spike, 10 * s, 100, 91607978, false}, // 2/(10+sqrt(140))
		{spike, 18 * s, 420, 100 * ms, false}, // 100 + 60 + 200 + 60 hits by 18s, then base again

		// ShiftChange: a triangle of 100 over 20s from 10s, peak 10/s at 20s.
		{shift, 0, 0, 11414213562, false}, // 10 + sqrt(2)
		{shift, 0, 49, 20 * s, false},     // half the cohort by the peak
		{shift, 25 * s, 99, 5 * s, false}, // the whole cohort by 30s
		{shift, 30 * s, 100, 0, true},     // base 0: nothing after the wave

		// RefreshStorm: 100 over 10s, up to 20/s within the first second.
		{storm, 0, 0, 316227766, false}, // sqrt(0.1)
		{storm, 0, 9, s, false},         // a tenth of the cohort in the steep first second
		{storm, 0, 99, 10 * s, false},
	}
	for _, tt := range tests {
		wait, stop := tt.p.Pace(tt.elapsed, tt.hits)
		if wait != tt.wait || stop != tt.stop {
			t.Errorf("%s.Pace(%s, %d) = (%s, %t); want (%s, %t)", tt.p, tt.elapsed, tt.hits, wait, stop, tt.wait, tt.stop)
		}
	}
}

// TestSinePace: the sine's due times are found by bisection to the nanosecond.
func TestSinePace(t *testing.T) {
	flat := Sine{Mean: 10, Amp: 0, Period: s}
	// 10 ± 10 from the trough: rate 10 - 10cos(πt), area 10t - (10/π)sin(πt).
	tide := Sine{Mean: 10, Amp: 10, Period: 2 * s, Phase: vegeta.Trough}
	tests := []struct {
		p       Sine
		elapsed time.Duration
		hits    uint64
		wait    time.Duration
		stop    bool
	}{
		{flat, 0, 0, 100 * ms, false},
		{flat, 0, 9, s, false},
		{tide, 0, 9, s, false},                              // area 10 at 1s, where the rate is 20/s
		{tide, 0, 29, 3 * s, false},                         // area 30 at 3s
		{tide, 2 * s, 29, s, false},                         // asked later
		{tide, 5 * s, 29, 0, false},                         // overdue
		{Sine{Mean: 10, Amp: 11, Period: s}, 0, 0, 0, true}, // the rate would go negative
		{Sine{Mean: 10, Amp: 1}, 0, 0, 0, true},             // no period
	}
	for _, tt := range tests {
		wait, stop := tt.p.Pace(tt.elapsed, tt.hits)
		if d := wait - tt.wait; d < -1 || d > 1 || stop != tt.stop {
			t.Errorf("%s.Pace(%s, %d) = (%s, %t); want (%s ±1ns, %t)", tt.p, tt.elapsed, tt.hits, wait, stop, tt.wait, tt.stop)
		}
	}
}

func TestRateAndPeak(t *testing.T) {
	tests := []struct {
		p      vegeta.Pacer
		at     time.Duration
		rate   float64
		within time.Duration
		peak   float64
	}{
		{Constant{PerSecond: 7}, time.Hour, 7, 0, 7},
		{Stages{Start: 0, Stages: []Stage{{10 * s, 10}, {10 * s, 4}}}, 5 * s, 5, 0, 10},
		{Stages{Start: 0, Stages: []Stage{{10 * s, 10}, {10 * s, 4}}}, 15 * s, 7, 5 * s, 5},
		{Stages{Start: 0, Stages: []Stage{{10 * s, 10}}}, 11 * s, 0, 0, 10}, // over
		{Spike{Base: 10, Peak: 50, At: 10 * s, Ramp: 2 * s, Hold: 4 * s}, 11 * s, 30, 0, 50},
		{Spike{Base: 10, Peak: 50, At: 10 * s, Ramp: 2 * s, Hold: 4 * s}, time.Hour, 10, 10 * s, 10},
		{ShiftChange{Base: 5, Cohort: 100, At: 10 * s, Over: 20 * s}, 20 * s, 15, 0, 15},
		{RefreshStorm{Base: 5, Cohort: 100, At: 10 * s, Over: 10 * s}, 11 * s, 25, 0, 25},
		{Sine{Mean: 10, Amp: 10, Period: 2 * s, Phase: vegeta.Trough}, s, 20, 0, 20},
		{Sine{Mean: 10, Amp: 10, Period: 4 * s, Phase: vegeta.Trough}, 0, 0, s, 10},
	}
	for _, tt := range tests {
		if got := tt.p.Rate(tt.at); math.Abs(got-tt.rate) > 1e-9 {
			t.Errorf("%s.Rate(%s) = %v; want %v", tt.p, tt.at, got, tt.rate)
		}
		if got := Peak(tt.p, tt.within); math.Abs(got-tt.peak) > 0.01 {
			t.Errorf("Peak(%s, %s) = %v; want %v", tt.p, tt.within, got, tt.peak)
		}
	}
	// A foreign pacer is sampled.
	if got := Peak(vegeta.LinearPacer{StartAt: vegeta.Rate{Freq: 1, Per: s}, Slope: 1}, 10*s); math.Abs(got-11) > 0.01 {
		t.Errorf("Peak(linear 1/s + 1/s², 10s) = %v; want 11", got)
	}
}

// TestScheduleKeepsTheArea: over a run, a profile starts as many journeys as the
// area under its rate (the last one may fall on the end and not count), and its
// due times never go backwards.
func TestScheduleKeepsTheArea(t *testing.T) {
	tests := []struct {
		p    vegeta.Pacer
		d    time.Duration
		area float64
	}{
		{Constant{PerSecond: 33.3}, 10 * s, 333},
		{Stages{Start: 3, Stages: []Stage{{7 * s, 40}, {5 * s, 40}, {8 * s, 0}}}, 0, 21.5*7 + 200 + 160},
		{Spike{Base: 10, Peak: 50, At: 10 * s, Ramp: 2 * s, Hold: 4 * s}, 20 * s, 440},
		{ShiftChange{Base: 2, Cohort: 300, At: 30 * s, Over: 2 * time.Minute}, 3 * time.Minute, 360 + 300},
		{RefreshStorm{Base: 1, Cohort: 500, At: 5 * s, Over: 20 * s}, 30 * s, 530},
		{Sine{Mean: 20, Amp: 15, Period: time.Minute, Phase: vegeta.Trough}, time.Minute, 1200},
	}
	for _, tt := range tests {
		var n uint64
		var last time.Duration
		Schedule(tt.p, tt.d, func(i uint64, at time.Duration) bool {
			if at < last {
				t.Errorf("%s: start %d due at %s, before start %d at %s", tt.p, i, at, i-1, last)
			}
			last, n = at, i+1
			return true
		})
		if got := float64(n); got < math.Floor(tt.area)-1 || got > tt.area {
			t.Errorf("Schedule(%s, %s) made %d starts; want the area %v (or one less)", tt.p, tt.d, n, tt.area)
		}
	}
}

func TestSurgeShare(t *testing.T) {
	sc := ShiftChange{Base: 10, Cohort: 100, At: 10 * s, Over: 20 * s}
	for _, tt := range []struct {
		at   time.Duration
		want float64
	}{{5 * s, 0}, {15 * s, 5.0 / 15}, {20 * s, 0.5}, {40 * s, 0}} {
		if got := sc.SurgeShare(tt.at); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("%s.SurgeShare(%s) = %v; want %v", sc, tt.at, got, tt.want)
		}
	}
}

func TestString(t *testing.T) {
	for _, tt := range []struct {
		p    vegeta.Pacer
		want string
	}{
		{Constant{PerSecond: 20}, "Constant{20/s}"},
		{Stages{Start: 0, Stages: []Stage{{10 * s, 20}, {30 * s, 20}}}, "Stages{0/s, 10s→20/s, 30s→20/s}"},
		{Spike{Base: 10, Peak: 80, At: 20 * s, Ramp: 5 * s, Hold: 10 * s}, "Spike{10/s, at 20s 5s↑ 80/s for 10s 5s↓}"},
		{ShiftChange{Base: 5, Cohort: 300, At: 30 * s, Over: 2 * time.Minute}, "ShiftChange{5/s + 300 within 2m0s at 30s}"},
		{RefreshStorm{Base: 5, Cohort: 500, At: 40 * s, Over: time.Minute}, "RefreshStorm{5/s + 500 within 1m0s at 40s}"},
		{Sine{Mean: 20, Amp: 15, Period: time.Minute, Phase: vegeta.Trough}, "Sine{20/s ± 15/s every 1m0s from 1.5π}"},
	} {
		if got := tt.p.(interface{ String() string }).String(); got != tt.want {
			t.Errorf("String() = %q; want %q", got, tt.want)
		}
	}
}
