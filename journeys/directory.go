package journeys

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/cutover-dev/cutover/personas"
)

// Directory is a stack that can list the users it knows, for the pre-run parity
// check (PROVISIONING_DRIFT): both stacks must know every persona before any load.
type Directory interface {
	// Users lists the stack's users with their roles as the stack names them.
	Users(ctx context.Context) ([]personas.StackUser, error)
}

// LegacyDirectory says where a homegrown stack lists its users: a request read with
// the session of a persona allowed to (an admin), and where the answer holds each
// user's id, username and roles.
type LegacyDirectory struct {
	Request RequestTemplate `yaml:"request"`
	// Users is the JSONPath of the list in the answer; each element is an object.
	Users string `yaml:"users"`
	// ID, Username and Roles are paths inside an element (default id, username,
	// roles).
	ID       string `yaml:"id"`
	Username string `yaml:"username"`
	Roles    string `yaml:"roles"`
	// As is the persona kind whose session reads the list (default admin).
	As personas.Kind `yaml:"as"`
}

// SCIMDirectory says where a standards stack lists its users: a SCIM 2.0 /Users
// endpoint (RFC 7644) and the client whose client_credentials token reads it.
type SCIMDirectory struct {
	// URL is the SCIM base, absolute or relative to the issuer (e.g. /scim/v2).
	URL    string       `yaml:"url"`
	Client ClientConfig `yaml:"client"`
	Scope  string       `yaml:"scope"`
}

// Users implements Directory.
func (l *Legacy) Users(ctx context.Context) ([]personas.StackUser, error) {
	d := l.cfg.Directory
	if d == nil {
		return nil, ErrUnsupported
	}
	const op = "legacy directory"
	kind := d.As
	if kind == "" {
		kind = personas.Admin
	}
	reader, err := readerPersona(l.opt.pop, kind, op)
	if err != nil {
		return nil, err
	}
	s, err := l.Login(ctx, reader)
	if err != nil {
		return nil, fmt.Errorf("%s: sign-in of %s: %w", op, reader.ID, err)
	}
	req, err := d.Request.Expand(nil)
	if err != nil {
		return nil, err
	}
	var doc any
	if err := getJSON(ctx, l.tr, l.url(req.Path), s, op, &doc); err != nil {
		return nil, err
	}
	list, err := lookupPath(doc, valueOr(d.Users, "$.users"))
	if err != nil {
		return nil, protocolErr(op, "%v", err)
	}
	items, ok := list.([]any)
	if !ok {
		return nil, protocolErr(op, "%s is %s, not a list", d.Users, jsonType(list))
	}
	out := make([]personas.StackUser, 0, len(items))
	for i, it := range items {
		var u personas.StackUser
		for _, f := range []struct {
			dst  *string
			path string
		}{{&u.ID, valueOr(d.ID, "id")}, {&u.Username, valueOr(d.Username, "username")}} {
			v, err := lookupPath(it, f.path)
			s, _ := v.(string)
			if err != nil || s == "" {
				return nil, protocolErr(op, "user %d: no string at %s", i, f.path)
			}
			*f.dst = s
		}
		if u.Roles, err = stringsAt(it, valueOr(d.Roles, "roles")); err != nil {
			return nil, protocolErr(op, "user %d: %v", i, err)
		}
		out = append(out, u)
	}
	return out, nil
}

// Users implements Directory through SCIM.
func (o *OIDC) Users(ctx context.Context) ([]personas.StackUser, error) {
	d := o.cfg.Directory
	if d == nil {
		return nil, ErrUnsupported
	}
	form := url.Values{"grant_type": {"client_credentials"}}
	if d.Scope != "" {
		form.Set("scope", d.Scope)
	}
	tok, err := o.token(ctx, form, d.Client.auth())
	if err != nil {
		return nil, fmt.Errorf("scim directory: token: %w", err)
	}
	base, err := url.Parse(d.URL)
	if err != nil {
		return nil, fmt.Errorf("scim directory: url %q: %w", d.URL, err)
	}
	if !base.IsAbs() {
		base = o.api.ResolveReference(base)
	}
	c := &personas.SCIMClient{BaseURL: base.String(), Token: personas.NewSecret(tok.AccessToken), HTTP: &http.Client{Transport: o.tr}}
	users, err := c.Users(ctx)
	if err != nil {
		return nil, fmt.Errorf("scim directory: %w", err)
	}
	return users, nil
}
