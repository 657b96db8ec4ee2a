package hydra

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Server is a running Hydra process on loopback, with the login app it sends people
// to. Its fields are read-only. Its methods are safe for concurrent use.
type Server struct {
	// Issuer is the public base URL: the OIDC issuer, discovery at
	// Issuer + "/.well-known/openid-configuration".
	Issuer string
	// AdminURL is the admin API base URL (clients, login/consent, introspection).
	AdminURL string
	// LoginURL is the base URL of the login/consent/logout app.
	LoginURL string

	http *http.Client
	cmd  *exec.Cmd
	// exited is closed once the process has been reaped; waitErr is then set.
	exited  chan struct{}
	waitErr error
	app     *http.Server
	dir     string
	logs    *tailBuffer

	closeOnce sync.Once
	closed    chan struct{}
	closeErr  error
}

// IntrospectionURL returns the RFC 7662 introspection endpoint. Hydra serves it on
// the admin port only and does not advertise it in discovery.
func (s *Server) IntrospectionURL() string { return s.AdminURL + "/admin/oauth2/introspect" }

// errPortTaken marks a start attempt that lost a free port to another process
// between choosing it and Hydra binding it; Start then tries other ports.
var errPortTaken = errors.New("port taken")

const startAttempts = 3

// Start launches Hydra (serve all --dev, in-memory storage) on free loopback ports,
// with a generated configuration and a login app serving opt.Users, installs its
// signing keys, and returns once both Hydra ports report ready and the JWKS is
// served. The server runs until Close is called or ctx is done, whichever comes
// first; either way the process group is killed and reaped.
func Start(ctx context.Context, opt Options) (*Server, error) {
	if err := opt.Validate(); err != nil {
		return nil, fmt.Errorf("hydra options: %w", err)
	}
	opt = opt.withDefaults()
	bin := opt.Binary
	if bin == "" {
		var err error
		if bin, err = Binary(); err != nil {
			return nil, err
		}
	} else if err := checkBinary(bin, "Options.Binary"); err != nil {
		return nil, err
	}

	var lastErr error
	for range startAttempts {
		s, err := start(ctx, bin, opt)
		if err == nil {
			go s.closeWhenDone(ctx)
			return s, nil
		}
		lastErr = err
		if !errors.Is(err, errPortTaken) {
			break
		}
	}
	return nil, lastErr
}

func start(ctx context.Context, bin string, opt Options) (_ *Server, err error) {
	appLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("login app listener: %w", err)
	}
	ports, err := freePorts(2)
	if err != nil {
		appLn.Close()
		return nil, err
	}
	dir, err := os.MkdirTemp("", "cutover-hydra-")
	if err != nil {
		appLn.Close()
		return nil, fmt.Errorf("hydra work dir: %w", err)
	}
	s := &Server{
		Issuer:   "http://127.0.0.1:" + strconv.Itoa(ports[0]),
		AdminURL: "http://127.0.0.1:" + strconv.Itoa(ports[1]),
		LoginURL: "http://" + appLn.Addr().String(),
		http:     newHTTPClient(),
		exited:   make(chan struct{}),
		closed:   make(chan struct{}),
		dir:      dir,
		logs:     &tailBuffer{max: 8 << 10},
	}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()

	app, err := newLoginApp(s.AdminURL, s.http, opt.Users, opt.RememberLogin, opt.Log)
	if err != nil {
		appLn.Close()
		return nil, err
	}
	s.app = &http.Server{Handler: app, ReadHeaderTimeout: 10 * time.Second}
	go s.app.Serve(appLn)

	cfg, err := config(s, ports, opt)
	if err != nil {
		return nil, err
	}
	cfgPath := filepath.Join(dir, "hydra.json")
	if err := os.WriteFile(cfgPath, cfg, 0o600); err != nil {
		return nil, fmt.Errorf("hydra config: %w", err)
	}

	// The start timeout bounds the migration and the wait for readiness.
	ctx, cancel := context.WithTimeout(ctx, opt.StartTimeout)
	defer cancel()
	if err := s.migrate(ctx, bin); err != nil {
		return nil, err
	}
	s.cmd = exec.Command(bin, "serve", "all", "--dev", "--sqa-opt-out", "--config", cfgPath)
	s.cmd.Dir = dir
	s.cmd.Env = hermeticEnv(dir)
	out := io.MultiWriter(s.logs, opt.Log)
	s.cmd.Stdout, s.cmd.Stderr = out, out
	s.cmd.SysProcAttr = sysProcAttr()
	// Wait returns this long after the process died even if something still holds
	// its output pipes.
	s.cmd.WaitDelay = 5 * time.Second

	type generated struct {
		keys map[string]jwk
		err  error
	}
	keys := make(chan generated, 1)
	go func() {
		k, err := signingKeys()
		keys <- generated{k, err}
	}()
	if err := s.launch(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	if err := s.await(ctx, s.AdminURL+"/health/ready", status200); err != nil {
		return nil, err
	}
	var g generated
	select {
	case g = <-keys:
	case <-ctx.Done():
		return nil, fmt.Errorf("signing keys not generated within %s: %w", opt.StartTimeout, context.Cause(ctx))
	}
	if g.err != nil {
		return nil, g.err
	}
	// No public request has been made yet, so Hydra has generated no key of its own.
	if err := s.installKeys(ctx, g.keys); err != nil {
		return nil, err
	}
	if err := s.await(ctx, s.Issuer+"/health/ready", status200); err != nil {
		return nil, err
	}
	if err := s.await(ctx, s.Issuer+"/.well-known/jwks.json", hasKeys(len(signingKeySets))); err != nil {
		return nil, err
	}
	return s, nil
}

// launch starts the process and reaps it in the background.
//
// Subtleness ahead: on Linux the child gets SIGKILL when the OS thread that forked it
// exits (Pdeathsig), so that a crashed test binary leaves no Hydra behind. Go may
// retire an idle thread at any time unless a goroutine holds it, so the goroutine that
// starts the child stays locked to its thread until the child is reaped, and never
// unlocks: its thread then exits with it.
func (s *Server) launch() error {
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := s.cmd.Start(); err != nil {
			started <- err
			close(s.exited)
			return
		}
		started <- nil
		s.waitErr = s.cmd.Wait()
		close(s.exited)
	}()
	return <-started
}

// await polls url until ok accepts the answer, the process exits or ctx is done.
func (s *Server) await(ctx context.Context, url string, ok func(*http.Response) bool) error {
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for !s.probe(ctx, url, ok) {
		select {
		case <-s.exited:
			tail := s.logs.String()
			if strings.Contains(tail, "address already in use") {
				return fmt.Errorf("hydra exited before ready: %w", errPortTaken)
			}
			return fmt.Errorf("hydra exited before ready (%v); its last output:\n%s", s.waitErr, tail)
		case <-ctx.Done():
			return fmt.Errorf("hydra not ready at %s: %w; its last output:\n%s", url, context.Cause(ctx), s.logs.String())
		case <-tick.C:
		}
	}
	return nil
}

// probe reports whether a GET of url answers and ok accepts the answer.
func (s *Server) probe(ctx context.Context, url string, ok func(*http.Response) bool) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	good := ok(resp)
	io.Copy(io.Discard, resp.Body)
	return good
}

func status200(r *http.Response) bool { return r.StatusCode == http.StatusOK }

// hasKeys returns a check that r is a JWKS with at least n keys.
func hasKeys(n int) func(*http.Response) bool {
	return func(r *http.Response) bool {
		var set struct {
			Keys []json.RawMessage `json:"keys"`
		}
		return r.StatusCode == http.StatusOK && json.NewDecoder(r.Body).Decode(&set) == nil && len(set.Keys) >= n
	}
}

func (s *Server) closeWhenDone(ctx context.Context) {
	select {
	case <-ctx.Done():
		s.Close()
	case <-s.closed:
	}
}

// Close kills Hydra's process group, waits until the process is reaped, stops the
// login app and removes the generated configuration. It is idempotent.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		defer close(s.closed)
		var errs []error
		if s.cmd != nil && s.cmd.Process != nil {
			select {
			case <-s.exited:
			default:
				if err := killGroup(s.cmd.Process.Pid); err != nil {
					errs = append(errs, fmt.Errorf("kill hydra: %w", err))
				}
			}
			select {
			case <-s.exited:
			case <-time.After(10 * time.Second):
				errs = append(errs, fmt.Errorf("hydra (pid %d) not reaped 10s after SIGKILL", s.cmd.Process.Pid))
			}
		}
		if s.app != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if err := s.app.Shutdown(ctx); err != nil {
				s.app.Close()
			}
			cancel()
		}
		if err := os.RemoveAll(s.dir); err != nil {
			errs = append(errs, err)
		}
		s.http.CloseIdleConnections()
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

// hermeticEnv is the environment Hydra runs with. Hydra reads any environment
// variable named after a config key (DSN, SECRETS_SYSTEM, SERVE_PUBLIC_PORT...) as an
// override, so the caller's environment is not passed on.
func hermeticEnv(home string) []string {
	env := []string{"HOME=" + home, "TMPDIR=" + home, "SQA_OPT_OUT=true"}
	if p := os.Getenv("PATH"); p != "" {
		env = append(env, "PATH="+p)
	}
	return env
}

// freePorts returns n distinct loopback ports that were free a moment ago.
func freePorts(n int) ([]int, error) {
	var ports []int
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("free port: %w", err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// config renders Hydra's configuration file (JSON; Hydra reads .json, .yaml, .toml).
func config(s *Server, ports []int, opt Options) ([]byte, error) {
	system, err := secret()
	if err != nil {
		return nil, err
	}
	cookie, err := secret()
	if err != nil {
		return nil, err
	}
	type obj = map[string]any
	oauth2 := obj{
		"pkce":                   obj{"enforced_for_public_clients": true},
		"grant":                  obj{"refresh_token": obj{"rotation_grace_period": opt.RotationGracePeriod.String()}},
		"expose_internal_errors": true,
	}
	if len(opt.AllowedTopLevelClaims) > 0 {
		oauth2["allowed_top_level_claims"] = opt.AllowedTopLevelClaims
	}
	c := obj{
		"dsn": sqliteDSN(s.dir),
		"log": obj{"level": "warn", "format": "json", "leak_sensitive_values": false},
		"serve": obj{
			"public":  obj{"host": "127.0.0.1", "port": ports[0]},
			"admin":   obj{"host": "127.0.0.1", "port": ports[1]},
			"cookies": obj{"same_site_mode": "Lax"},
		},
		"urls": obj{
			"self":                 obj{"issuer": s.Issuer, "public": s.Issuer, "admin": s.AdminURL},
			"login":                s.LoginURL + pathLogin,
			"consent":              s.LoginURL + pathConsent,
			"logout":               s.LoginURL + pathLogout,
			"error":                s.LoginURL + pathError,
			"post_logout_redirect": s.LoginURL + pathLoggedOut,
		},
		"secrets":    obj{"system": []string{system}, "cookie": []string{cookie}},
		"strategies": obj{"access_token": string(opt.AccessTokens)},
		"ttl": obj{
			"access_token":          opt.TTL.AccessToken.String(),
			"refresh_token":         opt.TTL.RefreshToken.String(),
			"id_token":              opt.TTL.IDToken.String(),
			"auth_code":             opt.TTL.AuthCode.String(),
			"login_consent_request": opt.TTL.LoginConsent.String(),
		},
		"oauth2": oauth2,
		"sqa":    obj{"opt_out": true},
	}
	return json.MarshalIndent(c, "", "  ")
}

// sqliteDSN is Hydra's database: an SQLite file in the private work dir (deleted
// by Close), in WAL mode, each transaction taking the write lock when it begins
// and waiting up to 10 s for it. Hydra's "memory" DSN (SQLite in memory, shared
// cache) fails concurrent requests with SQLITE_LOCKED, which Hydra answers with
// "Unable to serialize access due to a concurrent update": a 500 from the token
// endpoint, or error=error from the authorization endpoint. Limiting it to one
// connection deadlocks Hydra instead. Under a rehearsal's load that artefact of
// the storage would show as candidate errors, so the file it is.
func sqliteDSN(dir string) string {
	return "sqlite://" + filepath.Join(dir, "hydra.sqlite") + "?_fk=true&_journal_mode=WAL&_busy_timeout=10000&_txlock=immediate"
}

// migrate creates Hydra's tables (hydra migrate sql up), which Hydra does by
// itself only for an in-memory database.
func (s *Server) migrate(ctx context.Context, bin string) error {
	cmd := exec.CommandContext(ctx, bin, "migrate", "sql", "up", "--yes", sqliteDSN(s.dir))
	cmd.Dir = s.dir
	cmd.Env = hermeticEnv(s.dir)
	cmd.WaitDelay = time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		tail := out[max(0, len(out)-2048):]
		return fmt.Errorf("hydra migrate sql up: %w\n%s", err, tail)
	}
	return nil
}

// secret returns 32 random bytes, hex encoded (Hydra wants at least 16 characters).
func secret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("hydra secret: %w", err)
	}
	return hex.EncodeToString(b), nil
}

func newHTTPClient() *http.Client {
	return &http.Client{
		// Loopback only: no proxy from the environment.
		Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 16, IdleConnTimeout: 30 * time.Second},
		Timeout:   30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// tailBuffer keeps the last max bytes written to it; safe for concurrent use.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if over := len(t.b) - t.max; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}
