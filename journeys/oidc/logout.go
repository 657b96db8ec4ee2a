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
// tokens and/or RP-initiated logout, as configured. Every method runs; a logout
// that could not be seen done (unverified) counts only when no other method
// completed: tokens a revocation ended are checked afterwards all the same.
func (o *Adapter) Logout(ctx context.Context, s *adapter.Session) error {
	if len(o.cfg.Logout) == 0 {
		return fmt.Errorf("%w: discovery has neither revocation_endpoint nor end_session_endpoint", adapter.ErrUnsupported)
	}
	var unverified error
	done := false
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
		switch {
		case errors.Is(err, adapter.ErrUnverified):
			unverified = err
		case err != nil:
			return err
		default:
			done = true
		}
	}
	if !done && unverified != nil {
		return unverified
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
// redirect URI with the state sent, or (without one) ends on a page that asks
// nothing more and the single sign-on session is seen gone; a page that needs
// script, asks again, or shows anything else leaves it unverified, never done.
func (o *Adapter) endSession(ctx context.Context, s *adapter.Session) error {
	const op = "oidc end_session"
	if o.meta.EndSessionEndpoint == "" {
		return fmt.Errorf("%w: discovery has no end_session_endpoint", adapter.ErrUnsupported)
	}
	q := url.Values{"client_id": {o.cfg.ClientID}}
	if s.Cred.IDToken != "" {
		q.Set("id_token_hint", s.Cred.IDToken)
	}
	state := ""
	if o.cfg.PostLogoutRedirectURI != "" {
		state = adapter.RandomString(8)
		q.Set("post_logout_redirect_uri", o.cfg.PostLogoutRedirectURI)
		q.Set("state", state)
	}
	jar := s.Cred.Jar
	if jar == nil {
		jar = adapter.NewJar()
	}
	c := o.client(jar)
	target := withQuery(o.meta.EndSessionEndpoint, q)
	pg, err := o.follow(ctx, c, http.MethodGet, target, nil, o.cfg.PostLogoutRedirectURI)
	confirmed := false
	for {
		switch {
		case err != nil:
			return err
		case pg.query != nil:
			return logoutRedirect(pg, state)
		case adapter.RefusalStatus(pg.status) && confirmed:
			return unverifiedLogout("the provider refused the confirmation it asked for (HTTP %d): set logout_confirmation.fields to what its form wants", pg.status)
		case adapter.RefusalStatus(pg.status):
			return &adapter.RefusedError{Status: pg.status, Reason: "end_session_refused"}
		case pg.status < 200 || pg.status >= 300:
			return adapter.ProtocolErr(op, "HTTP %d", pg.status)
		}
		if !confirmed {
			if f, found := o.confirmation(pg.forms); found {
				method, action, v := f.Submitted()
				if lc := o.cfg.LogoutConfirmation; lc != nil {
					for k, val := range lc.Fields {
						v.Set(k, val)
					}
				}
				confirmed = true
				pg, err = o.follow(ctx, c, method, action, v, o.cfg.PostLogoutRedirectURI)
				continue
			}
			if pg.script && len(pg.forms) == 0 && o.opt.Browser != nil && o.cfg.PostLogoutRedirectURI != "" {
				// A page that finishes the logout by script: a real browser runs
				// it, from the start, with the session's cookies.
				return o.browserEndSession(ctx, target, jar, state)
			}
		}
		if err := o.logoutPage(pg, confirmed); err != nil {
			return err
		}
		return o.sessionGone(ctx, s)
	}
}

// logoutRedirect judges the redirect to the post-logout redirect URI: an error
// is the provider's refusal, a state other than the one sent is not this
// logout's answer.
func logoutRedirect(pg page, state string) error {
	if e := pg.query.Get("error"); e != "" {
		if !adapter.ErrorCode.MatchString(e) {
			e = "end_session_error"
		}
		return &adapter.RefusedError{Status: pg.status, Reason: e}
	}
	if state != "" && pg.query.Get("state") != state {
		return unverifiedLogout("the redirect to post_logout_redirect_uri does not carry the state sent (OpenID RP-Initiated Logout 1.0 s3)")
	}
	return nil
}

func unverifiedLogout(format string, a ...any) error {
	return fmt.Errorf("%w: oidc end_session: "+format, append([]any{adapter.ErrUnverified}, a...)...)
}

// withQuery adds q to the query u may already have.
func withQuery(u string, q url.Values) string {
	p, err := url.Parse(u)
	if err != nil {
		return u + "?" + q.Encode()
	}
	merged := p.Query()
	for k, vs := range q {
		merged[k] = vs
	}
	p.RawQuery = merged.Encode()
	return p.String()
}

// sessionGone checks, where the logout ended on a page rather than at the
// post-logout redirect URI, that the single sign-on session is over: an
// authorization request with prompt=none and the session's cookies must come
// back with an error (login_required, OIDC Core s3.1.2.6), not a code. Without
// cookies (a password-grant session) there is no browser session to ask about.
func (o *Adapter) sessionGone(ctx context.Context, s *adapter.Session) error {
	if s.Cred.Jar == nil || o.meta.AuthorizationEndpoint == "" || o.cfg.RedirectURI == "" {
		return nil
	}
	q, _ := o.authRequest("openid")
	q.Set("prompt", "none")
	pg, err := o.follow(ctx, o.client(s.Cred.Jar), http.MethodGet, withQuery(o.meta.AuthorizationEndpoint, q), nil, o.cfg.RedirectURI)
	switch {
	case err != nil:
		return unverifiedLogout("the check that the session ended (prompt=none) failed: %v", err)
	case pg.query != nil && pg.query.Get("code") != "":
		return unverifiedLogout("the page the logout ended on did not end the single sign-on session (an authorization request with prompt=none still gets a code): was the confirmation answered? (logout_confirmation)")
	}
	return nil
}

// browserEndSession runs an RP-initiated logout in a real browser: done when the
// page sends it to the post-logout redirect URI with the state sent.
func (o *Adapter) browserEndSession(ctx context.Context, target string, jar http.CookieJar, state string) error {
	u, err := o.opt.Browser.Complete(ctx, target, jar, nil, o.cfg.PostLogoutRedirectURI)
	switch {
	case errors.Is(err, adapter.ErrNotRedirected):
		return unverifiedLogout("in a browser, the page's script did not reach post_logout_redirect_uri")
	case err != nil:
		return unverifiedLogout("the page needs script and the browser failed: %v", err)
	}
	return logoutRedirect(page{status: http.StatusFound, query: u.Query()}, state)
}

// confirmation picks the logout confirmation form of a page: the one
// logout_confirmation.form_id names, else the page's one POST form without a
// password field (a confirmation changes state, so it is posted), else its one
// GET form without one when it has no POST form.
func (o *Adapter) confirmation(forms []adapter.Form) (adapter.Form, bool) {
	if lc := o.cfg.LogoutConfirmation; lc != nil && lc.FormID != "" {
		i := slices.IndexFunc(forms, func(f adapter.Form) bool { return f.ID == lc.FormID })
		if i < 0 {
			return adapter.Form{}, false
		}
		return forms[i], true
	}
	var post, get []adapter.Form
	for _, f := range forms {
		switch {
		case f.Password != "":
		case f.Method == http.MethodPost:
			post = append(post, f)
		default:
			get = append(get, f)
		}
	}
	switch {
	case len(post) == 1:
		return post[0], true
	case len(post) == 0 && len(get) == 1:
		return get[0], true
	}
	return adapter.Form{}, false
}

// logoutPage judges the page an end_session ended on (status 2xx): nil when it
// asks nothing more (then the session is checked), unverified when what it
// does cannot be seen.
func (o *Adapter) logoutPage(pg page, confirmed bool) error {
	lc := o.cfg.LogoutConfirmation
	switch {
	case !confirmed && lc != nil && lc.FormID != "":
		return unverifiedLogout("no form with id %q (logout_confirmation.form_id) on the page (HTTP %d)", lc.FormID, pg.status)
	case len(pg.forms) > 0 && confirmed:
		return unverifiedLogout("the page after the confirmation still shows %d form(s) (HTTP %d): set logout_confirmation.fields to what the provider wants, or logout_confirmation.form_id", len(pg.forms), pg.status)
	case len(pg.forms) > 0:
		return unverifiedLogout("ended on a page with %d forms (HTTP %d), none of them known as the confirmation: set logout_confirmation.form_id", len(pg.forms), pg.status)
	case o.cfg.PostLogoutRedirectURI != "" && pg.script:
		return unverifiedLogout("ended on a page that runs script (HTTP %d) instead of redirecting to post_logout_redirect_uri: finishing it needs a browser (install Chromium: make chromium)", pg.status)
	case o.cfg.PostLogoutRedirectURI != "":
		return unverifiedLogout("ended on a page (HTTP %d) instead of redirecting to post_logout_redirect_uri (is the URI registered for the client?)", pg.status)
	case pg.script:
		return unverifiedLogout("ended on a page that runs script and has no form (HTTP %d): whether it logs out cannot be seen without a browser; set post_logout_redirect_uri so the end is a redirect", pg.status)
	}
	return nil
}
