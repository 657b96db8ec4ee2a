package results

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Report files in a results folder, beside summary.json and the records.
const (
	SummaryFile    = "summary.json"
	HistogramsFile = "histograms.json"
	MarkdownFile   = "report.md"
	JUnitFile      = "junit.xml"
	HTMLFile       = "report.html"
)

// WriteReports writes report.md, junit.xml and report.html of s into dir. Every
// report is rendered from the summary alone; each file is attempted even when
// another fails.
func WriteReports(dir string, s *Summary) error {
	var errs []error
	for _, r := range []struct {
		name   string
		render func(io.Writer, *Summary) error
	}{{MarkdownFile, WriteMarkdown}, {JUnitFile, WriteJUnit}, {HTMLFile, WriteHTML}} {
		if err := writeFile(filepath.Join(dir, r.name), func(w io.Writer) error { return r.render(w, s) }); err != nil {
			errs = append(errs, fmt.Errorf("write %s: %w", r.name, err))
		}
	}
	return errors.Join(errs...)
}

func writeFile(path string, render func(io.Writer) error) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, f.Close()) }()
	return render(f)
}

// Records file names in a results folder: JSON lines, optionally gzip-compressed.
//
// gzip rather than zstd: it is in the standard library (no dependency), every
// machine reads it (zcat records.jsonl.gz | jq), and at its fastest level it
// compresses records about tenfold at well over the rate any rehearsal writes
// them; zstd would be faster still, but the writer is not the bottleneck.
const (
	RecordsFile   = "records.jsonl"
	RecordsFileGz = "records.jsonl.gz"
)

// RecordsPath returns the records file of a results folder: records.jsonl, or
// records.jsonl.gz when only that exists.
func RecordsPath(dir string) (string, error) {
	for _, n := range []string{RecordsFile, RecordsFileGz} {
		p := filepath.Join(dir, n)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: no %s or %s", dir, RecordsFile, RecordsFileGz)
}

// PersonasFile is the persona table of a results folder: what the reports may
// say about each persona of the run, the attributes findings and cohorts are
// grouped by.
const PersonasFile = "personas.json"

// WritePersonasFile writes t to path.
func WritePersonasFile(path string, t PersonaTable) error {
	t.Schema = PersonasSchema
	return writeJSONFile(path, "persona table", t, "")
}

// ReadPersonasFile reads the personas.json at path.
func ReadPersonasFile(path string) (*PersonaTable, error) { return readFile(path, ReadPersonas) }

// ReadSummaryFile reads the summary.json at path.
func ReadSummaryFile(path string) (*Summary, error) { return readFile(path, ReadSummary) }

// ReadHistogramsFile reads histograms.json at path.
func ReadHistogramsFile(path string) (*Stats, error) { return readFile(path, ReadHistograms) }

// writeJSONFile writes v to path as JSON and a newline, indented by indent
// ("" for one line); what names it in errors.
func writeJSONFile(path, what string, v any, indent string) error {
	var b []byte
	var err error
	if indent == "" {
		b, err = json.Marshal(v)
	} else {
		b, err = json.MarshalIndent(v, "", indent)
	}
	if err != nil {
		return fmt.Errorf("encode %s: %w", what, err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", what, err)
	}
	return nil
}

// readFile opens path and decodes it with read, which names path in errors.
func readFile[T any](path string, read func(io.Reader, string) (*T, error)) (*T, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return read(f, path)
}
