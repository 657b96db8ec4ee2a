package oidc

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/cutover-dev/cutover/journeys/adapter"
)

// discovery is the subset of the OpenID provider metadata the adapter uses.
type discovery struct {
	Issuer                string   `json:"issuer"`
	AuthorizationEndpoint string   `json:"authorization_endpoint"`
	TokenEndpoint         string   `json:"token_endpoint"`
	JWKSURI               string   `json:"jwks_uri"`
	RevocationEndpoint    string   `json:"revocation_endpoint"`
	IntrospectionEndpoint string   `json:"introspection_endpoint"`
	UserinfoEndpoint      string   `json:"userinfo_endpoint"`
	EndSessionEndpoint    string   `json:"end_session_endpoint"`
	GrantTypesSupported   []string `json:"grant_types_supported"`
	AuthMethodsSupported  []string `json:"token_endpoint_auth_methods_supported"`
	AuthSigningAlgs       []string `json:"token_endpoint_auth_signing_alg_values_supported"`
}

// Grant types.
const (
	grantPassword      = "password"
	grantRefresh       = "refresh_token"
	grantTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"
	tokenTypeAccess    = "urn:ietf:params:oauth:token-type:access_token"
)

func (o *Adapter) discover(ctx context.Context) error {
	const op = "oidc discovery"
	wk := strings.TrimSuffix(o.cfg.Issuer, "/") + "/.well-known/openid-configuration"
	var meta discovery
	if err := adapter.GetJSON(ctx, o.tr, wk, nil, op, &meta); err != nil {
		return err
	}
	if meta.Issuer != o.cfg.Issuer {
		return adapter.ProtocolErr(op, "issuer %q in the metadata differs from the configured %q", meta.Issuer, o.cfg.Issuer)
	}
	if meta.TokenEndpoint == "" || meta.AuthorizationEndpoint == "" && o.cfg.Login != grantPassword {
		return adapter.ProtocolErr(op, "metadata lacks authorization_endpoint or token_endpoint")
	}
	o.meta = meta
	return nil
}

// Check implements Checker: the provider still serves its discovery document.
func (o *Adapter) Check(ctx context.Context) error {
	cp := &Adapter{cfg: o.cfg, tr: o.tr}
	return cp.discover(ctx)
}

// offers reports whether the provider serves grant: its discovery lists it (or
// lists none), or the configuration declares it (grants).
func (o *Adapter) offers(grant string) bool {
	return o.meta.GrantTypesSupported == nil || slices.Contains(o.meta.GrantTypesSupported, grant) || slices.Contains(o.cfg.Grants, grant)
}

// unoffered is the error of a grant the provider's discovery does not list.
func unoffered(grant string) error {
	return fmt.Errorf("%w: grant %s is not in the discovery's grant_types_supported (if the provider serves it anyway, declare it: grants: [%s])", adapter.ErrUnsupported, grant, grant)
}

// noIntrospection says why the adapter cannot introspect.
func (o *Adapter) noIntrospection() string {
	if o.cfg.Introspection == nil {
		return "no introspection client configured (stacks.<side>.oidc.introspection)"
	}
	return "discovery has no introspection_endpoint (set introspection.endpoint if the provider serves one)"
}
