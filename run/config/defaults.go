package config

import (
	"strconv"
	"time"
)

// The defaults of a rehearsal file, filled in once it is decoded and before it
// is validated: what a field left out means.

// adapterDefaults fills in the adapters' defaults.
func (f *File) adapterDefaults() {
	bg := &f.BreakGlass
	if bg.Action == "" {
		bg.Action = "read"
	}
	a := &f.Audit
	if a.Within == 0 {
		a.Within = 2 * time.Second
	}
	if a.Poll == 0 {
		a.Poll = 100 * time.Millisecond
	}
	if a.Skew == 0 {
		a.Skew = time.Second
	}
}
func (f *File) defaults() {
	if f.Mode == "" {
		f.Mode = ModeParity
	}
	if f.Load.MaxInFlight == 0 {
		f.Load.MaxInFlight = 256
	}
	if f.Load.StepTimeout == 0 {
		f.Load.StepTimeout = 10 * time.Second
	}
	if f.Load.Drain == 0 {
		f.Load.Drain = 15 * time.Second
	}
	if f.Load.MaxRate == 0 {
		f.Load.MaxRate = 200
	}
	f.Load.defaults()
	if f.Thresholds.FailOn == nil {
		f.Thresholds.FailOn = []string{"critical", "high", "medium"}
	}
	if f.Thresholds.MaxAccessTTL == 0 {
		f.Thresholds.MaxAccessTTL = time.Hour
	}
	f.adapterDefaults()
	for i := range f.Journeys {
		// An explicit weight 0 is kept: such a journey runs only as a surge's journey.
		if f.Journeys[i].Weight == 0 && f.node("journeys", strconv.Itoa(i), "weight") == nil {
			f.Journeys[i].Weight = 1
		}
	}
}
