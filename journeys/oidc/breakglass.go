package oidc

import (
	"cmp"
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/cutover-dev/cutover/journeys/adapter"
)

// BreakGlass implements BreakGlasser by the configured method.
func (o *Adapter) BreakGlass(ctx context.Context, s *adapter.Session, patient, reason string) (*adapter.Grant, error) {
	bg := o.cfg.BreakGlass
	if bg == nil {
		return nil, fmt.Errorf("%w: no break-glass method configured (stacks.<side>.oidc.breakglass)", adapter.ErrUnsupported)
	}
	reasonParam := cmp.Or(bg.ReasonParam, "reason")
	fill := func(t string) string { return strings.ReplaceAll(t, "{patient}", patient) }
	switch bg.Method {
	case "token_exchange":
		if !o.offers(grantTokenExchange) {
			return nil, unoffered(grantTokenExchange)
		}
		form := url.Values{
			"grant_type":         {grantTokenExchange},
			"subject_token":      {s.Cred.Access},
			"subject_token_type": {tokenTypeAccess},
			"resource":           {fill(cmp.Or(bg.Resource, "patient:{patient}"))},
		}
		if bg.Audience != "" {
			form.Set("audience", fill(bg.Audience))
		}
		if bg.Scope != "" {
			form.Set("scope", fill(bg.Scope))
		}
		if reason != "" {
			form.Set(reasonParam, reason)
		}
		tok, err := o.token(ctx, form, o.harness())
		if err != nil {
			return nil, err
		}
		return o.grant(ctx, s, tok)
	case "step_up":
		if s.Cred.Jar == nil {
			return nil, fmt.Errorf("%w: step-up needs a session from the authorization code flow", adapter.ErrUnsupported)
		}
		extra := url.Values{"scope": {strings.Join(append(slices.Clone(o.cfg.Scopes), mapStrings(bg.StepUpScopes, fill)...), " ")}}
		if bg.ACRValues != "" {
			extra.Set("acr_values", bg.ACRValues)
		}
		if reason != "" {
			extra.Set(reasonParam, reason)
		}
		tok, err := o.authorize(ctx, s.Cred.Jar, s.Cred.Who, extra)
		if err != nil {
			return nil, err
		}
		return o.grant(ctx, s, tok)
	case "http":
		if bg.HTTP == nil {
			return nil, fmt.Errorf("%w: break-glass method http without its request (breakglass.http)", adapter.ErrUnsupported)
		}
		return bg.HTTP.Obtain(ctx, o.tr, o.api, s, patient, reason)
	}
	return nil, fmt.Errorf("oidc: break-glass method %q is unknown", bg.Method)
}

// grant is the emergency access a token answer carries. Its tokens are validated
// like any other the provider issues: a break-glass token that fails is invalid,
// never a grant.
func (o *Adapter) grant(ctx context.Context, s *adapter.Session, tok *tokenResponse) (*adapter.Grant, error) {
	if strings.Count(tok.AccessToken, ".") == 2 {
		aud := o.cfg.Audience
		if bg := o.cfg.BreakGlass; bg != nil && bg.Audience != "" {
			aud = "" // exchanged for another audience: the exchange said which
		}
		if _, err := o.validate(ctx, tok.AccessToken, expected{kind: adapter.TokenAccess, audience: aud}); err != nil {
			return nil, err
		}
	}
	if _, err := o.idToken(ctx, tok, s); err != nil {
		return nil, err
	}
	gs := *s
	gs.Cred = adapter.Bearer(tok.AccessToken)
	return &adapter.Grant{Session: &gs, TTL: time.Duration(tok.ExpiresIn) * time.Second}, nil
}

// EndBreakGlass implements BreakGlasser: revoking the emergency token, or the
// configured end call.
func (o *Adapter) EndBreakGlass(ctx context.Context, g *adapter.Grant) error {
	bg := o.cfg.BreakGlass
	switch {
	case bg == nil:
		return adapter.ErrUnsupported
	case bg.Method == "http" && bg.HTTP != nil:
		return bg.HTTP.Finish(ctx, o.tr, o.api, g)
	case o.meta.RevocationEndpoint == "" || g.Session.Cred.Access == "":
		return adapter.ErrUnsupported
	}
	return o.revoke(ctx, g.Session.Cred.Access, "access_token")
}

func mapStrings(xs []string, f func(string) string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = f(x)
	}
	return out
}
