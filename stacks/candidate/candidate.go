// Package candidate is the standards-based reference stack: an OpenID Connect / OAuth 2.0
// provider (discovery, JWKS, authorization code with PKCE S256 and an HTML login,
// refresh rotation with reuse detection, client credentials, RFC 8693 token exchange
// for break-glass, RFC 7009 revocation, RFC 7662 introspection, userinfo, RP-initiated
// logout), a resource server for the shared health resources that validates RFC 9068
// JWT access tokens, a SCIM 2.0 Users endpoint, and the /portal/ landing app. Users are
// imported from legacy with their hashes, or in bulk from the files of an Auth0 bulk
// user import or a Keycloak partial import (bcrypt, PBKDF2-SHA-256 and Argon2id PHC
// strings, salted SHA-256); every other scheme is rehashed to bcrypt on first login.
// Drifts switch on deliberate regressions.
package candidate

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	crand "crypto/rand"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/cutover-dev/cutover/stacks/internal/ehr"
	"github.com/cutover-dev/cutover/stacks/internal/lockout"
	"github.com/cutover-dev/cutover/stacks/internal/passhash"
	"github.com/cutover-dev/cutover/stacks/internal/respond"
)

// Defaults of Config.
const (
	DefaultAccessTokenTTL   = 5 * time.Minute
	DriftAccessTokenTTL     = 24 * time.Hour
	DefaultRefreshTokenTTL  = 8 * time.Hour
	DefaultSessionTTL       = 8 * time.Hour
	DefaultCodeTTL          = time.Minute
	DefaultBreakGlassTTL    = 30 * time.Minute
	DefaultLockoutThreshold = 5
	DefaultLockoutDuration  = 15 * time.Minute
)

// Audience is the resource identifier every access token is issued for: the aud of
// the tokens and what the resource server requires.
const Audience = "urn:cutover:ehr-api"

// Built-in client ids.
const (
	HarnessClientID       = "cutover-harness"
	HarnessRedirectURI    = "http://localhost/cutover/callback"
	PortalClientID        = "portal"
	IntrospectionClientID = "cutover-introspector"
	ProvisionerClientID   = "cutover-provisioner"
	// ProvisionerScope is the scope a SCIM request's bearer token must carry.
	ProvisionerScope = "scim"
)

// Drifts are the deliberate regressions of the candidate; the zero value has none.
type Drifts struct {
	RoleMapBillingAdmin  bool
	ClinicianNotesDenied bool
	PatientSeesOthers    bool
	RolesClaimDropped    bool
	AccessTTLLong        bool
	LazyMigrationBroken  bool
	RefreshNotRotated    bool
	RefreshReuseAccepted bool
	LogoutKeepsRefresh   bool
	BreakGlassDenied     bool
	BreakGlassNoReason   bool
	BreakGlassNotAudited bool
	ServiceScopeWidened  bool
	// SlowToken delays every token endpoint answer by this much; 0 is off.
	SlowToken time.Duration
	// TokenCapacity makes the token endpoint a single server of this many
	// requests a second: each holds it for 1/TokenCapacity, the others queue
	// (a capped connection pool, a saturated signer); 0 is off.
	TokenCapacity float64
	// Flaky5xx is the share of requests answered 503; 0 is off.
	Flaky5xx float64
	// FlakyBreakGlass is the share of break-glass requests (token exchanges)
	// answered 503 before any grant is made; 0 is off.
	FlakyBreakGlass float64
	// Seed drives the choice of flaky requests, so a run is reproducible.
	Seed uint64
}

// Config tunes a candidate stack; zero fields take the defaults above.
type Config struct {
	// Issuer is the base URL the stack is served at, without a trailing slash. Required.
	Issuer string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// AccessTokenTTL is the lifetime of access tokens (DriftAccessTokenTTL under
	// drift access-ttl-long).
	AccessTokenTTL time.Duration
	// RefreshTokenTTL is the absolute lifetime of a grant and so of every refresh
	// token rotated from it.
	RefreshTokenTTL time.Duration
	// SessionTTL is the absolute lifetime of the browser single sign-on session.
	SessionTTL time.Duration
	// CodeTTL is the lifetime of an authorization code.
	CodeTTL time.Duration
	// BreakGlassTTL is the time box of an emergency access token.
	BreakGlassTTL time.Duration
	// LockoutThreshold failed logins in a row lock an account for LockoutDuration;
	// negative disables lockout.
	LockoutThreshold int
	LockoutDuration  time.Duration
	// BcryptCost is the cost used to rehash migrated passwords; 0 is bcrypt.DefaultCost.
	BcryptCost int
	// IntrospectionSecret and ProvisionerSecret are the secrets of the built-in
	// confidential clients; empty generates random ones (see Server.Clients).
	IntrospectionSecret string
	ProvisionerSecret   string
	// HarnessSecret is the harness client's secret where a dialect makes it
	// confidential; empty generates one (see Server.HarnessSecret).
	HarnessSecret string
	// ClientKey is the public key of the harness and service clients under
	// the private-key-jwt-only dialect.
	ClientKey crypto.PublicKey
	// RoleMap maps legacy roles; the zero value is DefaultRoleMap().
	RoleMap RoleMap
	Drifts  Drifts
	Dialect Dialect
}

func (c Config) withDefaults() Config {
	if c.Now == nil {
		c.Now = time.Now
	}
	c.Issuer = strings.TrimSuffix(c.Issuer, "/")
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.AccessTokenTTL, DefaultAccessTokenTTL)
	if c.Drifts.AccessTTLLong {
		c.AccessTokenTTL = DriftAccessTokenTTL
	}
	def(&c.RefreshTokenTTL, DefaultRefreshTokenTTL)
	def(&c.SessionTTL, DefaultSessionTTL)
	def(&c.CodeTTL, DefaultCodeTTL)
	def(&c.BreakGlassTTL, DefaultBreakGlassTTL)
	def(&c.LockoutDuration, DefaultLockoutDuration)
	if c.LockoutThreshold == 0 {
		c.LockoutThreshold = DefaultLockoutThreshold
	}
	if c.BcryptCost == 0 {
		c.BcryptCost = bcrypt.DefaultCost
	}
	if c.IntrospectionSecret == "" {
		c.IntrospectionSecret = respond.ID()
	}
	if c.ProvisionerSecret == "" {
		c.ProvisionerSecret = respond.ID()
	}
	if c.HarnessSecret == "" {
		c.HarnessSecret = respond.ID()
	}
	if c.RoleMap.Roles == nil {
		c.RoleMap = DefaultRoleMap()
	}
	if c.Drifts.RoleMapBillingAdmin {
		c.RoleMap = c.RoleMap.withBillingAdmin()
	}
	return c
}

// withBillingAdmin returns a copy of m in which billing clerks also get the admin role
// and its scopes (drift role-map-billing-admin).
func (m RoleMap) withBillingAdmin() RoleMap {
	roles := make(map[string]Mapping, len(m.Roles))
	for k, v := range m.Roles {
		roles[k] = v
	}
	b, a := roles["billing-clerk"], roles["admin"]
	roles["billing-clerk"] = Mapping{Roles: sortedSet(append(slices.Clone(b.Roles), a.Roles...)), Scopes: sortedSet(append(slices.Clone(b.Scopes), a.Scopes...))}
	return RoleMap{Roles: roles, Permissions: m.Permissions}
}

// User is a person in the candidate directory.
type User struct {
	ID       string
	Username string
	Name     string
	Email    string
	// Roles and Scopes are candidate roles and the scopes they bring.
	Roles  []string
	Scopes []string
	// Panel lists the patients assigned to a clinician.
	Panel  []string
	Active bool
	Hash   passhash.Hash
	// imported, when set, is a hash imported in bulk under a scheme Hash does
	// not hold (PBKDF2, Argon2id); it verifies the password in Hash's place
	// until the first sign-in stores the password as bcrypt.
	imported *importedHash
}

// LegacyUser is a user as exported from legacy, with its legacy roles and hash.
type LegacyUser struct {
	ID, Username, Name, Email string
	Roles                     []string
	Panel                     []string
	Hash                      passhash.Hash
}

// ServiceAccount is a non-human identity: an OAuth client using client_credentials.
type ServiceAccount struct {
	// ID is the subject of its tokens; Username is its client_id.
	ID, Username string
	// Permissions are the legacy permissions, mapped to scopes.
	Permissions []string
}

// client is a registered OAuth client.
type client struct {
	id           string
	secret       [32]byte // SHA-256 of the secret; confidential clients only
	confidential bool
	redirects    []string
	postLogout   []string
	grants       []string
	subject      string   // client_credentials subject
	scopes       []string // client_credentials scopes
	introspect   bool
	// key verifies the client's private_key_jwt assertions.
	key crypto.PublicKey
}

func (c *client) allows(grant string) bool { return slices.Contains(c.grants, grant) }

// Server is a candidate stack. It is an http.Handler, safe for concurrent use.
type Server struct {
	cfg       Config
	mux       *http.ServeMux
	key       *ecdsa.PrivateKey
	kid       string
	audit     *ehr.Audit
	records   *ehr.Records
	grants    *ehr.Grants
	lock      *lockout.Tracker
	resources *ehr.Resources

	flakyMu sync.Mutex
	flaky   *rand.Rand
	// tokenSlot is the token endpoint's one slot under the token-capacity
	// drift.
	tokenSlot chan struct{}
	portal    *portal

	mu      sync.RWMutex
	users   map[string]*User // by id
	byName  map[string]*User
	clients map[string]*client
	tokens  tokenStore
}

// New returns a candidate stack with the built-in clients and no users.
func New(cfg Config) *Server {
	cfg = cfg.withDefaults()
	key, err := ecdsa.GenerateKey(elliptic.P256(), crand.Reader)
	if err != nil {
		panic(fmt.Sprintf("candidate: signing key: %v", err)) // crypto/rand does not fail
	}
	s := &Server{
		tokenSlot: make(chan struct{}, 1),
		cfg:       cfg,
		mux:       http.NewServeMux(),
		key:       key,
		kid:       respond.ID()[:12],
		audit:     ehr.NewAudit(cfg.Now),
		records:   ehr.NewRecords(),
		lock:      lockout.New(cfg.LockoutThreshold, cfg.LockoutDuration, cfg.Now),
		flaky:     rand.New(rand.NewPCG(cfg.Drifts.Seed, cfg.Drifts.Seed^0x9e3779b97f4a7c15)),
		users:     make(map[string]*User),
		byName:    make(map[string]*User),
		clients:   make(map[string]*client),
		tokens:    newTokenStore(),
	}
	d := cfg.Drifts
	s.grants = ehr.NewGrants(ehr.GrantsConfig{
		TTL: cfg.BreakGlassTTL, Now: cfg.Now,
		Refuse: d.BreakGlassDenied, ReasonOptional: d.BreakGlassNoReason, Unaudited: d.BreakGlassNotAudited,
	}, s.audit)
	s.resources = &ehr.Resources{
		Auth: authn{s}, Directory: directory{s}, Records: s.records, Grants: s.grants, Audit: s.audit, Now: cfg.Now,
		Policy: ehr.Policy{ClinicianNotesDenied: d.ClinicianNotesDenied, PatientSeesOthers: d.PatientSeesOthers},
	}
	s.registerBuiltinClients()
	s.routes()
	return s
}

func (s *Server) registerBuiltinClients() {
	iss := s.cfg.Issuer
	s.clients[HarnessClientID] = &client{
		id: HarnessClientID, redirects: []string{HarnessRedirectURI},
		postLogout: []string{"http://localhost/cutover/logged-out"},
		grants:     []string{grantCode, grantRefresh, grantTokenExchange},
	}
	if d := s.cfg.Dialect; d.confidentialHarness() {
		h := s.clients[HarnessClientID]
		h.confidential, h.secret, h.introspect = true, sha256.Sum256([]byte(s.cfg.HarnessSecret)), d.IntrospectOwnClient
		if d.PrivateKeyJWTOnly {
			h.key = s.cfg.ClientKey
		}
	}
	s.clients[PortalClientID] = &client{
		id: PortalClientID, redirects: []string{iss + "/portal/callback"},
		postLogout: []string{iss + "/portal/signed-out"},
		grants:     []string{grantCode, grantRefresh},
	}
	s.clients[IntrospectionClientID] = &client{
		id: IntrospectionClientID, confidential: true, introspect: true,
		secret: sha256.Sum256([]byte(s.cfg.IntrospectionSecret)),
	}
	s.clients[ProvisionerClientID] = &client{
		id: ProvisionerClientID, confidential: true, subject: ProvisionerClientID,
		secret: sha256.Sum256([]byte(s.cfg.ProvisionerSecret)),
		grants: []string{grantClientCredentials}, scopes: []string{ProvisionerScope},
	}
}

// Issuer returns the issuer URL.
func (s *Server) Issuer() string { return s.cfg.Issuer }

// HarnessSecret returns the harness client's secret, which it needs where a
// dialect makes it confidential.
func (s *Server) HarnessSecret() string { return s.cfg.HarnessSecret }

// Clients returns the ids and secrets of the built-in confidential clients: the
// introspection client and the SCIM provisioner.
func (s *Server) Clients() (introspectionID, introspectionSecret, provisionerID, provisionerSecret string) {
	return IntrospectionClientID, s.cfg.IntrospectionSecret, ProvisionerClientID, s.cfg.ProvisionerSecret
}

// ImportUser adds a user exported from legacy: the hash as it is, roles and scopes
// through the role map, a patient's record and a clinician's panel.
func (s *Server) ImportUser(lu LegacyUser) error {
	roles, scopes := s.cfg.RoleMap.Apply(lu.Roles)
	return s.AddUser(User{
		ID: lu.ID, Username: lu.Username, Name: lu.Name, Email: lu.Email,
		Roles: roles, Scopes: scopes, Panel: lu.Panel, Active: true, Hash: lu.Hash,
	})
}

// AddUser adds u to the directory.
func (s *Server) AddUser(u User) error {
	u.Roles, u.Scopes, u.Panel = slices.Clone(u.Roles), slices.Clone(u.Scopes), slices.Clone(u.Panel)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.byName[u.Username]; dup {
		return fmt.Errorf("candidate: add user %s: username %q taken", u.ID, u.Username)
	}
	if _, dup := s.users[u.ID]; dup {
		return fmt.Errorf("candidate: add user %s: id taken", u.ID)
	}
	s.users[u.ID] = &u
	s.byName[u.Username] = &u
	s.index(&u)
	return nil
}

// index registers the records of u; callers hold s.mu.
func (s *Server) index(u *User) {
	if slices.Contains(u.Roles, string(ehr.RolePatient)) {
		s.records.AddPatient(u.ID, u.Name)
	}
	if len(u.Panel) > 0 {
		s.records.Assign(u.ID, u.Panel)
	}
}

// AddServiceAccount registers a service account as a confidential client whose
// client_id is its username, with scopes mapped from its legacy permissions.
func (s *Server) AddServiceAccount(a ServiceAccount, secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clients[a.Username] = &client{
		id: a.Username, confidential: true, subject: a.ID,
		secret: sha256.Sum256([]byte(secret)),
		grants: []string{grantClientCredentials},
		scopes: s.cfg.RoleMap.ServiceScopes(a.Permissions),
		// Under introspect-own-client a client may introspect its own tokens.
		introspect: s.cfg.Dialect.IntrospectOwnClient,
	}
	if s.cfg.Dialect.PrivateKeyJWTOnly {
		s.clients[a.Username].key = s.cfg.ClientKey
	}
}

// user returns a snapshot of user id, safe to read while SCIM changes the directory.
func (s *Server) user(id string) (User, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	u, ok := s.users[id]
	if !ok {
		return User{}, false
	}
	cp := *u
	cp.Roles, cp.Scopes = slices.Clone(u.Roles), slices.Clone(u.Scopes)
	return cp, true
}

func (s *Server) client(id string) (*client, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c, ok := s.clients[id]
	return c, ok
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

// ServeHTTP implements http.Handler, with the flaky-5xx and slow-token drifts in front.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Drifts.Flaky5xx > 0 && !metadataPath(r.URL.Path) && s.flakyNext(s.cfg.Drifts.Flaky5xx) ||
		s.cfg.Drifts.FlakyBreakGlass > 0 && r.URL.Path == "/token" && r.PostFormValue("grant_type") == grantTokenExchange && s.flakyNext(s.cfg.Drifts.FlakyBreakGlass) {
		w.Header().Set("Retry-After", "1")
		respond.Error(w, http.StatusServiceUnavailable, "temporarily_unavailable", "")
		return
	}
	if c := s.cfg.Drifts.TokenCapacity; c > 0 && r.URL.Path == "/token" {
		select {
		case s.tokenSlot <- struct{}{}:
		case <-r.Context().Done():
			return
		}
		t := time.NewTimer(time.Duration(float64(time.Second) / c))
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
		}
		<-s.tokenSlot
		if r.Context().Err() != nil {
			return
		}
	}
	if d := s.cfg.Drifts.SlowToken; d > 0 && r.URL.Path == "/token" {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	s.mux.ServeHTTP(w, r)
}

// metadataPath reports the discovery and key endpoints, which flaky-5xx spares so a
// client can always bootstrap.
func metadataPath(p string) bool {
	return p == "/.well-known/openid-configuration" || p == "/jwks.json"
}

// Reseed restarts the generator behind the flaky-5xx drift from seed, for a stack
// built before its seed was known; call it before serving.
func (s *Server) Reseed(seed uint64) {
	s.flakyMu.Lock()
	defer s.flakyMu.Unlock()
	s.cfg.Drifts.Seed = seed
	s.flaky = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

// flakyNext draws the next request's fate from the seeded generator: true
// with probability share.
func (s *Server) flakyNext(share float64) bool {
	s.flakyMu.Lock()
	defer s.flakyMu.Unlock()
	return s.flaky.Float64() < share
}
