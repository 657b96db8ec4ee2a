package hydra

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/cutover-dev/cutover/personas"
)

// Version is the Ory Hydra release that build.sh builds and this package drives.
const Version = "v2.3.0"

// EnvBinary names the environment variable that overrides where the hydra binary is;
// build.sh writes the binary there too when it is set.
const EnvBinary = "CUTOVER_HYDRA_BIN"

// ErrNoBinary is returned by Binary and Start when the hydra binary is not where
// Options.Binary, $CUTOVER_HYDRA_BIN or the default cache path says it is.
var ErrNoBinary = errors.New("hydra binary not found")

// TokenStrategy is the format of the access tokens Hydra issues.
type TokenStrategy string

// The access token strategies Hydra offers (config key strategies.access_token).
const (
	// Opaque tokens are random strings; only introspection says what they mean.
	Opaque TokenStrategy = "opaque"
	// JWT tokens are RS256-signed JWTs whose claims a resource server can read.
	JWT TokenStrategy = "jwt"
)

// TTLs are the lifetimes Hydra gives what it issues (config section ttl). A zero field
// takes the value in DefaultTTLs.
type TTLs struct {
	AccessToken  time.Duration
	RefreshToken time.Duration
	IDToken      time.Duration
	AuthCode     time.Duration
	// LoginConsent bounds how long a login and consent flow may take.
	LoginConsent time.Duration
}

// DefaultTTLs are the lifetimes used for zero fields of Options.TTL: within the
// figures of DOMAIN.md (access token <= 1h, authorization code <= 10 min).
var DefaultTTLs = TTLs{
	AccessToken:  15 * time.Minute,
	RefreshToken: 24 * time.Hour,
	IDToken:      15 * time.Minute,
	AuthCode:     5 * time.Minute,
	LoginConsent: 15 * time.Minute,
}

// MaxRotationGracePeriod is the largest refresh token rotation grace period Hydra
// accepts.
const MaxRotationGracePeriod = 5 * time.Minute

// DefaultStartTimeout bounds how long Start waits for Hydra to report ready.
const DefaultStartTimeout = 30 * time.Second

// User is a person the login app accepts. ID becomes the token subject (sub); Roles
// go into the access token session (ext.roles) and the ID token (roles).
type User struct {
	ID       string
	Username string
	Password personas.Secret
	Roles    []string
}

// Options configure Start. The zero value is valid: opaque tokens, DefaultTTLs, no
// users, strict refresh token rotation.
type Options struct {
	// Binary is the path of the hydra executable; empty means Binary().
	Binary string
	// AccessTokens is the access token format; empty means Opaque.
	AccessTokens TokenStrategy
	// TTL sets token lifetimes; zero fields take DefaultTTLs.
	TTL TTLs
	// RotationGracePeriod is how long a refresh token stays usable after it was
	// used (Hydra's oauth2.grant.refresh_token.rotation_grace_period). Zero, the
	// default, makes a second use a detected reuse; at most MaxRotationGracePeriod.
	RotationGracePeriod time.Duration
	// AllowedTopLevelClaims lists session claims (such as "roles") that Hydra also
	// copies to the top level of JWT access tokens; they always appear under "ext".
	AllowedTopLevelClaims []string
	// RememberLogin makes the login app accept logins with remember=true, so Hydra
	// keeps an authentication session (cookie) that a later authorize request skips
	// the login form with and that RP-initiated logout ends. Without it, Hydra has no
	// session to end: end_session redirects straight to post_logout_redirect_uri.
	RememberLogin bool
	// Users are the people the login app accepts.
	Users []User
	// StartTimeout bounds the wait for Hydra's readiness; zero means
	// DefaultStartTimeout.
	StartTimeout time.Duration
	// Log receives Hydra's own output (JSON lines; Hydra redacts sensitive values)
	// and the login app's errors, which never carry passwords or tokens. Nil
	// discards them; Start's errors still quote the end of Hydra's output.
	Log io.Writer
}

// Validate reports every problem of o at once.
func (o Options) Validate() error {
	var errs []error
	switch o.AccessTokens {
	case "", Opaque, JWT:
	default:
		errs = append(errs, fmt.Errorf("access token strategy %q: want %q or %q", o.AccessTokens, Opaque, JWT))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"ttl.access_token", o.TTL.AccessToken},
		{"ttl.refresh_token", o.TTL.RefreshToken},
		{"ttl.id_token", o.TTL.IDToken},
		{"ttl.auth_code", o.TTL.AuthCode},
		{"ttl.login_consent_request", o.TTL.LoginConsent},
		{"start timeout", o.StartTimeout},
	} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("%s is negative (%s)", d.name, d.v))
		}
	}
	if o.RotationGracePeriod < 0 || o.RotationGracePeriod > MaxRotationGracePeriod {
		errs = append(errs, fmt.Errorf("rotation grace period %s: want 0 to %s", o.RotationGracePeriod, MaxRotationGracePeriod))
	}
	ids := map[string]bool{}
	names := map[string]bool{}
	for i, u := range o.Users {
		switch {
		case u.ID == "":
			errs = append(errs, fmt.Errorf("user %d: empty id", i))
		case ids[u.ID]:
			errs = append(errs, fmt.Errorf("user %d: duplicate id %q", i, u.ID))
		}
		switch {
		case u.Username == "":
			errs = append(errs, fmt.Errorf("user %d: empty username", i))
		case names[u.Username]:
			errs = append(errs, fmt.Errorf("user %d: duplicate username %q", i, u.Username))
		}
		if u.Password.IsZero() {
			errs = append(errs, fmt.Errorf("user %d (%s): empty password", i, u.Username))
		}
		ids[u.ID], names[u.Username] = true, true
	}
	return errors.Join(errs...)
}

// withDefaults returns o with every zero field that has a default filled in.
func (o Options) withDefaults() Options {
	if o.AccessTokens == "" {
		o.AccessTokens = Opaque
	}
	def := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	def(&o.TTL.AccessToken, DefaultTTLs.AccessToken)
	def(&o.TTL.RefreshToken, DefaultTTLs.RefreshToken)
	def(&o.TTL.IDToken, DefaultTTLs.IDToken)
	def(&o.TTL.AuthCode, DefaultTTLs.AuthCode)
	def(&o.TTL.LoginConsent, DefaultTTLs.LoginConsent)
	def(&o.StartTimeout, DefaultStartTimeout)
	if o.Log == nil {
		o.Log = io.Discard
	}
	return o
}

// Binary returns the path of the hydra binary: $CUTOVER_HYDRA_BIN when set, else
// <user cache dir>/cutover/hydra/<Version>/hydra, where build.sh puts it. The error
// wraps ErrNoBinary and says how to build it when no executable is there.
func Binary() (string, error) {
	if p := os.Getenv(EnvBinary); p != "" {
		return p, checkBinary(p, "$"+EnvBinary)
	}
	p, err := defaultBinary()
	if err != nil {
		return "", fmt.Errorf("%w: no user cache directory (%v) and $%s is unset; run integration/hydra/build.sh with %s set",
			ErrNoBinary, err, EnvBinary, EnvBinary)
	}
	return p, checkBinary(p, "the default cache path")
}

func defaultBinary() (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(cache, "cutover", "hydra", Version, "hydra"), nil
}

// checkBinary reports whether p is an executable file; from says where p came from.
func checkBinary(p, from string) error {
	fi, err := os.Stat(p)
	switch {
	case err != nil:
		return fmt.Errorf("%w at %s (%s): build it with integration/hydra/build.sh (a few minutes the first time)", ErrNoBinary, p, from)
	case fi.IsDir() || fi.Mode().Perm()&0o111 == 0:
		return fmt.Errorf("%w: %s (%s) is not an executable file; rebuild it with integration/hydra/build.sh --force", ErrNoBinary, p, from)
	}
	return nil
}
