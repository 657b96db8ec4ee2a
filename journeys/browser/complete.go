package browser

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/cutover-dev/cutover/journeys/adapter"
)

// Completer completes in Chromium the pages of a protocol journey that need
// script (adapter.Browser): a login page a script renders, a logout page that
// confirms by script. Each call gets a browser context of its own, with only
// the cookies it is given. Chromium starts on the first call, so a run whose
// pages need no script never starts it. It is safe for concurrent use.
type Completer struct {
	opt     Options
	allow   []string
	timeout time.Duration

	mu     sync.Mutex
	c      *Chromium
	err    error
	closed bool
}

// NewCompleter returns a Completer that starts Chromium with opt when first
// needed, lets its pages reach only the hosts allow lists (what stacks.allow_hosts
// is to the protocol journeys) and gives each page at most timeout.
func NewCompleter(opt Options, allow []string, timeout time.Duration) *Completer {
	return &Completer{opt: opt, allow: allow, timeout: timeout}
}

// blocked are the request patterns a completing tab refuses: the URL it waits
// for (seen, never contacted), then every host but the allowed ones.
func (b *Completer) blocked(stop string) []*network.BlockPattern {
	out := []*network.BlockPattern{{URLPattern: stop + "*", Block: true}}
	for _, h := range b.allow {
		out = append(out, &network.BlockPattern{URLPattern: "*://" + h + ":*/*", Block: false})
	}
	return append(out, &network.BlockPattern{URLPattern: "*://*:*/*", Block: true})
}

// chromium starts the browser once; a failed start is remembered.
func (b *Completer) chromium(ctx context.Context) (*Chromium, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, errors.New("browser: closed")
	}
	if b.c == nil && b.err == nil {
		b.c, b.err = Start(ctx, b.opt)
	}
	return b.c, b.err
}

// Close stops the browser if it started.
func (b *Completer) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	if b.c == nil {
		return nil
	}
	return b.c.Close()
}

// Complete implements adapter.Browser.
func (b *Completer) Complete(ctx context.Context, target string, jar http.CookieJar, login *adapter.BrowserLogin, stop string) (*url.URL, error) {
	if stop == "" {
		return nil, errors.New("browser: no URL to wait for")
	}
	c, err := b.chromium(ctx)
	if err != nil {
		return nil, err
	}
	tctx, cancel := context.WithTimeout(c.root, b.timeout)
	defer cancel()
	unbridge := context.AfterFunc(ctx, cancel)
	defer unbridge()
	tab, cancelTab := chromedp.NewContext(tctx, chromedp.WithNewBrowserContext())
	defer cancelTab()
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("browser: %w", err)
	}
	if err := chromedp.Do(tab, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := cdp.Call(ctx, t, network.Enable, network.EnableParams{}); err != nil {
			return err
		}
		if _, err := cdp.Call(ctx, t, network.SetBlockedURLs, network.SetBlockedURLsParams{URLPatterns: b.blocked(stop)}); err != nil {
			return err
		}
		if jar == nil {
			return nil
		}
		for _, ck := range jar.Cookies(u) {
			if _, err := cdp.Call(ctx, t, network.SetCookie, network.SetCookieParams{Name: ck.Name, Value: ck.Value, URL: target}); err != nil {
				return err
			}
		}
		return nil
	})); err != nil {
		return nil, fmt.Errorf("browser: open a tab: %w", err)
	}
	// Subscribed before the navigation, so no request is missed.
	requests := chromedp.Events(tab, network.RequestWillBeSent)
	if err := chromedp.Do(tab, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, cdppage.Navigate, cdppage.NavigateParams{URL: target})
		return err
	})); err != nil {
		return nil, fmt.Errorf("browser: open %s: %w", RedactURL(target), err)
	}
	filled := make(chan error, 1)
	if login != nil {
		go func() {
			filled <- chromedp.Do(tab,
				chromedp.SetValue(chromedp.CSS(login.Username), login.Identifier),
				chromedp.SetValue(chromedp.CSS(login.Password), login.Secret.Reveal()),
				chromedp.Click(chromedp.CSS(login.Submit)),
			)
		}()
	}
	for ev, err := range requests {
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if login != nil {
				select {
				case ferr := <-filled:
					if ferr != nil {
						return nil, fmt.Errorf("browser: the login form (%s; %s; %s): %w", login.Username, login.Password, login.Submit, ferr)
					}
					return nil, fmt.Errorf("browser: %w to %s after the login form was submitted", adapter.ErrNotRedirected, RedactURL(stop))
				default:
					return nil, fmt.Errorf("browser: the login form (%s; %s; %s) was not found on the page within %s", login.Username, login.Password, login.Submit, b.timeout)
				}
			}
			return nil, fmt.Errorf("browser: %w: the page at %s did not reach %s within %s", adapter.ErrNotRedirected, RedactURL(target), RedactURL(stop), b.timeout)
		}
		if strings.HasPrefix(ev.Request.URL, stop) {
			return url.Parse(ev.Request.URL)
		}
	}
	return nil, fmt.Errorf("browser: the page at %s never sent the browser to %s", RedactURL(target), RedactURL(stop))
}

var _ adapter.Browser = (*Completer)(nil)
