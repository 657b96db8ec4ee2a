package oidc

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/cutover-dev/cutover/journeys/adapter"
)

// Logout implements Stack: revocation (RFC 7009) of the refresh and access
// tokens and/or RP-initiated logout, as configured.
func (o *Adapter) Logout(ctx context.Context, s *adapter.Session) error {
	if len(o.cfg.Logout) == 0 {
		return fmt.Errorf("%w: discovery has neither revocation_endpoint nor end_session_endpoint", adapter.ErrUnsupported)
	}
	for _, m := range o.cfg.Logout {
		var err error
		switch m {
		case LogoutRevoke:
			err = o.revokeAll(ctx, s)
		case LogoutEndSession:
			err = o.endSession(ctx, s)
		default:
			err = fmt.Errorf("oidc logout: unknown method %q", m)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (o *Adapter) revokeAll(ctx context.Context, s *adapter.Session) error {
	if o.meta.RevocationEndpoint == "" {
		return fmt.Errorf("%w: discovery has no revocation_endpoint", adapter.ErrUnsupported)
	}
	for _, t := range []struct{ tok, hint string }{{s.Cred.Refresh, "refresh_token"}, {s.Cred.Access, "access_token"}} {
		if t.tok == "" {
			continue
		}
		if err := o.revoke(ctx, t.tok, t.hint); err != nil {
			return err
		}
	}
	return nil
}

func (o *Adapter) revoke(ctx context.Context, tok, hint string) error {
	const op = "oidc revoke"
	resp, err := adapter.PostForm(ctx, o.tr, o.meta.RevocationEndpoint, url.Values{"token": {tok}, "token_type_hint": {hint}}, o.harness(), op)
	if err != nil {
		return err
	}
	if resp.StatusCode == http.StatusOK {
		adapter.Drain(resp)
		return nil
	}
	if adapter.RefusalStatus(resp.StatusCode) {
		return adapter.Refusal(resp)
	}
	adapter.Drain(resp)
	return adapter.ProtocolErr(op, "HTTP %d", resp.StatusCode)
}

// endSession is RP-initiated logout: the end_session endpoint with the ID token
// as a hint and the single sign-on cookies, redirects followed until the
// post-logout redirect URI or a page.
func (o *Adapter) endSession(ctx context.Context, s *adapter.Session) error {
	const op = "oidc end_session"
	if o.meta.EndSessionEndpoint == "" {
		return fmt.Errorf("%w: discovery has no end_session_endpoint", adapter.ErrUnsupported)
	}
	q := url.Values{"client_id": {o.cfg.ClientID}}
	if s.Cred.IDToken != "" {
		q.Set("id_token_hint", s.Cred.IDToken)
	}
	if o.cfg.PostLogoutRedirectURI != "" {
		q.Set("post_logout_redirect_uri", o.cfg.PostLogoutRedirectURI)
		q.Set("state", adapter.RandomString(8))
	}
	jar := s.Cred.Jar
	if jar == nil {
		jar = adapter.NewJar()
	}
	pg, err := o.follow(ctx, o.client(jar), http.MethodGet, o.meta.EndSessionEndpoint, q, o.cfg.PostLogoutRedirectURI)
	if err != nil {
		return err
	}
	switch {
	case pg.query != nil && pg.query.Get("error") != "":
		return &adapter.RefusedError{Status: pg.status, Reason: pg.query.Get("error")}
	case pg.query != nil, pg.status >= 200 && pg.status < 300:
		return nil
	case adapter.RefusalStatus(pg.status):
		return &adapter.RefusedError{Status: pg.status, Reason: "end_session refused"}
	}
	return adapter.ProtocolErr(op, "HTTP %d", pg.status)
}
