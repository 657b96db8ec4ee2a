package ehr

import (
	"slices"
	"sync"
	"time"
)

// Audit event kinds, the same on both stacks.
const (
	KindLogin            = "login"
	KindLoginFailed      = "login_failed"
	KindLogout           = "logout"
	KindDeny             = "deny"
	KindBreakGlassStart  = "breakglass_start"
	KindBreakGlassAccess = "breakglass_access"
	KindBreakGlassEnd    = "breakglass_end"
)

// Event is one audit record.
type Event struct {
	Time     time.Time `json:"time"`
	Kind     string    `json:"kind"`
	Actor    string    `json:"actor"`
	Subject  string    `json:"subject,omitempty"`
	Resource string    `json:"resource,omitempty"`
	Reason   string    `json:"reason,omitempty"`
}

// Audit is an append-only audit log. It is safe for concurrent use.
type Audit struct {
	now func() time.Time

	mu     sync.RWMutex
	events []Event
}

// NewAudit returns an empty log that stamps events with now.
func NewAudit(now func() time.Time) *Audit { return &Audit{now: now} }

// Record appends e, stamped with the current time.
func (a *Audit) Record(e Event) {
	a.mu.Lock()
	defer a.mu.Unlock()
	// Stamped under the lock: events are kept in the order of their times, as
	// a feed paged by time needs them.
	e.Time = a.now()
	a.events = append(a.events, e)
}

// Query returns the events at or after since, of actor when actor is not empty, in
// the order they were recorded.
func (a *Audit) Query(since time.Time, actor string) []Event {
	a.mu.RLock()
	defer a.mu.RUnlock()
	// Events are appended in clock order unless the clock steps back; scan from the
	// first event not before since.
	start, _ := slices.BinarySearchFunc(a.events, since, func(e Event, t time.Time) int { return e.Time.Compare(t) })
	out := []Event{}
	for _, e := range a.events[start:] {
		if e.Time.Before(since) || actor != "" && e.Actor != actor {
			continue
		}
		out = append(out, e)
	}
	return out
}
