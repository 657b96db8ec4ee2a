package browser

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/target"
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
// with site data of its own in the page's local storage and a window name; then
// wipes the slot. In it, the landing page must then demand a login, the local
// storage be empty and the window have no name: the next persona meets nothing
// of A's.
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
			if err := chromedp.Do(tab, chromedp.Evaluate[chromedp.Void](`localStorage.setItem("persona", "A"); window.name = "persona A"`)); err != nil {
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
			name, err := chromedp.Run(tab, chromedp.Evaluate[string](`window.name`))
			if err != nil || name != "" {
				t.Errorf("after the wipe, window.name = %q (%v); want \"\"", name, err)
			}
		})
	}
}

// TestSlotNotReused: a slot goes back to the pool only after a journey that ended
// as expected, never after a page did what no wipe undoes (sessionStorage, a
// window opened, a frame of another site, a worker), and never once its tab
// crashed or closed while idle; the idle cap is per latency.
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
	t.Run("unfit", func(t *testing.T) { unfit(t, c) })
	t.Run("unfit journeys", func(t *testing.T) { unfitJourneys(t, c) })
	t.Run("dead while idle", func(t *testing.T) { deadIdle(t, c, func() { run(record.Legacy, 0) }) })
	t.Run("idle cap per latency", func(t *testing.T) { capPerLatency(t, c) })
}

// unfit: a page that does what no wipe undoes makes its slot unfit, and give
// closes it; wipe names the reason.
func unfit(t *testing.T, c *Chromium) {
	other := pages(t, map[string]string{"/inner": `<script>sessionStorage.setItem("persona", "A")</script>`})
	elsewhere := strings.Replace(other.URL, "127.0.0.1", "localhost", 1) // another site
	ts := pages(t, map[string]string{
		"/session": `<script>sessionStorage.setItem("persona", "A")</script>`,
		"/iframe":  `<iframe src="` + elsewhere + `/inner"></iframe>`,
		"/popup":   `<script>window.open("/x")</script>`,
		"/worker":  `<script>new Worker(URL.createObjectURL(new Blob(["onmessage = () => {}"], {type: "text/javascript"})))</script>`,
		"/plain":   `<p>plain</p>`,
	})
	tests := []struct {
		name, page string
		// also runs in the slot's browser context after the page loaded.
		also    func(ctx context.Context, c *chromedp.Context) error
		wantErr string
	}{
		{"sessionStorage", "/session", nil, "a page used sessionStorage"},
		{"a frame of another site", "/iframe", nil, "a frame of http://localhost:"},
		{"a window opened", "/popup", nil, "a page opened a window"},
		{"a worker", "/worker", nil, "a worker"},
		{"another page in the context", "/plain", func(ctx context.Context, c *chromedp.Context) error {
			_, err := cdp.Call(ctx, c.Browser, target.CreateTarget, target.CreateTargetParams{URL: "about:blank", BrowserContextID: c.BrowserContextID})
			return err
		}, "a page (about:blank) is open beside the tab"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := c.take(t.Context(), 0)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(s.tab, 10*time.Second)
			defer cancel()
			if err := loadAfter(ctx, goTo(ts.URL+tt.page)); err != nil {
				t.Fatal(err)
			}
			if tt.also != nil {
				if err := tt.also(ctx, chromedp.FromContext(s.tab)); err != nil {
					t.Fatal(err)
				}
			}
			// Some events reach the harness after the page loaded: the wipe
			// blanks the page before it looks.
			if err := s.wipe(); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("wipe = %v; want a refusal naming %q", err, tt.wantErr)
			}
			c.give(s, true, 1)
			if slices.Contains(idle(c), s) {
				t.Errorf("a slot with %s went back to the pool", tt.name)
			}
		})
	}
}

// unfitJourneys: a clean journey whose landing page has a frame of another site,
// or opens a window, leaves its slot closed; one with a frame of its own origin
// leaves it in the pool.
func unfitJourneys(t *testing.T, c *Chromium) {
	p := humans(1, "")[0]
	other := pages(t, nil)
	elsewhere := strings.Replace(other.URL, "127.0.0.1", "localhost", 1)
	tests := []struct {
		name, extra string
		reused      bool
	}{
		{"a frame of another site", `<iframe src="` + elsewhere + `/inner"></iframe>`, false},
		{"a window opened", `<script>window.open("/bye")</script>`, false},
		{"a frame of its own origin", `<iframe src="/blank"></iframe>`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := startFake(t, p, tt.extra, "")
			r := NewRunner(c, RunnerOptions{Sites: map[record.Side]Site{record.Legacy: fs.site}, MaxTabs: 1})
			rec := &recorder{}
			r.Run(t.Context(), record.Legacy, p, journeys.Iteration{N: 1}, rec.emit)
			wantSteps(t, rec, p, record.Legacy, map[string]string{StepLogin: record.Allow, StepLogoutProbe: record.Deny, StepTotal: ""})
			if n := len(idle(c)); (n == 1) != tt.reused {
				t.Errorf("after the journey, %d idle slots; want %d", n, map[bool]int{true: 1}[tt.reused])
			}
		})
	}
}

// deadIdle: an idle slot whose tab crashed, or was closed, while it waited is
// closed when the next journey comes, which gets another slot. clean leaves a
// slot idle.
func deadIdle(t *testing.T, c *Chromium, clean func()) {
	tests := []struct {
		name string
		kill func(ctx context.Context, s *slot) error
	}{
		{"crashed", func(ctx context.Context, s *slot) error {
			// The renderer dies before it answers.
			tab, cancel := context.WithTimeout(s.tab, time.Second)
			defer cancel()
			err := chromedp.Do(tab, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
				_, err := cdp.Call(ctx, t, cdppage.Crash, cdp.Empty{})
				return err
			}))
			if errors.Is(err, context.DeadlineExceeded) {
				err = nil
			}
			return err
		}},
		{"closed", func(ctx context.Context, s *slot) error {
			cc := chromedp.FromContext(s.tab)
			_, err := cdp.Call(ctx, cc.Browser, target.CloseTarget, target.CloseTargetParams{TargetID: cc.Target.TargetID})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clean()
			was := idle(c)
			if len(was) != 1 {
				t.Fatalf("%d idle slots; want 1", len(was))
			}
			s := was[0]
			if err := tt.kill(t.Context(), s); err != nil {
				t.Fatal(err)
			}
			for deadline := time.Now().Add(5 * time.Second); s.fit() == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			}
			got, err := c.take(t.Context(), 0)
			if err != nil {
				t.Fatal(err)
			}
			defer got.close()
			if got == s {
				t.Fatalf("the next journey got the %s slot (%q)", tt.name, s.fit())
			}
			if s.tab.Err() == nil {
				t.Errorf("the %s slot was left open", tt.name)
			}
		})
	}
}

// capPerLatency: the idle cap counts the slots of one latency: slots of a
// latency no journey asks for do not keep the others out.
func capPerLatency(t *testing.T, c *Chromium) {
	c.slots.mu.Lock()
	old := c.slots.idle
	c.slots.idle = nil
	c.slots.mu.Unlock()
	for _, s := range old {
		s.close()
	}
	open := func(latency time.Duration) *slot {
		t.Helper()
		s, err := c.openSlot(t.Context(), latency)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	slow, fast, fast2 := open(20*time.Millisecond), open(0), open(0)
	c.give(slow, true, 1)
	c.give(fast, true, 1)
	c.give(fast2, true, 1)
	got := idle(c)
	if len(got) != 2 || !slices.Contains(got, slow) || !slices.Contains(got, fast) {
		t.Errorf("idle slots after giving one of 20ms and two of 0 with a cap of 1: %d (20ms kept %t, first of 0 kept %t); want 2: one of each",
			len(got), slices.Contains(got, slow), slices.Contains(got, fast))
	}
	if fast2.tab.Err() == nil {
		t.Errorf("a slot over the cap of its latency was left open")
	}
}
