package browser

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
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

// loadAfter runs do, which leads the tab to a new page, and returns when the
// navigation it started has ended: a new document committed in the main frame
// (events of the page before do are not mistaken for it) and then loaded, or
// the main frame's history changed within its document (a single-page app's
// router), or a navigation started and stopped without a new document (a 204,
// a navigation cancelled).
func loadAfter(ctx context.Context, do func(context.Context, *chromedp.Target) error) error {
	_, err := follow(ctx, do, 0)
	return err
}

// settleAfter is loadAfter, then waits until the main frame has been still for
// quiet: no navigation requested, started or committed, and nothing loading.
// A page that goes on by itself (a meta refresh, a form its script submits, as
// a provider's logout pages do) is followed to where it stops. It returns how
// long it waited after the page's last navigation event: time the page took
// for nothing.
func settleAfter(ctx context.Context, do func(context.Context, *chromedp.Target) error, quiet time.Duration) (time.Duration, error) {
	return follow(ctx, do, quiet)
}

// follow runs do and follows the main frame's navigations (see loadAfter and
// settleAfter; quiet 0 is loadAfter).
func follow(ctx context.Context, do func(context.Context, *chromedp.Target) error, quiet time.Duration) (time.Duration, error) {
	lctx, stop := context.WithCancel(ctx)
	defer stop()
	n := &mainFrame{changed: make(chan struct{}, 1)}
	err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		// Chromium names a tab's main frame by the tab's target id.
		n.id = cdp.FrameID(t.TargetID)
		if err := chromedp.Listen(lctx, n.event); err != nil {
			return err
		}
		return do(ctx, t)
	}))
	if err != nil {
		return 0, err
	}
	var still *time.Timer
	defer func() {
		if still != nil {
			still.Stop()
		}
	}()
	for {
		n.mu.Lock()
		done, loading, last, f := n.done, n.loading, n.last, n.committed
		n.mu.Unlock()
		var wait <-chan time.Time
		if done && (quiet == 0 || !loading) {
			idle := time.Since(last)
			if quiet == 0 || idle >= quiet {
				if f != nil && f.UnreachableURL != "" {
					return 0, fmt.Errorf("%w at %s", errUnreachable, RedactURL(f.UnreachableURL))
				}
				if quiet == 0 {
					idle = 0
				}
				return idle, nil
			}
			if still == nil {
				still = time.NewTimer(quiet - idle)
			} else {
				still.Reset(quiet - idle)
			}
			wait = still.C
		}
		select {
		case <-n.changed:
		case <-wait:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

// mainFrame is the state of a tab's main frame, from the events of the tab
// (event runs in chromedp's event loop).
type mainFrame struct {
	id      cdp.FrameID
	changed chan struct{} // a value after each change

	mu sync.Mutex
	// committed is the last document committed; started is set once a
	// navigation started; done once one ended (see loadAfter); loading while
	// the frame loads (a navigation in flight, or its document's resources);
	// last is the time of the last event.
	committed *cdp.Frame
	started   bool
	done      bool
	loading   bool
	last      time.Time
}

func (n *mainFrame) event(ev any) {
	n.mu.Lock()
	defer n.mu.Unlock()
	switch ev := ev.(type) {
	case *cdppage.EventFrameNavigated:
		if ev.Frame.ParentID != "" {
			return
		}
		n.committed, n.started, n.loading = ev.Frame, true, true
	case *cdppage.EventFrameRequestedNavigation:
		// A request may come to nothing (no start, no stop follows): it marks
		// the frame busy only as long as quiet.
		if ev.FrameID != n.id {
			return
		}
	case *cdppage.EventFrameStartedNavigating:
		if ev.FrameID != n.id {
			return
		}
		n.started, n.loading = true, true
	case *cdppage.EventFrameStartedLoading:
		if ev.FrameID != n.id {
			return
		}
		n.started, n.loading = true, true
	case *cdppage.EventNavigatedWithinDocument:
		if ev.FrameID != n.id {
			return
		}
		n.done = true
	case *cdppage.EventLoadEventFired:
		if n.committed == nil {
			return
		}
		n.done = true
	case *cdppage.EventFrameStoppedLoading:
		if ev.FrameID != n.id {
			return
		}
		// A stop before any start is the end of the page before do.
		n.done = n.done || n.started
		n.loading = false
	default:
		return
	}
	n.last = time.Now()
	select {
	case n.changed <- struct{}{}:
	default:
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
// element sel once it is shown, scrolled to the middle of the viewport and not
// covered there: at once, or at the first DOM change after which it is, or after
// timeout ms {missing: selector} for a field of fill not there, {covered: what}
// for an element that stayed under another, else null. First, once every field
// of fill (selector, value) is on the page, it sets their values, as
// chromedp.SetValue would. The scroll is instant (a page's smooth scrolling
// would leave the element where it was for a while), and the element is looked
// at an animation frame later, once the page has scrolled and laid out.
const findControl = `((sel, timeout, fill) => new Promise(resolve => {
	let filled = fill.length === 0, covered = "", over = false, busy = false, again = false;
	const missing = () => (fill.find(([s]) => !document.querySelector(s)) || [])[0];
	const shown = e => {
		if (!e || !e.isConnected) return false;
		const r = e.getBoundingClientRect(), st = getComputedStyle(e);
		return r.width > 0 && r.height > 0 && st.visibility !== "hidden" && st.display !== "none";
	};
	const name = e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") +
		(typeof e.className === "string" ? e.className.split(/\s+/).filter(c => c).map(c => "." + c).join("") : "");
	const frame = () => new Promise(r => { requestAnimationFrame(() => r()); setTimeout(r, 100); });
	const end = v => { if (over) return; over = true; mo.disconnect(); clearTimeout(timer); resolve(v); };
	const at = async () => {
		if (!filled) {
			if (missing()) return;
			for (const [s, v] of fill) document.querySelector(s).value = v;
			filled = true;
		}
		const e = document.querySelector(sel);
		covered = "";
		if (!shown(e)) return;
		e.scrollIntoView({block: "center", inline: "center", behavior: "instant"});
		await frame();
		if (!shown(e)) return;
		const r = e.getBoundingClientRect();
		const x = r.left + r.width / 2, y = r.top + r.height / 2;
		const hit = document.elementFromPoint(x, y);
		if (hit && (hit === e || e.contains(hit))) return end({x, y});
		// Under another element (an overlay that may fade out), or its centre
		// out of the viewport: look again shortly.
		covered = hit ? name(hit) : "the viewport's edge (its centre is outside)";
		setTimeout(look, 50);
	};
	const look = () => {
		if (over) return;
		if (busy) { again = true; return; }
		busy = true;
		again = false;
		at().finally(() => { busy = false; if (again) look(); });
	};
	const mo = new MutationObserver(look);
	mo.observe(document, {childList: true, subtree: true, attributes: true});
	const timer = setTimeout(() => end(!filled ? {missing: missing()} : covered ? {covered} : null), timeout);
	look();
}))(%s)`

// control is where findControl found its element, the field it missed, or
// what covers the element.
type control struct {
	X, Y    float64
	Missing string
	Covered string
}

// click returns the do of load that fills the fields of fill (selector, value;
// the value of an input, as chromedp.SetValue sets it), waiting for them as
// chromedp.SetValue would, and clicks sel with the left mouse button, as a user
// would: two input events at the element's centre, which the page sees as
// trusted.
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
		case c.Covered != "":
			return fmt.Errorf("%s is covered by %s", sel, c.Covered)
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
