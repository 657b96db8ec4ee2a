package rehearsal

import (
	"github.com/cutover-dev/cutover/results/analysis"
	"github.com/cutover-dev/cutover/results/record"
)

// pipeline funnels records from every journey through one goroutine that writes
// them, feeds the analysis and then tap (progress, abort rules), so none of them
// needs a lock and no record is lost when the run stops early.
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

func newPipeline(rw recordWriter, a *analysis.Analysis, tap func(*record.Record)) *pipeline {
	p := &pipeline{ch: make(chan *record.Record, 4096), done: make(chan error, 1)}
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

func (p *pipeline) emit(r *record.Record) { p.ch <- r }

// close waits for every record to be written and returns the first write error.
func (p *pipeline) close() error {
	close(p.ch)
	return <-p.done
}
