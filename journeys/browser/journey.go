package browser

import (
	"context"
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

// Runner runs browser journeys on one Chromium: each journey in a browser context
// of its own (its own cookies) and a tab of its own, at most MaxTabs at once; a
// context and its tab serve the next journey only once wiped of everything the
// last one left (see slot). It is safe for concurrent use.
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
// is over or ctx is done. The journey's tab and browser context are wiped for the
// next journey, or closed (see slot).
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

	s, err := r.c.take(ctx, r.opt.Latency)
	if err != nil {
		rec := j.record(StepNavigate, j.begin)
		rec.Outcome, rec.Error = record.Error, "open tab: "+err.Error()
		emit(rec)
		return
	}
	tab, end := r.bind(ctx, s)
	clean := j.run(tab)
	end()
	r.c.give(s, clean && ctx.Err() == nil, r.opt.MaxTabs)
}

// bind returns the context a journey runs in, in slot s: the slot's tab with the
// journey's deadline. The caller's ctx cannot be its parent (a tab hangs off the
// browser's context), so its end is bridged. end releases it.
func (r *Runner) bind(ctx context.Context, s *slot) (tab context.Context, end func()) {
	tab, cancel := context.WithTimeout(s.tab, r.opt.JourneyTimeout)
	stop := context.AfterFunc(ctx, cancel)
	return tab, func() {
		stop()
		cancel()
	}
}

// open opens a journey's tab in a browser context of its own, never used before
// (tests compare it with a slot taken from the pool). closeTab closes the tab and
// disposes of its browser context.
func (r *Runner) open(ctx context.Context) (tab context.Context, closeTab func(), err error) {
	s, err := r.c.openSlot(ctx, r.opt.Latency)
	if err != nil {
		return nil, func() {}, err
	}
	tab, end := r.bind(ctx, s)
	return tab, func() {
		end()
		s.close()
	}, nil
}

// emulateNetwork has a tab add latency to every request (RunnerOptions.Latency).
func emulateNetwork(latency time.Duration) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if latency <= 0 {
			return nil
		}
		_, err := cdp.Call(ctx, t, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
			MatchedNetworkConditions: []*network.Conditions{{
				Latency: float64(latency) / float64(time.Millisecond), DownloadThroughput: -1, UploadThroughput: -1,
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
	// failed is set when a step erred or decided other than expected.
	failed bool
	// idle is the time the running step waited to make sure the page did
	// nothing more: left out of its latency.
	idle time.Duration
}

// settleQuiet is how long a page must do nothing before the logout step takes
// it for the page it ends on.
const settleQuiet = 300 * time.Millisecond

// run runs the journey's steps in tab and reports whether it ended as expected:
// every step done, the persona signed out.
func (j *journey) run(tab context.Context) bool {
	if !j.navigate(tab) || !j.login(tab) || !j.logout(tab) {
		return false
	}
	j.probe(tab)
	from := j.begin
	if !j.it.Intended.IsZero() && j.it.Intended.Before(from) {
		from = j.it.Intended
	}
	rec := j.record(StepTotal, from)
	rec.Latency = time.Since(from)
	j.emit(rec)
	return !j.failed
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
	j.idle = 0
	err := fn(ctx, &rec.Facts)
	rec.Latency = time.Since(rec.Start) - j.idle
	var ref *refusal
	switch {
	case errors.As(err, &ref):
		// A refusal is the stack's decision, not an outage.
		rec.Facts.Decision, rec.Error, err = record.Deny, ref.Error(), nil
	case err != nil:
		rec.Outcome, rec.Error = record.Error, describe(ctx, err)
	}
	failed := err != nil || (rec.Facts.Expected != "" && rec.Facts.Decision != rec.Facts.Expected)
	j.failed = j.failed || failed
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

func (j *journey) navigate(tab context.Context) bool {
	return j.step(tab, StepNavigate, func(ctx context.Context, f *record.Facts) error {
		pg, err := j.load(ctx, f, "open "+RedactURL(j.site.Start), goTo(j.site.Start))
		if err != nil {
			return err
		}
		if pg.State != stateLogin {
			return fmt.Errorf("no login form (%s) at %s (HTTP %d)", j.site.Selectors.LoginForm, RedactURL(pg.URL), pg.Status)
		}
		return nil
	})
}

func (j *journey) login(tab context.Context) bool {
	return j.step(tab, StepLogin, func(ctx context.Context, f *record.Facts) error {
		f.Expected = record.Allow
		s := j.site.Selectors
		pg, err := j.load(ctx, f, "submit the login form",
			click(s.Submit, [2]string{s.Username, j.p.Username}, [2]string{s.Password, j.p.Secret.Reveal()}))
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
			return &refusal{status: pg.Status, message: pg.Text}
		}
		return fmt.Errorf("after login, neither the landing page (%s) nor the login form at %s (HTTP %d)",
			s.Landed, RedactURL(pg.URL), pg.Status)
	})
}

func (j *journey) logout(tab context.Context) bool {
	return j.step(tab, StepLogout, func(ctx context.Context, f *record.Facts) error {
		sel := j.site.Selectors.Logout
		// The page the click leads to may go on by itself to the provider's
		// end-session endpoint (a meta refresh, a form its script submits): the
		// step waits for the hops to end, or the probe's navigation would cancel
		// one and find the session alive.
		still, err := settleAfter(ctx, click(sel), settleQuiet)
		j.idle = still
		if err != nil {
			return fmt.Errorf("sign out (%s): %w", sel, err)
		}
		pg, err := status(ctx)
		if err != nil && ctx.Err() == nil {
			// A navigation came after all, and took the document away.
			pg, err = status(ctx)
		}
		if err != nil {
			return fmt.Errorf("after logout: %w", err)
		}
		f.Status = int(pg.Status)
		if err := availability(pg.Status, "after logout"); err != nil {
			return err
		}
		if pg.Status >= 400 {
			return fmt.Errorf("sign out: HTTP %d at %s", pg.Status, RedactURL(pg.URL))
		}
		f.Decision = record.Allow
		return nil
	})
}

func (j *journey) probe(tab context.Context) {
	j.step(tab, StepLogoutProbe, func(ctx context.Context, f *record.Facts) error {
		f.Expected = record.Deny
		pg, err := j.load(ctx, f, "open "+RedactURL(j.site.Landing), goTo(j.site.Landing))
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
				j.site.Selectors.Landed, RedactURL(pg.URL), pg.Status)
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
