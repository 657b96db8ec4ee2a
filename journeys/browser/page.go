package browser

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/cutover-dev/cutover/results/record"
)

// A journey drives its tab with as few DevTools messages as a login needs: it
// opens pages with Page.navigate, clicks with two trusted mouse events, and asks
// the page everything else (what it shows, its HTTP status, where a control is) in
// one script each. chromedp's element queries would mirror the DOM into the
// harness after every document (DOM.getDocument and a node tree per page) and
// resolve every element in four or five round trips; each round trip costs the
// browser, the renderer and the harness.

// quiet turns off, in a journey's tab, what chromedp switches on in every tab
// and a journey does not read: the DOM and CSS mirrors, the events of every
// script context and console message, log entries, the discovery of every other
// tab (each tab would hear of every navigation of all the others), and, unless
// latency is emulated (which needs it), the network events. Page events stay
// on: a journey waits for its documents with them, as chromedp's own navigation
// actions do.
func quiet(keepNetwork bool) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		off := []string{"DOM.disable", "CSS.disable", "Runtime.disable", "Log.disable"}
		if !keepNetwork {
			off = append(off, "Network.disable")
		}
		for _, m := range off {
			if err := t.Call(ctx, m, struct{}{}, nil); err != nil {
				return fmt.Errorf("%s: %w", m, err)
			}
		}
		if err := t.Call(ctx, "Target.setDiscoverTargets", map[string]bool{"discover": false}, nil); err != nil {
			return fmt.Errorf("Target.setDiscoverTargets: %w", err)
		}
		return nil
	})
}

// page is what a browser page shows, as far as a journey cares.
type page struct {
	// State is "landed", "login", or "" when the page shows neither.
	State string `json:"state"`
	// Text is the landing page's name element, or the login page's error message.
	Text string `json:"text"`
	// Status is the HTTP status of the document (after its redirects); 0 when
	// the browser does not say.
	Status int64 `json:"status"`
	// URL is the document's address.
	URL string `json:"url"`
}

// Page states.
const (
	stateLanded = "landed"
	stateLogin  = "login"
)

// docStatus is the HTTP status of the page's document, from its navigation
// timing entry (Chromium 109 and later); 0 when unknown.
const docStatus = `((performance.getEntriesByType("navigation")[0] || {}).responseStatus || 0)`

// lookPage evaluates, in the page, to a promise of what the page shows: at once
// when the landing page or the login form is there (or the page is a server
// error), else at the first DOM change that shows one (pages that render with
// scripts), else, after timeout ms, neither.
const lookPage = `((landed, login, name, err, timeout) => new Promise(resolve => {
	const status = ` + docStatus + `;
	const q = s => (s && s !== "-") ? document.querySelector(s) : null;
	const text = s => { const e = q(s); return e ? e.textContent.trim() : ""; };
	const check = () => q(landed) ? {state: "landed", text: text(name)} :
		q(login) ? {state: "login", text: text(err)} : null;
	const done = s => resolve(Object.assign(s, {status, url: location.href}));
	const now = status >= 500 ? {state: "", text: ""} : check();
	if (now) return done(now);
	const mo = new MutationObserver(() => { const s = check(); if (s) { mo.disconnect(); done(s); } });
	mo.observe(document, {childList: true, subtree: true, attributes: true});
	setTimeout(() => { mo.disconnect(); done({state: "", text: ""}); }, timeout);
}))(%s)`

// jsCall is a call of the script fn with args, JSON-encoded: no value can end a
// string early or reach the script as code.
func jsCall(fn string, args ...any) (string, error) {
	b, err := json.Marshal(args)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf(fn, b[1:len(b)-1]), nil
}

// waitFor is how long a script may wait in the page for what ctx still allows.
func waitFor(ctx context.Context) time.Duration {
	if dl, ok := ctx.Deadline(); ok {
		return max(time.Until(dl)-50*time.Millisecond, 0)
	}
	return time.Second
}

// look says what the page shows, waiting for it until ctx ends. It evaluates in the
// page's current document (a Poll pins an execution context that a redirect may
// just have destroyed), and looks again once when a navigation replaced the
// document under it.
func (j *journey) look(ctx context.Context) (page, error) {
	s := j.site.Selectors
	expr, err := jsCall(lookPage, s.Landed, s.LoginForm, s.Name, s.LoginError, waitFor(ctx).Milliseconds())
	if err != nil {
		return page{}, err
	}
	var pg page
	for range 2 {
		pg, err = chromedp.Run(ctx, chromedp.Evaluate[page](expr, chromedp.EvalAwaitPromise))
		if err == nil || ctx.Err() != nil {
			break
		}
	}
	return pg, err
}

// availability turns an HTTP status of the page a step ended on into an error when
// it is an availability failure (5xx).
func availability(status int64, what string) error {
	if status >= 500 {
		return fmt.Errorf("%s: unavailable (HTTP %d)", what, status)
	}
	return nil
}

// load runs do, which leads the tab to a new page (a navigation, a form
// submitted), waits for that page, records its HTTP status and says what it
// shows. An availability failure is an error.
func (j *journey) load(ctx context.Context, f *record.Facts, what string, do func(context.Context, *chromedp.Target) error) (page, error) {
	if err := loadAfter(ctx, do); err != nil {
		return page{}, fmt.Errorf("%s: %w", what, err)
	}
	pg, err := j.look(ctx)
	if err != nil {
		return pg, err
	}
	f.Status = int(pg.Status)
	return pg, availability(pg.Status, what)
}

// errUnreachable reports a document the browser could not fetch (refused,
// reset, not resolved): Chromium shows its own error page instead.
var errUnreachable = errors.New("the browser could not load the page")

// loadAfter runs do, which leads the tab to a new document, and returns when
// that document has loaded: after the main frame committed a document (events
// of the page before do are not mistaken for it) and then fired load or stopped
// loading.
func loadAfter(ctx context.Context, do func(context.Context, *chromedp.Target) error) error {
	lctx, stop := context.WithCancel(ctx)
	defer stop()
	loaded := make(chan *cdp.Frame, 1)
	var committed *cdp.Frame // the listener's own: it runs on one goroutine
	err := chromedp.Listen(lctx, func(ev any) {
		switch ev := ev.(type) {
		case *cdppage.EventFrameNavigated:
			if ev.Frame.ParentID == "" {
				committed = ev.Frame
			}
		case *cdppage.EventLoadEventFired:
			if committed != nil {
				select {
				case loaded <- committed:
				default:
				}
			}
		case *cdppage.EventFrameStoppedLoading:
			if committed != nil && ev.FrameID == committed.ID {
				select {
				case loaded <- committed:
				default:
				}
			}
		}
	})
	if err != nil {
		return err
	}
	if err := chromedp.Do(ctx, chromedp.Func(do)); err != nil {
		return err
	}
	select {
	case f := <-loaded:
		if f.UnreachableURL != "" {
			return fmt.Errorf("%w at %s", errUnreachable, RedactURL(f.UnreachableURL))
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// goTo returns the do of load that opens url.
func goTo(url string) func(context.Context, *chromedp.Target) error {
	return func(ctx context.Context, t *chromedp.Target) error {
		res, err := cdp.Call(ctx, t, cdppage.Navigate, cdppage.NavigateParams{URL: url})
		if err == nil && res.ErrorText != "" {
			err = errors.New(res.ErrorText)
		}
		return err
	}
}

// findControl evaluates, in the page, to a promise of the viewport centre of the
// element sel, scrolled into view, once it is shown: at once, or at the first DOM
// change that shows it, or null after timeout ms. Before, it sets the value of
// each element of fill (selector, value), as chromedp.SetValue would: a missing
// field resolves to {missing: selector}.
const findControl = `((sel, timeout, fill) => new Promise(resolve => {
	for (const [s, v] of fill) {
		const e = document.querySelector(s);
		if (!e) return resolve({missing: s});
		e.value = v;
	}
	const at = () => {
		const e = document.querySelector(sel);
		if (!e || !e.isConnected) return null;
		if (e.scrollIntoViewIfNeeded) e.scrollIntoViewIfNeeded(); else e.scrollIntoView({block: "nearest"});
		const r = e.getBoundingClientRect();
		const st = getComputedStyle(e);
		if (r.width === 0 || r.height === 0 || st.visibility === "hidden" || st.display === "none") return null;
		return {x: r.left + r.width / 2, y: r.top + r.height / 2};
	};
	const now = at();
	if (now) return resolve(now);
	const mo = new MutationObserver(() => { const p = at(); if (p) { mo.disconnect(); resolve(p); } });
	mo.observe(document, {childList: true, subtree: true, attributes: true});
	setTimeout(() => { mo.disconnect(); resolve(null); }, timeout);
}))(%s)`

// control is where findControl found its element, or the field it missed.
type control struct {
	X, Y    float64
	Missing string
}

// click returns the do of load that fills the fields of fill (selector, value;
// the value of an input, as chromedp.SetValue sets it) and clicks sel with the
// left mouse button, as a user would: two input events at the element's centre,
// which the page sees as trusted.
func click(sel string, fill ...[2]string) func(context.Context, *chromedp.Target) error {
	return func(ctx context.Context, t *chromedp.Target) error {
		if fill == nil {
			fill = [][2]string{}
		}
		expr, err := jsCall(findControl, sel, waitFor(ctx).Milliseconds(), fill)
		if err != nil {
			return err
		}
		c, err := chromedp.Evaluate[*control](expr, chromedp.EvalAwaitPromise)(ctx, t)
		switch {
		case err != nil:
			return err
		case c == nil:
			return fmt.Errorf("%s is not shown", sel)
		case c.Missing != "":
			return fmt.Errorf("no %s on the page", c.Missing)
		}
		p := input.DispatchMouseEventParams{Type: input.DispatchMouseEventTypeMousePressed, X: c.X, Y: c.Y, Button: input.MouseButtonLeft, ClickCount: 1}
		if _, err := cdp.Call(ctx, t, input.DispatchMouseEvent, p); err != nil {
			return err
		}
		p.Type = input.DispatchMouseEventTypeMouseReleased
		_, err = cdp.Call(ctx, t, input.DispatchMouseEvent, p)
		return err
	}
}

// status evaluates to the page's HTTP status and address.
func status(ctx context.Context) (page, error) {
	return chromedp.Run(ctx, chromedp.Evaluate[page](`({status: `+docStatus+`, url: location.href})`))
}
