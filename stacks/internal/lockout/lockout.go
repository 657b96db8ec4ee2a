// Package lockout counts failed logins per account and locks an account for a while
// once the count reaches a threshold.
package lockout

import (
	"sync"
	"time"
)

// Tracker counts failures per key (a username). It is safe for concurrent use.
type Tracker struct {
	threshold int
	duration  time.Duration
	now       func() time.Time

	mu      sync.Mutex
	entries map[string]*entry
}

type entry struct {
	fails int
	until time.Time
}

// New returns a Tracker that locks a key for duration after threshold consecutive
// failures; threshold <= 0 disables locking.
func New(threshold int, duration time.Duration, now func() time.Time) *Tracker {
	return &Tracker{threshold: threshold, duration: duration, now: now, entries: make(map[string]*entry)}
}

// Locked reports whether key is locked now.
func (t *Tracker) Locked(key string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.entries[key]
	return ok && t.now().Before(e.until)
}

// Fail records a failure for key and reports whether the key is locked after it.
func (t *Tracker) Fail(key string) bool {
	if t.threshold <= 0 {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.entries[key]
	if !ok {
		e = &entry{}
		t.entries[key] = e
	}
	now := t.now()
	if !e.until.IsZero() && !now.Before(e.until) {
		// The previous lock ran out: start counting afresh.
		e.fails, e.until = 0, time.Time{}
	}
	e.fails++
	if e.fails >= t.threshold {
		e.until = now.Add(t.duration)
		return true
	}
	return false
}

// Reset forgets the failures of key, after a successful login.
func (t *Tracker) Reset(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.entries, key)
}
