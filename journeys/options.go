package journeys

import (
	"time"

	"github.com/cutover-dev/cutover/personas"
)

// Option tunes an adapter.
type Option func(*options)

type options struct {
	now func() time.Time
	pop personas.Population
}

func buildOptions(opts []Option) options {
	o := options{now: time.Now}
	for _, f := range opts {
		f(&o)
	}
	return o
}

// WithClock sets the clock an adapter checks token lifetimes and stamps audit
// queries with (default time.Now), for stacks that run on an injected clock.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithPersonas gives the adapter the population, from which it takes the auditor
// persona its audit configuration names.
func WithPersonas(pop personas.Population) Option { return func(o *options) { o.pop = pop } }
