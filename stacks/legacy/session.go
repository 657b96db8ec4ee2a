package legacy

import (
	"crypto/sha256"
	"net/http"
	"time"

	"github.com/cutover-dev/cutover/stacks/internal/ehr"
	"github.com/cutover-dev/cutover/stacks/internal/respond"
)

// Names of the session credential.
const (
	SessionCookie = "LEGACY_SESSION"
	SessionHeader = "X-Session-Id"
	APIKeyHeader  = "X-API-Key"
)

type session struct {
	id      string
	user    string
	csrf    string
	created time.Time
	last    time.Time
}

// expiries returns when ss ends if not used again (idle) and whatever its use (absolute).
func (s *Server) expiries(ss *session) (idle, absolute time.Time) {
	return ss.last.Add(s.cfg.IdleTimeout), ss.created.Add(s.cfg.AbsoluteTimeout)
}

func (s *Server) newSession(user string) *session {
	now := s.cfg.Now()
	ss := &session{id: respond.ID(), user: user, csrf: respond.ID(), created: now, last: now}
	s.mu.Lock()
	s.sessions[ss.id] = ss
	s.mu.Unlock()
	return ss
}

func sessionID(r *http.Request) string {
	if id := r.Header.Get(SessionHeader); id != "" {
		return id
	}
	if c, err := r.Cookie(SessionCookie); err == nil {
		return c.Value
	}
	return ""
}

// lookup returns the live session of r and its user, touching its idle timer when
// touch is set. An expired session is deleted.
func (s *Server) lookup(r *http.Request, touch bool) (*session, *User, bool) {
	id := sessionID(r)
	if id == "" {
		return nil, nil, false
	}
	now := s.cfg.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.sessions[id]
	if !ok {
		return nil, nil, false
	}
	idle, abs := s.expiries(ss)
	if !now.Before(idle) || !now.Before(abs) {
		delete(s.sessions, id)
		return nil, nil, false
	}
	if touch {
		ss.last = now
	}
	u, ok := s.users[ss.user]
	if !ok {
		return nil, nil, false
	}
	cp := *ss
	return &cp, u, true
}

func (s *Server) endSession(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.sessions[id]
	delete(s.sessions, id)
	return ok
}

// remaining returns the seconds left before the idle and absolute limits of ss.
func (s *Server) remaining(ss *session) map[string]int64 {
	now := s.cfg.Now()
	idle, abs := s.expiries(ss)
	if abs.Before(idle) {
		idle = abs
	}
	return map[string]int64{
		"idle_expires_in":     int64(idle.Sub(now) / time.Second),
		"absolute_expires_in": int64(abs.Sub(now) / time.Second),
	}
}

// authn resolves sessions and API keys to principals for the shared resources.
type authn struct{ s *Server }

func (a authn) Authenticate(r *http.Request) (ehr.Principal, bool) {
	if key := r.Header.Get(APIKeyHeader); key != "" {
		if sa, ok := a.s.serviceAccount(key); ok {
			return ehr.Principal{ID: sa.ID, Permissions: sa.Permissions}, true
		}
		return ehr.Principal{}, false
	}
	_, u, ok := a.s.lookup(r, true)
	if !ok {
		return ehr.Principal{}, false
	}
	return a.s.principal(u), true
}

func (s *Server) principal(u *User) ehr.Principal {
	p := ehr.Principal{ID: u.ID}
	for _, r := range u.Roles {
		if pr, ok := policyRoles[r]; ok {
			p.Roles = append(p.Roles, pr)
		}
	}
	p.BreakGlass = s.grants.Live(u.ID)
	return p
}

func (s *Server) serviceAccount(key string) (*ServiceAccount, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	sa, ok := s.keys[sha256.Sum256([]byte(key))]
	return sa, ok
}
