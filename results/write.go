package results

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/cutover-dev/cutover/results/analysis"
	"github.com/cutover-dev/cutover/results/record"
	"github.com/cutover-dev/cutover/results/report"
)

// Write writes the files of a judged run into dir: summary.json, histograms.json
// (from st, the statistics the summary was judged from) and every report. A run,
// a merge and `cutover report` all end here. Each file is attempted even when
// another fails.
func Write(dir string, sum *analysis.Summary, st *analysis.Stats) error {
	return errors.Join(WriteSummary(dir, sum),
		writeFile(filepath.Join(dir, HistogramsFile), HistogramsFile, st.WriteHistograms),
		WriteReports(dir, sum))
}

// WriteSummary writes s as the summary.json of dir.
func WriteSummary(dir string, s *analysis.Summary) error {
	return writeFile(filepath.Join(dir, SummaryFile), SummaryFile, func(w io.Writer) error { return analysis.WriteSummary(w, s) })
}

// WritePersonas writes t as the persona table (personas.json) of dir.
func WritePersonas(dir string, t record.PersonaTable) error {
	return writeFile(filepath.Join(dir, PersonasFile), PersonasFile, func(w io.Writer) error { return record.WritePersonas(w, t) })
}

// WriteReports writes report.md, junit.xml and report.html of s into dir. Every
// report is rendered from the summary alone; each file is attempted even when
// another fails.
func WriteReports(dir string, s *analysis.Summary) error {
	var errs []error
	for _, r := range []struct {
		name   string
		render func(io.Writer, *analysis.Summary) error
	}{{MarkdownFile, report.WriteMarkdown}, {JUnitFile, report.WriteJUnit}, {HTMLFile, report.WriteHTML}} {
		errs = append(errs, writeFile(filepath.Join(dir, r.name), r.name, func(w io.Writer) error { return r.render(w, s) }))
	}
	return errors.Join(errs...)
}

// RecordsWriter writes the records file of a results folder (CreateRecords).
// Like record.Writer, it is not safe for concurrent use.
type RecordsWriter struct {
	*record.Writer
	f *os.File
}

// CreateRecords creates the records file of dir, records.jsonl.gz
// (gzip-compressed) when gz is set, else records.jsonl, and returns a writer of
// records to it with the options given.
func CreateRecords(dir string, gz bool, opts ...record.WriterOption) (*RecordsWriter, error) {
	name := RecordsFile
	if gz {
		name, opts = RecordsFileGz, append(slices.Clip(opts), record.WithGzip())
	}
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		return nil, err
	}
	return &RecordsWriter{Writer: record.NewWriter(f, opts...), f: f}, nil
}

// Close flushes the records written and closes the file.
func (w *RecordsWriter) Close() error { return errors.Join(w.Writer.Close(), w.f.Close()) }

// writeFile creates path and writes it with write; errors name the file.
func writeFile(path, name string, write func(io.Writer) error) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	defer func() { err = errors.Join(err, f.Close()) }()
	if err := write(f); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}
