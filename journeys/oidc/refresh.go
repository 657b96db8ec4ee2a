package oidc

import (
	"context"
	"fmt"
	"net/url"

	"github.com/cutover-dev/cutover/journeys/adapter"
)

// Refresh implements Refresher with the refresh_token grant.
func (o *Adapter) Refresh(ctx context.Context, s *adapter.Session) (*adapter.Session, error) {
	if s.Cred.Refresh == "" {
		return nil, fmt.Errorf("%w: no refresh token was issued (is offline_access among the scopes?)", adapter.ErrUnsupported)
	}
	tok, err := o.token(ctx, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {s.Cred.Refresh}}, o.harness())
	if err != nil {
		return nil, err
	}
	return o.session(ctx, tok, s, true)
}
