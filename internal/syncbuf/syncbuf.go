// Package syncbuf is a text buffer one goroutine writes and another reads: a
// command's or a server's output, collected for a test to look at while it
// runs.
package syncbuf

import (
	"strings"
	"sync"
)

// Buffer is safe for concurrent Write and String. The zero value is empty.
type Buffer struct {
	mu sync.Mutex
	b  strings.Builder
}

// Write appends p.
func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns everything written so far.
func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
