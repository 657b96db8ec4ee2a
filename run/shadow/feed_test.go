package shadow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cutover-dev/cutover/internal/syncbuf"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/cutover-dev/cutover/examples"
	"github.com/cutover-dev/cutover/internal/exitcode"
	"github.com/cutover-dev/cutover/journeys/adapter"
)

// feedKey is the API key the test feed's auditor reads it with.
const feedKey = "k3y-of-the-auditor"

// feedT0 is when the test feeds' window starts.
var feedT0 = time.Date(2026, 3, 2, 7, 0, 0, 0, time.UTC)

// feedEvent is event n of a test feed, at feedT0 plus sec seconds: a denial
// of a patient's record.
func feedEvent(n int, sec float64) map[string]any {
	return map[string]any{"time": feedT0.Add(time.Duration(sec * float64(time.Second))).Format(time.RFC3339Nano), "event_id": fmt.Sprint(n),
		"actor": fmt.Sprintf("patient-%05d", n), "roles": []any{"patient"}, "action": "read", "type": "record", "patient": "patient-00000", "decision": "deny"}
}

// feedServer is a legacy's audit feed as the tests serve it: the events it
// holds, oldest first, listed since the time asked (RFC 3339), at most size
// a page (0: all), for the auditor's API key only.
type feedServer struct {
	size int
	// newestFirst lists a page newest first.
	newestFirst bool
	// stamp adds to every event listed the number of the answer, a field
	// that changes from one answer to the next.
	stamp bool
	// grow records an event at the time of each request before answering
	// it.
	grow bool

	mu     sync.Mutex
	events []map[string]any
	// fail answers the next so many requests 503.
	fail  int
	pages int
}

func (s *feedServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pages++
	if r.Header.Get("X-API-Key") != feedKey {
		http.Error(w, "who are you?", http.StatusUnauthorized)
		return
	}
	if s.fail > 0 {
		s.fail--
		http.Error(w, "down for a moment", http.StatusServiceUnavailable)
		return
	}
	since, err := time.Parse(time.RFC3339Nano, r.URL.Query().Get("since"))
	if err != nil {
		http.Error(w, "since must be RFC 3339", http.StatusBadRequest)
		return
	}
	if s.grow {
		s.events = append(s.events, map[string]any{"time": time.Now().UTC().Format(time.RFC3339Nano), "event_id": fmt.Sprint(len(s.events))})
	}
	page := []map[string]any{}
	for _, e := range s.events {
		if t, _ := time.Parse(time.RFC3339Nano, e["time"].(string)); !t.Before(since) {
			page = append(page, e)
		}
	}
	if s.newestFirst {
		slices.Reverse(page)
	}
	if s.size > 0 && len(page) > s.size {
		page = page[:s.size]
	}
	if s.stamp {
		for i, e := range page {
			c := map[string]any{"answer": s.pages}
			for k, v := range e {
				c[k] = v
			}
			page[i] = c
		}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"events": page})
}

func (s *feedServer) add(events ...map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, events...)
}

// failNext answers the next n requests 503.
func (s *feedServer) failNext(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = n
}

// served is how many requests reached the feed.
func (s *feedServer) served() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pages
}

// serve starts s over HTTP.
func (s *feedServer) serve(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return srv
}

// feedShadowFile reads the legacy audit feed of demo.yaml; %s adds keys to
// log.audit.
const feedShadowFile = `version: 1
name: feed
log:
  audit: {rehearsal: demo.yaml, since: "2026-03-02T07:00:00Z"%s}
  subject: actor
  roles: roles
  action: action
  resource_type: type
  resource_id: patient
  decision: decision
candidate: {url: "http://127.0.0.1:1", batch: 0}
allow_hosts: [127.0.0.1]
`

// feedFile writes the demo's rehearsal file with its legacy's audit feed at
// base, asked with method and read with an API key, and beside it a shadow
// file reading that feed, audit adding keys to log.audit; it returns the
// shadow file read.
func feedFile(t *testing.T, base, method, audit string) *File {
	t.Helper()
	const from = "        feed: \"GET /api/audit?since={since}&actor={actor}\"\n        auditor: {persona: auditor}\n"
	if !strings.Contains(string(examples.Demo), from) {
		t.Fatalf("examples/demo.yaml has no legacy audit feed %q", from)
	}
	demo := strings.Replace(string(examples.Demo), from, "        feed: \""+method+" /api/audit?since={since}\"\n        auditor: {api_key: {env: FEED_KEY}}\n", 1)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "demo.yaml"), []byte(demo), 0o644); err != nil {
		t.Fatal(err)
	}
	placeholders := examples.DemoEnv(nil, nil)
	env := func(k string) string {
		switch k {
		case examples.EnvLegacyURL:
			return base
		case "FEED_KEY":
			return feedKey
		}
		return placeholders(k)
	}
	f, err := Parse(filepath.Join(dir, "shadow.yaml"), fmt.Appendf(nil, feedShadowFile, audit), env)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// feedLine is an event of a feed as a run reads it (its event_id), or the
// error that ended the reading.
type feedLine struct {
	id  string
	err error
}

func (l feedLine) String() string {
	if l.err != nil {
		return "error: " + l.err.Error()
	}
	return "event " + l.id
}

// readFeed pages through the feed of f as a run does, followed every poll
// with opt.Follow, and hands over its events as the run's reader reads them,
// until the feed ends or fails.
func readFeed(t *testing.T, f *File, opt Options, poll time.Duration) <-chan feedLine {
	t.Helper()
	if opt.Now == nil {
		opt.Now = func() time.Time { return feedT0.Add(time.Hour) }
	}
	rc, err := openAudit(t.Context(), f, opt, poll)
	if err != nil {
		t.Fatal(err)
	}
	out := make(chan feedLine, 1000)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	t.Cleanup(func() {
		close(stop)
		rc.Close()
		wg.Wait()
	})
	rd, _, _ := newReader(rc, "jsonl", f.Source())
	wg.Go(func() {
		defer close(out)
		for {
			r, err := rd.next()
			var l feedLine
			switch {
			case errors.Is(err, io.EOF):
				return
			case err != nil:
				l.err = err
			default:
				var e struct {
					ID string `json:"event_id"`
				}
				if err := json.Unmarshal(r.b, &e); err != nil {
					l.err = err
				}
				l.id = e.ID
			}
			select {
			case out <- l:
			case <-stop:
				return
			}
			if l.err != nil {
				return
			}
		}
	})
	return out
}

// all is every event read until the feed ends, and the error it ended with.
func all(lines <-chan feedLine) ([]string, error) {
	var ids []string
	for l := range lines {
		if l.err != nil {
			return ids, l.err
		}
		ids = append(ids, l.id)
	}
	return ids, nil
}

// next is the next line read; it fails the test when none comes before the
// test's deadline nears (a guard, not a measure).
func next(t *testing.T, lines <-chan feedLine) feedLine {
	t.Helper()
	deadline, ok := t.Deadline()
	if !ok {
		deadline = time.Now().Add(2 * time.Minute)
	}
	select {
	case l, ok := <-lines:
		if !ok {
			t.Fatal("the feed's reading ended")
		}
		return l
	case <-time.After(time.Until(deadline) - 5*time.Second):
		t.Fatal("gave up waiting for an event of the feed")
	}
	return feedLine{}
}

// TestFeedPages: an audit feed is paged by time, each page asking for the
// events since the latest one read, as a real feed lists them: at most a
// page size of them, oldest first. Every event is read once, two events
// alike as two; an event the answers add a changing field to is known by
// log.audit.id; a feed that cannot be paged by time (more events at one time
// than a page holds, newest first) is refused, naming log.audit, instead of
// losing events or asking forever.
func TestFeedPages(t *testing.T) {
	ten := make([]map[string]any, 10)
	for i := range ten {
		ten[i] = feedEvent(i, float64(i))
	}
	alike := feedEvent(2, 2)
	tests := []struct {
		name        string
		size        int
		newestFirst bool
		stamp       bool
		audit       string
		follow      bool
		events      []map[string]any
		want        []string
		wantErr     string
	}{
		{name: "pages of 3", size: 3, events: ten, want: []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}},
		{name: "one page", events: ten, want: []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}},
		{name: "two events alike, a page apart", size: 3,
			events: []map[string]any{feedEvent(0, 0), feedEvent(1, 1), alike, alike, feedEvent(3, 3)}, want: []string{"0", "1", "2", "2", "3"}},
		{name: "a page full of one time, nothing after", size: 3,
			events: []map[string]any{feedEvent(1, 1), feedEvent(2, 1), feedEvent(3, 1)}, want: []string{"1", "2", "3"}},
		{name: "more events at one time than a page holds", size: 3,
			events:  []map[string]any{feedEvent(0, 0), feedEvent(1, 1), feedEvent(2, 1), feedEvent(3, 1), feedEvent(4, 1), feedEvent(5, 2)},
			wantErr: "shadow.yaml:4: log.audit: GET /api/audit: more events at 2026-03-02T07:00:01Z than a page of the feed holds (3, all read already): paging the feed by time would skip the rest"},
		{name: "more events at one time than a page holds, followed", size: 3, follow: true,
			events:  []map[string]any{feedEvent(0, 0), feedEvent(1, 1), feedEvent(2, 1), feedEvent(3, 1), feedEvent(4, 1), feedEvent(5, 2)},
			wantErr: "shadow.yaml:4: log.audit: GET /api/audit: more events at 2026-03-02T07:00:01Z than a page of the feed holds"},
		{name: "newest first", size: 3, newestFirst: true, events: ten,
			wantErr: "shadow.yaml:4: log.audit.time: GET /api/audit lists an event of 2026-03-02T07:00:08Z after one of 2026-03-02T07:00:09Z: shadow mode pages a feed by time and needs its events oldest first"},
		{name: "a field that changes every answer, events known by their id", size: 3, stamp: true, audit: ", id: event_id",
			events: []map[string]any{feedEvent(0, 0), feedEvent(1, 1), feedEvent(2, 1), feedEvent(3, 2)}, want: []string{"0", "1", "2", "3"}},
		{name: "an event without an id", audit: ", id: event_id",
			events:  []map[string]any{feedEvent(0, 0), {"time": feedT0.Add(time.Second).Format(time.RFC3339Nano)}},
			wantErr: "shadow.yaml:4: log.audit.id: GET /api/audit: an event has no id at event_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			feed := &feedServer{size: tt.size, newestFirst: tt.newestFirst, stamp: tt.stamp}
			feed.add(tt.events...)
			srv := feed.serve(t)
			f := feedFile(t, srv.URL, "GET", ", rate: 1000"+tt.audit)
			got, err := all(readFeed(t, f, Options{Follow: tt.follow}, time.Millisecond))
			switch {
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("read %v, then err = %v; want %q", got, err, tt.wantErr)
			case tt.wantErr == "" && err != nil:
				t.Fatalf("read %v, then %v", got, err)
			case tt.wantErr == "" && !slices.Equal(got, tt.want):
				t.Errorf("read events %v; want %v", got, tt.want)
			}
		})
	}
}

// TestFeedFollowQuiet: a followed feed with nothing new for many more polls
// than bufio's 100 empty reads is still followed, and its next event read.
func TestFeedFollowQuiet(t *testing.T) {
	feed := &feedServer{}
	feed.add(feedEvent(0, 0), feedEvent(1, 1))
	f := feedFile(t, feed.serve(t).URL, "GET", ", rate: 1000")
	lines := readFeed(t, f, Options{Follow: true}, time.Millisecond)
	for _, want := range []string{"0", "1"} {
		if l := next(t, lines); l.id != want || l.err != nil {
			t.Fatalf("read %s; want event %s", l, want)
		}
	}
	quiet := feed.served() + 300
	waitFor(t, "300 polls with nothing new", func() bool { return feed.served() >= quiet || len(lines) > 0 })
	select {
	case l := <-lines:
		t.Fatalf("after 300 polls with nothing new: %s; want nothing", l)
	default:
	}
	feed.add(feedEvent(2, 2))
	if l := next(t, lines); l.id != "2" || l.err != nil {
		t.Fatalf("after 300 polls with nothing new, read %s; want event 2", l)
	}
}

// TestFeedRetry: a followed feed page that fails for want of the legacy is
// asked again after a wait, each failure logged and counted; the feed's
// events are read as if nothing happened. Five failures in a row end the
// run, with a message naming the feed.
func TestFeedRetry(t *testing.T) {
	feed := &feedServer{}
	feed.add(feedEvent(0, 0))
	f := feedFile(t, feed.serve(t).URL, "GET", ", rate: 1000")
	var log syncbuf.Buffer
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	lines := readFeed(t, f, Options{Follow: true, Log: &log, Metrics: m}, time.Millisecond)
	if l := next(t, lines); l.id != "0" {
		t.Fatalf("read %s; want event 0", l)
	}
	feed.mu.Lock() // no page between the two
	feed.fail = 3
	feed.events = append(feed.events, feedEvent(1, 1))
	feed.mu.Unlock()
	if l := next(t, lines); l.id != "1" || l.err != nil {
		t.Fatalf("read %s; want event 1, read after 3 failures", l)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	counted := -1.0
	for _, mf := range mfs {
		if mf.GetName() == "cutover_shadow_feed_errors_total" {
			counted = mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	if counted != 3 {
		t.Errorf("cutover_shadow_feed_errors_total = %g; want 3", counted)
	}
	want := "cutover shadow: the legacy audit feed of " + f.rel("demo.yaml") + ": a page failed (3 in a row, 3 in all; the run ends at 5 in a row): GET /api/audit: unavailable (HTTP 503); trying again in 8ms\n"
	if got := log.String(); !strings.Contains(got, want) || strings.Count(got, "a page failed") != 3 {
		t.Errorf("log:\n%s\nwant 3 failures, the last %q", got, want)
	}

	// A sustained outage ends the run.
	feed.failNext(1 << 20)
	feed.add(feedEvent(2, 2))
	f.Log.Audit.Since = feedT0.Add(2 * time.Second).Format(time.RFC3339)
	_, err = Run(t.Context(), f, Options{Follow: true, Poll: time.Millisecond, MaxRate: 1000, Now: func() time.Time { return feedT0.Add(time.Hour) }})
	wantErr := "read the legacy audit feed of " + f.rel("demo.yaml") + ": 5 pages failed in a row over "
	if err == nil || !strings.Contains(err.Error(), wantErr) || !strings.HasSuffix(err.Error(), "(5 in the run); the last: GET /api/audit: unavailable (HTTP 503)") || exitcode.Of(err) != exitcode.Precondition {
		t.Errorf("Run = %v (exit %d); want exit 4 and %q", err, exitcode.Of(err), wantErr)
	}
}

// TestFeedGETOnly: the legacy is production: a feed asked with anything but
// GET is refused before any request, naming log.audit and the rehearsal
// file's feed.
func TestFeedGETOnly(t *testing.T) {
	feed := &feedServer{}
	f := feedFile(t, feed.serve(t).URL, "POST", "")
	_, err := Run(t.Context(), f, Options{})
	want := "shadow.yaml:4: log.audit.rehearsal: demo.yaml stacks.legacy.legacy.audit.feed: method POST: shadow mode reads the legacy's audit feed with GET requests only"
	if err == nil || !strings.Contains(err.Error(), want) || exitcode.Of(err) != exitcode.Usage {
		t.Errorf("Run = %v (exit %d); want exit 2 and %q", err, exitcode.Of(err), want)
	}
	if n := feed.served(); n != 0 {
		t.Errorf("%d requests reached the feed; want none", n)
	}
}

// TestFeedRateCeiling: log.audit.rate is 5 pages a second unless set, and
// a file setting it above --max-rate is refused before anything is sent.
func TestFeedRateCeiling(t *testing.T) {
	feed := &feedServer{}
	srv := feed.serve(t)
	if f := feedFile(t, srv.URL, "GET", ""); f.Log.Audit.Rate != DefaultFeedRate {
		t.Errorf("log.audit.rate = %g unset; want %d", f.Log.Audit.Rate, DefaultFeedRate)
	}
	f := feedFile(t, srv.URL, "GET", ", rate: 300")
	_, err := Run(t.Context(), f, Options{MaxRate: 200})
	if !errors.Is(err, ErrRateCeiling) || exitcode.Of(err) != exitcode.Usage || !strings.Contains(err.Error(), "shadow.yaml:4: log.audit.rate 300 pages/s, above the ceiling 200") {
		t.Errorf("Run = %v (exit %d); want the rate ceiling, a usage error", err, exitcode.Of(err))
	}
	if n := feed.served(); n != 0 {
		t.Errorf("%d requests reached the feed; want none", n)
	}
}

// handlerTransport carries requests to a handler in-process.
type handlerTransport struct{ h http.Handler }

func (h handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	w := httptest.NewRecorder()
	h.h.ServeHTTP(w, r)
	return w.Result(), nil
}

// TestFeedRate: a feed with something new on every page is paged no faster
// than its rate: 5 pages a second, 50 in 9.9 seconds.
func TestFeedRate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		feed := &feedServer{grow: true}
		base, _ := url.Parse("http://legacy.test")
		cfg := &adapter.AuditConfig{Feed: adapter.RequestTemplate{Method: http.MethodGet, Path: "/api/audit?since={since}"}}
		login := func(context.Context) (*adapter.Session, error) {
			return &adapter.Session{Cred: adapter.Credential{Header: "X-API-Key", Value: feedKey}}, nil
		}
		var read atomic.Int64
		p := &pager{feed: adapter.NewFeed(cfg, base, handlerTransport{feed}, login), name: "GET /api/audit", timeAt: adapter.Field{Path: "time"},
			errAt: func(msg string, _ ...string) error { return errors.New(msg) }, since: time.Now().Add(-time.Hour), follow: true, poll: time.Second,
			limiter: rate.NewLimiter(DefaultFeedRate, 1), out: writerFunc(func(b []byte) (int, error) { read.Add(int64(strings.Count(string(b), "\n"))); return len(b), nil })}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- p.run(ctx) }()
		time.Sleep(9900 * time.Millisecond)
		synctest.Wait()
		if n := feed.served(); n != 50 || read.Load() != 50 {
			t.Errorf("%d pages and %d events in 9.9s; want 50 of each (5 pages/s)", n, read.Load())
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

// waitFor polls cond until it holds or the test's deadline nears; it never
// judges how long that took.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline, ok := t.Deadline()
	if !ok {
		deadline = time.Now().Add(2 * time.Minute)
	}
	for !cond() {
		if time.Now().After(deadline.Add(-5 * time.Second)) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
