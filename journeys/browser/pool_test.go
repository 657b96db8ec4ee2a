package browser

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/cutover-dev/cutover/journeys"
	"github.com/cutover-dev/cutover/results/record"
)

// idle returns c's idle slots.
func idle(c *Chromium) []*slot {
	c.slots.mu.Lock()
	defer c.slots.mu.Unlock()
	return slices.Clone(c.slots.idle)
}

// TestSlotWipe signs persona A in, on each side, in a slot and leaves it signed in,
// with site data of its own in the page's local storage; then wipes the slot. In
// it, the landing page must then demand a login and the local storage be empty:
// the next persona meets nothing of A's.
func TestSlotWipe(t *testing.T) {
	pair := startStacks(t, "")
	r := NewRunner(shared, RunnerOptions{Sites: sites(pair)})
	a := humans(1, "")[0]
	for _, side := range []record.Side{record.Legacy, record.Candidate} {
		t.Run(string(side), func(t *testing.T) {
			s, err := shared.openSlot(t.Context(), 0)
			if err != nil {
				t.Fatal(err)
			}
			defer s.close()
			tab, end := r.bind(t.Context(), s)
			defer end()
			rec := &recorder{}
			j := &journey{r: r, side: side, site: r.opt.Sites[side], p: a, emit: rec.emit, begin: time.Now()}
			if !j.navigate(tab) || !j.login(tab) {
				t.Fatalf("%s could not sign in: %+v", a.ID, rec.recs)
			}
			if err := chromedp.Do(tab, chromedp.Evaluate[chromedp.Void](`localStorage.setItem("persona", "A")`)); err != nil {
				t.Fatal(err)
			}
			if err := s.wipe(); err != nil {
				t.Fatalf("wipe: %v", err)
			}
			if got := landing(t, j, tab); got.State != stateLogin {
				t.Errorf("after the wipe, the landing page %+v; want the login form (cookie bleed)", got)
			}
			kept, err := chromedp.Run(tab, chromedp.Evaluate[*string](`localStorage.getItem("persona")`))
			if err != nil || kept != nil {
				t.Errorf("after the wipe, local storage holds %v (%v); want nothing", kept, err)
			}
		})
	}
}

// TestSlotNotReused: a slot goes back to the pool only after a journey that ended
// as expected, and never after a page used sessionStorage (which only closing the
// tab clears).
func TestSlotNotReused(t *testing.T) {
	pair := startStacks(t, "")
	c, err := Start(t.Context(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := NewRunner(c, RunnerOptions{Sites: sites(pair), MaxTabs: 1})
	ps := humans(2, "")
	run := func(side record.Side, n int) {
		t.Helper()
		rec := &recorder{}
		r.Run(t.Context(), side, ps[n%len(ps)], journeys.Iteration{N: uint64(n)}, rec.emit)
		if f := rec.find(ps[n%len(ps)].ID, side, StepTotal); f == nil {
			t.Fatalf("journey %d did not complete: %+v", n, rec.recs)
		}
	}
	run(record.Legacy, 0)
	first := idle(c)
	if len(first) != 1 {
		t.Fatalf("after a clean journey, %d idle slots; want 1", len(first))
	}
	run(record.Candidate, 1)
	if now := idle(c); len(now) != 1 || now[0] != first[0] {
		t.Errorf("the next journey did not reuse the idle slot")
	}

	t.Run("failed journey", func(t *testing.T) {
		down := NewRunner(c, RunnerOptions{Sites: map[record.Side]Site{record.Legacy: LegacySite("http://127.0.0.1:1")}, MaxTabs: 1})
		down.Run(t.Context(), record.Legacy, ps[0], journeys.Iteration{}, func(*record.Record) {})
		if n := len(idle(c)); n != 0 {
			t.Errorf("after a failed journey, %d idle slots; want its slot closed", n)
		}
	})
	t.Run("sessionStorage", func(t *testing.T) {
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte(`<script>sessionStorage.setItem("persona", "A")</script>`))
		}))
		defer ts.Close()
		s, err := c.take(t.Context(), 0)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(s.tab, 10*time.Second)
		defer cancel()
		if err := loadAfter(ctx, goTo(ts.URL)); err != nil {
			t.Fatal(err)
		}
		// The page's write reaches the harness as an event of its own.
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			s.mu.Lock()
			seen := s.session
			s.mu.Unlock()
			if seen || time.Now().After(deadline) {
				break
			}
		}
		c.give(s, true, 1)
		if slices.Contains(idle(c), s) {
			t.Errorf("a slot whose page used sessionStorage went back to the pool")
		}
		if err := s.wipe(); err == nil || !strings.Contains(err.Error(), "sessionStorage") {
			t.Errorf("wipe after sessionStorage = %v; want a refusal naming sessionStorage", err)
		}
	})
}
