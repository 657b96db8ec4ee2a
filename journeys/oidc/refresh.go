package oidc

import (
	"context"
	"fmt"
	"net/url"
	"slices"

	"github.com/cutover-dev/cutover/journeys/adapter"
)

// Refresh implements Refresher with the refresh_token grant.
func (o *Adapter) Refresh(ctx context.Context, s *adapter.Session) (*adapter.Session, error) {
	if s.Cred.Refresh == "" {
		return nil, fmt.Errorf("%w: %s", adapter.ErrUnsupported, o.noRefreshToken())
	}
	tok, err := o.token(ctx, o.userForm(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {s.Cred.Refresh}}), o.harness())
	if err != nil {
		return nil, err
	}
	next, err := o.session(ctx, tok, s, true)
	if err != nil {
		return nil, err
	}
	a := o.harness()
	next.ClientBound = a.Secret != "" || a.Assertion != nil
	return next, nil
}

// noRefreshToken says why a sign-in brought no refresh token, and what to set.
func (o *Adapter) noRefreshToken() string {
	switch {
	case !o.offers(grantRefresh):
		return "no refresh token was issued, and discovery does not list the refresh_token grant (declare it in grants if the provider serves it)"
	case o.cfg.Login == grantPassword:
		return "no refresh token was issued to the password grant: is offline_access among the scopes, and the refresh_token grant allowed to the client?"
	case !slices.Contains(o.cfg.Scopes, "offline_access"):
		return "no refresh token was issued: offline_access is not among the scopes (many providers issue refresh tokens only for it)"
	case o.cfg.AuthorizationParams["prompt"] == "":
		return "no refresh token was issued although offline_access was asked for: some providers want prompt=consent with it (authorization_params: {prompt: consent}), or the client lacks the refresh_token grant"
	default:
		return "no refresh token was issued although offline_access was asked for: is the refresh_token grant allowed to the client?"
	}
}
