package legacy

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/cutover-dev/cutover/journeys/adapter"
	"github.com/cutover-dev/cutover/personas"
)

// Login implements Stack.
func (l *Adapter) Login(ctx context.Context, p personas.Persona) (*adapter.Session, error) {
	c := &http.Client{Transport: l.tr, Jar: adapter.NewJar(), CheckRedirect: adapter.NoRedirect}
	var (
		s   *adapter.Session
		err error
	)
	switch l.cfg.Login.Mode {
	case "json":
		s, err = l.loginJSON(ctx, c, p)
	case "request":
		s, err = l.loginRequest(ctx, c, p)
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

func (l *Adapter) loginForm(ctx context.Context, c *http.Client, p personas.Persona) (*adapter.Session, error) {
	const op = "legacy login form"
	req, err := adapter.NewRequest(ctx, http.MethodGet, l.url(l.cfg.Login.Path), nil)
	if err != nil {
		return nil, err
	}
	resp, err := adapter.Send(c, req, op)
	if err != nil {
		return nil, err
	}
	forms, err := adapter.ParseForms(resp.Body, resp.Request.URL)
	adapter.Drain(resp)
	if err != nil {
		return nil, adapter.ProtocolErr(op, "%v", err)
	}
	f, err := adapter.LoginForm(forms, l.cfg.Login.FormID)
	if err != nil {
		return nil, adapter.ProtocolErr(op, "HTTP %d: %v", resp.StatusCode, err)
	}
	f.Values.Set(l.cfg.Login.UsernameField, p.Username)
	f.Values.Set(l.cfg.Login.PasswordField, p.Secret.Reveal())
	req, err = adapter.NewRequest(ctx, http.MethodPost, f.Action.String(), strings.NewReader(f.Values.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err = adapter.Send(c, req, "legacy login submit")
	if err != nil {
		return nil, err
	}
	if re := adapter.RefusalOf(resp); re != nil {
		adapter.Drain(resp)
		re.Reason = cmp.Or(re.Reason, "login refused")
		return nil, re
	}
	adapter.Drain(resp)
	if resp.StatusCode >= 400 {
		return nil, adapter.ProtocolErr("legacy login submit", "HTTP %d is neither a session nor a refusal", resp.StatusCode)
	}
	return l.sessionFrom(c, "")
}

func (l *Adapter) loginJSON(ctx context.Context, c *http.Client, p personas.Persona) (*adapter.Session, error) {
	const op = "legacy login"
	body := map[string]string{l.cfg.Login.UsernameField: p.Username, l.cfg.Login.PasswordField: p.Secret.Reveal()}
	req := adapter.Request{Method: http.MethodPost, Path: l.cfg.Login.Path, ContentType: "application/json"}
	var csrfHeader, csrf string
	if x := l.cfg.Login.CSRF; x != nil {
		var err error
		if csrf, err = l.csrfToken(ctx, c, x); err != nil {
			return nil, err
		}
		csrfHeader = x.Header
		if x.Field != "" {
			body[x.Field] = csrf
		}
	}
	req.Body, _ = json.Marshal(body) // a map of strings always marshals
	hr, err := adapter.NewRequest(ctx, req.Method, l.url(req.Path), strings.NewReader(string(req.Body)))
	if err != nil {
		return nil, err
	}
	hr.Header.Set("Content-Type", req.ContentType)
	if csrfHeader != "" {
		hr.Header.Set(csrfHeader, csrf)
	}
	resp, err := adapter.Send(c, hr, op)
	if err != nil {
		return nil, err
	}
	return l.loginAnswer(c, resp, op)
}

// loginRequest signs in with the configured request (login.request: a SOAP
// envelope, any body) with {username} and {password} filled in.
func (l *Adapter) loginRequest(ctx context.Context, c *http.Client, p personas.Persona) (*adapter.Session, error) {
	const op = "legacy login"
	req, err := l.cfg.Login.Request.Expand(map[string]string{"username": p.Username, "password": p.Secret.Reveal()})
	if err != nil {
		return nil, adapter.ProtocolErr(op, "%v", err)
	}
	hr, err := adapter.NewRequest(ctx, req.Method, l.url(req.Path), bytes.NewReader(req.Body))
	if err != nil {
		return nil, err
	}
	if req.ContentType != "" {
		hr.Header.Set("Content-Type", req.ContentType)
	}
	resp, err := adapter.Send(c, hr, op)
	if err != nil {
		return nil, err
	}
	return l.loginAnswer(c, resp, op)
}

// loginAnswer reads the answer of a JSON or templated sign-in: a refusal, or the
// session (its id at login.session_path, its lifetime at login.ttl; JSON or XML).
func (l *Adapter) loginAnswer(c *http.Client, resp *http.Response, op string) (*adapter.Session, error) {
	if re := adapter.RefusalOf(resp); re != nil {
		adapter.Drain(resp)
		return nil, re
	}
	if resp.StatusCode >= 400 {
		adapter.Drain(resp)
		return nil, adapter.ProtocolErr(op, "HTTP %d is neither a session nor a refusal", resp.StatusCode)
	}
	if l.cfg.Login.SessionPath == "" && l.cfg.Login.TTL == "" {
		adapter.Drain(resp)
		return l.sessionFrom(c, "")
	}
	doc, err := adapter.DecodeAnswer(resp, op)
	if err != nil {
		return nil, err
	}
	var id string
	if l.cfg.Login.SessionPath != "" {
		id, err = adapter.StringAt(doc, l.cfg.Login.SessionPath)
		if err != nil || id == "" {
			return nil, adapter.ProtocolErr(op, "HTTP %d: no session id at %q in the answer", resp.StatusCode, l.cfg.Login.SessionPath)
		}
	}
	s, err := l.sessionFrom(c, id)
	if err != nil {
		return nil, err
	}
	if l.cfg.Login.TTL != "" && s.TTL == 0 {
		// The lifetime only the sign-in answer gives (expiresIn).
		if secs, err := adapter.NumberAt(doc, l.cfg.Login.TTL); err == nil && secs > 0 {
			s.TTL = time.Duration(secs) * time.Second
		}
	}
	return s, nil
}

// csrfToken fetches the CSRF token of a JSON login.
func (l *Adapter) csrfToken(ctx context.Context, c *http.Client, x *CSRF) (string, error) {
	const op = "legacy csrf"
	path := cmp.Or(x.Path, l.cfg.Login.Path)
	req, err := adapter.NewRequest(ctx, http.MethodGet, l.url(path), nil)
	if err != nil {
		return "", err
	}
	resp, err := adapter.Send(c, req, op)
	if err != nil {
		return "", err
	}
	if x.JSON != "" {
		doc, err := adapter.DecodeAnswer(resp, op)
		if err != nil {
			return "", err
		}
		tok, err := adapter.StringAt(doc, x.JSON)
		if err != nil || tok == "" {
			return "", adapter.ProtocolErr(op, "GET %s: no CSRF token at %q", path, x.JSON)
		}
		return tok, nil
	}
	adapter.Drain(resp)
	for _, ck := range c.Jar.Cookies(resp.Request.URL) {
		if ck.Name == x.Cookie && ck.Value != "" {
			return ck.Value, nil
		}
	}
	return "", adapter.ProtocolErr(op, "GET %s: HTTP %d set no %q cookie", path, resp.StatusCode, x.Cookie)
}

// sessionFrom builds the session credential: the id from the answer in the
// configured header or as a bearer token, or the configured cookie from the jar.
func (l *Adapter) sessionFrom(c *http.Client, id string) (*adapter.Session, error) {
	s := &adapter.Session{}
	switch {
	case l.cfg.Session.Bearer && id != "":
		s.Cred = adapter.Credential{Header: "Authorization", Value: "Bearer " + id}
		return s, nil
	case l.cfg.Session.Header != "" && id != "":
		s.Cred = adapter.Credential{Header: l.cfg.Session.Header, Value: id}
		return s, nil
	}
	name := l.cfg.Session.Cookie
	if name == "" {
		return nil, adapter.ProtocolErr("legacy login", "logged in but the answer held no session id to send")
	}
	for _, ck := range c.Jar.Cookies(l.base) {
		if ck.Name == name {
			s.Cred = adapter.Credential{Cookie: &http.Cookie{Name: ck.Name, Value: ck.Value}}
			return s, nil
		}
	}
	return nil, adapter.ProtocolErr("legacy login", "logged in but no %q session cookie was set", name)
}

// whoami fills the session's facts from the who-am-I endpoint.
func (l *Adapter) whoami(ctx context.Context, s *adapter.Session) error {
	const op = "legacy who-am-i"
	resp, err := adapter.Call(ctx, l.tr, l.url(l.cfg.Me.Path), s, adapter.Request{Method: http.MethodGet, Path: l.cfg.Me.Path})
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		adapter.Drain(resp)
		return adapter.ProtocolErr(op, "HTTP %d right after login", resp.StatusCode)
	}
	doc, err := adapter.DecodeAnswer(resp, op)
	if err != nil {
		return err
	}
	if !l.cfg.Me.Subject.IsZero() {
		if s.Subject, err = l.cfg.Me.Subject.StringAt(doc); err != nil {
			return adapter.ProtocolErr(op, "%v", err)
		}
	}
	roles, err := l.cfg.Me.Roles.StringsAt(doc)
	if err != nil {
		return adapter.ProtocolErr(op, "%v", err)
	}
	s.Roles = adapter.MapRoles(roles, l.cfg.RoleMap)
	if l.cfg.Me.TTL != "" {
		if secs, err := adapter.NumberAt(doc, l.cfg.Me.TTL); err == nil {
			s.TTL = time.Duration(secs) * time.Second
		}
	}
	return nil
}
