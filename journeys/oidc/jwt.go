package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"

	"github.com/cutover-dev/cutover/journeys/adapter"
)

// keysRefetchEvery bounds how often a token signed by an unknown key makes the
// adapter fetch the JWKS again (the provider may have rotated its keys): a flood of
// forged tokens must not become a flood of JWKS requests.
const keysRefetchEvery = 10 * time.Second

func (o *Adapter) refreshKeys(ctx context.Context) error {
	const op = "oidc jwks"
	var raw json.RawMessage
	if err := adapter.GetJSON(ctx, o.tr, o.meta.JWKSURI, nil, op, &raw); err != nil {
		return err
	}
	kf, err := keyfunc.NewJWKSetJSON(raw)
	if err != nil {
		return adapter.ProtocolErr(op, "%v", err)
	}
	o.mu.Lock()
	o.keys, o.keysFetched = kf, time.Now()
	o.mu.Unlock()
	return nil
}

// verify checks a JWT's signature against the provider's JWKS (fetched again, at
// most every keysRefetchEvery, when the key is unknown), its algorithm against the
// allowed list (never none, never HMAC), its issuer, its audience when aud is not
// empty, and its lifetime on the adapter's clock. It returns the claims.
func (o *Adapter) verify(ctx context.Context, raw, aud string) (map[string]any, error) {
	const op = "oidc token"
	o.mu.Lock()
	keys := o.keys
	o.mu.Unlock()
	if keys == nil {
		return nil, adapter.ProtocolErr(op, "a JWT, but the provider publishes no jwks_uri to verify it with")
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods(o.cfg.Algorithms),
		jwt.WithIssuer(o.cfg.Issuer),
		jwt.WithLeeway(5 * time.Second),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(o.opt.Now),
	}
	if aud != "" {
		opts = append(opts, jwt.WithAudience(aud))
	}
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(raw, claims, keys.Keyfunc, opts...)
	if errors.Is(err, jwkset.ErrKeyNotFound) {
		o.mu.Lock()
		stale := time.Since(o.keysFetched) > keysRefetchEvery
		o.mu.Unlock()
		if stale && o.refreshKeys(ctx) == nil {
			o.mu.Lock()
			keys = o.keys
			o.mu.Unlock()
			claims = jwt.MapClaims{}
			_, err = jwt.ParseWithClaims(raw, claims, keys.Keyfunc, opts...)
		}
	}
	if err != nil {
		return nil, adapter.ProtocolErr(op, "%v", err)
	}
	return claims, nil
}
