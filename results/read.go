package results

import (
	"errors"
	"io"
	"os"
	"path/filepath"

	"github.com/cutover-dev/cutover/results/analysis"
	"github.com/cutover-dev/cutover/results/record"
)

// Read reads the judged run of a results folder: its summary and, when the
// folder has them, its histograms (nil when it has none).
func Read(dir string) (*analysis.Summary, *analysis.Stats, error) {
	sum, err := ReadSummary(dir)
	if err != nil {
		return nil, nil, err
	}
	h, err := ReadHistograms(dir)
	if errors.Is(err, os.ErrNotExist) {
		return sum, nil, nil
	}
	return sum, h, err
}

// ReadSummary reads the summary.json of a results folder.
func ReadSummary(dir string) (*analysis.Summary, error) {
	return readFile(filepath.Join(dir, SummaryFile), analysis.ReadSummary)
}

// ReadHistograms reads the histograms.json of a results folder.
func ReadHistograms(dir string) (*analysis.Stats, error) {
	return readFile(filepath.Join(dir, HistogramsFile), analysis.ReadHistograms)
}

// ReadPersonas reads the persona table (personas.json) of a results folder.
func ReadPersonas(dir string) (*record.PersonaTable, error) {
	return readFile(filepath.Join(dir, PersonasFile), record.ReadPersonas)
}

// ReadRecords reads the records of a results folder (see RecordsPath), calling
// fn for each in file order, as record.ReadRecords does.
func ReadRecords(dir string, fn func(*record.Record) error) error {
	path, err := RecordsPath(dir)
	if err != nil {
		return err
	}
	return record.ReadRecordsFile(path, fn)
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
