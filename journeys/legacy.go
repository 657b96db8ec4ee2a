package journeys

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/cutover-dev/cutover/personas"
)

// LegacyConfig describes a homegrown stack declaratively: how to log in, how the
// session travels, where the roles are. A typical homegrown stack needs only this.
type LegacyConfig struct {
	BaseURL string        `yaml:"base_url"`
	Login   LegacyLogin   `yaml:"login"`
	Session LegacySession `yaml:"session"`
	Me      LegacyMe      `yaml:"me"`
	Logout  Endpoint      `yaml:"logout"`
	// RoleMap maps each legacy role to its candidate roles, so recorded roles are in
	// the candidate vocabulary. A legacy role absent from the map is recorded as is.
	RoleMap map[string][]string `yaml:"role_map"`
}

// LegacyLogin says how a persona logs in.
type LegacyLogin struct {
	// Mode is "form" (an HTML form, CSRF fields carried over) or "json".
	Mode          string `yaml:"mode"`
	Path          string `yaml:"path"`
	FormID        string `yaml:"form_id"`
	UsernameField string `yaml:"username_field"`
	PasswordField string `yaml:"password_field"`
	// SessionPath, in json mode, is the path of the session id in the answer, used
	// when the session travels in a header.
	SessionPath string `yaml:"session_path"`
}

// LegacySession says how the session travels: a cookie, or a header.
type LegacySession struct {
	Cookie string `yaml:"cookie"`
	Header string `yaml:"header"`
}

// LegacyMe is the who-am-I endpoint and where its answer holds the facts.
type LegacyMe struct {
	Path    string `yaml:"path"`
	Subject string `yaml:"subject"`
	Roles   string `yaml:"roles"`
	// TTL is the path of the session's remaining lifetime in seconds, if any.
	TTL string `yaml:"ttl"`
}

// Endpoint is a method and a path.
type Endpoint struct {
	Method string `yaml:"method"`
	Path   string `yaml:"path"`
}

// Legacy is the declarative adapter for homegrown stacks.
type Legacy struct {
	cfg  LegacyConfig
	base *url.URL
	tr   http.RoundTripper
}

var _ Stack = (*Legacy)(nil)

// NewLegacy returns an adapter for cfg, sending through tr.
func NewLegacy(cfg LegacyConfig, tr http.RoundTripper) (*Legacy, error) {
	base, err := url.Parse(cfg.BaseURL)
	if err != nil || base.Scheme == "" || base.Host == "" {
		return nil, fmt.Errorf("legacy: base_url %q is not an absolute URL", cfg.BaseURL)
	}
	if cfg.Login.UsernameField == "" {
		cfg.Login.UsernameField = "username"
	}
	if cfg.Login.PasswordField == "" {
		cfg.Login.PasswordField = "password"
	}
	return &Legacy{cfg: cfg, base: base, tr: tr}, nil
}

// url resolves a configured path (which may carry a query) against the base URL.
func (l *Legacy) url(path string) string { return resolve(l.base, path) }

// Login implements Stack.
func (l *Legacy) Login(ctx context.Context, p personas.Persona) (*Session, error) {
	c := &http.Client{Transport: l.tr, Jar: newJar(), CheckRedirect: noRedirect}
	var (
		s   *Session
		err error
	)
	switch l.cfg.Login.Mode {
	case "json":
		s, err = l.loginJSON(ctx, c, p)
	default:
		s, err = l.loginForm(ctx, c, p)
	}
	if err != nil {
		return nil, err
	}
	if err := l.whoami(ctx, s); err != nil {
		return nil, err
	}
	return s, nil
}

func (l *Legacy) loginForm(ctx context.Context, c *http.Client, p personas.Persona) (*Session, error) {
	const op = "legacy login form"
	req, err := newRequest(ctx, http.MethodGet, l.url(l.cfg.Login.Path), nil)
	if err != nil {
		return nil, err
	}
	resp, err := send(c, req, op)
	if err != nil {
		return nil, err
	}
	forms, err := ParseForms(resp.Body, resp.Request.URL)
	drain(resp)
	if err != nil {
		return nil, protocolErr(op, "%v", err)
	}
	f, err := LoginForm(forms, l.cfg.Login.FormID)
	if err != nil {
		return nil, protocolErr(op, "HTTP %d: %v", resp.StatusCode, err)
	}
	f.Values.Set(l.cfg.Login.UsernameField, p.Username)
	f.Values.Set(l.cfg.Login.PasswordField, p.Secret.Reveal())
	req, err = newRequest(ctx, http.MethodPost, f.Action.String(), strings.NewReader(f.Values.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err = send(c, req, "legacy login submit")
	if err != nil {
		return nil, err
	}
	drain(resp)
	if resp.StatusCode >= 400 {
		return nil, &RefusedError{Status: resp.StatusCode, Reason: "login refused"}
	}
	return l.sessionFromJar(c, "")
}

func (l *Legacy) loginJSON(ctx context.Context, c *http.Client, p personas.Persona) (*Session, error) {
	const op = "legacy login"
	body, _ := json.Marshal(map[string]string{l.cfg.Login.UsernameField: p.Username, l.cfg.Login.PasswordField: p.Secret.Reveal()})
	req, err := newRequest(ctx, http.MethodPost, l.url(l.cfg.Login.Path), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := send(c, req, op)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 400 {
		drain(resp)
		return nil, &RefusedError{Status: resp.StatusCode, Reason: "login refused"}
	}
	var doc any
	if err := decodeJSON(resp, op, &doc); err != nil {
		return nil, err
	}
	id := ""
	if l.cfg.Login.SessionPath != "" {
		v, _ := lookupPath(doc, l.cfg.Login.SessionPath)
		id, _ = v.(string)
		if id == "" {
			return nil, protocolErr(op, "no session id at %q in the answer", l.cfg.Login.SessionPath)
		}
	}
	return l.sessionFromJar(c, id)
}

// sessionFromJar builds the session credential: the configured header with the id
// from the answer, or the configured cookie from the jar.
func (l *Legacy) sessionFromJar(c *http.Client, id string) (*Session, error) {
	s := &Session{}
	if l.cfg.Session.Header != "" && id != "" {
		s.cred = credential{header: l.cfg.Session.Header, value: id}
		return s, nil
	}
	name := l.cfg.Session.Cookie
	for _, ck := range c.Jar.Cookies(l.base) {
		if ck.Name == name {
			s.cred = credential{cookie: &http.Cookie{Name: ck.Name, Value: ck.Value}}
			return s, nil
		}
	}
	return nil, protocolErr("legacy login", "logged in but no %q session cookie was set", name)
}

// whoami fills the session's facts from the who-am-I endpoint.
func (l *Legacy) whoami(ctx context.Context, s *Session) error {
	const op = "legacy who-am-i"
	req, err := newRequest(ctx, http.MethodGet, l.url(l.cfg.Me.Path), nil)
	if err != nil {
		return err
	}
	s.cred.apply(req)
	resp, err := send(&http.Client{Transport: l.tr, CheckRedirect: noRedirect}, req, op)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		drain(resp)
		return protocolErr(op, "HTTP %d right after login", resp.StatusCode)
	}
	var doc any
	if err := decodeJSON(resp, op, &doc); err != nil {
		return err
	}
	if l.cfg.Me.Subject != "" {
		v, err := lookupPath(doc, l.cfg.Me.Subject)
		if err != nil {
			return protocolErr(op, "%v", err)
		}
		s.Subject = fmt.Sprint(v)
	}
	roles, err := stringsAt(doc, l.cfg.Me.Roles)
	if err != nil {
		return protocolErr(op, "%v", err)
	}
	s.Roles = MapRoles(roles, l.cfg.RoleMap)
	if l.cfg.Me.TTL != "" {
		v, err := lookupPath(doc, l.cfg.Me.TTL)
		if f, ok := v.(float64); err == nil && ok {
			s.TTL = time.Duration(f) * time.Second
		}
	}
	return nil
}

// MapRoles maps legacy roles through m into a sorted, de-duplicated set.
func MapRoles(roles []string, m map[string][]string) []string {
	out := []string{}
	for _, r := range roles {
		if mapped, ok := m[r]; ok {
			out = append(out, mapped...)
		} else {
			out = append(out, r)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Do implements Stack.
func (l *Legacy) Do(ctx context.Context, s *Session, r Request) (int, error) {
	return do(ctx, l.tr, l.url(r.Path), s, r)
}

// Logout implements Stack.
func (l *Legacy) Logout(ctx context.Context, s *Session) error {
	status, err := do(ctx, l.tr, l.url(l.cfg.Logout.Path), s, Request{Method: l.cfg.Logout.Method, Path: l.cfg.Logout.Path})
	if err != nil {
		return err
	}
	if status >= 400 {
		return &RefusedError{Status: status, Reason: "logout refused"}
	}
	return nil
}

// do sends an authenticated request and returns its status.
func do(ctx context.Context, tr http.RoundTripper, u string, s *Session, r Request) (int, error) {
	method := r.Method
	if method == "" {
		method = http.MethodGet
	}
	req, err := newRequest(ctx, method, u, nil)
	if err != nil {
		return 0, err
	}
	if s != nil {
		s.cred.apply(req)
	}
	resp, err := send(&http.Client{Transport: tr, CheckRedirect: noRedirect}, req, method+" "+r.Path)
	if err != nil {
		return 0, err
	}
	drain(resp)
	return resp.StatusCode, nil
}
