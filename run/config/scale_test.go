package config

import (
	"strings"
	"testing"
	"time"
)

// TestScaleKeepsTheShape: the demo's shift change (10/s, a cohort of 480
// logins over the middle 40% of 60s) made a quarter as long keeps its peak
// rate (a quarter of the cohort over the same share of the run), and at twice
// the rate doubles the cohort as well; a factor doubles every rate; spans
// written as durations stretch with the run; a rate past max_rate is refused.
func TestScaleKeepsTheShape(t *testing.T) {
	parse := func() *File {
		f, err := Parse("demo.yaml", readDemo(t), demoEnv)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	rate := func(s string) Scaling {
		sc, err := ParseRate(s)
		if err != nil {
			t.Fatal(err)
		}
		return sc
	}
	peak := func(f *File) float64 {
		p := f.Load.Profile
		return p.Rate + float64(p.Cohort)/(p.Over.Pct*f.Load.Duration.Seconds())
	}
	base := parse()
	for _, tt := range []struct {
		name       string
		s          Scaling
		wantRate   float64
		wantCohort int
		wantPeak   float64 // as a multiple of the file's
	}{
		{"shorter", Scaling{Duration: 15 * time.Second}, 10, 120, 1},
		{"shorter and faster", func() Scaling { s := rate("20"); s.Duration = 15 * time.Second; return s }(), 20, 240, 2},
		{"twice", rate("2x"), 20, 960, 2},
		{"half", rate("0.5x"), 5, 240, 0.5},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := parse()
			if err := f.Scale(tt.s); err != nil {
				t.Fatal(err)
			}
			p := f.Load.Profile
			if p.Rate != tt.wantRate || p.Cohort != tt.wantCohort || p.At != base.Load.Profile.At || p.Over != base.Load.Profile.Over {
				t.Errorf("profile %+v; want rate %v, cohort %d, at and over unchanged", p, tt.wantRate, tt.wantCohort)
			}
			if got, want := peak(f), tt.wantPeak*peak(base); got < want*0.99 || got > want*1.01 {
				t.Errorf("peak %.1f/s; want %.1f/s", got, want)
			}
		})
	}
	f := parse()
	f.Load.Profile = Profile{Type: ProfileSpike, Rate: 5, Peak: 50, At: Span{D: 20 * time.Second}, Ramp: Span{Pct: 0.1}, Hold: Span{D: 10 * time.Second}}
	if err := f.Scale(Scaling{Duration: 30 * time.Second, Rate: 2, Times: true}); err != nil {
		t.Fatal(err)
	}
	if p := f.Load.Profile; p.Rate != 10 || p.Peak != 100 || p.At.D != 10*time.Second || p.Hold.D != 5*time.Second || p.Ramp.Pct != 0.1 {
		t.Errorf("spike scaled to %+v; want rate 10, peak 100, at 10s, hold 5s, ramp 10%%", p)
	}
	f = parse()
	if err := f.Scale(rate("100x")); err == nil || !strings.Contains(err.Error(), "safety ceiling") {
		t.Errorf("100x the demo: %v; want the safety ceiling to refuse it", err)
	}
	for _, bad := range []string{"", "fast", "-2", "0x", "2xx"} {
		if _, err := ParseRate(bad); err == nil {
			t.Errorf("ParseRate(%q) accepted", bad)
		}
	}
}
