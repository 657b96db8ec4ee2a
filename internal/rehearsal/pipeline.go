package rehearsal

import (
	"github.com/cutover-dev/cutover/results"
)

// pipeline funnels records from every journey through one goroutine that writes
// them, feeds the analysis and then tap (progress, abort rules), so none of them
// needs a lock and no record is lost when the run stops early.
type pipeline struct {
	ch   chan *results.Record
	done chan error
}

func newPipeline(rw *results.Writer, a *results.Analysis, tap func(*results.Record)) *pipeline {
	p := &pipeline{ch: make(chan *results.Record, 4096), done: make(chan error, 1)}
	go func() {
		var err error
		for r := range p.ch {
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
		if cerr := rw.Close(); err == nil {
			err = cerr
		}
		p.done <- err
	}()
	return p
}

func (p *pipeline) emit(r *results.Record) { p.ch <- r }

// close waits for every record to be written and returns the first write error.
func (p *pipeline) close() error {
	close(p.ch)
	return <-p.done
}
