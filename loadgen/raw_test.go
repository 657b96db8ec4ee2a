package loadgen

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/cutover-dev/cutover/results/record"
)

// stack is an httptest server that counts what it answers, with a status.
type stack struct {
	*httptest.Server
	hits atomic.Int64
}

func newStack(t *testing.T, status int, delay time.Duration) *stack {
	st := &stack{}
	st.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(delay)
		st.hits.Add(1)
		w.WriteHeader(status)
		w.Write([]byte(`{"keys":[]}`))
	}))
	t.Cleanup(st.Close)
	return st
}

func get(url string) RawTarget {
	return func(n uint64, t *vegeta.Target) error {
		t.Method, t.URL = http.MethodGet, url
		return nil
	}
}

// collect gathers emitted records, safely.
type collect struct {
	mu   sync.Mutex
	recs []*record.Record
}

func (c *collect) emit(r *record.Record) { c.mu.Lock(); c.recs = append(c.recs, r); c.mu.Unlock() }

func (c *collect) of(side record.Side) []*record.Record {
	var out []*record.Record
	for _, r := range c.recs {
		if r.Side == side {
			out = append(out, r)
		}
	}
	return out
}

func TestAttackHitsBothStacksFromOneSchedule(t *testing.T) {
	legacy, candidate := newStack(t, http.StatusOK, 0), newStack(t, http.StatusServiceUnavailable, 0)
	g := NewGuard([]string{"127.0.0.1"}, &http.Transport{})
	defer g.CloseIdleConnections()
	var c collect
	Attack(context.Background(), Raw{
		Endpoint: "jwks", Pacer: Constant{PerSecond: 50}, Duration: 500 * time.Millisecond,
		Targets: map[record.Side]RawTarget{record.Legacy: get(legacy.URL + "/jwks"), record.Candidate: get(candidate.URL + "/jwks/kid-00042?v=1")},
		Client:  &http.Client{Transport: g, Timeout: 5 * time.Second},
	}, c.emit)
	leg, cand := c.of(record.Legacy), c.of(record.Candidate)
	if int64(len(leg)) != legacy.hits.Load() || int64(len(cand)) != candidate.hits.Load() || len(leg) < 20 {
		t.Fatalf("%d legacy and %d candidate records for %d and %d requests; want one per request, about 25 each",
			len(leg), len(cand), legacy.hits.Load(), candidate.hits.Load())
	}
	intended := map[uint64]time.Time{}
	for _, r := range leg {
		if r.Journey != RawJourney || r.Step != "jwks" || r.Outcome != record.OK || r.Facts.Status != 200 || r.Latency <= 0 {
			t.Errorf("legacy record %+v; want raw/jwks, ok, HTTP 200, a latency", r)
		}
		if want := []string{"GET /jwks"}; !slices.Equal(r.Endpoints, want) {
			t.Errorf("legacy record endpoints %q; want %q", r.Endpoints, want)
		}
		intended[r.Iteration] = r.Intended
	}
	for _, r := range cand {
		if r.Outcome != record.Error || r.Error != "HTTP 503" {
			t.Errorf("candidate record %+v; want an error, HTTP 503", r)
		}
		if want := []string{"GET /jwks/{id}"}; !slices.Equal(r.Endpoints, want) {
			t.Errorf("candidate record endpoints %q; want %q", r.Endpoints, want)
		}
		// The same schedule: hit n is due at the same offset on both sides (the two
		// attacks begin microseconds apart).
		if l, ok := intended[r.Iteration]; ok {
			if d := r.Intended.Sub(l); d < -5*time.Millisecond || d > 5*time.Millisecond {
				t.Errorf("hit %d due %s apart on the two sides", r.Iteration, d)
			}
		}
	}
}

// TestAttackStopsOnCancelAndKeepsEveryResult: cancelling ctx stops both attacks
// long before their duration; every request the stacks answered has its record.
func TestAttackStopsOnCancelAndKeepsEveryResult(t *testing.T) {
	legacy, candidate := newStack(t, http.StatusOK, 30*time.Millisecond), newStack(t, http.StatusOK, 30*time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	var c collect
	done := make(chan struct{})
	go func() {
		defer close(done)
		Attack(ctx, Raw{
			Endpoint: "discovery", Pacer: Constant{PerSecond: 100}, Duration: time.Hour,
			Targets: map[record.Side]RawTarget{record.Legacy: get(legacy.URL), record.Candidate: get(candidate.URL)},
			Client:  &http.Client{Timeout: 5 * time.Second},
		}, c.emit)
	}()
	for legacy.hits.Load() < 10 {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Attack still running 30s after its context was cancelled")
	}
	if int64(len(c.of(record.Legacy))) != legacy.hits.Load() || int64(len(c.of(record.Candidate))) != candidate.hits.Load() {
		t.Errorf("%d/%d records for %d/%d answered requests; want every one recorded",
			len(c.of(record.Legacy)), len(c.of(record.Candidate)), legacy.hits.Load(), candidate.hits.Load())
	}
}

// TestAttackRefusedHostIsAnErrorWithoutTheURL: the guard refuses, the record says
// so without carrying the URL.
func TestAttackRefusedHostIsAnErrorWithoutTheURL(t *testing.T) {
	var c collect
	g := NewGuard([]string{"127.0.0.1"}, &http.Transport{})
	Attack(context.Background(), Raw{
		Endpoint: "token", Pacer: Constant{PerSecond: 20}, Duration: 200 * time.Millisecond,
		Targets: map[record.Side]RawTarget{record.Candidate: get("http://localhost:1/token?client_secret=hunter2")},
		Client:  &http.Client{Transport: g},
	}, c.emit)
	if len(c.recs) == 0 {
		t.Fatal("no records")
	}
	for _, r := range c.recs {
		if r.Outcome != record.Error || !strings.Contains(r.Error, "not in stacks.allow_hosts") || strings.Contains(r.Error, "hunter2") {
			t.Errorf("record error %q; want the refusal, without the URL", r.Error)
		}
	}
}

func TestDueTimes(t *testing.T) {
	d := &dueTimes{p: Stages{Start: 10, Stages: []Stage{{time.Second, 10}}}}
	for _, tt := range []struct {
		n    uint64
		want time.Duration
	}{{0, 100 * ms}, {4, 500 * ms}, {9, s}, {50, s}} {
		if got := d.at(tt.n); got != tt.want {
			t.Errorf("at(%d) = %s; want %s", tt.n, got, tt.want)
		}
	}
}
