package legacy

import (
	"encoding/json"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/cutover-dev/cutover/stacks/internal/ehr"
)

// AccessEntry is one line of the legacy access log: every decision on a
// protected resource, allow and deny, in the homegrown shape a real legacy
// stack logs them in (its own role names, a PERMIT/DENY result, the resource
// as one string). `cutover shadow` reads such logs.
type AccessEntry struct {
	Time time.Time `json:"ts"`
	// User is the user or service account id; Account is "user" or "api-key".
	User    string `json:"user"`
	Account string `json:"acct"`
	// Roles are the user's legacy role names; Perms a service account's
	// permissions.
	Roles []string `json:"roles"`
	Perms []string `json:"perms,omitempty"`
	// Op is read, write or export; Object "patient:ID/TYPE" for a patient's
	// resource, "TYPE" for the others (claims, users, audit, lab-results,
	// analytics).
	Op     string `json:"op"`
	Object string `json:"object"`
	// Result is PERMIT or DENY; Via is "breakglass" when a break-glass grant
	// permitted it.
	Result string `json:"result"`
	Via    string `json:"via,omitempty"`
}

// accessLog writes the access log, one JSON line per decision.
type accessLog struct {
	mu  sync.Mutex
	enc *json.Encoder
	err error
}

// SetAccessLog makes the stack write every decision on a protected resource,
// allow and deny, to w as JSON lines (AccessEntry); nil stops it. Writes are
// serialised; the first write error stops the log (AccessLogErr reports it).
// It is safe to call while the stack serves.
func (s *Server) SetAccessLog(w io.Writer) {
	var l *accessLog
	if w != nil {
		l = &accessLog{enc: json.NewEncoder(w)}
	}
	s.access.Store(l)
}

// AccessLogErr returns the error that stopped the access log, if one did.
func (s *Server) AccessLogErr() error {
	l := s.access.Load()
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// logDecision is the resources' OnDecision: one access log line.
func (s *Server) logDecision(d ehr.Decision) {
	l := s.access.Load()
	if l == nil {
		return
	}
	e := AccessEntry{Time: d.Time.UTC(), User: d.Principal.ID, Account: "user", Roles: []string{}, Op: d.Action, Object: d.Type, Result: "DENY"}
	s.mu.RLock()
	u, ok := s.users[d.Principal.ID]
	if ok {
		e.Roles = slices.Clone(u.Roles)
	}
	s.mu.RUnlock()
	if !ok {
		e.Account, e.Perms = "api-key", slices.Clone(d.Principal.Permissions)
	}
	if d.ID != "all" {
		e.Object = "patient:" + d.ID + "/" + d.Type
	}
	if d.Allow {
		e.Result = "PERMIT"
	}
	if d.BreakGlass {
		e.Via = "breakglass"
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err == nil {
		l.err = l.enc.Encode(e)
	}
}
