// Package loadgen schedules journeys on an open model: starts follow a vegeta Pacer
// whatever the stacks' response times, the intended start of every journey is kept,
// and what the generator could not start on time is counted, never hidden. It also
// holds the load shapes (profiles), the journey mix, the persona pool, raw attacks
// on stateless endpoints and the safety rails: the host guard and the abort rules.
//
// It imports results/record (the records and accounting it produces) and
// internal/splitmix only: never journeys, personas, the analysis or run/.
package loadgen

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/cutover-dev/cutover/results/record"
)

// Plan is a load schedule.
type Plan struct {
	Pacer    vegeta.Pacer
	Duration time.Duration
	// MaxInFlight caps the journeys running at once (default 1000).
	MaxInFlight int
	// MaxDelay is how long a start due while MaxInFlight journeys run may wait for
	// one of them to finish; it then starts late, or is dropped once MaxDelay has
	// passed. 0 drops it at once, as k6 does.
	MaxDelay time.Duration
	// LateAfter: a journey starting more than this after its intended start is late
	// (default 25ms).
	LateAfter time.Duration
	// Window is the accounting window for saturation; default 1s.
	Window time.Duration
	// Drain bounds how long journeys in flight may finish after the schedule ends or
	// ctx is cancelled; then their context is cancelled.
	Drain time.Duration
	// Live, if set, is kept up to date during the run, for progress displays.
	Live *Live
	// Segment, if set, runs only the segment's starts of the schedule, each with its
	// global number and intended time; the others are neither started nor counted.
	Segment Segment
	// Shortfalls, if set, is where the pool shortfalls are accounted, so that the
	// Job can report the journeys that ended (Shortfalls.Ended).
	Shortfalls *Shortfalls
	// Hurry, once closed, ends the drain at once: the journeys in flight are
	// cancelled (a second interrupt).
	Hurry <-chan struct{}
}

// Live holds a run's counters as it goes. Run writes them; anyone may read them at
// any time.
type Live struct {
	Scheduled, Started, Late, Dropped, InFlight atomic.Int64
	// Shortfall counts the starts no idle persona could serve.
	Shortfall atomic.Int64
}

// Tick is one scheduled start.
type Tick struct {
	N uint64
	// Intended is when the start was due; Offset is the same instant as time since
	// the start of the run.
	Intended time.Time
	Offset   time.Duration
}

// Job runs one scheduled journey. It returns nil once the journey ran, or a
// *NoIdlePersona when every persona that could run it was busy: a start the
// population, not the generator, could not serve (a pool shortfall). It must
// return promptly once ctx is done. Jobs run concurrently.
type Job func(ctx context.Context, t Tick) error

// NoIdlePersona is a start that found every persona of its journey's kinds busy
// with an earlier journey.
type NoIdlePersona struct {
	Journey string
	Kinds   []string
	// Pool is how many personas of those kinds there are.
	Pool int
}

func (e *NoIdlePersona) Error() string {
	return fmt.Sprintf("journey %s: all %d personas of kinds %s are busy", e.Journey, e.Pool, strings.Join(e.Kinds, ", "))
}

// Shortfalls accounts the pool shortfalls of a run, per journey: the starts
// dropped, and how many more personas would have been busy at once at the
// worst moment. A dropped start is counted as if it had run for as long as the
// journey's runs take on average (Little's law, one start at a time), so the
// estimate is the peak of those virtual runs overlapping. Run counts the drops
// its Job reports; the Job reports the runs that ended (Ended). It is safe for
// concurrent use.
type Shortfalls struct {
	mu sync.Mutex
	by map[string]*shortfall
}

type shortfall struct {
	s record.Shortfall
	// ran and took are the runs that ended and their total time; virtual holds
	// the end times of the dropped starts' virtual runs still going.
	ran     int64
	took    time.Duration
	virtual []time.Time
}

func (sf *Shortfalls) get(journey string) *shortfall {
	if sf.by == nil {
		sf.by = map[string]*shortfall{}
	}
	x := sf.by[journey]
	if x == nil {
		x = &shortfall{s: record.Shortfall{Journey: journey}}
		sf.by[journey] = x
	}
	return x
}

func (sf *Shortfalls) drop(e *NoIdlePersona) {
	sf.mu.Lock()
	defer sf.mu.Unlock()
	x := sf.get(e.Journey)
	x.s.Kinds, x.s.Pool = e.Kinds, e.Pool
	x.s.Dropped++
	now := time.Now()
	x.virtual = slices.DeleteFunc(x.virtual, func(end time.Time) bool { return !end.After(now) })
	var mean time.Duration
	if x.ran > 0 {
		mean = x.took / time.Duration(x.ran)
	}
	x.virtual = append(x.virtual, now.Add(mean))
	x.s.More = max(x.s.More, len(x.virtual))
}

// Ended notes that a run of journey ended after took: one persona that could
// run it is free again, and the journey's mean duration is known better.
func (sf *Shortfalls) Ended(journey string, took time.Duration) {
	if sf == nil {
		return
	}
	sf.mu.Lock()
	defer sf.mu.Unlock()
	x := sf.get(journey)
	x.ran++
	x.took += took
}

func (sf *Shortfalls) list() []record.Shortfall {
	sf.mu.Lock()
	defer sf.mu.Unlock()
	out := make([]record.Shortfall, 0, len(sf.by))
	for _, x := range sf.by {
		if x.s.Dropped > 0 {
			out = append(out, x.s)
		}
	}
	slices.SortFunc(out, func(a, b record.Shortfall) int { return strings.Compare(a.Journey, b.Journey) })
	return out
}

// window accounts one span of the schedule.
type window struct{ scheduled, late, dropped atomic.Int64 }

// Schedule calls each with the number and intended offset of every start p makes
// within d (d <= 0: until p stops), in order, until each returns false. It walks
// the schedule exactly as Run does, without waiting: `cutover plan` and tests use it.
func Schedule(p vegeta.Pacer, d time.Duration, each func(n uint64, at time.Duration) bool) {
	var due time.Duration
	for n := uint64(0); ; n++ {
		wait, stop := p.Pace(due, n)
		if stop {
			return
		}
		due += wait
		if d > 0 && due >= d || !each(n, due) {
			return
		}
	}
}

// Run starts jobs on plan's schedule until the duration elapses, the pacer stops or
// ctx is done, then waits for the jobs in flight (at most plan.Drain) and returns
// what it did.
func Run(ctx context.Context, plan Plan, job Job) record.Accounting {
	if plan.Window <= 0 {
		plan.Window = time.Second
	}
	if plan.LateAfter <= 0 {
		plan.LateAfter = 25 * time.Millisecond
	}
	if plan.MaxInFlight <= 0 {
		plan.MaxInFlight = 1000
	}
	live := plan.Live
	if live == nil {
		live = new(Live)
	}
	nwin := int(plan.Duration/plan.Window) + 1
	wins := make([]window, nwin)
	winOf := func(elapsed time.Duration) *window { return &wins[min(int(elapsed/plan.Window), nwin-1)] }

	jobCtx, cancelJobs := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelJobs()
	var (
		wg    sync.WaitGroup
		sem   = make(chan struct{}, plan.MaxInFlight)
		short = plan.Shortfalls
	)
	if short == nil {
		short = new(Shortfalls)
	}
	drop := func(w *window) {
		w.dropped.Add(1)
		live.Dropped.Add(1)
	}
	begin := time.Now()
	timer := time.NewTimer(0)
	<-timer.C
	// Subtleness ahead: vegeta pacers answer "how long until hit n is due, given
	// elapsed". Schedule asks at the previous due time (not now), which gives the
	// exact due time of hit n even when the generator runs late, so late starts
	// keep their intended time and their latency is measured from it.
	Schedule(plan.Pacer, plan.Duration, func(n uint64, due time.Duration) bool {
		if !plan.Segment.Has(n) {
			return true
		}
		if d := due - time.Since(begin); d > 0 {
			timer.Reset(d)
			select {
			case <-ctx.Done():
				timer.Stop()
				return false
			case <-timer.C:
			}
		} else if ctx.Err() != nil {
			return false
		}
		w := winOf(due)
		w.scheduled.Add(1)
		live.Scheduled.Add(1)
		t := Tick{N: n, Intended: begin.Add(due), Offset: due}
		if !acquire(ctx, sem, t.Intended.Add(plan.MaxDelay), timer) {
			drop(w)
			return ctx.Err() == nil
		}
		if time.Since(t.Intended) > plan.LateAfter {
			w.late.Add(1)
			live.Late.Add(1)
		}
		live.InFlight.Add(1)
		wg.Go(func() {
			defer func() {
				live.InFlight.Add(-1)
				<-sem
			}()
			err := job(jobCtx, t)
			var no *NoIdlePersona
			switch {
			case err == nil:
				live.Started.Add(1)
			case errors.As(err, &no):
				short.drop(no)
				live.Shortfall.Add(1)
			default:
				drop(w)
			}
		})
		return true
	})
	drainAndWait(&wg, plan.Drain, plan.Hurry, cancelJobs)
	acct := record.Accounting{
		Scheduled: live.Scheduled.Load(), Started: live.Started.Load(),
		Late: live.Late.Load(), Dropped: live.Dropped.Load(), Shortfall: short.list(),
	}
	for i := range wins {
		w := &wins[i]
		s, l, d := w.scheduled.Load(), w.late.Load(), w.dropped.Load()
		if d > 0 || s > 0 && float64(l)/float64(s) > 0.05 {
			acct.Saturated = appendWindow(acct.Saturated, time.Duration(i)*plan.Window, time.Duration(i+1)*plan.Window)
		}
	}
	return acct
}

// acquire takes a slot of sem, waiting until deadline at most (with timer, which
// is stopped and drained on entry and left so on return).
func acquire(ctx context.Context, sem chan struct{}, deadline time.Time, timer *time.Timer) bool {
	select {
	case sem <- struct{}{}:
		return true
	default:
	}
	wait := time.Until(deadline)
	if wait <= 0 {
		return false
	}
	timer.Reset(wait)
	defer timer.Stop()
	select {
	case sem <- struct{}{}:
		return true
	case <-timer.C:
		return false
	case <-ctx.Done():
		return false
	}
}

// drainAndWait waits for the jobs in flight; after drain (if > 0), or once
// hurry is closed, it cancels them and keeps waiting, so no job outlives Run.
func drainAndWait(wg *sync.WaitGroup, drain time.Duration, hurry <-chan struct{}, cancel context.CancelFunc) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	var expired <-chan time.Time
	if drain > 0 {
		t := time.NewTimer(drain)
		defer t.Stop()
		expired = t.C
	}
	select {
	case <-done:
		return
	case <-expired:
	case <-hurry:
	}
	cancel()
	<-done
}

// appendWindow merges adjacent windows.
func appendWindow(ws []record.Window, from, to time.Duration) []record.Window {
	if n := len(ws); n > 0 && ws[n-1].To == from {
		ws[n-1].To = to
		return ws
	}
	return append(ws, record.Window{From: from, To: to})
}
