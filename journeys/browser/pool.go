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
	"github.com/chromedp/cdproto/network"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/storage"
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
// landing page demanded a login again), no page in it used sessionStorage
// (which lives in the tab and no DevTools command clears), and the wipe
// succeeded: the page is replaced by about:blank, and the browser context's
// cookies, its HTTP cache, the tab's history and the site data (local storage,
// IndexedDB, cache storage, service workers) of every origin a page of the
// journey came from are cleared. Any other slot is closed, its browser context
// disposed of, as every slot is after maxUses journeys.
type slot struct {
	// tab is the chromedp context of the slot's tab; it has no deadline.
	tab    context.Context
	cancel context.CancelFunc
	// latency is the network latency the tab emulates (RunnerOptions.Latency).
	latency time.Duration
	uses    int

	mu sync.Mutex
	// origins are the origins of the documents committed in the tab since the
	// last wipe; session is set when a page wrote to sessionStorage.
	origins []string
	session bool
}

// maxUses is how many journeys a slot serves before it is closed: enough that
// opening it costs little per journey, few enough that nothing a renderer
// accumulates over many pages lives long.
const maxUses = 64

// openTimeout bounds the opening of a slot.
const openTimeout = 30 * time.Second

// openSlot opens a browser context and its tab, attached and set up for
// journeys: quiet, with the latency emulated, watched for the origins its pages
// come from and for sessionStorage. ctx bounds the opening only.
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
// whether a page used sessionStorage. It runs in chromedp's event loop.
func (s *slot) watch(ev any) {
	switch ev := ev.(type) {
	case *cdppage.EventFrameNavigated:
		o := ev.Frame.SecurityOrigin
		s.mu.Lock()
		if o != "" && !slices.Contains(s.origins, o) {
			s.origins = append(s.origins, o)
		}
		s.mu.Unlock()
	case *domstorage.EventDomStorageItemAdded:
		s.sessionUsed(ev.StorageID)
	case *domstorage.EventDomStorageItemUpdated:
		s.sessionUsed(ev.StorageID)
	}
}

func (s *slot) sessionUsed(id *domstorage.StorageID) {
	if id != nil && !id.IsLocalStorage {
		s.mu.Lock()
		s.session = true
		s.mu.Unlock()
	}
}

// wipe clears what the last journey left in the slot (see slot). It fails
// when something could not be cleared, and when a page used sessionStorage.
func (s *slot) wipe() error {
	s.mu.Lock()
	origins, session := s.origins, s.session
	s.origins = nil
	s.mu.Unlock()
	if session {
		return errors.New("a page used sessionStorage")
	}
	ctx, cancel := context.WithTimeout(s.tab, 5*time.Second)
	defer cancel()
	if err := loadAfter(ctx, goTo("about:blank")); err != nil {
		return fmt.Errorf("blank the page: %w", err)
	}
	c := chromedp.FromContext(s.tab)
	return chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
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

// close closes the tab and disposes of its browser context, and waits for it.
func (s *slot) close() { s.cancel() }

// pool holds a browser's idle slots.
type pool struct {
	mu     sync.Mutex
	idle   []*slot
	closed bool
}

// take returns an idle slot that emulates latency, or opens one (ctx bounds the
// opening).
func (c *Chromium) take(ctx context.Context, latency time.Duration) (*slot, error) {
	c.slots.mu.Lock()
	if c.slots.closed {
		c.slots.mu.Unlock()
		return nil, errors.New("browser: closed")
	}
	for i, s := range c.slots.idle {
		if s.latency == latency {
			c.slots.idle = slices.Delete(c.slots.idle, i, i+1)
			c.slots.mu.Unlock()
			return s, nil
		}
	}
	c.slots.mu.Unlock()
	return c.openSlot(ctx, latency)
}

// give takes s back after a journey: wiped and kept idle when the journey was
// clean and fewer than keep slots are idle, else closed.
func (c *Chromium) give(s *slot, clean bool, keep int) {
	s.uses++
	if !clean || s.uses >= maxUses || s.wipe() != nil {
		s.close()
		return
	}
	c.slots.mu.Lock()
	if c.slots.closed || len(c.slots.idle) >= keep {
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
