package oidc

import (
	"context"
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
	a := adapter.ClientAuth{ID: p.Username, Secret: p.Secret.Reveal()}
	if o.cfg.Audience != "" {
		form.Set("audience", o.cfg.Audience)
	}
	if sv := o.cfg.Service; sv != nil {
		scopes := slices.Clone(sv.Scopes)
		if sv.PermissionScopes != nil {
			scopes = append(scopes, adapter.MapPermissions(p.Permissions, sv.PermissionScopes)...)
		}
		if len(scopes) > 0 {
			form.Set("scope", strings.Join(scopes, " "))
		}
		a.Post = sv.AuthMethod == "client_secret_post"
	}
	tok, err := o.token(ctx, form, a)
	if err != nil {
		return nil, err
	}
	return o.session(ctx, tok, nil, false)
}
