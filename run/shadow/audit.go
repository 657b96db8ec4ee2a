package shadow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/cutover-dev/cutover/internal/exitcode"
	"github.com/cutover-dev/cutover/journeys/adapter"
	"github.com/cutover-dev/cutover/journeys/legacy"
	"github.com/cutover-dev/cutover/loadgen"
	"github.com/cutover-dev/cutover/run/config"
	"github.com/cutover-dev/cutover/run/rehearsal"
)

// Audit reads the legacy's decisions from its audit feed, the one a
// rehearsal file already describes (stacks.legacy.legacy.audit: the request,
// where the events are, the auditor's credential), instead of a log file.
// The feed is paged through for a window of time, with GET requests only,
// every actor's events at once (its {actor} empty), at most log.audit.rate
// pages a second; each event is a line of the log, mapped by the log's
// fields as a JSON line is. An auditor persona signs in first, as in a
// rehearsal: a login, a session and an audit event on the legacy. A feed
// logs what its stack audits: the embedded legacy's, every denial and every
// break-glass access, but no ordinary allow, so a shadow of it can find
// OVER_PERMISSION (legacy denied, candidate allows) and not
// UNDER_PERMISSION.
type Audit struct {
	// Rehearsal is the rehearsal file, relative to the shadow file; its
	// ${VAR}s and secrets are resolved from the environment as a run does.
	Rehearsal string `yaml:"rehearsal"`
	// Since starts the window: an RFC 3339 time, or a duration back from
	// when the run starts (24h).
	Since string `yaml:"since"`
	// Until ends it: an RFC 3339 time (default: when the run starts; a
	// followed feed has no end).
	Until string `yaml:"until"`
	// Time is where an event says when it happened (default time, RFC 3339):
	// the pages follow it, each asking for the events since the last one
	// read. The feed must list its events oldest first.
	Time adapter.Field `yaml:"time"`
	// ID, when set, is where an event says its id: the events a page lists
	// again (those at the time it was asked for) are known by it instead of
	// by their whole text, for feeds whose answers carry a field that
	// changes from one answer to the next.
	ID adapter.Field `yaml:"id"`
	// Rate is the ceiling of feed pages per second (default 5), itself under
	// the ceiling Options.MaxRate.
	Rate float64 `yaml:"rate"`
}

// How an audit feed is read.
const (
	// DefaultFeedRate is log.audit.rate's default, in pages per second.
	DefaultFeedRate = 5
	// DefaultFeedPoll is how often a followed feed is asked for new events
	// once it has none (Options.Poll, when set, instead).
	DefaultFeedPoll = time.Second
	// feedFailures is how many pages in a row may fail for want of the
	// legacy (unreachable, 5xx, 429) before the run ends.
	feedFailures = 5
	// maxFeedBackoff bounds the wait between two tries of a failed page.
	maxFeedBackoff = time.Minute
)

// validateAudit checks log.audit; log.path is its alternative.
func (f *File) validateAudit(bad func(string, ...string)) {
	l := f.Log
	switch {
	case l.Audit == nil && l.Path == "":
		bad("path is empty: where is the legacy's decision log? (or log.audit: its audit feed)", "log", "path")
		return
	case l.Audit == nil:
		return
	case l.Path != "":
		bad("log.path and log.audit both set: the decisions come from the log file or from the audit feed", "log", "audit")
	}
	a := l.Audit
	at := func(k string) []string { return []string{"log", "audit", k} }
	if a.Rehearsal == "" {
		bad("empty: the rehearsal file whose stacks.legacy describes the audit feed", at("rehearsal")...)
	}
	if l.Format != "jsonl" {
		bad(fmt.Sprintf("format %s: an audit feed's events are read as JSON", l.Format), "log", "format")
	}
	since, err := windowStart(a.Since, time.Time{})
	switch {
	case a.Since == "":
		bad("empty: where the window starts (an RFC 3339 time, or a duration back from now such as 24h)", at("since")...)
	case err != nil:
		bad(err.Error(), at("since")...)
	}
	if a.Until != "" {
		u, err := time.Parse(time.RFC3339Nano, a.Until)
		switch {
		case err != nil:
			bad(fmt.Sprintf("%q is not an RFC 3339 time", a.Until), at("until")...)
		case err == nil && !since.IsZero() && !u.After(since):
			bad("not after since: the window is empty", at("until")...)
		}
	}
	if err := a.Time.Check(); err != nil {
		bad(err.Error(), at("time")...)
	}
	if !a.ID.IsZero() {
		if err := a.ID.Check(); err != nil {
			bad(err.Error(), at("id")...)
		}
	}
	if a.Rate < 0 {
		bad("rate below 0", at("rate")...)
	}
}

// windowStart reads since: a time, or a duration back from now (a zero now
// checks the form only).
func windowStart(since string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, since); err == nil {
		return t, nil
	}
	d, err := time.ParseDuration(since)
	if err != nil || d <= 0 {
		return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time nor a positive duration such as 24h", since)
	}
	if now.IsZero() {
		return time.Time{}, nil
	}
	return now.Add(-d), nil
}

// openAudit starts paging through the legacy audit feed of log.audit and
// returns its events as JSON lines; closing the reader stops the paging. A
// followed feed is asked for new events every poll.
func openAudit(ctx context.Context, f *File, opt Options, poll time.Duration) (io.ReadCloser, error) {
	a := f.Log.Audit
	errAt := func(format string, args ...any) error {
		return f.errAt(fmt.Sprintf(format, args...), "log", "audit", "rehearsal")
	}
	env := f.env
	if env == nil {
		env = func(string) string { return "" }
	}
	cfg, err := config.Read(f.rel(a.Rehearsal), env)
	if err != nil {
		return nil, errAt("%v", err)
	}
	side := cfg.Stacks.Legacy
	if side.Legacy == nil || side.Legacy.Audit == nil {
		return nil, errAt("%s describes no legacy audit feed (stacks.legacy.legacy.audit)", a.Rehearsal)
	}
	req := side.Legacy.Audit.Feed
	if req.Method != "" && req.Method != http.MethodGet {
		return nil, errAt("%s stacks.legacy.legacy.audit.feed: method %s: shadow mode reads the legacy's audit feed with GET requests only", a.Rehearsal, req.Method)
	}
	u, err := url.Parse(side.Legacy.BaseURL)
	if err != nil || u.Hostname() == "" {
		return nil, errAt("%s: stacks.legacy.legacy.base_url is not an absolute URL", a.Rehearsal)
	}
	if !slices.ContainsFunc(f.AllowHosts, func(h string) bool { return strings.EqualFold(strings.Trim(h, "[]"), u.Hostname()) }) {
		return nil, f.errAt(fmt.Sprintf("the legacy's host %s (%s stacks.legacy.legacy.base_url) is not in allow_hosts: shadow mode sends to listed hosts only", u.Hostname(), a.Rehearsal), "allow_hosts")
	}
	pop, err := rehearsal.Population(cfg)
	if err != nil {
		return nil, errAt("%s: %v", a.Rehearsal, err)
	}
	l, err := legacy.New(*side.Legacy, loadgen.NewGuard(f.AllowHosts, adapter.NewTransport(2)), adapter.WithPersonas(pop))
	if err != nil {
		return nil, errAt("%s: %v", a.Rehearsal, err)
	}
	now := opt.Now()
	since, err := windowStart(a.Since, now)
	if err != nil {
		return nil, f.errAt(err.Error(), "log", "audit", "since")
	}
	until := now
	if a.Until != "" {
		until, _ = time.Parse(time.RFC3339Nano, a.Until) // checked by Validate
	}
	if opt.Follow {
		until = time.Time{}
	}
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(ctx)
	p := &pager{feed: l.AuditFeed(), name: "GET " + adapter.PathOnly(req.Path), timeAt: a.Time, idAt: a.ID, errAt: f.errAt,
		since: since, until: until, follow: opt.Follow, poll: poll, limiter: rate.NewLimiter(rate.Limit(a.Rate), 1), out: pw,
		failed: func(err error, n, all int, wait time.Duration) {
			if opt.Metrics != nil {
				opt.Metrics.feedErrors.Inc()
			}
			if opt.Log != nil {
				fmt.Fprintf(opt.Log, "cutover shadow: %s: a page failed (%d in a row, %d in all; the run ends at %d in a row): %v; trying again in %s\n",
					f.Source(), n, all, feedFailures, err, wait)
			}
		}}
	go func() { pw.CloseWithError(exitcode.With(p.run(ctx), exitcode.Precondition)) }()
	return &pagedReader{PipeReader: pr, cancel: cancel}, nil
}

// pagedReader is the events as JSON lines; Close stops the pager.
type pagedReader struct {
	*io.PipeReader
	cancel context.CancelFunc
}

func (r *pagedReader) Close() error {
	r.cancel()
	return r.PipeReader.Close()
}

// pager pages through an audit feed: each page asks for the events since
// the latest one read, and writes those not written yet, until a page brings
// nothing new (or, followed, until ctx ends).
type pager struct {
	feed *adapter.Feed
	// name is the feed's request in errors: GET /api/audit.
	name   string
	timeAt adapter.Field
	// idAt, when set, is where an event says its id.
	idAt         adapter.Field
	errAt        func(msg string, path ...string) error
	since, until time.Time
	follow       bool
	poll         time.Duration
	limiter      *rate.Limiter
	out          io.Writer
	// failed is told of each failed page: n in a row, all in the run, and
	// the wait before the next try.
	failed func(err error, n, all int, wait time.Duration)
	// failures counts the failed pages of the run.
	failures int
}

// sifted is what one page brings.
type sifted struct {
	// lines are the events not written yet, as JSON lines; fresh counts
	// them.
	lines []byte
	fresh int
	// later marks an event after the cursor (in the window or past it),
	// past one after the window's end.
	later, past bool
	// next is the time of the latest event written (or the cursor), atNext
	// how many times each event (by its id or text) at next was written.
	next   time.Time
	atNext map[string]int
}

func (p *pager) run(ctx context.Context) error {
	cursor := p.since
	// atCursor counts the events already written whose time is the cursor's:
	// the next page, asking since the cursor, lists them again. An event is
	// known by its id, or by its text: two events alike are counted as two.
	atCursor := map[string]int{}
	// longest is the most events a page has held: a page that may be full
	// holds at least as many.
	longest := 0
	// beyond says that a page asked since the cursor's next step listed
	// events after the cursor: the next page asked since the cursor must
	// list them too, or it is full.
	beyond := false
	for {
		items, err := p.page(ctx, cursor)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		s, err := p.sift(items, cursor, atCursor)
		if err != nil {
			return err
		}
		// An empty write would reach the reader as a read of nothing, which
		// bufio takes for a broken reader after 100 in a row.
		if len(s.lines) > 0 {
			if _, err := p.out.Write(s.lines); err != nil {
				return nil // the reader is closed: the run ended
			}
		}
		mayBeFull := len(items) > 0 && len(items) >= longest
		longest = max(longest, len(items))
		cursor, atCursor = s.next, s.atNext
		// Subtleness ahead. A page that brings nothing new and lists nothing
		// after the cursor ends the paging (or waits for news), unless it is
		// full of events at the cursor's time with more beyond them, which no
		// page asked since the cursor can reach. Its length does not say (the
		// feed's page size is unknown), so a page as long as the longest yet
		// is checked: when the page since the next time the feed tells apart
		// lists events after the cursor, the page since the cursor, asked
		// again after it, lists them too, or it is full.
		switch {
		case s.fresh > 0 && !s.past:
			beyond = false
			continue
		case s.fresh > 0 || s.later:
			beyond = false
		case beyond:
			return p.errAt(fmt.Sprintf("%s: more events at %s than a page of the feed holds (%d, all read already): paging the feed by time would skip the rest; it cannot be read with this page size",
				p.name, cursor.UTC().Format(time.RFC3339Nano), len(items)), "log", "audit")
		case mayBeFull:
			step := p.feed.SinceStep()
			after, err := p.page(ctx, cursor.Truncate(step).Add(step))
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
			if beyond, err = p.anyAfter(after, cursor); err != nil {
				return err
			}
			if beyond {
				continue
			}
		}
		if !p.follow {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(p.poll):
		}
	}
}

// sift reads a page asked since cursor: the events not written yet, in the
// window, and where the cursor goes. atCursor is updated in place.
func (p *pager) sift(items []any, cursor time.Time, atCursor map[string]int) (sifted, error) {
	s := sifted{next: cursor, atNext: atCursor}
	// onPage counts each event at s.next on this page.
	onPage := map[string]int{}
	var prev time.Time
	for i, it := range items {
		t, err := p.timeOf(it)
		if err != nil {
			return s, err
		}
		if i > 0 && t.Before(prev) {
			return s, p.errAt(fmt.Sprintf("%s lists an event of %s after one of %s: shadow mode pages a feed by time and needs its events oldest first (newest first, the events between two pages would be lost)",
				p.name, t.UTC().Format(time.RFC3339Nano), prev.UTC().Format(time.RFC3339Nano)), "log", "audit", "time")
		}
		prev = t
		switch {
		case t.Before(cursor): // a feed asked by the second lists the cursor's earlier
			continue
		case !p.until.IsZero() && t.After(p.until):
			s.later, s.past = true, true
			continue
		case t.After(cursor):
			s.later = true
		}
		b, err := json.Marshal(it)
		if err != nil {
			return s, fmt.Errorf("%s: %w", p.name, err)
		}
		key := string(b)
		if !p.idAt.IsZero() {
			if key, err = p.idAt.StringAt(it); err != nil || key == "" {
				return s, p.errAt(fmt.Sprintf("%s: an event has no id at %s", p.name, p.idAt.Path), "log", "audit", "id")
			}
		}
		if t.After(s.next) {
			s.next, s.atNext, onPage = t, map[string]int{}, map[string]int{}
		}
		onPage[key]++
		if onPage[key] <= s.atNext[key] {
			continue // listed again: written already
		}
		s.atNext[key]++
		s.lines = append(append(s.lines, b...), '\n')
		s.fresh++
	}
	return s, nil
}

// timeOf is when event it happened.
func (p *pager) timeOf(it any) (time.Time, error) {
	if _, ok := it.(map[string]any); !ok {
		return time.Time{}, fmt.Errorf("%s: an event is %s, not a JSON object: shadow mode reads JSON feeds", p.name, adapter.JSONType(it))
	}
	s, err := p.timeAt.StringAt(it)
	t, terr := time.Parse(time.RFC3339Nano, s)
	if err != nil || terr != nil {
		return time.Time{}, p.errAt(fmt.Sprintf("%s: an event has no RFC 3339 time at %s, so the feed cannot be paged", p.name, p.timeAt.Path), "log", "audit", "time")
	}
	return t, nil
}

// anyAfter reports whether a page holds an event after t.
func (p *pager) anyAfter(items []any, t time.Time) (bool, error) {
	for _, it := range items {
		et, err := p.timeOf(it)
		if err != nil {
			return false, err
		}
		if et.After(t) {
			return true, nil
		}
	}
	return false, nil
}

// page asks the feed for the events since a time, under the rate ceiling. A
// page that fails for want of the legacy (unreachable, 5xx, 429) is asked
// again after a wait that doubles each time, up to feedFailures in a row.
func (p *pager) page(ctx context.Context, since time.Time) ([]any, error) {
	var first time.Time
	for n := 1; ; n++ {
		if err := p.limiter.Wait(ctx); err != nil {
			return nil, err
		}
		items, err := p.feed.Page(ctx, "", since)
		if err == nil {
			return items, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var busy *adapter.UnavailableError
		if !errors.As(err, &busy) {
			return nil, fmt.Errorf("%s: %w", p.name, err)
		}
		p.failures++
		if n == 1 {
			first = time.Now()
		}
		if n >= feedFailures {
			return nil, fmt.Errorf("%d pages failed in a row over %s (%d in the run); the last: %w",
				n, time.Since(first).Round(time.Millisecond), p.failures, err)
		}
		wait := min(p.poll<<n, maxFeedBackoff)
		if p.failed != nil {
			p.failed(err, n, p.failures, wait)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
	}
}
