// Package results is the one home of a results folder: the names of its files
// (documented in SCHEMA.md), reading them back, writing a run's files, judging a
// run again from its records (Rerender, behind `cutover report`) and merging the
// segments of a distributed run (Merge). What the files hold lives below it:
//
//   - results/record: what was measured (step records, their JSON-lines codec,
//     the redactor, the persona table, the generator's accounting);
//   - results/analysis: judging records into findings, causes, cohorts,
//     statistics and the summary;
//   - results/report: rendering a summary (report.md, junit.xml, report.html, the
//     terminal tables, the text of a diff).
//
// Arrows point down only: record imports nothing of this module, analysis
// imports record, report imports both, and this package all three. None of them
// imports loadgen, journeys or any other package that produces records.
package results

import (
	"fmt"
	"os"
	"path/filepath"
)

// Files of a results folder.
const (
	SummaryFile    = "summary.json"
	HistogramsFile = "histograms.json"
	// PersonasFile is the persona table: what the reports may say about each
	// persona of the run, the attributes findings and cohorts are grouped by.
	PersonasFile = "personas.json"
	MarkdownFile = "report.md"
	JUnitFile    = "junit.xml"
	HTMLFile     = "report.html"
)

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
