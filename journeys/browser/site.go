package browser

import (
	"errors"
	"fmt"
	"net/url"
)

// Site is how a user meets one stack in a browser: where they start, which page
// shows them signed in, and the selectors of the pages on the way. Every selector is
// a CSS selector.
type Site struct {
	// Start is the URL a user opens to sign in: the legacy login page, or the
	// candidate relying party's landing page, which redirects to the provider's
	// login page (authorization code with PKCE).
	Start string `yaml:"start"`
	// Landing is the page that shows a signed-in user; after logout the probe opens
	// it again and it must demand a login. Empty means Start.
	Landing   string    `yaml:"landing"`
	Selectors Selectors `yaml:"selectors"`
}

// Selectors locate the elements a browser journey needs. Empty fields take the
// defaults of DefaultSelectors, which fit both embedded stacks.
type Selectors struct {
	// LoginForm is the login form; a page that shows it demands a login.
	LoginForm string `yaml:"login_form"`
	Username  string `yaml:"username"`
	Password  string `yaml:"password"`
	Submit    string `yaml:"submit"`
	// LoginError holds the message of a refused login, quoted in the record; Off
	// quotes nothing.
	LoginError string `yaml:"login_error"`
	// Landed is present only on the signed-in landing page.
	Landed string `yaml:"landed"`
	// Name, when set, is the element of the landing page that must show the
	// persona's display name: the page greets the user who signed in, no one else.
	// Off skips the check.
	Name string `yaml:"name"`
	// Logout is the control that signs the user out.
	Logout string `yaml:"logout"`
}

// DefaultSelectors are the selectors of the embedded stacks' pages: the legacy
// /login and /home, the candidate's login page and its /portal/ landing app.
func DefaultSelectors() Selectors {
	return Selectors{
		LoginForm:  "#login-form",
		Username:   `#login-form input[name="username"]`,
		Password:   `#login-form input[name="password"]`,
		Submit:     `#login-form [type="submit"]`,
		LoginError: "#error",
		Landed:     "#welcome",
		Name:       "#welcome",
		Logout:     `#logout-form [type="submit"]`,
	}
}

// Paths of the embedded stacks' browser pages, relative to their base URLs.
const (
	LegacyStartPath   = "/login"
	LegacyLandingPath = "/home"
	PortalLandingPath = "/portal/"
)

// Off, as the value of an optional selector (LoginError, Name), switches off what it
// locates.
const Off = "-"

// Resolve returns s with relative URLs resolved against base and empty selectors
// filled from DefaultSelectors. It fails on a URL that does not parse or is not
// absolute http(s) after resolution.
func (s Site) Resolve(base string) (Site, error) {
	b, err := url.Parse(base)
	if err != nil {
		return Site{}, fmt.Errorf("base URL %q: %w", base, err)
	}
	if s.Landing == "" {
		s.Landing = s.Start
	}
	var errs []error
	for _, f := range []struct {
		name string
		v    *string
	}{{"start", &s.Start}, {"landing", &s.Landing}} {
		u, err := url.Parse(*f.v)
		if err != nil || *f.v == "" {
			errs = append(errs, fmt.Errorf("%s URL %q is not a URL", f.name, *f.v))
			continue
		}
		u = b.ResolveReference(u)
		if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("%s URL %q is not an absolute http(s) URL", f.name, u))
			continue
		}
		*f.v = u.String()
	}
	d := DefaultSelectors()
	for _, f := range []struct {
		v   *string
		def string
	}{
		{&s.Selectors.LoginForm, d.LoginForm}, {&s.Selectors.Username, d.Username},
		{&s.Selectors.Password, d.Password}, {&s.Selectors.Submit, d.Submit},
		{&s.Selectors.LoginError, d.LoginError}, {&s.Selectors.Landed, d.Landed},
		{&s.Selectors.Name, d.Name}, {&s.Selectors.Logout, d.Logout},
	} {
		if *f.v == "" {
			*f.v = f.def
		}
	}
	return s, errors.Join(errs...)
}

// LegacySite is the embedded legacy stack at base: the form at /login, /home.
func LegacySite(base string) Site {
	s, _ := Site{Start: LegacyStartPath, Landing: LegacyLandingPath}.Resolve(base)
	return s
}

// PortalSite is the embedded candidate at issuer, met through its /portal/ landing
// app (a relying party that signs users in with the authorization code and PKCE).
func PortalSite(issuer string) Site {
	s, _ := Site{Start: PortalLandingPath}.Resolve(issuer)
	return s
}
