// Package stacks starts the embedded reference stacks side by side: a homegrown legacy
// CIAM (package legacy) and a standards OIDC candidate (package candidate), seeded with
// the same personas, the candidate optionally switched into drifts of the catalogue.
// They serve on loopback, so the harness drives them exactly as it drives a user's own
// stacks: over HTTP. See README.md for the HTTP contract.
//
// The reference stacks import personas and their own packages only: nothing of the
// harness, so they behave like any stack the harness is pointed at.
package stacks

import (
	"cmp"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/cutover-dev/cutover/personas"
	"github.com/cutover-dev/cutover/stacks/candidate"
	"github.com/cutover-dev/cutover/stacks/internal/respond"
	"github.com/cutover-dev/cutover/stacks/legacy"
)

// Options configures a Pair. Zero durations and counts take each stack's defaults.
type Options struct {
	// Population seeds both stacks; persona ids are user ids on both.
	Population personas.Population
	// Drifts switches the candidate into deliberate regressions.
	Drifts Drifts
	// Dialects switches the candidate into behaviours of real providers that are
	// not regressions (see Dialects).
	Dialects DialectSet
	// Seed drives the flaky-5xx drift; 0 means Population.Seed.
	Seed uint64
	// Now is the clock of both stacks; nil means time.Now.
	Now func() time.Time
	// IdleTimeout and AbsoluteTimeout bound legacy sessions (15m and 8h).
	IdleTimeout     time.Duration
	AbsoluteTimeout time.Duration
	// LockoutThreshold failed logins lock an account for LockoutDuration on both
	// stacks (5 and 15m); negative disables lockout.
	LockoutThreshold int
	LockoutDuration  time.Duration
	// CandidateLockoutThreshold, when not 0, is the candidate's own threshold
	// (a stricter or laxer lockout than legacy's; negative disables it).
	CandidateLockoutThreshold int
	// BreakGlassTTL is the time box of emergency access on both stacks (30m).
	BreakGlassTTL time.Duration
	// AccessTokenTTL is the candidate access token lifetime (5m; 24h under drift
	// access-ttl-long).
	AccessTokenTTL time.Duration
	// RefreshTokenTTL is the absolute lifetime of a candidate grant (8h, as the
	// legacy absolute session timeout).
	RefreshTokenTTL time.Duration
	// BcryptCost is the cost of the bcrypt hashes stored at seeding and at lazy
	// migration. 0 means bcrypt.MinCost: the embedded stacks verify a password at
	// every login of the demo's peak load, and at the default cost (10, ~60ms of CPU)
	// a 2-core machine carrying both stacks and the harness would be saturated by
	// hashing alone; MinCost (4, ~1ms) keeps the scheme real and the machine free.
	BcryptCost int
	// LegacyAddr and CandidateAddr are the listen addresses; "" means 127.0.0.1:0,
	// a random loopback port.
	LegacyAddr    string
	CandidateAddr string
	// CandidateWithoutUsers starts the candidate with the population's service
	// accounts (its clients) but none of its users, for provisioning them the
	// way a candidate without a migration from legacy is: SCIM, or a bulk
	// import of `cutover personas export`.
	CandidateWithoutUsers bool
}

// Pair is a running legacy and candidate stack.
type Pair struct {
	// LegacyURL and CandidateURL are the base URLs (http://127.0.0.1:port); the
	// candidate's is its issuer.
	LegacyURL    string
	CandidateURL string
	// Audience is the aud of candidate access tokens.
	Audience string
	// HarnessClientID is the candidate's public PKCE client for the harness, with
	// redirect URI HarnessRedirectURI (never contacted).
	HarnessClientID    string
	HarnessRedirectURI string
	// IntrospectionClientID and IntrospectionClientSecret authenticate to the
	// candidate's introspection endpoint.
	IntrospectionClientID     string
	IntrospectionClientSecret personas.Secret
	// HarnessClientSecret is the harness client's secret, which it needs under
	// the dialects that make it confidential (introspect-own-client,
	// secret-post-only, private-key-jwt-only).
	HarnessClientSecret personas.Secret
	// ClientKeyPEM is the PEM-encoded private key of the harness and service
	// clients under the private-key-jwt-only dialect (empty otherwise).
	ClientKeyPEM personas.Secret
	// ProvisionerClientID and ProvisionerClientSecret get a client_credentials token
	// for the candidate's SCIM endpoint.
	ProvisionerClientID     string
	ProvisionerClientSecret personas.Secret
	// Drifts are the drifts the candidate runs with.
	Drifts Drifts

	// Legacy and Candidate are the stacks themselves, for in-process tests.
	Legacy    *legacy.Server
	Candidate *candidate.Server

	// listeners are bound by Listen and handed to the servers by Serve.
	listenMu  sync.Mutex
	listeners []net.Listener
	// seed is Options.Seed (0: the population's).
	seed     uint64
	servers  []*http.Server
	stop     func() bool
	stopOnce sync.Once
	stopErr  error

	// noCandidateUsers is Options.CandidateWithoutUsers.
	noCandidateUsers bool
}

// Start validates the population, starts both stacks on loopback, seeds them and
// returns once both accept connections. The stacks run until Close, Shutdown, or the
// end of ctx. It is Listen, then Serve.
func Start(ctx context.Context, opt Options) (*Pair, error) {
	p, err := Listen(ctx, opt)
	if err != nil {
		return nil, err
	}
	if err := p.Serve(ctx, opt.Population); err != nil {
		return nil, err
	}
	return p, nil
}

// Listen binds both stacks' addresses and builds them, unseeded: their URLs and
// client secrets are known, so a rehearsal file can be read against them before
// the population they will hold is built. Serve seeds and starts them; Close
// releases the addresses of a pair never served. opt.Population is not used: the
// flaky-5xx drift draws from opt.Seed, or from the population's seed Serve gets.
func Listen(ctx context.Context, opt Options) (*Pair, error) {
	if opt.BcryptCost == 0 {
		opt.BcryptCost = bcrypt.MinCost
	}
	lc := net.ListenConfig{}
	addr := func(a string) string {
		if a == "" {
			return "127.0.0.1:0"
		}
		return a
	}
	ll, err := lc.Listen(ctx, "tcp", addr(opt.LegacyAddr))
	if err != nil {
		return nil, fmt.Errorf("stacks: legacy listener: %w", err)
	}
	cl, err := lc.Listen(ctx, "tcp", addr(opt.CandidateAddr))
	if err != nil {
		ll.Close()
		return nil, fmt.Errorf("stacks: candidate listener: %w", err)
	}
	p := &Pair{
		LegacyURL:          "http://" + ll.Addr().String(),
		CandidateURL:       "http://" + cl.Addr().String(),
		Audience:           candidate.Audience,
		HarnessClientID:    candidate.HarnessClientID,
		HarnessRedirectURI: candidate.HarnessRedirectURI,
		Drifts:             opt.Drifts,
		listeners:          []net.Listener{ll, cl},
		seed:               opt.Seed,
		noCandidateUsers:   opt.CandidateWithoutUsers,
	}
	p.Legacy = legacy.New(legacy.Config{
		Now: opt.Now, IdleTimeout: opt.IdleTimeout, AbsoluteTimeout: opt.AbsoluteTimeout,
		LockoutThreshold: opt.LockoutThreshold, LockoutDuration: opt.LockoutDuration,
		BreakGlassTTL: opt.BreakGlassTTL, BcryptCost: opt.BcryptCost,
	})
	introSecret, provSecret, harnessSecret := respond.ID(), respond.ID(), respond.ID()
	var clientKey crypto.PublicKey
	if opt.Dialects.Has("private-key-jwt-only") {
		k, pemKey, err := newClientKey()
		if err != nil {
			ll.Close()
			cl.Close()
			return nil, err
		}
		clientKey, p.ClientKeyPEM = k, personas.NewSecret(pemKey)
	}
	p.Candidate = candidate.New(candidate.Config{
		HarnessSecret: harnessSecret, ClientKey: clientKey,
		Issuer: p.CandidateURL, Now: opt.Now,
		AccessTokenTTL: opt.AccessTokenTTL, RefreshTokenTTL: opt.RefreshTokenTTL, SessionTTL: opt.AbsoluteTimeout,
		BreakGlassTTL: opt.BreakGlassTTL, LockoutThreshold: cmp.Or(opt.CandidateLockoutThreshold, opt.LockoutThreshold), LockoutDuration: opt.LockoutDuration,
		BcryptCost: opt.BcryptCost, IntrospectionSecret: introSecret, ProvisionerSecret: provSecret,
		Drifts: opt.Drifts.candidate(opt.Seed), Dialect: opt.Dialects.candidate(),
	})
	p.IntrospectionClientID, p.ProvisionerClientID = candidate.IntrospectionClientID, candidate.ProvisionerClientID
	p.IntrospectionClientSecret, p.ProvisionerClientSecret = personas.NewSecret(introSecret), personas.NewSecret(provSecret)
	p.HarnessClientSecret = personas.NewSecret(harnessSecret)
	return p, nil
}

// newClientKey makes the P-256 key pair of the private-key-jwt-only dialect:
// its public half and its private half in PKCS#8 PEM.
func newClientKey() (crypto.PublicKey, string, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, "", fmt.Errorf("stacks: client key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, "", fmt.Errorf("stacks: client key: %w", err)
	}
	return k.Public(), string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), nil
}

// Serve seeds both stacks with pop and starts serving them; they run until Close,
// Shutdown, or the end of ctx.
func (p *Pair) Serve(ctx context.Context, pop personas.Population) error {
	if err := pop.Validate(); err != nil {
		_ = p.closeListeners()
		return fmt.Errorf("stacks: population: %w", err)
	}
	if p.seed == 0 {
		p.Candidate.Reseed(pop.Seed)
	}
	if err := seed(p.Legacy, p.Candidate, pop, !p.noCandidateUsers); err != nil {
		_ = p.closeListeners()
		return err
	}
	p.listenMu.Lock()
	ls := p.listeners
	p.listeners = nil
	p.listenMu.Unlock()
	for i, h := range []http.Handler{p.Legacy, p.Candidate} {
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
		p.servers = append(p.servers, srv)
		l := ls[i]
		go func() { _ = srv.Serve(l) }()
	}
	p.stop = context.AfterFunc(ctx, func() { _ = p.Close() })
	return nil
}

// closeListeners releases the addresses of a pair that never served. Close
// may run from several goroutines at once (a cancelled context and a deferred
// call): the listeners are taken under a lock.
func (p *Pair) closeListeners() error {
	p.listenMu.Lock()
	ls := p.listeners
	p.listeners = nil
	p.listenMu.Unlock()
	var errs []error
	for _, l := range ls {
		errs = append(errs, l.Close())
	}
	return errors.Join(errs...)
}

// halt stops the servers once, by close or graceful shutdown; later calls return the
// first outcome.
func (p *Pair) halt(stop func(*http.Server) error) error {
	p.stopOnce.Do(func() {
		if p.stop != nil {
			p.stop()
		}
		var errs []error
		for _, s := range p.servers {
			if err := stop(s); err != nil {
				errs = append(errs, err)
			}
		}
		p.stopErr = errors.Join(errs...)
	})
	return p.stopErr
}

// seed loads the population into legacy, then, with users, imports legacy's
// users (with their hashes) into the candidate, as a real migration does.
func seed(l *legacy.Server, c *candidate.Server, pop personas.Population, users bool) error {
	for _, pe := range pop.Personas {
		if !pe.Human() {
			l.AddServiceAccount(legacy.ServiceAccount{ID: pe.ID, Username: pe.Username, Permissions: pe.Permissions}, pe.Secret.Reveal())
			c.AddServiceAccount(candidate.ServiceAccount{ID: pe.ID, Username: pe.Username, Permissions: pe.Permissions}, pe.Secret.Reveal())
			continue
		}
		err := l.AddUser(legacy.User{ID: pe.ID, Username: pe.Username, Name: pe.Name, Roles: pe.Roles, Panel: pe.Panel},
			pe.Secret.Reveal(), pe.Cohort.HashScheme)
		if err != nil {
			return fmt.Errorf("stacks: seed legacy: %w", err)
		}
	}
	if !users {
		return nil
	}
	emails := make(map[string]string, len(pop.Personas))
	for _, pe := range pop.Personas {
		emails[pe.ID] = pe.Email
	}
	for _, u := range l.Users() {
		err := c.ImportUser(candidate.LegacyUser{
			ID: u.ID, Username: u.Username, Name: u.Name, Email: emails[u.ID],
			Roles: u.Roles, Panel: u.Panel, Hash: u.Hash,
		})
		if err != nil {
			return fmt.Errorf("stacks: import into candidate: %w", err)
		}
	}
	return nil
}

// Close stops both stacks at once, dropping open connections. It is safe to call more
// than once, and after Shutdown.
func (p *Pair) Close() error {
	return errors.Join(p.halt((*http.Server).Close), p.closeListeners())
}

// Shutdown stops both stacks gracefully, waiting for requests in flight until ctx ends.
func (p *Pair) Shutdown(ctx context.Context) error {
	return p.halt(func(s *http.Server) error { return s.Shutdown(ctx) })
}

// ProvisionerToken asks the candidate for a client_credentials token of its
// provisioner client, the credential of its SCIM endpoint.
func (p *Pair) ProvisionerToken(ctx context.Context) (personas.Secret, error) {
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {"scim"},
		"client_id": {p.ProvisionerClientID}, "client_secret": {p.ProvisionerClientSecret.Reveal()}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.CandidateURL+"/token", strings.NewReader(form.Encode()))
	if err != nil {
		return personas.Secret{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return personas.Secret{}, fmt.Errorf("stacks: provisioner token: %w", err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		return personas.Secret{}, fmt.Errorf("stacks: provisioner token: HTTP %d, %v", resp.StatusCode, err)
	}
	return personas.NewSecret(tok.AccessToken), nil
}
