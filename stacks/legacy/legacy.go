// Package legacy is the homegrown CIAM reference stack: a user store with mixed legacy
// password hashes, an HTML form login with a CSRF token and a JSON login API, opaque
// server-side sessions with idle and absolute timeouts, API keys for service accounts,
// break-glass elevation, an audit feed, and the shared health resources of package ehr.
package legacy

import (
	"crypto/sha256"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/cutover-dev/cutover/stacks/internal/ehr"
	"github.com/cutover-dev/cutover/stacks/internal/lockout"
	"github.com/cutover-dev/cutover/stacks/internal/passhash"
)

// Defaults of Config.
const (
	DefaultIdleTimeout      = 15 * time.Minute
	DefaultAbsoluteTimeout  = 8 * time.Hour
	DefaultLockoutThreshold = 5
	DefaultLockoutDuration  = 15 * time.Minute
	DefaultBreakGlassTTL    = 30 * time.Minute
)

// Config tunes a legacy stack; zero fields take the defaults above.
type Config struct {
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// IdleTimeout ends a session not used (or renewed) for this long.
	IdleTimeout time.Duration
	// AbsoluteTimeout ends a session this long after login, whatever its use.
	AbsoluteTimeout time.Duration
	// LockoutThreshold failed logins in a row lock an account for LockoutDuration;
	// a negative threshold disables lockout.
	LockoutThreshold int
	LockoutDuration  time.Duration
	// BreakGlassTTL is the time box of an emergency access grant.
	BreakGlassTTL time.Duration
	// BcryptCost is the cost of the bcrypt hashes AddUser stores; 0 means
	// bcrypt.DefaultCost.
	BcryptCost int
}

func (c Config) withDefaults() Config {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.AbsoluteTimeout <= 0 {
		c.AbsoluteTimeout = DefaultAbsoluteTimeout
	}
	if c.LockoutThreshold == 0 {
		c.LockoutThreshold = DefaultLockoutThreshold
	}
	if c.LockoutDuration <= 0 {
		c.LockoutDuration = DefaultLockoutDuration
	}
	if c.BreakGlassTTL <= 0 {
		c.BreakGlassTTL = DefaultBreakGlassTTL
	}
	if c.BcryptCost == 0 {
		c.BcryptCost = bcrypt.DefaultCost
	}
	return c
}

// User is a person in the legacy user store.
type User struct {
	ID       string
	Username string
	Name     string
	// Roles are legacy role names: patient, clinician, breakglass-eligible, admin,
	// billing-clerk, auditor.
	Roles []string
	// Panel lists the patients assigned to a clinician.
	Panel []string
	// Hash is the stored password.
	Hash passhash.Hash
}

// ServiceAccount is a non-human identity holding an API key.
type ServiceAccount struct {
	ID          string
	Username    string
	Permissions []string
}

// Server is a legacy stack. It is an http.Handler, safe for concurrent use.
type Server struct {
	cfg       Config
	mux       *http.ServeMux
	audit     *ehr.Audit
	records   *ehr.Records
	grants    *ehr.Grants
	lock      *lockout.Tracker
	resources *ehr.Resources
	// access is the access log (SetAccessLog); nil: none.
	access atomic.Pointer[accessLog]

	mu       sync.RWMutex
	users    map[string]*User // by id
	byName   map[string]*User
	keys     map[[32]byte]*ServiceAccount
	sessions map[string]*session
}

// New returns a legacy stack with no users.
func New(cfg Config) *Server {
	cfg = cfg.withDefaults()
	s := &Server{
		cfg:      cfg,
		mux:      http.NewServeMux(),
		audit:    ehr.NewAudit(cfg.Now),
		records:  ehr.NewRecords(),
		lock:     lockout.New(cfg.LockoutThreshold, cfg.LockoutDuration, cfg.Now),
		users:    make(map[string]*User),
		byName:   make(map[string]*User),
		keys:     make(map[[32]byte]*ServiceAccount),
		sessions: make(map[string]*session),
	}
	s.grants = ehr.NewGrants(ehr.GrantsConfig{TTL: cfg.BreakGlassTTL, Now: cfg.Now}, s.audit)
	s.resources = &ehr.Resources{Auth: authn{s}, Directory: directory{s}, Records: s.records, Grants: s.grants, Audit: s.audit, Now: cfg.Now,
		OnDecision: s.logDecision}
	s.routes()
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// AddUser stores u with password hashed under scheme (passhash.Bcrypt or
// passhash.SaltedSHA256), registers a patient's record and a clinician's panel.
func (s *Server) AddUser(u User, password, scheme string) error {
	h, err := passhash.New(scheme, password, s.cfg.BcryptCost)
	if err != nil {
		return fmt.Errorf("legacy: add user %s: %w", u.ID, err)
	}
	u.Hash = h
	u.Roles = slices.Clone(u.Roles)
	u.Panel = slices.Clone(u.Panel)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.byName[u.Username]; dup {
		return fmt.Errorf("legacy: add user %s: username %q taken", u.ID, u.Username)
	}
	s.users[u.ID] = &u
	s.byName[u.Username] = &u
	if slices.Contains(u.Roles, "patient") {
		s.records.AddPatient(u.ID, u.Name)
	}
	if len(u.Panel) > 0 {
		s.records.Assign(u.ID, u.Panel)
	}
	return nil
}

// AddServiceAccount registers a service account with its API key. Only a digest of
// the key is kept.
func (s *Server) AddServiceAccount(a ServiceAccount, apiKey string) {
	a.Permissions = slices.Clone(a.Permissions)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys[sha256.Sum256([]byte(apiKey))] = &a
}

// Users returns a copy of every user with its stored hash, for export to the
// candidate (the import a real migration does).
func (s *Server) Users() []User {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]User, 0, len(s.users))
	for _, u := range s.users {
		out = append(out, *u)
	}
	slices.SortFunc(out, func(a, b User) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// directory lists the users for the admin resource.
type directory struct{ s *Server }

func (d directory) Users() []ehr.UserSummary {
	d.s.mu.RLock()
	defer d.s.mu.RUnlock()
	out := make([]ehr.UserSummary, 0, len(d.s.users))
	for _, u := range d.s.users {
		out = append(out, ehr.UserSummary{ID: u.ID, Username: u.Username, Roles: slices.Clone(u.Roles)})
	}
	return out
}

// policyRoles maps legacy role names to the roles of the shared policy.
var policyRoles = map[string]ehr.Role{
	"patient":             ehr.RolePatient,
	"clinician":           ehr.RoleClinician,
	"breakglass-eligible": ehr.RoleBreakGlass,
	"admin":               ehr.RoleAdmin,
	"billing-clerk":       ehr.RoleBilling,
	"auditor":             ehr.RoleAuditor,
}
