package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Scaling is how the command line reshapes a rehearsal file's load: a run of
// another length, or more or less of it. Zero fields change nothing.
type Scaling struct {
	// Duration is the run's new length.
	Duration time.Duration
	// Rate is the profile's new base rate (journeys per second) or, with
	// Times, the factor every rate is multiplied by.
	Rate  float64
	Times bool
}

// ParseRate reads the command line's --rate: "15" (the profile's base rate
// becomes 15 per second, every other rate of it in proportion) or "2x" (every
// rate doubled).
func ParseRate(s string) (Scaling, error) {
	v, times := strings.CutSuffix(strings.TrimSpace(s), "x")
	r, err := strconv.ParseFloat(v, 64)
	if err != nil || r <= 0 || math.IsInf(r, 0) || math.IsNaN(r) {
		return Scaling{}, fmt.Errorf("%q: want journeys per second (15) or a factor of the file's rates (2x, 0.5x)", s)
	}
	return Scaling{Rate: r, Times: times}, nil
}

// Scale reshapes the load so that the profile keeps its shape: spans written
// as durations (a spike's start, a storm's length, the stages) stretch with
// the run as shares of it already do, and a storm's cohort, a count, grows
// with both the run's length and its rate, so a shorter run has the same peak
// rate rather than a sharper one. Rates (the base, stage targets, a spike's
// peak, a sine's amplitude, the raw attacks') scale by the rate factor. The
// result is validated as the file is; a scaled rate above load.max_rate is
// refused, not clipped.
func (f *File) Scale(s Scaling) error {
	longer := 1.0
	if s.Duration > 0 {
		if f.Load.Duration <= 0 {
			return fmt.Errorf("--duration: the file's load has no duration to scale from")
		}
		longer = float64(s.Duration) / float64(f.Load.Duration)
	}
	rate := 1.0
	switch {
	case s.Rate > 0 && s.Times:
		rate = s.Rate
	case s.Rate > 0:
		base := f.Load.Profile.baseRate()
		if base <= 0 {
			return fmt.Errorf("--rate %v: the file's %s profile has no base rate to scale; give a factor (2x)", s.Rate, f.Load.Profile.Type)
		}
		rate = s.Rate / base
	}
	f.Load.Profile.scale(longer, rate)
	for i := range f.Load.Raw {
		f.Load.Raw[i].Profile.scale(longer, rate)
	}
	if s.Duration > 0 {
		f.Load.Duration = s.Duration
	}
	return f.Validate()
}

// baseRate is the rate a profile is said to run at: its rate, or a stages
// profile's highest target.
func (p Profile) baseRate() float64 {
	if p.Rate > 0 {
		return p.Rate
	}
	var top float64
	for _, s := range p.Stages {
		top = max(top, s.Target)
	}
	return top
}

func (p *Profile) scale(longer, rate float64) {
	p.Rate *= rate
	p.Peak *= rate
	p.Amplitude *= rate
	for i := range p.Stages {
		p.Stages[i].Target *= rate
		p.Stages[i].Duration.stretch(longer)
	}
	for _, sp := range []*Span{&p.Period, &p.At, &p.Ramp, &p.Hold, &p.Over} {
		sp.stretch(longer)
	}
	if p.Cohort > 0 {
		p.Cohort = max(1, int(math.Round(float64(p.Cohort)*longer*rate)))
	}
}

// stretch scales a span written as a duration (a share scales by itself).
func (s *Span) stretch(f float64) {
	if s.D > 0 {
		s.D = time.Duration(math.Round(float64(s.D) * f))
	}
}
