package oidc

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/cutover-dev/cutover/journeys/adapter"
	"github.com/cutover-dev/cutover/personas"
)

// ServiceLogin implements ServiceAuthenticator with the client_credentials grant:
// the persona's username is its client id, its secret the client secret.
func (o *Adapter) ServiceLogin(ctx context.Context, p personas.Persona) (*adapter.Session, error) {
	if !o.offers("client_credentials") {
		return nil, unoffered("client_credentials")
	}
	form := url.Values{"grant_type": {"client_credentials"}}
	a, err := o.serviceClient(p)
	if err != nil {
		return nil, err
	}
	if o.cfg.Audience != "" {
		form.Set("audience", o.cfg.Audience)
	}
	var scopes []string
	if sv := o.cfg.Service; sv != nil {
		scopes = slices.Clone(sv.Scopes)
		if sv.PermissionScopes != nil {
			scopes = append(scopes, adapter.MapPermissions(p.Permissions, sv.PermissionScopes)...)
		}
		if len(scopes) > 0 {
			form.Set("scope", strings.Join(scopes, " "))
		}
	}
	tok, err := o.token(ctx, form, a)
	if err != nil {
		return nil, err
	}
	via := o.introAuth
	if in := o.cfg.Introspection; in != nil && in.ServiceTokens == ServiceTokensOwnClient {
		via = a
	}
	tok.requested = scopes
	return o.sessionVia(ctx, tok, nil, false, via)
}

// serviceClient is how service persona p authenticates: with its secret, or
// with its private key (service.private_keys, else service.private_key).
func (o *Adapter) serviceClient(p personas.Persona) (adapter.ClientAuth, error) {
	if a, ok := o.serviceAuth.Load(p.Username); ok {
		return a.(adapter.ClientAuth), nil
	}
	var ca ClientAuth
	if sv := o.cfg.Service; sv != nil {
		ca = sv.ClientAuth
		if k := sv.PrivateKeys[p.Username]; k != nil {
			ca.PrivateKey = k
		}
	}
	secret := adapter.NewSecretRef(p.Secret)
	a, err := ca.auth(p.Username, &secret, o.assertionTarget())
	if err != nil {
		return adapter.ClientAuth{}, fmt.Errorf("oidc service %s: %w", p.ID, err)
	}
	o.serviceAuth.Store(p.Username, a)
	return a, nil
}

// ServiceClientAuth is how service persona p authenticates at tokenURL by
// cfg's service section (its secret, or its private key), for callers that
// build requests themselves (raw attacks).
func ServiceClientAuth(cfg *Config, p personas.Persona, tokenURL string) (adapter.ClientAuth, error) {
	o := &Adapter{cfg: *cfg}
	o.meta.TokenEndpoint = tokenURL
	return o.serviceClient(p)
}
