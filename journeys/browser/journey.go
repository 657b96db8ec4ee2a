package browser

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/cutover-dev/cutover/journeys"
	"github.com/cutover-dev/cutover/personas"
	"github.com/cutover-dev/cutover/results/record"
)

// Journey is the journey name of every browser record: browser steps are reported
// apart from the protocol journeys.
const Journey = "browser"

// Steps of a browser journey, in order. The login and the probe after logout are
// decisions the comparison judges (LOGIN_FAILED, LOGOUT_SESSION_STILL_ACTIVE); the
// others are timings.
const (
	// StepNavigate opens the start URL until the login form shows (for the
	// candidate: the relying party's redirect to the provider's login page).
	StepNavigate = "browser.navigate"
	// StepLogin fills and submits the form, until the landing page shows: through
	// the candidate's redirect back with the code, the relying party's exchange
	// with PKCE and its landing page.
	StepLogin = record.StepBrowserLogin
	// StepLogout signs out through the UI, until the signed-out page loads.
	StepLogout = "browser.logout"
	// StepLogoutProbe opens the landing page again: it must demand a login.
	StepLogoutProbe = record.StepBrowserLogoutProbe
	// StepTotal is the whole journey, from its intended start (queueing for a tab
	// and opening it included) to the end of the probe.
	StepTotal = "browser.total"
)

// Defaults of RunnerOptions.
const (
	DefaultMaxTabs        = 4
	DefaultStepTimeout    = 15 * time.Second
	DefaultJourneyTimeout = 60 * time.Second
)

// RunnerOptions configure a Runner.
type RunnerOptions struct {
	// Sites says how each side is met in a browser; a side without one records a
	// configuration error.
	Sites map[record.Side]Site
	// MaxTabs caps the journeys in flight, each in its own tab (default 4).
	MaxTabs int
	// StepTimeout bounds each step; JourneyTimeout bounds a whole journey and its
	// tab (defaults 15s and 60s).
	StepTimeout, JourneyTimeout time.Duration
	// Evidence, when set, saves what the user saw when a step failed.
	Evidence *Evidence
	// Latency, when set, is added by Chromium's network emulation to every request
	// of a tab (from request sent to response headers), as a network between user
	// and stack would: stacks on loopback answer in microseconds, users' networks do
	// not.
	Latency time.Duration
}

// Runner runs browser journeys on one Chromium: each journey in a fresh browser
// context (its own cookies) and a tab of its own, at most MaxTabs at once. It is
// safe for concurrent use.
type Runner struct {
	c    *Chromium
	opt  RunnerOptions
	tabs chan struct{}
}

// NewRunner returns a Runner that opens its tabs in c.
func NewRunner(c *Chromium, opt RunnerOptions) *Runner {
	if opt.MaxTabs <= 0 {
		opt.MaxTabs = DefaultMaxTabs
	}
	if opt.StepTimeout <= 0 {
		opt.StepTimeout = DefaultStepTimeout
	}
	if opt.JourneyTimeout <= 0 {
		opt.JourneyTimeout = DefaultJourneyTimeout
	}
	return &Runner{c: c, opt: opt, tabs: make(chan struct{}, opt.MaxTabs)}
}

// Run signs persona p in on one side through the browser, checks the landing page,
// signs out through the UI and probes that the landing page demands a login again,
// emitting a record per step. It waits for a free tab; it returns when the journey
// is over or ctx is done, with the tab and its browser context closed.
func (r *Runner) Run(ctx context.Context, side record.Side, p personas.Persona, it journeys.Iteration, emit func(*record.Record)) {
	j := &journey{r: r, side: side, p: p, it: it, emit: emit, begin: time.Now()}
	site, ok := r.opt.Sites[side]
	if !ok {
		rec := j.record(StepNavigate, j.begin)
		rec.Outcome, rec.Error = record.Error, fmt.Sprintf("config: no browser site for the %s side", side)
		emit(rec)
		return
	}
	j.site = site
	select {
	case r.tabs <- struct{}{}:
	case <-ctx.Done():
		return
	}
	defer func() { <-r.tabs }()
	if ctx.Err() != nil {
		return // both were ready: an interrupted journey does not start
	}

	tab, closeTab, err := r.open(ctx)
	defer closeTab()
	if err != nil {
		rec := j.record(StepNavigate, j.begin)
		rec.Outcome, rec.Error = record.Error, "open tab: "+err.Error()
		emit(rec)
		return
	}
	j.run(tab)
}

// open opens a journey's tab in a browser context of its own: no cookie, storage
// or cache of another journey reaches it. The journey's deadline is the tab's: when
// it passes, the tab goes. The caller's ctx cannot be the tab's parent (a tab hangs
// off the browser's context), so its end is bridged. closeTab closes the tab and
// disposes of its browser context; it must be called even on error.
func (r *Runner) open(ctx context.Context) (tab context.Context, closeTab func(), err error) {
	jctx, cancel := context.WithTimeout(r.c.root, r.opt.JourneyTimeout)
	stop := context.AfterFunc(ctx, cancel)
	tab, cancelTab := chromedp.NewContext(jctx, chromedp.WithNewBrowserContext())
	closeTab = func() {
		cancelTab()
		stop()
		cancel()
	}
	// The first Run opens the tab and binds it to tab, not to a step's deadline.
	if err := chromedp.Do(tab, r.emulateNetwork()); err != nil {
		return tab, closeTab, errors.New(describe(jctx, err))
	}
	return tab, closeTab, nil
}

// emulateNetwork applies the Latency option to a tab.
func (r *Runner) emulateNetwork() chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if r.opt.Latency <= 0 {
			return nil
		}
		_, err := cdp.Call(ctx, t, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
			MatchedNetworkConditions: []*network.Conditions{{
				Latency: float64(r.opt.Latency) / float64(time.Millisecond), DownloadThroughput: -1, UploadThroughput: -1,
			}},
		})
		if err != nil {
			return fmt.Errorf("emulate network latency: %w", err)
		}
		return nil
	})
}

// journey is one browser journey of one persona on one side.
type journey struct {
	r     *Runner
	side  record.Side
	site  Site
	p     personas.Persona
	it    journeys.Iteration
	emit  func(*record.Record)
	begin time.Time
}

func (j *journey) run(tab context.Context) {
	if !j.navigate(tab) || !j.login(tab) || !j.logout(tab) {
		return
	}
	j.probe(tab)
	from := j.begin
	if !j.it.Intended.IsZero() && j.it.Intended.Before(from) {
		from = j.it.Intended
	}
	rec := j.record(StepTotal, from)
	rec.Latency = time.Since(from)
	j.emit(rec)
}

func (j *journey) record(step string, start time.Time) *record.Record {
	return &record.Record{
		Side: j.side, Persona: j.p.ID, Kind: string(j.p.Kind), Cohort: j.p.Cohort.String(),
		Journey: Journey, Iteration: j.it.N, Step: step,
		Intended: j.it.Intended, Start: start, Outcome: record.OK,
	}
}

// step times fn in the tab under the step timeout and emits its record. A step that
// errs, or decides other than expected, leaves evidence. It reports whether the
// journey can go on: the step answered and did not deny.
func (j *journey) step(tab context.Context, name string, fn func(ctx context.Context, f *record.Facts) error) bool {
	ctx, cancel := context.WithTimeout(tab, j.r.opt.StepTimeout)
	defer cancel()
	rec := j.record(name, time.Now())
	err := fn(ctx, &rec.Facts)
	rec.Latency = time.Since(rec.Start)
	var ref *refusal
	switch {
	case errors.As(err, &ref):
		// A refusal is the stack's decision, not an outage.
		rec.Facts.Decision, rec.Error, err = record.Deny, ref.Error(), nil
	case err != nil:
		rec.Outcome, rec.Error = record.Error, describe(ctx, err)
	}
	failed := err != nil || (rec.Facts.Expected != "" && rec.Facts.Decision != rec.Facts.Expected)
	if failed && j.r.opt.Evidence != nil {
		j.evidence(tab, rec)
	}
	// The record belongs to the pipeline once emitted: decide before.
	ok := err == nil && rec.Facts.Decision != record.Deny
	j.emit(rec)
	return ok
}

// evidence saves what the tab shows with the record's files, under its own short
// deadline: the step's may be spent.
func (j *journey) evidence(tab context.Context, rec *record.Record) {
	ctx, cancel := context.WithTimeout(tab, 5*time.Second)
	defer cancel()
	name := fileName(Journey, string(j.side), j.p.ID, strconv.FormatUint(j.it.N, 10), strings.TrimPrefix(rec.Step, "browser."))
	paths, err := j.r.opt.Evidence.capture(ctx, name)
	rec.Evidence = paths
	if err != nil {
		note := "evidence: " + describe(ctx, err)
		if rec.Error == "" {
			rec.Error = note
		} else {
			rec.Error += "; " + note
		}
	}
}

// page is what a browser page shows, as far as a journey cares.
type page struct {
	// State is "landed", "login", or "" when the page shows neither.
	State string `json:"state"`
	// Text is the landing page's name element, or the login page's error message.
	Text string `json:"text"`
}

// Page states.
const (
	stateLanded = "landed"
	stateLogin  = "login"
)

// lookPage evaluates, in the page, to a promise of what the page shows: at once
// when the landing page or the login form is there, else at the first DOM change
// that shows one (pages that render with scripts), else, after timeout ms, neither.
const lookPage = `((landed, login, name, err, timeout) => new Promise(resolve => {
	const q = s => (s && s !== "-") ? document.querySelector(s) : null;
	const text = s => { const e = q(s); return e ? e.textContent.trim() : ""; };
	const check = () => q(landed) ? {state: "landed", text: text(name)} :
		q(login) ? {state: "login", text: text(err)} : null;
	const now = check();
	if (now) return resolve(now);
	const mo = new MutationObserver(() => { const s = check(); if (s) { mo.disconnect(); resolve(s); } });
	mo.observe(document, {childList: true, subtree: true, attributes: true});
	setTimeout(() => { mo.disconnect(); resolve({state: "", text: ""}); }, timeout);
}))(%s)`

// look says what the page shows, waiting for it until ctx ends. It evaluates in the
// page's current document (a Poll pins an execution context that a redirect may
// just have destroyed), and looks again once when a navigation replaced the
// document under it.
func (j *journey) look(ctx context.Context) (page, error) {
	s := j.site.Selectors
	timeout := time.Second
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl) - 50*time.Millisecond
	}
	args, err := json.Marshal([]any{s.Landed, s.LoginForm, s.Name, s.LoginError, timeout.Milliseconds()})
	if err != nil {
		return page{}, err
	}
	expr := fmt.Sprintf(lookPage, bytes.Trim(args, "[]"))
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

// load runs do, which leads the tab to a new page (a navigation, a form submitted),
// records the page's HTTP status and says what the page shows. An availability
// failure is an error.
func (j *journey) load(ctx context.Context, f *record.Facts, what string, do func(context.Context) (*network.Response, error)) (*network.Response, page, error) {
	resp, err := do(ctx)
	if err != nil {
		return nil, page{}, fmt.Errorf("%s: %w", what, err)
	}
	f.Status = int(resp.Status)
	if err := availability(resp.Status, what); err != nil {
		return resp, page{}, err
	}
	pg, err := j.look(ctx)
	return resp, pg, err
}

// goTo returns the do of load that opens url.
func goTo(url string) func(context.Context) (*network.Response, error) {
	return func(ctx context.Context) (*network.Response, error) {
		return chromedp.Run(ctx, chromedp.NavigateResponse(url))
	}
}

func (j *journey) navigate(tab context.Context) bool {
	return j.step(tab, StepNavigate, func(ctx context.Context, f *record.Facts) error {
		resp, pg, err := j.load(ctx, f, "open "+RedactURL(j.site.Start), goTo(j.site.Start))
		if err != nil {
			return err
		}
		if pg.State != stateLogin {
			return fmt.Errorf("no login form (%s) at %s (HTTP %d)", j.site.Selectors.LoginForm, RedactURL(resp.URL), resp.Status)
		}
		return nil
	})
}

func (j *journey) login(tab context.Context) bool {
	return j.step(tab, StepLogin, func(ctx context.Context, f *record.Facts) error {
		f.Expected = record.Allow
		s := j.site.Selectors
		resp, pg, err := j.load(ctx, f, "submit the login form", func(ctx context.Context) (*network.Response, error) {
			return chromedp.RunResponse(ctx,
				chromedp.SetValue(chromedp.CSS(s.Username), j.p.Username),
				chromedp.SetValue(chromedp.CSS(s.Password), j.p.Secret.Reveal()),
				chromedp.Click(chromedp.CSS(s.Submit)),
			)
		})
		if err != nil {
			return err
		}
		switch pg.State {
		case stateLanded:
			if s.Name != Off && j.p.Name != "" && !strings.Contains(pg.Text, j.p.Name) {
				return fmt.Errorf("the landing page (%s) does not name the persona who signed in", s.Name)
			}
			f.Decision = record.Allow
			return nil
		case stateLogin:
			// The stack showed the form again: it refused the login.
			return &refusal{status: resp.Status, message: pg.Text}
		}
		return fmt.Errorf("after login, neither the landing page (%s) nor the login form at %s (HTTP %d)",
			s.Landed, RedactURL(resp.URL), resp.Status)
	})
}

func (j *journey) logout(tab context.Context) bool {
	return j.step(tab, StepLogout, func(ctx context.Context, f *record.Facts) error {
		resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(j.site.Selectors.Logout)))
		if err != nil {
			return fmt.Errorf("sign out (%s): %w", j.site.Selectors.Logout, err)
		}
		f.Status = int(resp.Status)
		if err := availability(resp.Status, "after logout"); err != nil {
			return err
		}
		if resp.Status >= 400 {
			return fmt.Errorf("sign out: HTTP %d at %s", resp.Status, RedactURL(resp.URL))
		}
		f.Decision = record.Allow
		return nil
	})
}

func (j *journey) probe(tab context.Context) {
	j.step(tab, StepLogoutProbe, func(ctx context.Context, f *record.Facts) error {
		f.Expected = record.Deny
		resp, pg, err := j.load(ctx, f, "open "+RedactURL(j.site.Landing), goTo(j.site.Landing))
		if err != nil {
			return err
		}
		switch pg.State {
		case stateLanded:
			f.Decision = record.Allow // still signed in after logout
		case stateLogin:
			f.Decision = record.Deny
		default:
			return fmt.Errorf("after logout, the landing page shows neither itself (%s) nor the login form at %s (HTTP %d)",
				j.site.Selectors.Landed, RedactURL(resp.URL), resp.Status)
		}
		return nil
	})
}

// refusal is a stack's "no" as the user saw it: the login form again, with its
// message.
type refusal struct {
	status  int64
	message string
}

// maxMessage bounds the page message a record quotes.
const maxMessage = 200

func (r *refusal) Error() string {
	msg := redactTokens(strings.Join(strings.Fields(r.message), " "))
	if len(msg) > maxMessage {
		msg = strings.ToValidUTF8(msg[:maxMessage], "") + "..."
	}
	if msg == "" {
		return fmt.Sprintf("refused (HTTP %d)", r.status)
	}
	return fmt.Sprintf("refused (HTTP %d): %s", r.status, msg)
}

// describe renders the error of a step run under ctx without anything token-like,
// and a deadline that passed as "timeout".
func describe(ctx context.Context, err error) string {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return "timeout"
	}
	return redactTokens(err.Error())
}
