// Package loadgen schedules journeys on an open model: starts follow a vegeta Pacer
// whatever the stacks' response times, the intended start of every journey is kept,
// and what the generator could not start on time is counted, never hidden.
package loadgen

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/cutover-dev/cutover/results"
)

// Plan is a load schedule.
type Plan struct {
	Pacer    vegeta.Pacer
	Duration time.Duration
	// MaxInFlight caps the journeys running at once; a start due while the cap is
	// reached is dropped and counted.
	MaxInFlight int
	// LateAfter: a journey starting more than this after its intended start is late.
	LateAfter time.Duration
	// Window is the accounting window for saturation; default 1s.
	Window time.Duration
	// Drain bounds how long journeys in flight may finish after the schedule ends or
	// ctx is cancelled; then their context is cancelled.
	Drain time.Duration
}

// Tick is one scheduled start.
type Tick struct {
	N        uint64
	Intended time.Time
}

// Job runs one scheduled journey. It returns false when it could not start (no
// idle persona), which counts as dropped. It must return promptly once ctx is done.
// Jobs run concurrently.
type Job func(ctx context.Context, t Tick) bool

// window accounts one span of the schedule.
type window struct{ scheduled, late, dropped atomic.Int64 }

// Run starts jobs on plan's schedule until the duration elapses, the pacer stops or
// ctx is done, then waits for the jobs in flight (at most plan.Drain) and returns
// what it did.
func Run(ctx context.Context, plan Plan, job Job) results.Accounting {
	if plan.Window <= 0 {
		plan.Window = time.Second
	}
	if plan.LateAfter <= 0 {
		plan.LateAfter = 25 * time.Millisecond
	}
	if plan.MaxInFlight <= 0 {
		plan.MaxInFlight = 1000
	}
	nwin := int(plan.Duration/plan.Window) + 1
	wins := make([]window, nwin)
	winOf := func(elapsed time.Duration) *window { return &wins[min(int(elapsed/plan.Window), nwin-1)] }

	jobCtx, cancelJobs := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelJobs()
	var (
		acct    results.Accounting
		started atomic.Int64
		dropped atomic.Int64
		wg      sync.WaitGroup
		sem     = make(chan struct{}, plan.MaxInFlight)
	)
	begin := time.Now()
	var due time.Duration // intended offset of the next start
	timer := time.NewTimer(0)
	<-timer.C
loop:
	for hits := uint64(0); ; hits++ {
		// Subtleness ahead: vegeta pacers answer "how long until hit n is due, given
		// elapsed". Asking at the previous due time (not now) gives the exact due
		// time of hit n even when the generator runs late, so late starts keep their
		// intended time and their latency is measured from it.
		wait, stop := plan.Pacer.Pace(due, hits)
		if stop {
			break
		}
		due += wait
		if plan.Duration > 0 && due >= plan.Duration {
			break
		}
		if d := due - time.Since(begin); d > 0 {
			timer.Reset(d)
			select {
			case <-ctx.Done():
				timer.Stop()
				break loop
			case <-timer.C:
			}
		} else if ctx.Err() != nil {
			break
		}
		w := winOf(due)
		w.scheduled.Add(1)
		acct.Scheduled++
		t := Tick{N: hits, Intended: begin.Add(due)}
		select {
		case sem <- struct{}{}:
		default:
			w.dropped.Add(1)
			dropped.Add(1)
			continue
		}
		if time.Since(t.Intended) > plan.LateAfter {
			w.late.Add(1)
			acct.Late++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if job(jobCtx, t) {
				started.Add(1)
			} else {
				w.dropped.Add(1)
				dropped.Add(1)
			}
		}()
	}
	drainAndWait(&wg, plan.Drain, cancelJobs)
	acct.Started, acct.Dropped = started.Load(), dropped.Load()
	for i := range wins {
		w := &wins[i]
		s, l, d := w.scheduled.Load(), w.late.Load(), w.dropped.Load()
		if d > 0 || s > 0 && float64(l)/float64(s) > 0.05 {
			acct.Saturated = appendWindow(acct.Saturated, time.Duration(i)*plan.Window, time.Duration(i+1)*plan.Window)
		}
	}
	return acct
}

// drainAndWait waits for the jobs in flight; after drain (if > 0) it cancels them
// and keeps waiting, so no job outlives Run.
func drainAndWait(wg *sync.WaitGroup, drain time.Duration, cancel context.CancelFunc) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	if drain > 0 {
		t := time.NewTimer(drain)
		defer t.Stop()
		select {
		case <-done:
			return
		case <-t.C:
			cancel()
		}
	}
	<-done
}

// appendWindow merges adjacent windows.
func appendWindow(ws []results.Window, from, to time.Duration) []results.Window {
	if n := len(ws); n > 0 && ws[n-1].To == from {
		ws[n-1].To = to
		return ws
	}
	return append(ws, results.Window{From: from, To: to})
}
