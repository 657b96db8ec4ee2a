package shadow

import (
	"context"
	"errors"
	"io"
	"os"
	"time"
)

// tail reads a log file as it grows, as tail -F does: at the end of the file
// it waits poll and looks again, until ctx ends (then it reports io.EOF). A
// file replaced under its path (rotated) is read from the start of the new
// one once the old one is read to its end; a file truncated in place is read
// again from its start.
type tail struct {
	ctx  context.Context
	f    *os.File
	path string
	poll time.Duration
	off  int64
	// opened marks f as opened by tail (after a rotation): tail closes it.
	opened bool
}

func newTail(ctx context.Context, f *os.File, path string, poll time.Duration) *tail {
	return &tail{ctx: ctx, f: f, path: path, poll: poll}
}

func (t *tail) Read(p []byte) (int, error) {
	for {
		n, err := t.f.Read(p)
		t.off += int64(n)
		if n > 0 {
			return n, nil
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return 0, err
		}
		if t.reopen() {
			continue
		}
		timer := time.NewTimer(t.poll)
		select {
		case <-t.ctx.Done():
			timer.Stop()
			return 0, io.EOF
		case <-timer.C:
		}
	}
}

// reopen switches to the file now at the path when it is another file, and
// goes back to the start of one truncated below what was read. It reports
// whether there may be something new to read.
func (t *tail) reopen() bool {
	cur, err := t.f.Stat()
	if err != nil {
		return false
	}
	if cur.Size() < t.off {
		if _, err := t.f.Seek(0, io.SeekStart); err == nil {
			t.off = 0
			return true
		}
	}
	now, err := os.Stat(t.path)
	if err != nil || os.SameFile(cur, now) {
		return false
	}
	nf, err := os.Open(t.path)
	if err != nil {
		return false
	}
	t.Close()
	t.f, t.off, t.opened = nf, 0, true
	return true
}

// Close closes the file tail opened after a rotation; the first one is its
// caller's.
func (t *tail) Close() error {
	if t.opened {
		return t.f.Close()
	}
	return nil
}
