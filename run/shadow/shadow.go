// Package shadow compares the candidate's entitlement decisions with every real
// decision the legacy logged, not only the personas' of a rehearsal: `cutover
// shadow` comes through here. It reads the legacy's decision log (JSON lines or
// CSV, streamed line by line, or followed as it grows; or the events of the
// legacy audit feed a rehearsal file describes, paged through), asks the
// candidate's OpenID AuthZEN policy decision point the same question under a
// rate ceiling, to allowed hosts only, once per distinct question (a bounded
// LRU cache), single or in batches as the file or the PDP's metadata says, and
// turns each compared line into a legacy and a candidate step record, so that
// results/analysis judges them as it judges a rehearsal: findings by class,
// root causes by subject attribute, action and resource type (its units are a
// subject asking one action on one resource type), cohort readiness,
// coverage, the verdict, every report, `cutover diff`.
//
// It sits with run/rehearsal under cmd/cutover: it imports journeys/adapter
// (fields, AuthZEN's errors, audit feeds), journeys/legacy and run/config
// (the legacy audit feed of a rehearsal file), run/rehearsal (that file's
// population, whose auditor reads the feed), loadgen (the host guard),
// personas (accounts files), internal/yamlkeys (strict reading) and results;
// nothing imports it but cmd/cutover.
package shadow

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/cutover-dev/cutover/internal/exitcode"
	"github.com/cutover-dev/cutover/results/analysis"
)

// Options tune a shadow run.
type Options struct {
	// Out is the results folder; empty writes nothing.
	Out     string
	Version string
	// Log gets one line of progress now and then; nil: none.
	Log io.Writer
	// Source, when set, is read instead of the file's log.
	Source io.Reader
	// Follow reads the log as it grows (tail -f), until ctx ends, judging it
	// window by window.
	Follow bool
	// Window is how long a window of a followed log lasts (default 1m); Poll
	// how often a followed log is looked at for new lines (default 250ms; a
	// followed audit feed, DefaultFeedPoll), and the first wait before a
	// failed feed page is asked again.
	Window, Poll time.Duration
	// Metrics, when set, is kept up to date: counters per line, gauges per
	// window.
	Metrics *Metrics
	// MaxRate is the highest candidate.rate (requests/s) and log.audit.rate
	// (pages/s) a file may set (default DefaultMaxRate).
	MaxRate float64
	// Transport, when set, carries the PDP requests instead of a host-guarded
	// transport of its own (tests); the allowlist is checked all the same.
	Transport http.RoundTripper
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// ErrRateCeiling is returned for a file whose candidate.rate or
// log.audit.rate is above the ceiling.
var ErrRateCeiling = errors.New("rate above the ceiling")

// Result is what a shadow run (or the last window of a followed log) judged.
type Result struct {
	Summary *analysis.Summary
	Stats   *analysis.Stats
	Report  *Report
}

// chunkLines bounds the lines judged together: their distinct questions go to
// the PDP together, so memory holds at most this many lines.
const chunkLines = 4096

// Run reads the log of f and judges it: once to its end, or, with
// opt.Follow, window by window until ctx ends (the last window's result is
// returned). Results are written to opt.Out. An interrupted run is judged on
// what it compared, its verdict aborted.
func Run(ctx context.Context, f *File, opt Options) (*Result, error) {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.MaxRate == 0 {
		opt.MaxRate = DefaultMaxRate
	}
	if opt.Window <= 0 {
		opt.Window = time.Minute
	}
	feedPoll := DefaultFeedPoll
	if opt.Poll > 0 {
		feedPoll = opt.Poll
	} else {
		opt.Poll = 250 * time.Millisecond
	}
	if f.Candidate.Rate > opt.MaxRate {
		return nil, exitcode.With(fmt.Errorf("%w: %s:%d: candidate.rate %g requests/s, above the ceiling %g (raise it with --max-rate if you mean it)",
			ErrRateCeiling, f.Path, f.line("candidate", "rate"), f.Candidate.Rate, opt.MaxRate), exitcode.Usage)
	}
	src := opt.Source
	if a := f.Log.Audit; src == nil && a != nil && a.Rate > opt.MaxRate {
		return nil, exitcode.With(fmt.Errorf("%w: %s:%d: log.audit.rate %g pages/s, above the ceiling %g (raise it with --max-rate if you mean it)",
			ErrRateCeiling, f.Path, f.line("log", "audit", "rate"), a.Rate, opt.MaxRate), exitcode.Usage)
	}
	if src == nil && f.Log.Audit != nil {
		feed, err := openAudit(ctx, f, opt, feedPoll)
		if err != nil {
			return nil, exitcode.With(err, exitcode.Usage)
		}
		defer feed.Close()
		src = feed
	}
	if src == nil {
		file, err := os.Open(f.LogPath())
		if err != nil {
			return nil, exitcode.With(fmt.Errorf("%s: log.path: %w", f.Path, err), exitcode.Usage)
		}
		defer file.Close()
		src = file
		if opt.Follow {
			t := newTail(ctx, file, f.LogPath(), opt.Poll)
			defer t.Close()
			src = t
		}
	}
	e, err := newEngine(ctx, f, opt, src)
	if err != nil {
		return nil, err
	}
	return e.run(ctx)
}

// engine is one shadow run: the reader, the mapping, the PDP and cache that
// live across windows, and the window being judged.
type engine struct {
	f        *File
	opt      Options
	rd       reader
	m        *mapping
	accounts *accounts
	pdp      *pdp
	cache    *lru
	start    time.Time
	w        *window
	// line counts the lines read, over windows.
	line uint64
}

func newEngine(ctx context.Context, f *File, opt Options, src io.Reader) (*engine, error) {
	rd, header, err := newReader(src, f.Log.Format, f.Source())
	if err != nil {
		return nil, exitcode.With(err, exitcode.Usage)
	}
	m, err := newMapping(f, header)
	if err != nil {
		return nil, exitcode.With(err, exitcode.Usage)
	}
	acc, err := loadAccounts(f)
	if err != nil {
		return nil, exitcode.With(err, exitcode.Usage)
	}
	p, err := newPDP(ctx, f, opt.Transport)
	if err != nil {
		return nil, err // tagged with its exit code
	}
	e := &engine{f: f, opt: opt, rd: rd, m: m, accounts: acc, pdp: p, cache: newLRU(f.Cache.Size, f.Cache.TTL), start: opt.Now()}
	e.w = newWindow(e, e.start)
	return e, nil
}

// run reads the log chunk by chunk: a reader goroutine hands lines over, and
// a chunk takes what has come, up to chunkLines, without waiting for more.
func (e *engine) run(ctx context.Context) (*Result, error) {
	lines := make(chan raw, 2*chunkLines)
	var readErr error
	rctx, stopRead := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(lines)
		for {
			r, err := e.rd.next()
			if err != nil {
				if !errors.Is(err, io.EOF) {
					readErr = err
				}
				return
			}
			select {
			case lines <- r:
			case <-rctx.Done():
				return
			}
		}
	})
	// Not waited for on the way out: a Source that blocks in Read would
	// hold the run; the goroutine ends with its next line.
	defer stopRead()
	var ticks <-chan time.Time
	if e.opt.Follow {
		t := time.NewTicker(e.opt.Window)
		defer t.Stop()
		ticks = t.C
	}
	batch := make([]raw, 0, chunkLines)
	for {
		batch = batch[:0]
		select {
		case r, ok := <-lines:
			if !ok {
				stopRead()
				wg.Wait()
				if readErr != nil {
					return nil, fmt.Errorf("read %s: %w", e.f.Source(), readErr)
				}
				return e.close("")
			}
			batch = append(batch, r)
		case <-ticks:
			if _, err := e.roll(); err != nil {
				return nil, err
			}
			continue
		case <-ctx.Done():
			if e.opt.Follow {
				return e.close("")
			}
			return e.close(interrupted(e))
		}
	fill:
		for len(batch) < chunkLines {
			select {
			case r, ok := <-lines:
				if !ok {
					break fill
				}
				batch = append(batch, r)
			default:
				break fill
			}
		}
		if !e.chunk(ctx, batch) {
			if e.opt.Follow {
				return e.close("")
			}
			return e.close(interrupted(e))
		}
	}
}

func interrupted(e *engine) string {
	return fmt.Sprintf("interrupted after %d log lines", e.w.rep.Lines)
}

// chunk judges a chunk of lines: parsed in parallel, the questions no cache
// entry answers asked once each, then every line accounted in order. It
// reports false when ctx ended before the PDP answered (the chunk is dropped:
// an unanswered question is not an error of the candidate's).
func (e *engine) chunk(ctx context.Context, rs []raw) bool {
	es := make([]entry, len(rs))
	workers := min(runtime.GOMAXPROCS(0), max(len(rs)/256, 1))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(rs); i += workers {
				e.m.parse(rs[i], &es[i])
				e.accounts.resolve(&es[i], !e.m.subjectCandidate.IsZero())
			}
		})
	}
	wg.Wait()
	now := e.opt.Now()
	keys := make([]qkey, len(es))
	answer := make([]int, len(es)) // -1: cached allow, -2: cached deny, else index into misses
	// first marks the line whose question is asked: the others asking it in
	// this chunk are answered as from the cache.
	first := make([]bool, len(es))
	var misses []*question
	missAt := map[qkey]int{}
	for i := range es {
		x := &es[i]
		if x.why != "" || x.skipped {
			continue
		}
		k := keyOf(&x.q, e.pdp.props)
		keys[i] = k
		if allow, ok := e.cache.get(k, now); ok {
			answer[i] = -2
			if allow {
				answer[i] = -1
			}
			continue
		}
		j, ok := missAt[k]
		if !ok {
			j = len(misses)
			missAt[k] = j
			misses = append(misses, &x.q)
			first[i] = true
		}
		answer[i] = j
	}
	var vs []verdict
	if len(misses) > 0 {
		vs = e.pdp.evaluate(ctx, misses)
		if ctx.Err() != nil {
			return false
		}
		for k, j := range missAt {
			if vs[j].err == nil {
				e.cache.put(k, vs[j].allow, now)
			}
		}
	}
	for i := range es {
		x := &es[i]
		var v verdict
		cached := false
		switch a := answer[i]; {
		case x.why != "" || x.skipped:
		case a < 0:
			v, cached = verdict{allow: a == -1, status: http.StatusOK}, true
		default:
			v, cached = vs[a], !first[i]
		}
		e.w.account(x, keys[i], v, cached)
	}
	if e.opt.Metrics != nil {
		e.opt.Metrics.pdpState(e.pdp)
	}
	return true
}

// roll judges the window that ends now, writes it and starts the next.
func (e *engine) roll() (*Result, error) {
	res, err := e.judge("")
	e.w = newWindow(e, e.opt.Now())
	return res, err
}

// close judges the last window (aborted says why it ended early, if it did).
func (e *engine) close(aborted string) (*Result, error) {
	return e.judge(aborted)
}

// judge judges the current window, updates the metrics and writes the
// results folder.
func (e *engine) judge(aborted string) (*Result, error) {
	res := e.w.judge(aborted)
	if e.opt.Metrics != nil {
		e.opt.Metrics.observe(res, e.opt.Now())
	}
	if e.opt.Log != nil {
		fmt.Fprintf(e.opt.Log, "cutover shadow: %s\n", res.Report.Sentence())
	}
	if e.opt.Out == "" {
		return res, nil
	}
	return res, write(e.opt.Out, res, e.w.tab)
}
