package adapter

import (
	"time"

	"github.com/cutover-dev/cutover/personas"
)

// Option tunes an adapter.
type Option func(*Options)

// Options are what an adapter is tuned with; BuildOptions applies Option values.
type Options struct {
	// Now is the clock tokens are checked on.
	Now func() time.Time
	// Population holds the personas whose sessions read feeds and directories.
	Population personas.Population
}

// BuildOptions applies opts to the defaults (time.Now, no population).
func BuildOptions(opts []Option) Options {
	o := Options{Now: time.Now}
	for _, f := range opts {
		f(&o)
	}
	return o
}

// WithClock sets the clock an adapter checks token lifetimes and stamps audit
// queries with (default time.Now), for stacks that run on an injected clock.
func WithClock(now func() time.Time) Option { return func(o *Options) { o.Now = now } }

// WithPersonas gives the adapter the population, from which it takes the auditor
// persona its audit configuration names.
func WithPersonas(pop personas.Population) Option { return func(o *Options) { o.Population = pop } }
