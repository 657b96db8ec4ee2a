package adapter

import (
	"context"
	"errors"
	"net/http"
	"net/url"
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
	// Browser completes pages that need script; nil when none is available.
	Browser Browser
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

// A Browser completes in a real browser the pages of a protocol journey that
// need script: a login page rendered by script, a logout page that confirms by
// script. Nil when no browser is available: those pages are then reported, never
// taken for done.
type Browser interface {
	// Complete opens target with the cookies jar holds for it (jar may be
	// nil), signs in with login when it is not nil, and waits until the page
	// sends the browser to a URL under stop, which is never contacted; it
	// returns that URL, with its query.
	Complete(ctx context.Context, target string, jar http.CookieJar, login *BrowserLogin, stop string) (*url.URL, error)
}

// ErrNotRedirected: the browser did what the page asked (a login form filled
// and submitted) and the page never sent it on: a refused sign-in shows the
// form again.
var ErrNotRedirected = errors.New("the page never sent the browser on")

// BrowserLogin is a login form filled in a browser: CSS selectors of its
// fields and its submit control, and what goes in them.
type BrowserLogin struct {
	Username, Password, Submit string
	// Identifier and Secret are typed in; Secret is a credential.
	Identifier string
	Secret     personas.Secret
}

// WithBrowser gives the adapter a browser for the pages that need script.
func WithBrowser(b Browser) Option { return func(o *Options) { o.Browser = b } }
