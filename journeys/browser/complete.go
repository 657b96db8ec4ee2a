package browser

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
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

// chromium starts the browser once, on its own deadline (a cold start on a busy
// machine must not take a step's deadline with it); a failed start is tried
// again at the next call.
func (b *Completer) chromium() (*Chromium, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, errors.New("browser: closed")
	}
	if b.c == nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		opt := b.opt
		opt.AllowHosts = b.allow
		c, err := Start(ctx, opt)
		if err != nil {
			return nil, err
		}
		b.c = c
	}
	return b.c, nil
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

// margin is the part of a page's time kept to tell, when the page did not
// reach the URL waited for, what it shows instead.
const margin = time.Second

// Complete implements adapter.Browser.
func (b *Completer) Complete(ctx context.Context, target string, jar http.CookieJar, login *adapter.BrowserLogin, stop string) (*url.URL, error) {
	stopURL, err := url.Parse(stop)
	if err != nil || stop == "" {
		return nil, fmt.Errorf("browser: no URL to wait for")
	}
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("browser: %w", err)
	}
	c, err := b.chromium()
	if err != nil {
		return nil, err
	}
	// The tab lives until the caller's deadline (or the completer's timeout):
	// it is bound to the browser, the caller's end bridged.
	deadline := time.Now().Add(b.timeout)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	tctx, cancel := context.WithDeadline(c.root, deadline)
	defer cancel()
	unbridge := context.AfterFunc(ctx, cancel)
	defer unbridge()
	tab, cancelTab := chromedp.NewContext(tctx, chromedp.WithNewBrowserContext())
	defer cancelTab()
	origin := u.Scheme + "://" + u.Host + "/"
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
			if _, err := cdp.Call(ctx, t, network.SetCookie, network.SetCookieParams{Name: ck.Name, Value: ck.Value, URL: origin}); err != nil {
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
	reached := make(chan *url.URL, 1)
	go func() {
		for ev, err := range requests {
			if err != nil {
				return
			}
			if ev.Type != network.ResourceTypeDocument {
				continue // a resource of the page, not where it sends the browser
			}
			if r, err := url.Parse(ev.Request.URL); err == nil && r.Scheme == stopURL.Scheme && r.Host == stopURL.Host && r.Path == stopURL.Path {
				reached <- r
				return
			}
		}
	}()
	filled := make(chan error, 1)
	if login != nil {
		go func() { filled <- fill(tab, login) }()
	}
	wait := time.NewTimer(time.Until(deadline) - margin)
	defer wait.Stop()
	for {
		select {
		case r := <-reached:
			if jar != nil {
				copyCookies(tab, jar, u)
			}
			return r, nil
		case err := <-filled:
			if err != nil {
				return nil, fmt.Errorf("browser: the login form (%s; %s): %w", login.Username, login.Password, err)
			}
			filled = nil
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-wait.C:
			if login != nil && showsForm(tab, login.Password) {
				// The provider showed its login form again: it refused.
				return nil, fmt.Errorf("browser: %w to %s: the login form is shown again", adapter.ErrNotRedirected, RedactURL(stop))
			}
			if login != nil {
				return nil, fmt.Errorf("browser: after the login form, the page neither sent the browser to %s nor showed the form again (a consent, second factor or second step)", RedactURL(stop))
			}
			return nil, fmt.Errorf("browser: %w: the page at %s did not reach %s", adapter.ErrNotRedirected, RedactURL(target), RedactURL(stop))
		}
	}
}

// fill types the persona's identifier and secret into the login form, as keys
// (script-driven forms watch key events), and submits it: with the configured
// control, or as Enter in the password field would.
func fill(tab context.Context, l *adapter.BrowserLogin) error {
	actions := []chromedp.Action[chromedp.Void]{
		chromedp.SendKeys(chromedp.CSS(l.Username), l.Identifier),
		chromedp.SendKeys(chromedp.CSS(l.Password), l.Secret.Reveal()),
	}
	if l.Submit != "" {
		actions = append(actions, chromedp.Click(chromedp.CSS(l.Submit)))
	} else {
		sel, _ := json.Marshal(l.Password)
		actions = append(actions, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := chromedp.Evaluate[bool](`(() => { const p = document.querySelector(`+string(sel)+`); if (!p || !p.form) return false; p.form.requestSubmit(); return true; })()`)(ctx, t)
			return err
		}))
	}
	return chromedp.Do(tab, actions...)
}

// showsForm reports whether the page shows the login form's password field.
func showsForm(tab context.Context, password string) bool {
	sel, _ := json.Marshal(password)
	ctx, cancel := context.WithTimeout(tab, margin/2)
	defer cancel()
	shown, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector(`+string(sel)+`) !== null`))
	return err == nil && shown
}

// copyCookies brings the tab's cookies for u back into jar, so that the
// session's later requests (an RP-initiated logout) carry the single sign-on
// cookies the browser got.
func copyCookies(tab context.Context, jar http.CookieJar, u *url.URL) {
	ctx, cancel := context.WithTimeout(tab, margin)
	defer cancel()
	_ = chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		res, err := cdp.Call(ctx, t, network.GetCookies, network.GetCookiesParams{URLs: []string{u.String()}})
		if err != nil {
			return err
		}
		var cks []*http.Cookie
		for _, c := range res.Cookies {
			cks = append(cks, &http.Cookie{Name: c.Name, Value: c.Value, Path: c.Path, Domain: c.Domain, Secure: c.Secure, HttpOnly: c.HTTPOnly})
		}
		jar.SetCookies(u, cks)
		return nil
	}))
}

var _ adapter.Browser = (*Completer)(nil)
