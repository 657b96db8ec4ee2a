package journeys_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cutover-dev/cutover/results/record"
)

// recorder collects the records of journeys.
type recorder struct {
	mu   sync.Mutex
	recs []*record.Record
}

func (r *recorder) emit(rec *record.Record) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recs = append(r.recs, rec)
}

// find returns the records of step (and target, when not "*") on side.
func (r *recorder) find(side record.Side, step, target string) []*record.Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*record.Record
	for _, rec := range r.recs {
		if rec.Side == side && rec.Step == step && (target == "*" || rec.Target == target) {
			out = append(out, rec)
		}
	}
	return out
}

// one returns the single record of step and target, failing the test otherwise.
func (r *recorder) one(t *testing.T, side record.Side, step, target string) *record.Record {
	t.Helper()
	recs := r.find(side, step, target)
	if len(recs) != 1 {
		t.Fatalf("%s %s %q: %d records; want 1\n%s", side, step, target, len(recs), r.dump())
	}
	return recs[0]
}

func (r *recorder) dump() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := ""
	for _, rec := range r.recs {
		out += string(rec.Side) + " " + rec.Step + " " + rec.Target + " " + string(rec.Outcome) + " " + rec.Facts.Decision + " " + rec.Error + " " + strings.Join(rec.Endpoints, ", ") + "\n"
	}
	return out
}

// wantDecision checks a record's outcome and decision.
func wantDecision(t *testing.T, rec *record.Record, outcome record.Outcome, decision string) {
	t.Helper()
	if rec.Outcome != outcome || rec.Facts.Decision != decision {
		t.Errorf("%s %s %q: outcome %s, decision %q (%s); want %s, %q", rec.Side, rec.Step, rec.Target, rec.Outcome, rec.Facts.Decision, rec.Error, outcome, decision)
	}
}

// testClock is a clock that waits advance at once: the wall clock plus an offset.
type testClock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *testClock) Wait(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.off += d
	c.mu.Unlock()
	return ctx.Err()
}

func sorted(xs []string) []string {
	out := slices.Clone(xs)
	slices.Sort(out)
	return out
}
