package browser

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/domstorage"
	"github.com/chromedp/cdproto/inspector"
	"github.com/chromedp/cdproto/network"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/storage"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
)

// A slot is a browser context with one tab in it, kept for the next journey
// once a journey in it has ended. Opening a browser context and its tab costs
// Chromium a renderer process started and initialised, a profile and a network
// context, and the tab's DevTools session: about as much CPU as the whole login
// journey that follows. So a journey takes an idle slot when there is one.
//
// A slot is handed to the next persona only when nothing of the last one can be
// left in it: its journey ended as expected (signed in, signed out, and the
// landing page demanded a login again), nothing happened in it that no wipe
// undoes (see slot.spoil: sessionStorage used, a window opened, a frame of
// another origin, a child target attached, the tab crashed or detached), and
// the wipe succeeded: the page is replaced by about:blank and the window's name
// emptied, the tab is alone in its browser context, and the context's cookies,
// its HTTP cache, the tab's history and the site data (local storage,
// IndexedDB, cache storage, service workers) of every origin a page of the
// journey came from are cleared. Any other slot is closed, its browser context
// disposed of, as every slot is after maxUses journeys.
type slot struct {
	// tab is the chromedp context of the slot's tab; it has no deadline.
	tab    context.Context
	cancel context.CancelFunc
	// gone closes when the browser detaches the tab (closed, or its renderer
	// replaced in a way the session does not survive).
	gone <-chan struct{}
	// latency is the network latency the tab emulates (RunnerOptions.Latency).
	latency time.Duration
	uses    int

	mu sync.Mutex
	// origins are the origins of the documents committed in the tab since the
	// last wipe; top is the origin of the main frame's document.
	origins []string
	top     string
	// unfit says why the slot must not serve another persona; "" while nothing
	// has made it unfit. Once set it stays: the slot is closed.
	unfit string
}

// maxUses is how many journeys a slot serves before it is closed: enough that
// opening it costs little per journey, few enough that nothing a renderer
// accumulates over many pages lives long.
const maxUses = 64

// openTimeout bounds the opening of a slot.
const openTimeout = 30 * time.Second

// openSlot opens a browser context and its tab, attached and set up for
// journeys: quiet, with the latency emulated, watched for the origins its pages
// come from and for what would make it unfit. ctx bounds the opening only.
func (c *Chromium) openSlot(ctx context.Context, latency time.Duration) (*slot, error) {
	tab, cancel := chromedp.NewContext(c.root, chromedp.WithNewBrowserContext())
	s := &slot{tab: tab, cancel: cancel, latency: latency}
	// The first Do opens the tab and binds it to its context, so it runs in tab
	// itself; an opening that hangs, or that ctx ends, closes the tab.
	hung := time.AfterFunc(openTimeout, cancel)
	abort := context.AfterFunc(ctx, cancel)
	err := chromedp.Do(tab, quiet(latency > 0), emulateNetwork(latency), chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if err := chromedp.Listen(tab, s.watch); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, t, domstorage.Enable, cdp.Empty{})
		return err
	}))
	if err == nil {
		s.gone, err = chromedp.Detached(tab)
	}
	if !abort() && err == nil {
		err = context.Cause(ctx)
	}
	if !hung.Stop() {
		err = fmt.Errorf("no tab after %s", openTimeout)
	}
	if err != nil {
		cancel()
		return nil, errors.New(describe(tab, err))
	}
	return s, nil
}

// watch records, from the tab's events, where its documents came from and
// what makes the slot unfit for another persona. It runs in chromedp's event
// loop.
func (s *slot) watch(ev any) {
	switch ev := ev.(type) {
	case *cdppage.EventFrameNavigated:
		s.navigated(ev.Frame)
	case *domstorage.EventDomStorageItemAdded:
		s.sessionUsed(ev.StorageID)
	case *domstorage.EventDomStorageItemUpdated:
		s.sessionUsed(ev.StorageID)
	case *cdppage.EventWindowOpen:
		// Another page in the browser context, which no wipe of the tab reaches.
		s.spoil(fmt.Sprintf("a page opened a window (%s)", RedactURL(ev.URL)))
	case *target.EventAttachedToTarget:
		// chromedp has the tab attach to its child targets (a frame of another
		// site in a process of its own, a worker) and drops their messages: where
		// they came from and what they stored is not seen.
		what := "child target"
		if i := ev.TargetInfo; i != nil {
			what = fmt.Sprintf("%s (%s)", i.Type, RedactURL(i.URL))
		}
		s.spoil("a " + what + " attached to the tab")
	case *inspector.EventTargetCrashed:
		s.spoil("the tab crashed")
	case *inspector.EventDetached:
		s.spoil("the tab was detached: " + ev.Reason)
	}
}

// navigated records the origin of a document committed in frame f. A frame of
// another origin than its page makes the slot unfit: its site data is kept
// apart under the page's site (storage partitioning), where clearing the data
// of its origin does not reach.
func (s *slot) navigated(f *cdp.Frame) {
	o := f.SecurityOrigin
	s.mu.Lock()
	defer s.mu.Unlock()
	if o != "" && !slices.Contains(s.origins, o) {
		s.origins = append(s.origins, o)
	}
	if f.ParentID == "" {
		s.top = o
		return
	}
	if o != s.top && s.unfit == "" {
		s.unfit = fmt.Sprintf("a frame of %s in a page of %s", RedactURL(o), RedactURL(s.top))
	}
}

func (s *slot) sessionUsed(id *domstorage.StorageID) {
	if id != nil && !id.IsLocalStorage {
		// sessionStorage lives in the tab, and no DevTools command clears it.
		s.spoil("a page used sessionStorage")
	}
}

// spoil makes the slot unfit for another persona, for the reason why (the
// first one given stays).
func (s *slot) spoil(why string) {
	s.mu.Lock()
	if s.unfit == "" {
		s.unfit = why
	}
	s.mu.Unlock()
}

// fit says why the slot cannot serve another journey (unfit, its tab gone or
// closed), or "" when it can.
func (s *slot) fit() string {
	select {
	case <-s.gone:
		return "the tab is gone"
	default:
	}
	if s.tab.Err() != nil {
		return "the tab is closed"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.unfit
}

// wipe clears what the last journey left in the slot (see slot). It fails
// when something could not be cleared, and when the slot is unfit.
func (s *slot) wipe() error {
	if why := s.fit(); why != "" {
		return errors.New(why) // no need to blank a slot that is closed anyway
	}
	ctx, cancel := context.WithTimeout(s.tab, 5*time.Second)
	defer cancel()
	if err := loadAfter(ctx, goTo("about:blank")); err != nil {
		return fmt.Errorf("blank the page: %w", err)
	}
	c := chromedp.FromContext(s.tab)
	return chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		// The window's name outlives the documents of a site, and a page that
		// comes back to that site finds it: the blank page empties it. The tab
		// must be at about:blank still, or a late navigation of the last page
		// overtook the blank one.
		href, err := chromedp.Evaluate[string](`window.name = ""; location.href`)(ctx, t)
		if err != nil {
			return fmt.Errorf("blank the page: %w", err)
		}
		if href != "about:blank" {
			return fmt.Errorf("blank the page: the tab went on to %s", RedactURL(href))
		}
		// Only now, with the blank page loaded, has every event of the pages
		// before it reached watch (a late script, a late navigation): read what
		// they did.
		s.mu.Lock()
		origins, why := s.origins, s.unfit
		s.origins = nil
		s.mu.Unlock()
		if why != "" {
			return errors.New(why)
		}
		if err := alone(ctx, c, t); err != nil {
			return err
		}
		if _, err := cdp.Call(ctx, c.Browser, storage.ClearCookies, storage.ClearCookiesParams{BrowserContextID: c.BrowserContextID}); err != nil {
			return fmt.Errorf("clear cookies: %w", err)
		}
		for _, o := range origins {
			if u, err := url.Parse(o); err != nil || (u.Scheme != "http" && u.Scheme != "https") {
				continue // about:blank, data: and the like keep nothing
			}
			if _, err := cdp.Call(ctx, t, storage.ClearDataForOrigin, storage.ClearDataForOriginParams{Origin: o, StorageTypes: "all"}); err != nil {
				return fmt.Errorf("clear the site data of %s: %w", o, err)
			}
		}
		if _, err := cdp.Call(ctx, t, network.ClearBrowserCache, cdp.Empty{}); err != nil {
			return fmt.Errorf("clear the cache: %w", err)
		}
		if _, err := cdp.Call(ctx, t, cdppage.ResetNavigationHistory, cdp.Empty{}); err != nil {
			return fmt.Errorf("reset the history: %w", err)
		}
		return nil
	}))
}

// alone fails unless the tab t is the only target of its browser context
// (Chromium's own UI aside): a window a page opened, a frame or a worker that
// outlived the blank page, holds what no wipe of the tab reaches.
func alone(ctx context.Context, c *chromedp.Context, t *chromedp.Target) error {
	res, err := cdp.Call(ctx, c.Browser, target.GetTargets, target.GetTargetsParams{})
	if err != nil {
		return fmt.Errorf("list the targets: %w", err)
	}
	tab := false
	for _, i := range res.TargetInfos {
		switch {
		case i.BrowserContextID != c.BrowserContextID:
		case i.TargetID == t.TargetID:
			tab = true
		case i.Type == "browser_ui":
			// Chromium's own pages (chromium, not its headless shell, lists its
			// omnibox popup in every browser context).
		default:
			return fmt.Errorf("a %s (%s) is open beside the tab", i.Type, RedactURL(i.URL))
		}
	}
	if !tab {
		return errors.New("the tab is gone")
	}
	return nil
}

// close closes the tab and disposes of its browser context, and waits for it.
func (s *slot) close() { s.cancel() }

// pool holds a browser's idle slots.
type pool struct {
	mu     sync.Mutex
	idle   []*slot
	closed bool
}

// take returns an idle slot that emulates latency, or opens one (ctx bounds the
// opening). An idle slot whose tab crashed, closed or became unfit while it
// waited is closed, not taken.
func (c *Chromium) take(ctx context.Context, latency time.Duration) (*slot, error) {
	c.slots.mu.Lock()
	if c.slots.closed {
		c.slots.mu.Unlock()
		return nil, errors.New("browser: closed")
	}
	var taken *slot
	var dead []*slot
	for i := 0; i < len(c.slots.idle); {
		s := c.slots.idle[i]
		if s.latency != latency {
			i++
			continue
		}
		c.slots.idle = slices.Delete(c.slots.idle, i, i+1)
		if s.fit() != "" {
			dead = append(dead, s)
			continue
		}
		taken = s
		break
	}
	c.slots.mu.Unlock()
	for _, s := range dead {
		s.close()
	}
	if taken != nil {
		return taken, nil
	}
	return c.openSlot(ctx, latency)
}

// give takes s back after a journey: wiped and kept idle when the journey was
// clean and fewer than keep slots of its latency are idle, else closed. The
// cap is per latency: slots of a latency no journey asks for any more do not
// keep those of another out.
func (c *Chromium) give(s *slot, clean bool, keep int) {
	s.uses++
	if !clean || s.uses >= maxUses || s.wipe() != nil {
		s.close()
		return
	}
	c.slots.mu.Lock()
	n := 0
	for _, o := range c.slots.idle {
		if o.latency == s.latency {
			n++
		}
	}
	if c.slots.closed || n >= keep {
		c.slots.mu.Unlock()
		s.close()
		return
	}
	c.slots.idle = append(c.slots.idle, s)
	c.slots.mu.Unlock()
}

// closeSlots closes the idle slots and keeps any from becoming idle again.
func (c *Chromium) closeSlots() {
	c.slots.mu.Lock()
	idle := c.slots.idle
	c.slots.idle, c.slots.closed = nil, true
	c.slots.mu.Unlock()
	for _, s := range idle {
		s.close()
	}
}
