package record

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
)

// Writer streams records as JSON lines, redacting each at the source. It is not
// safe for concurrent use; a run funnels records through one goroutine.
type Writer struct {
	bw     *bufio.Writer
	gz     *gzip.Writer
	enc    *json.Encoder
	redact *Redactor
	n      int64
	err    error
}

// WriterOption configures a Writer.
type WriterOption func(*Writer)

// WithGzip compresses the stream (records.jsonl.gz).
func WithGzip() WriterOption {
	return func(w *Writer) {
		gz, _ := gzip.NewWriterLevel(w.bw, gzip.BestSpeed) // the level is valid
		w.gz = gz
		w.enc = json.NewEncoder(gz)
	}
}

// WithRedactor redacts with r, which knows the run's secret values; by default a
// Writer redacts credential shapes only.
func WithRedactor(r *Redactor) WriterOption { return func(w *Writer) { w.redact = r } }

// NewWriter returns a Writer on w. Call Close before closing w.
func NewWriter(w io.Writer, opts ...WriterOption) *Writer {
	bw := bufio.NewWriterSize(w, 64<<10)
	wr := &Writer{bw: bw, enc: json.NewEncoder(bw)}
	for _, o := range opts {
		o(wr)
	}
	if wr.redact == nil {
		wr.redact = NewRedactor()
	}
	return wr
}

// Write redacts r in place, so that whatever reads r afterwards (the analysis)
// sees exactly what was written, then appends it. After a write error, records
// are still redacted but no longer written, and every call returns that error.
func (w *Writer) Write(r *Record) error {
	w.redact.Record(r)
	if w.err != nil {
		return w.err
	}
	w.n++
	if err := w.enc.Encode(r); err != nil {
		w.err = fmt.Errorf("write record %d: %w", w.n, err)
	}
	return w.err
}

// Close flushes buffered records (and ends the gzip stream); it does not close
// the underlying writer.
func (w *Writer) Close() error {
	if w.gz != nil {
		w.err = errors.Join(w.err, w.gz.Close())
	}
	if err := w.bw.Flush(); err != nil {
		return errors.Join(w.err, err)
	}
	return w.err
}

// ReadRecords decodes JSON-lines records from r, gzip-compressed or not, calling
// fn for each, in file order. name is used in errors, which carry the line
// number; records before a bad line are all delivered. The *Record passed to fn
// is reused: copy it to keep it.
//
// Decoding JSON is most of the cost of re-reading a run, so batches of lines are
// decoded on every core while fn consumes the previous ones in order, by a
// decoder tailored to Record that keeps encoding/json's rules (decodeRecord).
func ReadRecords(r io.Reader, name string, fn func(*Record) error) error {
	br := bufio.NewReaderSize(r, 256<<10)
	if magic, _ := br.Peek(2); bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		defer gz.Close()
		r = gz
	} else {
		r = br
	}
	workers := max(runtime.GOMAXPROCS(0), 1)
	work := make(chan *recordBatch, workers)
	ordered := make(chan *recordBatch, 2*workers)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			strs := stringTable{}
			for b := range work {
				b.decode(strs)
			}
		})
	}
	scanErr := make(chan error, 1)
	go func() {
		defer close(ordered)
		defer close(work)
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		b := newRecordBatch(1)
		for line := 1; sc.Scan(); line++ {
			b.add(sc.Bytes())
			if len(b.ends) == recordBatchLines {
				if !b.send(work, ordered, stop) {
					scanErr <- nil
					return
				}
				b = newRecordBatch(line + 1)
			}
		}
		if len(b.ends) > 0 && !b.send(work, ordered, stop) {
			scanErr <- nil
			return
		}
		scanErr <- sc.Err()
	}()
	var err error
	for b := range ordered {
		<-b.done
		if err != nil {
			continue // drain
		}
		for i := range b.recs {
			if b.errs[i] != nil {
				err = fmt.Errorf("%s:%d: %w", name, b.lines[i], b.errs[i])
				break
			}
			if ferr := fn(&b.recs[i]); ferr != nil {
				err = fmt.Errorf("%s:%d: %w", name, b.lines[i], ferr)
				break
			}
		}
		if err != nil {
			close(stop)
		}
	}
	wg.Wait()
	if serr := <-scanErr; err == nil && serr != nil {
		err = fmt.Errorf("%s: %w", name, serr)
	}
	return err
}

// recordBatchLines is how many lines a decoding worker takes at a time.
const recordBatchLines = 2048

// recordBatch is a run of lines, decoded by a worker, consumed in order.
type recordBatch struct {
	buf   []byte
	ends  []int
	lines []int
	first int
	recs  []Record
	errs  []error
	done  chan struct{}
}

func newRecordBatch(first int) *recordBatch {
	return &recordBatch{first: first, done: make(chan struct{})}
}

// add copies one line (the scanner reuses its buffer).
func (b *recordBatch) add(line []byte) {
	b.lines = append(b.lines, b.first+len(b.ends))
	b.buf = append(b.buf, line...)
	b.ends = append(b.ends, len(b.buf))
}

// send hands the batch to a worker and to the consumer; false when stopped.
func (b *recordBatch) send(work, ordered chan<- *recordBatch, stop <-chan struct{}) bool {
	select {
	case ordered <- b:
	case <-stop:
		return false
	}
	select {
	case work <- b:
		return true
	case <-stop:
		close(b.done)
		return false
	}
}

// decode decodes every non-empty line of the batch, sharing strings through strs.
func (b *recordBatch) decode(strs stringTable) {
	defer close(b.done)
	start := 0
	for i, end := range b.ends {
		line := b.buf[start:end]
		start = end
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var rec Record
		err := decodeRecord(line, &rec, strs)
		if err == nil && rec.Side != Legacy && rec.Side != Candidate {
			err = fmt.Errorf("side %q; want legacy or candidate", rec.Side)
		}
		b.recs = append(b.recs, rec)
		b.errs = append(b.errs, err)
		b.lines[len(b.recs)-1] = b.lines[i]
		if err != nil {
			return
		}
	}
}

// ReadRecordsFile reads the records file at path.
func ReadRecordsFile(path string, fn func(*Record) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return ReadRecords(f, path, fn)
}
