package loadgen

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/cutover-dev/cutover/results/record"
)

// RawJourney is the journey name of the records of raw attacks; their step is the
// endpoint's name, so the results treat them like any other step: latency side by
// side, error rates, LATENCY_REGRESSION and ERROR_RATE_REGRESSION.
const RawJourney = "raw"

// RawTarget fills in the request of hit n of a raw attack on one side. It must be
// safe for concurrent use.
type RawTarget func(n uint64, t *vegeta.Target) error

// Raw is an attack on one stateless endpoint (discovery, JWKS, client_credentials
// tokens, introspection) of both stacks, with vegeta's attacker: no journey, no
// session, the endpoint's throughput alone.
type Raw struct {
	// Endpoint names the endpoint: the step of its records.
	Endpoint string
	// Pacer and Duration are the schedule, the same on both sides.
	Pacer    vegeta.Pacer
	Duration time.Duration
	// Targets holds the request of each side; a side without one is not attacked.
	Targets map[record.Side]RawTarget
	// Client sends the requests (through a Guard, with a timeout). Its redirect
	// policy is replaced: a raw attack records a redirect, it does not follow it.
	Client *http.Client
	// LateAfter: a hit sent more than this after it was due has its latency measured
	// from when it was due (default 25ms), as a late journey does.
	LateAfter time.Duration
	// Segment, if set, sends only the segment's hits of the schedule; records and
	// targets keep the hits' global numbers.
	Segment Segment
}

// Attack runs a on both sides at once, from the same schedule, and emits a record
// per hit. It returns when both sides are done: the duration is over, the pacer
// stopped, or ctx is done. vegeta's Attack takes no context: ctx is bridged to
// Stop, and the results are drained until the channel closes, so every hit sent is
// recorded. emit must be safe for concurrent use.
func Attack(ctx context.Context, a Raw, emit func(*record.Record)) {
	if a.LateAfter <= 0 {
		a.LateAfter = 25 * time.Millisecond
	}
	if ctx.Err() != nil {
		return // stopped before it began: not a single hit
	}
	client := *a.Client
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	var wg sync.WaitGroup
	for _, side := range []record.Side{record.Legacy, record.Candidate} {
		target, ok := a.Targets[side]
		if !ok {
			continue
		}
		atk := vegeta.NewAttacker(vegeta.Client(&client), vegeta.MaxBody(0))
		var next uint64
		var mu sync.Mutex
		targeter := func(t *vegeta.Target) error {
			mu.Lock()
			n := next
			next++
			mu.Unlock()
			return target(a.Segment.Global(n), t)
		}
		pacer := a.Segment.Pacer(a.Pacer, a.Duration)
		began := time.Now()
		ch := atk.Attack(targeter, pacer, a.Duration, a.Endpoint)
		stop := context.AfterFunc(ctx, func() { atk.Stop() })
		wg.Go(func() {
			defer stop()
			dues := &dueTimes{p: pacer}
			var eps endpoints
			for res := range ch {
				r := a.record(side, res, began.Add(dues.at(res.Seq)))
				r.Endpoints = eps.of(res.Method, res.URL)
				emit(r)
			}
		})
	}
	wg.Wait()
}

// record turns a vegeta result into a step record.
func (a Raw) record(side record.Side, res *vegeta.Result, intended time.Time) *record.Record {
	r := &record.Record{
		Side: side, Journey: RawJourney, Iteration: a.Segment.Global(res.Seq), Step: a.Endpoint,
		Intended: intended, Start: res.Timestamp, Latency: res.Latency, Outcome: record.OK,
	}
	r.Facts.Status = int(res.Code)
	if late := res.Timestamp.Sub(intended); late > a.LateAfter {
		r.Latency += late
	}
	switch {
	case res.Code == 0:
		r.Outcome, r.Error = record.Error, "unavailable: "+transportError(res.Error)
	case res.Code >= 400:
		r.Outcome, r.Error = record.Error, fmt.Sprintf("HTTP %d", res.Code)
	}
	return r
}

// endpoints gives the Endpoints of a hit's record: the one request it sent. An
// attack sends the same request hit after hit, so the last one is remembered
// rather than parsed again. It is not safe for concurrent use.
type endpoints struct {
	method, url, last string
}

// of returns the endpoints of a hit that sent method to rawURL; none when the hit
// sent nothing (its target failed).
func (e *endpoints) of(method, rawURL string) []string {
	if rawURL == "" {
		return nil
	}
	if e.last == "" || method != e.method || rawURL != e.url {
		u, err := url.Parse(rawURL)
		if err != nil {
			return nil
		}
		e.method, e.url, e.last = method, rawURL, record.Endpoint(method, u.EscapedPath())
	}
	return []string{e.last}
}

// transportError drops the method and URL vegeta's client puts before a transport
// error (`Post "http://...": dial tcp ...`): a URL may carry what a record must not.
func transportError(msg string) string {
	if i := strings.Index(msg, `": `); i >= 0 && strings.Contains(msg[:i], ` "`) {
		return msg[i+3:]
	}
	return msg
}

// dueTimes walks a schedule as far as asked, remembering each hit's due time. It is
// not safe for concurrent use.
type dueTimes struct {
	p    vegeta.Pacer
	list []time.Duration
	done bool
}

// at returns when hit n was due (the last known due time past the schedule's end).
func (d *dueTimes) at(n uint64) time.Duration {
	for !d.done && uint64(len(d.list)) <= n {
		var last time.Duration
		if k := len(d.list); k > 0 {
			last = d.list[k-1]
		}
		wait, stop := d.p.Pace(last, uint64(len(d.list)))
		if stop {
			d.done = true
			break
		}
		d.list = append(d.list, last+wait)
	}
	if n < uint64(len(d.list)) {
		return d.list[n]
	}
	if k := len(d.list); k > 0 {
		return d.list[k-1]
	}
	return 0
}
