package oidc

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/cutover-dev/cutover/journeys/adapter"
)

// Credentials implements Introspector: the tokens the session holds, when an
// introspection client is configured and the provider offers the endpoint.
func (o *Adapter) Credentials(s *adapter.Session) []string {
	if o.cfg.Introspection == nil || o.meta.IntrospectionEndpoint == "" {
		return nil
	}
	var out []string
	if s.Cred.Access != "" {
		out = append(out, "access_token")
	}
	if s.Cred.Refresh != "" {
		out = append(out, "refresh_token")
	}
	return out
}

// Active implements Introspector with RFC 7662 introspection.
func (o *Adapter) Active(ctx context.Context, s *adapter.Session, credential string) (bool, error) {
	if o.cfg.Introspection == nil || o.meta.IntrospectionEndpoint == "" {
		return false, fmt.Errorf("%w: %s", adapter.ErrUnsupported, o.noIntrospection())
	}
	tok := s.Cred.Access
	if credential == "refresh_token" {
		tok = s.Cred.Refresh
	}
	doc, err := o.introspect(ctx, tok, credential)
	if err != nil {
		return false, err
	}
	active, _ := doc["active"].(bool)
	return active, nil
}

func (o *Adapter) introspect(ctx context.Context, tok, hint string) (map[string]any, error) {
	return o.introspectAs(ctx, tok, hint, o.introAuth)
}

// introspectAs is introspect as client a.
func (o *Adapter) introspectAs(ctx context.Context, tok, hint string, a adapter.ClientAuth) (map[string]any, error) {
	const op = "oidc introspection"
	resp, err := adapter.PostForm(ctx, o.tr, o.meta.IntrospectionEndpoint, url.Values{"token": {tok}, "token_type_hint": {hint}}, a, op)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		adapter.Drain(resp)
		return nil, adapter.ProtocolErr(op, "HTTP %d: is the introspection client right?", resp.StatusCode)
	}
	var doc map[string]any
	if err := adapter.DecodeJSON(resp, op, &doc); err != nil {
		return nil, err
	}
	if _, ok := doc["active"].(bool); !ok {
		return nil, adapter.ProtocolErr(op, "answer without a boolean active member")
	}
	return doc, nil
}
