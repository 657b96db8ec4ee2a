package results

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/cutover-dev/cutover/results/analysis"
	"github.com/cutover-dev/cutover/results/record"
)

// ErrMergeMismatch is returned by Merge when the folders are not the segments of
// one distributed run: different configs or seeds, missing or repeated segments.
var ErrMergeMismatch = errors.New("not the segments of one run")

// segmentOf parses a summary's "I/N".
func segmentOf(m analysis.Meta) (i, n int, ok bool) {
	if _, err := fmt.Sscanf(m.Segment, "%d/%d", &i, &n); err != nil || n < 1 || i < 0 || i >= n {
		return 0, 0, false
	}
	return i, n, true
}

// Merge combines the results folders of the n segments of one distributed run
// (`cutover run --segment I/N`) into out, as if one machine had run them all: the
// records are concatenated and analysed again, so every finding is recomputed over
// the whole, the generator accounting is summed (saturated windows, on the merged
// run's clock, unioned), and out gets the same files as a single run's folder. The
// segments' HDR histograms, merged, must count what the records do, or records
// were lost. It refuses folders of different configs or seeds, and an incomplete
// or repeated set of segments, with ErrMergeMismatch. warn receives notes (nil:
// none).
func Merge(out string, dirs []string, warn io.Writer) (*analysis.Summary, error) {
	if warn == nil {
		warn = io.Discard
	}
	sums, err := readSegments(dirs)
	if err != nil {
		return nil, err
	}
	meta, acct := mergeMeta(dirs, sums), record.Accounting{}
	for _, s := range sums {
		acct.Scheduled += s.Generator.Scheduled
		acct.Started += s.Generator.Started
		acct.Late += s.Generator.Late
		acct.Dropped += s.Generator.Dropped
		shift := s.Meta.Start.Sub(meta.Start)
		for _, w := range s.Generator.Saturated {
			acct.Saturated = append(acct.Saturated, record.Window{From: w.From + shift, To: w.To + shift})
		}
	}
	acct.Saturated = unionWindows(acct.Saturated)

	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, fmt.Errorf("merge: %w", err)
	}
	a := analysis.New(sums[0].Options, meta.Start)
	if err := mergePersonas(out, dirs, a, warn); err != nil {
		return nil, err
	}
	if err := concatRecords(out, dirs, a); err != nil {
		return nil, err
	}
	if err := checkHistograms(dirs, a.Stats()); err != nil {
		// The records are what the findings come from; say what does not add up.
		fmt.Fprintf(warn, "cutover: merge: %v\n", err)
	}
	sum := a.Summary(meta, acct)
	return &sum, Write(out, &sum, a.Stats())
}

// mergePersonas unions the segments' persona tables into out and gives them to
// a; a segment without one is noted (its causes group by the records' kind and
// cohort alone).
func mergePersonas(out string, dirs []string, a *analysis.Analysis, warn io.Writer) error {
	var tables []*record.PersonaTable
	for _, d := range dirs {
		t, err := ReadPersonas(d)
		if errors.Is(err, os.ErrNotExist) {
			fmt.Fprintf(warn, "cutover: merge: %s has no %s\n", d, PersonasFile)
			continue
		}
		if err != nil {
			return fmt.Errorf("merge: %w", err)
		}
		tables = append(tables, t)
	}
	if len(tables) == 0 {
		return nil
	}
	t := record.MergePersonas(tables...)
	a.SetPersonas(&t)
	return WritePersonas(out, t)
}

// readSegments reads the summaries and checks that they are all the segments of
// one run, each once.
func readSegments(dirs []string) ([]*analysis.Summary, error) {
	if len(dirs) == 0 {
		return nil, fmt.Errorf("merge: no results folder")
	}
	sums := make([]*analysis.Summary, len(dirs))
	var errs []error
	for k, d := range dirs {
		s, err := ReadSummary(d)
		if err != nil {
			return nil, fmt.Errorf("merge: %w", err)
		}
		sums[k] = s
	}
	first := sums[0].Meta
	_, n, ok := segmentOf(first)
	if !ok {
		return nil, fmt.Errorf("merge: %s is no segment of a distributed run (run with --segment I/N): %w", dirs[0], ErrMergeMismatch)
	}
	seen := make([]string, n)
	for k, s := range sums {
		m := s.Meta
		switch {
		case m.Name != first.Name || m.ConfigHash != first.ConfigHash:
			errs = append(errs, fmt.Errorf("%s ran %s (config %s), %s ran %s (config %s)", dirs[k], m.Name, m.ConfigHash, dirs[0], first.Name, first.ConfigHash))
		case m.Seed != first.Seed:
			errs = append(errs, fmt.Errorf("%s ran seed %d, %s seed %d", dirs[k], m.Seed, dirs[0], first.Seed))
		}
		i, ni, ok := segmentOf(m)
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("%s is no segment of a distributed run (segment %q)", dirs[k], m.Segment))
		case ni != n:
			errs = append(errs, fmt.Errorf("%s is segment %s, %s segment %s: different segment counts", dirs[k], m.Segment, dirs[0], first.Segment))
		case seen[i] != "":
			errs = append(errs, fmt.Errorf("segment %s twice: %s and %s", m.Segment, seen[i], dirs[k]))
		default:
			seen[i] = dirs[k]
		}
	}
	if len(errs) == 0 {
		for i, d := range seen {
			if d == "" {
				errs = append(errs, fmt.Errorf("segment %d/%d is missing", i, n))
			}
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("merge: %w: %w", ErrMergeMismatch, errors.Join(errs...))
	}
	return sums, nil
}

// mergeMeta describes the whole run: from the first segment's start to the last
// one's end; aborted if any segment was.
func mergeMeta(dirs []string, sums []*analysis.Summary) analysis.Meta {
	m := sums[0].Meta
	m.Segment, m.Merged, m.Aborted = "", slices.Clone(dirs), ""
	end := m.Start.Add(m.Duration)
	var aborted []string
	for _, s := range sums {
		if s.Meta.Start.Before(m.Start) {
			m.Start = s.Meta.Start
		}
		if e := s.Meta.Start.Add(s.Meta.Duration); e.After(end) {
			end = e
		}
		if s.Meta.Aborted != "" {
			aborted = append(aborted, fmt.Sprintf("segment %s: %s", s.Meta.Segment, s.Meta.Aborted))
		}
	}
	m.Duration, m.Aborted = end.Sub(m.Start), strings.Join(aborted, "; ")
	return m
}

// unionWindows sorts ws and merges those that overlap or touch.
func unionWindows(ws []record.Window) []record.Window {
	slices.SortFunc(ws, func(a, b record.Window) int { return int(a.From - b.From) })
	var out []record.Window
	for _, w := range ws {
		if n := len(out); n > 0 && w.From <= out[n-1].To {
			out[n-1].To = max(out[n-1].To, w.To)
			continue
		}
		out = append(out, w)
	}
	return out
}

// concatRecords writes every segment's records into out's records file (gzipped
// when the first segment's were) and feeds them to a. Evidence files the records
// name are copied along.
func concatRecords(out string, dirs []string, a *analysis.Analysis) error {
	first, err := RecordsPath(dirs[0])
	if err != nil {
		return fmt.Errorf("merge: %w", err)
	}
	w, err := CreateRecords(out, strings.HasSuffix(first, ".gz"))
	if err != nil {
		return fmt.Errorf("merge: %w", err)
	}
	for _, d := range dirs {
		err := ReadRecords(d, func(r *record.Record) error {
			a.Add(r)
			for _, e := range r.Evidence {
				if err := copyFile(filepath.Join(d, e), filepath.Join(out, e)); err != nil {
					return err
				}
			}
			return w.Write(r)
		})
		if err != nil {
			return errors.Join(fmt.Errorf("merge: %w", err), w.Close())
		}
	}
	return w.Close()
}

// copyFile copies src to dst, making dst's folder.
func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("evidence: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("evidence: %w", err)
	}
	return os.WriteFile(dst, b, 0o644)
}

// checkHistograms merges the segments' histograms and compares their counts with
// what the records gave.
func checkHistograms(dirs []string, fromRecords *analysis.Stats) error {
	merged := analysis.NewStats(time.Time{})
	for _, d := range dirs {
		h, err := ReadHistograms(d)
		if err != nil {
			return fmt.Errorf("histograms not checked: %w", err)
		}
		merged.Merge(h)
	}
	var errs []error
	count := func(st *analysis.Stats, k analysis.StepKey, side record.Side) int64 {
		if s := st.Side(k, side); s != nil {
			return s.Count
		}
		return 0
	}
	seen := map[analysis.StepKey]bool{}
	for _, k := range append(merged.Keys(), fromRecords.Keys()...) {
		if seen[k] {
			continue
		}
		seen[k] = true
		for _, side := range []record.Side{record.Legacy, record.Candidate} {
			if h, r := count(merged, k, side), count(fromRecords, k, side); h != r {
				errs = append(errs, fmt.Errorf("step %s on %s: the histograms count %d, the records %d", k, side, h, r))
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("segments' histograms and records disagree (a records file cut short?): %w", errors.Join(errs...))
	}
	return nil
}
