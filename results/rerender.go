package results

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/cutover-dev/cutover/results/analysis"
	"github.com/cutover-dev/cutover/results/record"
)

// ErrNoSummary is returned by Rerender for a folder without summary.json when
// no options to judge it with are given.
var ErrNoSummary = errors.New("no " + SummaryFile)

// RerenderOptions say how Rerender judges a run again.
type RerenderOptions struct {
	// Options, when set, judge the run instead of the options its summary.json
	// was judged with (`cutover report --config`). A folder without
	// summary.json needs them.
	Options *analysis.Options
	// Meta describes the run when its folder has no summary.json (Rerender
	// fills in its start and duration from the records and says why it is
	// incomplete); with one, the summary's meta is kept.
	Meta analysis.Meta
	// CohortBy, when set, cuts the cohort table by this persona attribute.
	CohortBy string
	// Warn receives notes on what the folder lacks (nil: none).
	Warn io.Writer
	// Out is the folder the summary and reports are written to: dir itself
	// when it is dir (`report --in-place`), another folder otherwise; ""
	// writes nothing.
	Out string
}

// Rerendered is a run judged again by Rerender.
type Rerendered struct {
	Summary analysis.Summary
	// CutShort is the error that stopped the reading of the records (a run cut
	// short leaves a truncated last line): the summary covers the records read
	// before it. Nil when every record was read.
	CutShort error
}

// Rerender judges the run of results folder dir again from its records, persona
// table and summary.json, as `cutover report` does: the comparison and the
// statistics run afresh, with the options summary.json saved (or
// opt.Options), and the summary, histograms and reports are rewritten (Write);
// the records and the persona table are left as they are.
//
// It returns nil and the error when there is nothing to judge: no records, an
// unreadable summary.json or persona table, or neither summary.json nor
// options (ErrNoSummary). It returns the run and an error when the files could
// not all be written.
func Rerender(dir string, opt RerenderOptions) (*Rerendered, error) {
	if opt.Warn == nil {
		opt.Warn = io.Discard
	}
	recPath, err := RecordsPath(dir)
	if err != nil {
		return nil, err
	}
	prev, err := ReadSummary(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	var judge analysis.Options
	meta, acct := opt.Meta, record.Accounting{}
	switch {
	case opt.Options != nil:
		judge = *opt.Options
		if prev != nil {
			meta, acct = prev.Meta, prev.Generator
		}
	case prev != nil:
		judge, meta, acct = prev.Options, prev.Meta, prev.Generator
	default:
		return nil, fmt.Errorf("%s: %w", dir, ErrNoSummary)
	}
	saved := judge.Causes.CohortBy
	if opt.CohortBy != "" {
		judge.Causes.CohortBy = opt.CohortBy
	}
	a := analysis.New(judge, meta.Start)
	table, err := ReadPersonas(dir)
	switch {
	case err == nil:
		if opt.CohortBy != "" {
			if err := hasAttribute(table, opt.CohortBy); err != nil {
				return nil, err
			}
		}
		a.SetPersonas(table)
	case errors.Is(err, os.ErrNotExist):
		fmt.Fprintf(opt.Warn, "cutover: report: no %s in %s: causes group by the kind and cohort records carry, cohorts list only those that ran\n", PersonasFile, dir)
	default:
		return nil, err
	}
	var first, last time.Time
	rerr := record.ReadRecordsFile(recPath, func(r *record.Record) error {
		a.Add(r)
		if first.IsZero() || r.Start.Before(first) {
			first = r.Start
		}
		if end := r.Start.Add(r.Latency); end.After(last) {
			last = end
		}
		return nil
	})
	if rerr != nil {
		// Render what was read: a run cut short leaves a truncated last line.
		fmt.Fprintf(opt.Warn, "cutover: report: %v; rendering the records read before it\n", rerr)
	}
	if prev == nil {
		meta.Start, meta.Duration = first.UTC(), last.Sub(first)
		meta.Aborted = "no summary.json: the run did not finish, generator accounting is unknown"
	}
	run := &Rerendered{Summary: a.Summary(meta, acct), CutShort: rerr}
	if prev != nil {
		// The notices of the run's setup (the directories' parity check before
		// any load) come from no record: they are carried over.
		for _, n := range prev.Notices {
			if n.Class != analysis.GeneratorSaturated && !slices.Contains(run.Summary.Notices, n) {
				run.Summary.Notices = append(run.Summary.Notices, n)
			}
		}
	}
	// A cut asked for once is this rendering's, not the run's: a later plain
	// report cuts as the run did.
	run.Summary.Options.Causes.CohortBy = saved
	if opt.Out == "" {
		return run, nil
	}
	if opt.Out != dir {
		if err := os.MkdirAll(opt.Out, 0o755); err != nil {
			return nil, err
		}
	}
	return run, Write(opt.Out, &run.Summary, a.Stats())
}

// hasAttribute refuses a cohort cut by an attribute no persona of table has,
// naming those they have.
func hasAttribute(table *record.PersonaTable, name string) error {
	seen := map[string]bool{}
	for _, p := range table.Personas {
		for k := range p.Attrs {
			seen[k] = true
		}
	}
	if seen[name] || name == record.AttrCohort && seen[record.AttrWave] {
		return nil
	}
	return fmt.Errorf("--cohort-by %s: no persona of the run has it; the attributes are %s", name, strings.Join(slices.Sorted(maps.Keys(seen)), ", "))
}
