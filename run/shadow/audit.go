package shadow

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"time"

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
// every actor's events at once (its {actor} empty); each event is a line of
// the log, mapped by the log's fields as a JSON line is. A feed logs what its stack audits: the embedded legacy's, every denial
// and every break-glass access, but no ordinary allow, so a shadow of it can
// find OVER_PERMISSION (legacy denied, candidate allows) and not
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
	// read.
	Time adapter.Field `yaml:"time"`
}

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
// returns its events as JSON lines; closing the reader stops the paging.
func openAudit(ctx context.Context, f *File, opt Options) (io.ReadCloser, error) {
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
	p := &pager{feed: l.AuditFeed(), timeAt: a.Time, since: since, until: until, follow: opt.Follow, poll: max(opt.Poll, time.Second), out: pw}
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
	feed         *adapter.Feed
	timeAt       adapter.Field
	since, until time.Time
	follow       bool
	poll         time.Duration
	out          io.Writer
}

func (p *pager) run(ctx context.Context) error {
	cursor := p.since
	// atCursor holds the events already written whose time is the cursor's:
	// the next page, asking since the cursor, lists them again.
	atCursor := map[string]bool{}
	for {
		items, err := p.feed.Page(ctx, "", cursor)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("legacy audit feed: %w", err)
		}
		fresh, past := 0, false
		next, atNext := cursor, map[string]bool{}
		var buf []byte
		for _, it := range items {
			if _, ok := it.(map[string]any); !ok {
				return fmt.Errorf("legacy audit feed: an event is %s, not a JSON object: shadow mode reads JSON feeds", adapter.JSONType(it))
			}
			b, err := json.Marshal(it)
			if err != nil {
				return fmt.Errorf("legacy audit feed: %w", err)
			}
			s, err := p.timeAt.StringAt(it)
			t, terr := time.Parse(time.RFC3339Nano, s)
			if err != nil || terr != nil {
				return fmt.Errorf("legacy audit feed: log.audit.time: an event has no RFC 3339 time at %s, so the feed cannot be paged", p.timeAt.Path)
			}
			switch {
			case t.Before(cursor), t.Equal(cursor) && atCursor[string(b)]:
				continue
			case !p.until.IsZero() && t.After(p.until):
				past = true
				continue
			}
			buf = append(append(buf, b...), '\n')
			fresh++
			if t.After(next) {
				next, atNext = t, map[string]bool{}
			}
			if t.Equal(next) {
				atNext[string(b)] = true
			}
		}
		if _, err := p.out.Write(buf); err != nil {
			return nil // the reader is closed: the run ended
		}
		if next.After(cursor) {
			cursor, atCursor = next, atNext
		} else {
			for k := range atNext {
				atCursor[k] = true
			}
		}
		if fresh > 0 && !past {
			continue
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
