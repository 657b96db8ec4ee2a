package oidc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/cutover-dev/cutover/journeys/adapter"
	"github.com/cutover-dev/cutover/personas"
)

// Directory says where a standards stack lists its users: a SCIM 2.0 /Users
// endpoint (RFC 7644) and the client whose client_credentials token reads it,
// or (HTTP) an admin API read with a persona's session.
type Directory struct {
	// URL is the SCIM base, absolute or relative to the issuer (e.g. /scim/v2).
	URL    string `yaml:"url"`
	Client Client `yaml:"client"`
	Scope  string `yaml:"scope"`
	// HTTP, instead of SCIM, is a plain HTTP user list at the API base URL.
	HTTP *adapter.HTTPDirectory `yaml:"http"`
}

// Users implements Directory through SCIM.
func (o *Adapter) Users(ctx context.Context) ([]personas.StackUser, error) {
	d := o.cfg.Directory
	if d == nil {
		return nil, adapter.ErrUnsupported
	}
	if d.HTTP != nil {
		return d.HTTP.Read(ctx, o.opt.Population, o.Login, func(path string) string { return adapter.Resolve(o.api, path) }, o.tr, "oidc directory")
	}
	form := url.Values{"grant_type": {"client_credentials"}}
	if d.Scope != "" {
		form.Set("scope", d.Scope)
	}
	tok, err := o.token(ctx, form, o.dirAuth)
	if err != nil {
		var re *adapter.RefusedError
		if errors.As(err, &re) && (re.Reason == "invalid_client" || re.Status == http.StatusUnauthorized) {
			return nil, fmt.Errorf("scim directory: token: the provider refused directory.client %s (HTTP %d%s): check its client_id, client_secret and auth_method%s", o.dirAuth.ID, re.Status, reasonSuffix(re.Reason), o.authMethodsHint())
		}
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
