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
	// SetupTimeout bounds the requests an adapter makes before the run (discovery,
	// JWKS), headers and body alike.
	SetupTimeout time.Duration
}

// DefaultSetupTimeout is the SetupTimeout of adapters built without
// WithSetupTimeout.
const DefaultSetupTimeout = 10 * time.Second

// WithSetupTimeout bounds the adapter's setup requests (default
// DefaultSetupTimeout).
func WithSetupTimeout(d time.Duration) Option {
	return func(o *Options) {
		if d > 0 {
			o.SetupTimeout = d
		}
	}
}

// BuildOptions applies opts to the defaults (time.Now, no population).
func BuildOptions(opts []Option) Options {
	o := Options{Now: time.Now, SetupTimeout: DefaultSetupTimeout}
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
