package results

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
)

// Writer streams records as JSON lines. It is not safe for concurrent use; a run
// funnels records through one goroutine (see Pipeline).
type Writer struct {
	bw  *bufio.Writer
	enc *json.Encoder
	n   int64
}

// NewWriter returns a Writer on w. Call Flush before closing w.
func NewWriter(w io.Writer) *Writer {
	bw := bufio.NewWriterSize(w, 64<<10)
	return &Writer{bw: bw, enc: json.NewEncoder(bw)}
}

// Write appends one record.
func (w *Writer) Write(r *Record) error {
	w.n++
	if err := w.enc.Encode(r); err != nil {
		return fmt.Errorf("write record %d: %w", w.n, err)
	}
	return nil
}

// Flush writes buffered records through.
func (w *Writer) Flush() error { return w.bw.Flush() }

// ReadRecords decodes JSON-lines records from r, calling fn for each. name is used in
// errors, which carry the line number. The *Record passed to fn is reused: copy it
// to keep it.
func ReadRecords(r io.Reader, name string, fn func(*Record) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	var rec Record
	for line := 1; sc.Scan(); line++ {
		b := sc.Bytes()
		if len(b) == 0 {
			continue
		}
		rec = Record{}
		if err := json.Unmarshal(b, &rec); err != nil {
			return fmt.Errorf("%s:%d: %w", name, line, err)
		}
		if rec.Side != Legacy && rec.Side != Candidate {
			return fmt.Errorf("%s:%d: side %q; want legacy or candidate", name, line, rec.Side)
		}
		if err := fn(&rec); err != nil {
			return fmt.Errorf("%s:%d: %w", name, line, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}
