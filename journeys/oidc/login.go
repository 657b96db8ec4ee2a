package oidc

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/cutover-dev/cutover/journeys/adapter"
	"github.com/cutover-dev/cutover/personas"
)

// Login implements Stack: authorization code with PKCE S256 through the login
// form, or the password grant where configured.
func (o *Adapter) Login(ctx context.Context, p personas.Persona) (*adapter.Session, error) {
	if o.cfg.Login == grantPassword {
		if !o.offers(grantPassword) {
			return nil, unoffered(grantPassword)
		}
		id, err := o.identifier(p)
		if err != nil {
			return nil, err
		}
		tok, err := o.token(ctx, o.userForm(url.Values{
			"grant_type": {grantPassword}, "username": {id}, "password": {p.Secret.Reveal()},
			"scope": {strings.Join(o.cfg.Scopes, " ")},
		}), o.harness())
		if err != nil {
			return nil, err
		}
		return o.session(ctx, tok, nil, true)
	}
	jar := adapter.NewJar()
	tok, err := o.authorize(ctx, jar, p, nil)
	if err != nil {
		return nil, err
	}
	s, err := o.session(ctx, tok, nil, true)
	if err != nil {
		return nil, err
	}
	s.Cred.Jar, s.Cred.Who = jar, p
	return s, nil
}

// authorize runs the authorization code flow with PKCE S256 in jar: the login form
// is filled with p's credentials when the provider shows one. extra adds
// parameters to the authorization request (step-up).
func (o *Adapter) authorize(ctx context.Context, jar http.CookieJar, p personas.Persona, extra url.Values) (*tokenResponse, error) {
	c := o.client(jar)
	q, verifier := o.authRequest(strings.Join(o.cfg.Scopes, " "))
	state, nonce := q.Get("state"), q.Get("nonce")
	if o.cfg.Audience != "" {
		q.Set("audience", o.cfg.Audience)
	}
	for k, v := range o.cfg.AuthorizationParams {
		q.Set(k, v)
	}
	for k, v := range extra {
		q[k] = v
	}
	var pg page
	var err error
	if o.cfg.BrowserLogin != nil {
		pg, err = o.browserAuthorize(ctx, withQuery(o.meta.AuthorizationEndpoint, q), jar, p)
	} else {
		pg, err = o.follow(ctx, c, http.MethodGet, withQuery(o.meta.AuthorizationEndpoint, q), nil, o.cfg.RedirectURI)
	}
	if err != nil {
		return nil, err
	}
	if pg.query == nil {
		f, err := adapter.LoginForm(pg.forms, o.cfg.FormID)
		if err != nil {
			if pg.script {
				return nil, adapter.ProtocolErr("oidc login page", "HTTP %d: %v, and the page runs script: a script renders the form; set browser_login to sign in through a real browser", pg.status, err)
			}
			return nil, adapter.ProtocolErr("oidc login page", "HTTP %d: %v", pg.status, err)
		}
		id, err := o.identifier(p)
		if err != nil {
			return nil, err
		}
		if f.Types[o.cfg.UsernameField] == "email" && !strings.Contains(id, "@") {
			return nil, adapter.ProtocolErr("oidc login page", "the form's %s field asks for an e-mail address (type=email) and the persona's %s is not one: set login_identifier: email", o.cfg.UsernameField, cmp.Or(o.cfg.LoginIdentifier, IdentifierUsername))
		}
		if _, ok := f.Types[o.cfg.UsernameField]; !ok {
			return nil, adapter.ProtocolErr("oidc login page", "the login form has no %s field: set username_field to the name of its identifier input", o.cfg.UsernameField)
		}
		f.Values.Set(o.cfg.UsernameField, id)
		f.Values.Set(f.Password, p.Secret.Reveal())
		method, action, values := f.Submitted()
		if pg, err = o.follow(ctx, c, method, action, values, o.cfg.RedirectURI); err != nil {
			return nil, err
		}
		if pg.query == nil {
			if _, err := adapter.LoginForm(pg.forms, o.cfg.FormID); err == nil {
				// The provider showed the login form again: it refused.
				return nil, &adapter.RefusedError{Status: pg.status, Reason: "login_form_shown_again"}
			}
			return nil, adapter.ProtocolErr("oidc login", "after the login form, HTTP %d with %d other form(s) and no redirect to redirect_uri: a consent, second factor or second step the harness does not answer (authorization_params prompt, or the provider's settings for the harness client)", pg.status, len(pg.forms))
		}
	}
	if e := pg.query.Get("error"); e != "" {
		return nil, &adapter.RefusedError{Status: pg.status, Reason: e}
	}
	if pg.query.Get("state") != state {
		return nil, adapter.ProtocolErr("oidc callback", "state does not match the one sent")
	}
	code := pg.query.Get("code")
	if code == "" {
		return nil, adapter.ProtocolErr("oidc callback", "redirect without a code")
	}
	tok, err := o.token(ctx, o.userForm(url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {code},
		"redirect_uri":  {o.cfg.RedirectURI},
		"code_verifier": {verifier},
	}), o.harness())
	if err != nil {
		return nil, err
	}
	tok.nonce, tok.code = nonce, code
	return tok, nil
}

// authRequest is an authorization code request of the harness client for
// scope, with a fresh state, nonce and PKCE S256 challenge, and the verifier
// that redeems its code.
func (o *Adapter) authRequest(scope string) (url.Values, string) {
	verifier := adapter.RandomString(32)
	sum := sha256.Sum256([]byte(verifier))
	return url.Values{
		"response_type":         {"code"},
		"client_id":             {o.cfg.ClientID},
		"redirect_uri":          {o.cfg.RedirectURI},
		"scope":                 {scope},
		"state":                 {adapter.RandomString(16)},
		"nonce":                 {adapter.RandomString(16)},
		"code_challenge":        {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"},
	}, verifier
}

// page is where a chain of redirects ended: a page with its forms, or the stop URI
// with its query.
type page struct {
	status int
	forms  []adapter.Form
	// query is the query of the stop URI, nil when a page answered instead.
	query url.Values
	// script reports that the page runs script (it has a script element): what
	// it does cannot be seen without a browser.
	script bool
}

const maxRedirects = 10

// follow sends a request and follows redirects (at most 10) until a page answers or
// a redirect leads to stop, which is never contacted.
func (o *Adapter) follow(ctx context.Context, c *http.Client, method, target string, form url.Values, stop string) (page, error) {
	const op = "oidc redirect"
	for range maxRedirects {
		var req *http.Request
		var err error
		if method == http.MethodPost {
			req, err = adapter.NewRequest(ctx, method, target, strings.NewReader(form.Encode()))
			if err == nil {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
		} else {
			if form != nil {
				// A GET form replaces the query of its action (HTML s4.10.21.3).
				if u, perr := url.Parse(target); perr == nil {
					u.RawQuery = form.Encode()
					target = u.String()
				}
			}
			req, err = adapter.NewRequest(ctx, http.MethodGet, target, nil)
		}
		if err != nil {
			return page{}, err
		}
		resp, err := adapter.Send(c, req, op)
		if err != nil {
			return page{}, err
		}
		loc := resp.Header.Get("Location")
		if resp.StatusCode < 300 || resp.StatusCode >= 400 || loc == "" {
			body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
			adapter.Drain(resp)
			if err != nil {
				return page{}, adapter.TransportErr(op, err)
			}
			forms, err := adapter.ParseForms(bytes.NewReader(body), resp.Request.URL)
			if err != nil {
				return page{}, adapter.ProtocolErr(op, "HTTP %d: %v", resp.StatusCode, err)
			}
			script := bytes.Contains(bytes.ToLower(body), []byte("<script"))
			return page{status: resp.StatusCode, forms: forms, script: script}, nil
		}
		adapter.Drain(resp)
		next, err := resp.Request.URL.Parse(loc)
		if err != nil {
			return page{}, adapter.ProtocolErr(op, "HTTP %d with a Location that is not a URL", resp.StatusCode)
		}
		if stop != "" && sameEndpoint(next, stop) {
			return page{status: resp.StatusCode, query: next.Query()}, nil
		}
		method, target, form = http.MethodGet, next.String(), nil
	}
	return page{}, adapter.ProtocolErr(op, "more than %d redirects (a redirect loop?)", maxRedirects)
}

// sameEndpoint reports whether u is the URI stop, ignoring the query.
func sameEndpoint(u *url.URL, stop string) bool {
	s, err := url.Parse(stop)
	return err == nil && u.Scheme == s.Scheme && u.Host == s.Host && u.Path == s.Path
}

// Login identifiers.
const (
	IdentifierUsername  = "username"
	IdentifierEmail     = "email"
	IdentifierAttribute = "attribute:"
)

// identifier is what p signs in with: its username, its e-mail address or an
// attribute of the accounts file (login_identifier).
func (o *Adapter) identifier(p personas.Persona) (string, error) {
	switch li := o.cfg.LoginIdentifier; {
	case li == "" || li == IdentifierUsername:
		return p.Username, nil
	case li == IdentifierEmail:
		if p.Email == "" {
			return "", fmt.Errorf("oidc login: persona %s has no e-mail address, and login_identifier is email", p.ID)
		}
		return p.Email, nil
	case strings.HasPrefix(li, IdentifierAttribute):
		name := strings.TrimPrefix(li, IdentifierAttribute)
		if v := p.Attributes[name]; v != "" {
			return v, nil
		}
		return "", fmt.Errorf("oidc login: persona %s has no attribute %q, and login_identifier is %s", p.ID, name, li)
	default:
		return "", fmt.Errorf("oidc login: login_identifier %q; want username, email or attribute:NAME", li)
	}
}

// userForm adds the configured token_params to a token request made for a
// person.
func (o *Adapter) userForm(form url.Values) url.Values {
	for k, v := range o.cfg.TokenParams {
		form.Set(k, v)
	}
	return form
}

// browserAuthorize runs the authorization request in a real browser, which
// signs p in on a page a script renders, and returns where it was redirected.
func (o *Adapter) browserAuthorize(ctx context.Context, authURL string, jar http.CookieJar, p personas.Persona) (page, error) {
	id, err := o.identifier(p)
	if err != nil {
		return page{}, err
	}
	bl := o.cfg.BrowserLogin
	login := &adapter.BrowserLogin{
		Username: cmp.Or(bl.Username, DefaultUsernameSelector), Password: cmp.Or(bl.Password, DefaultPasswordSelector),
		Submit: bl.Submit, Identifier: id, Secret: p.Secret,
	}
	u, err := o.opt.Browser.Complete(ctx, authURL, jar, login, o.cfg.RedirectURI)
	switch {
	case errors.Is(err, adapter.ErrNotRedirected):
		// The form was submitted and the provider showed it again: it refused.
		return page{}, &adapter.RefusedError{Status: http.StatusOK, Reason: "login_form_shown_again"}
	case err != nil:
		return page{}, adapter.ProtocolErr("oidc browser login", "%v", err)
	}
	return page{status: http.StatusFound, query: u.Query()}, nil
}
