package browser

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/cutover-dev/cutover/results/record"
)

// TestNoCookieBleed signs persona A in (and leaves it signed in) in a journey's
// tab, then opens the landing page in a second tab of the same browser context (it
// must show A: the session is real) and in the tab the next journey gets (it must
// demand a login: no cookie crossed). Both sides.
func TestNoCookieBleed(t *testing.T) {
	pair := startStacks(t, "")
	r := NewRunner(shared, RunnerOptions{Sites: sites(pair), MaxTabs: 4})
	a := humans(1, "")[0]
	for _, side := range []record.Side{record.Legacy, record.Candidate} {
		t.Run(string(side), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			open := func() context.Context {
				tab, closeTab, err := r.open(ctx)
				t.Cleanup(closeTab)
				if err != nil {
					t.Fatal(err)
				}
				return tab
			}
			rec := &recorder{}
			j := &journey{r: r, side: side, site: r.opt.Sites[side], p: a, emit: rec.emit, begin: time.Now()}
			ctxA := open()
			if !j.navigate(ctxA) || !j.login(ctxA) {
				t.Fatalf("%s could not sign in: %+v", a.ID, rec.recs)
			}
			// A second tab of A's context shares A's cookies: the landing page greets A.
			second, closeSecond := chromedp.NewContext(ctxA)
			defer closeSecond()
			if got := landing(t, j, second); got.State != stateLanded {
				t.Fatalf("second tab of %s's context: page %+v; want the landing page", a.ID, got)
			}
			// The next journey's tab has none of them.
			if got := landing(t, j, open()); got.State != stateLogin {
				t.Errorf("the next journey's tab: page %+v; want the login form (cookie bleed)", got)
			}
		})
	}
}

// landing opens the side's landing page in tab and says what it shows.
func landing(t *testing.T, j *journey, tab context.Context) page {
	t.Helper()
	tab, cancel := context.WithTimeout(tab, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(tab, chromedp.Navigate(j.site.Landing)); err != nil {
		t.Fatal(err)
	}
	pg, err := j.look(tab)
	if err != nil {
		t.Fatal(err)
	}
	return pg
}
