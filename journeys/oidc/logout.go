package oidc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"

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

// endSession is RP-initiated logout (OpenID RP-Initiated Logout 1.0): the
// end_session endpoint with the ID token as a hint and the single sign-on
// cookies, redirects followed, and the provider's confirmation form submitted
// as a user would. It is done when the provider redirects to the post-logout
// redirect URI, or (without one) shows a page that asks nothing more; a page
// that needs script, or that asks again, leaves it unverified, never done.
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
	c := o.client(jar)
	pg, err := o.follow(ctx, c, http.MethodGet, o.meta.EndSessionEndpoint, q, o.cfg.PostLogoutRedirectURI)
	confirmed := false
	for {
		switch {
		case err != nil:
			return err
		case pg.query != nil && pg.query.Get("error") != "":
			return &adapter.RefusedError{Status: pg.status, Reason: pg.query.Get("error")}
		case pg.query != nil:
			return nil
		case adapter.RefusalStatus(pg.status):
			return &adapter.RefusedError{Status: pg.status, Reason: "end_session refused"}
		case pg.status < 200 || pg.status >= 300:
			return adapter.ProtocolErr(op, "HTTP %d", pg.status)
		}
		f, found := o.confirmation(pg.forms)
		if !found && pg.script && o.opt.Browser != nil && o.cfg.PostLogoutRedirectURI != "" {
			// A page that finishes the logout by script: a real browser runs
			// it, from the start, with the session's cookies.
			return o.browserEndSession(ctx, o.meta.EndSessionEndpoint+"?"+q.Encode(), jar)
		}
		if !found || confirmed {
			return o.logoutPage(pg, confirmed, found)
		}
		v := f.Submitted()
		if lc := o.cfg.LogoutConfirmation; lc != nil {
			for k, val := range lc.Fields {
				v.Set(k, val)
			}
		}
		confirmed = true
		pg, err = o.follow(ctx, c, f.Method, f.Action.String(), v, o.cfg.PostLogoutRedirectURI)
	}
}

// browserEndSession runs an RP-initiated logout in a real browser: done when the
// page sends it to the post-logout redirect URI.
func (o *Adapter) browserEndSession(ctx context.Context, target string, jar http.CookieJar) error {
	u, err := o.opt.Browser.Complete(ctx, target, jar, nil, o.cfg.PostLogoutRedirectURI)
	switch {
	case errors.Is(err, adapter.ErrNotRedirected):
		return fmt.Errorf("%w: oidc end_session: in a browser, the page's script did not reach post_logout_redirect_uri", adapter.ErrUnverified)
	case err != nil:
		return fmt.Errorf("%w: oidc end_session: the page needs script and the browser failed: %v", adapter.ErrUnverified, err)
	case u.Query().Get("error") != "":
		return &adapter.RefusedError{Status: http.StatusFound, Reason: u.Query().Get("error")}
	}
	return nil
}

// confirmation picks the logout confirmation form of a page: the one
// logout_confirmation.form_id names, else the page's one POST form without a
// password field (a confirmation changes state, so it is posted).
func (o *Adapter) confirmation(forms []adapter.Form) (adapter.Form, bool) {
	if lc := o.cfg.LogoutConfirmation; lc != nil && lc.FormID != "" {
		i := slices.IndexFunc(forms, func(f adapter.Form) bool { return f.ID == lc.FormID })
		if i < 0 {
			return adapter.Form{}, false
		}
		return forms[i], true
	}
	var out []adapter.Form
	for _, f := range forms {
		if f.Method == http.MethodPost && f.Password == "" {
			out = append(out, f)
		}
	}
	if len(out) != 1 {
		return adapter.Form{}, false
	}
	return out[0], true
}

// logoutPage judges the page an end_session ended on (status 2xx): done when
// it asks nothing more, unverified when what it does cannot be seen.
func (o *Adapter) logoutPage(pg page, confirmed, asksAgain bool) error {
	unverified := func(format string, a ...any) error {
		return fmt.Errorf("%w: oidc end_session: "+format, append([]any{adapter.ErrUnverified}, a...)...)
	}
	switch {
	case confirmed && asksAgain:
		return unverified("the confirmation form was shown again after it was submitted (set logout_confirmation.fields to what the provider wants)")
	case o.cfg.PostLogoutRedirectURI != "" && pg.script:
		return unverified("ended on a page that runs script (HTTP %d) instead of redirecting to post_logout_redirect_uri: finishing it needs a browser (install Chromium: make chromium)", pg.status)
	case o.cfg.PostLogoutRedirectURI != "" && len(pg.forms) > 0:
		return unverified("ended on a page with %d form(s) and no confirmation form to submit (HTTP %d) instead of redirecting to post_logout_redirect_uri: set logout_confirmation.form_id", len(pg.forms), pg.status)
	case o.cfg.PostLogoutRedirectURI != "":
		return unverified("ended on a page (HTTP %d) instead of redirecting to post_logout_redirect_uri (is the URI registered for the client?)", pg.status)
	case pg.script && len(pg.forms) == 0:
		return unverified("ended on a page that runs script and has no form (HTTP %d): whether it logs out cannot be seen without a browser; set post_logout_redirect_uri so the end is a redirect", pg.status)
	case o.cfg.LogoutConfirmation != nil && o.cfg.LogoutConfirmation.FormID != "" && !confirmed:
		return unverified("no form with id %q (logout_confirmation.form_id) on the page (HTTP %d)", o.cfg.LogoutConfirmation.FormID, pg.status)
	case !confirmed && slices.ContainsFunc(pg.forms, func(f adapter.Form) bool { return f.Method == http.MethodPost }):
		return unverified("ended on a page with several forms to post (HTTP %d), none of them known as the confirmation: set logout_confirmation.form_id", pg.status)
	}
	return nil
}
