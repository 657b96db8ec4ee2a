package rehearsal

import (
	"time"

	"github.com/cutover-dev/cutover/results/analysis"
	"github.com/cutover-dev/cutover/results/record"
)

// pipeline funnels records from every journey through one goroutine that marks
// the steps measured while the generator was unhealthy, writes them, feeds the
// analysis and then tap (progress, abort rules), so none of them needs a lock
// and no record is lost when the run stops early.
type pipeline struct {
	ch   chan *record.Record
	done chan error
}

// recordWriter writes and redacts a run's records: the results folder's records
// file (results.RecordsWriter), or a record.Writer on nothing in benchmarks.
type recordWriter interface {
	Write(*record.Record) error
	Close() error
}

// healthWatch is the generator's health monitor as the pipeline reads it
// (loadgen.Health): whether a span ran on a healthy generator, once the monitor
// has sampled past it.
type healthWatch interface {
	Through() time.Time
	Healthy(from, to time.Time) (bool, string)
}

// healthPoll is how often records waiting for the monitor are looked at when
// no new record comes: two health intervals, so a record waits at most a
// fifth of a second more for the live view, and an idle run wakes 5 times a
// second for it, not 20.
const healthPoll = 200 * time.Millisecond

func newPipeline(rw recordWriter, a *analysis.Analysis, health healthWatch, tap func(*record.Record)) *pipeline {
	p := &pipeline{ch: make(chan *record.Record, 4096), done: make(chan error, 1)}
	go func() {
		var err error
		out := func(r *record.Record) {
			// Write redacts r in place, even after a write error, so the analysis
			// never sees what the records file would not hold.
			if werr := rw.Write(r); err == nil {
				err = werr
			}
			a.Add(r)
			if tap != nil {
				tap(r)
			}
		}
		// Subtleness ahead: whether a step ran on a healthy generator is known
		// only once the monitor has sampled past its end, a fraction of a second
		// later; records wait in order until then (at most a poll and an
		// interval), and all of them go out, judged as far as the monitor got,
		// when the run closes the pipeline.
		var waiting []*record.Record
		release := func(all bool) {
			if health == nil {
				for _, r := range waiting {
					out(r)
				}
				waiting = waiting[:0]
				return
			}
			through := health.Through()
			n := 0
			for _, r := range waiting {
				end := r.Start.Add(r.Latency)
				if !all && end.After(through) {
					break
				}
				if ok, _ := health.Healthy(r.Start, end); !ok {
					r.Unhealthy = true
				}
				out(r)
				n++
			}
			waiting = append(waiting[:0], waiting[n:]...)
		}
		tick := time.NewTicker(healthPoll)
		defer tick.Stop()
		for {
			select {
			case r, ok := <-p.ch:
				if !ok {
					release(true)
					if cerr := rw.Close(); err == nil {
						err = cerr
					}
					p.done <- err
					return
				}
				waiting = append(waiting, r)
				release(false)
			case <-tick.C:
				release(false)
			}
		}
	}()
	return p
}

func (p *pipeline) emit(r *record.Record) { p.ch <- r }

// close waits for every record to be written and returns the first write error.
func (p *pipeline) close() error {
	close(p.ch)
	return <-p.done
}
