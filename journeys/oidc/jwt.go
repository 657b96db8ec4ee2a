package oidc

import (
	"context"
	"crypto"
	_ "crypto/sha256" // the hashes at_hash and c_hash are computed with
	_ "crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"

	"github.com/cutover-dev/cutover/journeys/adapter"
)

// Every token the provider issues is validated as a relying party and a resource
// server would: ID tokens by the steps of OpenID Connect Core s3.1.3.7, JWT
// access tokens by RFC 9068 s4 and the JWT BCP (RFC 8725). A token that fails is
// an *adapter.InvalidTokenError naming the check, never a refusal or an outage.

// keysRefetchEvery bounds how often a token signed by an unknown key makes the
// adapter fetch the JWKS again (the provider may have rotated its keys): a flood of
// forged tokens must not become a flood of JWKS requests.
const keysRefetchEvery = 10 * time.Second

// leeway is the clock skew allowed on exp, nbf and iat.
const leeway = 5 * time.Second

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

// expected is what a token must say beyond its signature: the audience it is
// for, and for an ID token the nonce sent, the access token and code it came with
// (at_hash, c_hash) and, on a refresh, the subject of the original one.
type expected struct {
	kind     string // adapter.TokenID or adapter.TokenAccess
	audience string // "" skips the check (access tokens without a configured audience)
	nonce    string
	access   string
	code     string
	subject  string
}

// validate checks raw and returns its claims, or an *adapter.InvalidTokenError
// naming the first check it fails. Transport failures while fetching the JWKS
// again are returned as they are.
func (o *Adapter) validate(ctx context.Context, raw string, want expected) (jwt.MapClaims, error) {
	bad := func(check, format string, a ...any) error {
		return &adapter.InvalidTokenError{Token: want.kind, Check: check, Detail: fmt.Sprintf(format, a...)}
	}
	// One parse: the header is judged in the key function, before any key is
	// looked up or any signature checked, so a token is decoded once (the
	// signature check costs most of a token's CPU, its decoding the rest).
	var alg, kid string
	headerOK := func(t *jwt.Token) error {
		alg, _ = t.Header["alg"].(string)
		kid, _ = t.Header["kid"].(string)
		hmac := strings.HasPrefix(alg, "HS")
		switch {
		case alg == "" || strings.EqualFold(alg, "none"):
			return bad(adapter.CheckAlgorithm, "alg none: the token is not signed")
		case hmac && !(want.kind == adapter.TokenID && o.hmacIDTokens()):
			return bad(adapter.CheckAlgorithm, "alg %s: a shared-secret algorithm on a token the provider must sign with its own key (algorithm confusion)", alg)
		case !slices.Contains(o.cfg.Algorithms, alg):
			return bad(adapter.CheckAlgorithm, "alg %s is not among the accepted algorithms (%s)", alg, strings.Join(o.cfg.Algorithms, ", "))
		}
		if err := checkType(want.kind, t.Header["typ"]); err != "" {
			return bad(adapter.CheckType, "%s", err)
		}
		return nil
	}
	keys := o.keyfunc(ctx)
	claims := jwt.MapClaims{}
	parse := func() error {
		_, err := jwt.ParseWithClaims(raw, claims, func(t *jwt.Token) (any, error) {
			if err := headerOK(t); err != nil {
				return nil, err
			}
			return keys(t)
		}, jwt.WithoutClaimsValidation())
		return err
	}
	err := parse()
	if errors.Is(err, jwkset.ErrKeyNotFound) && o.keysStale() {
		if ferr := o.refreshKeys(ctx); ferr != nil {
			return nil, ferr
		}
		claims = jwt.MapClaims{}
		err = parse()
	}
	var invalid *adapter.InvalidTokenError
	switch {
	case err == nil:
	case errors.As(err, &invalid):
		return nil, invalid
	case alg == "" && errors.Is(err, jwt.ErrTokenUnverifiable):
		// golang-jwt knows no such algorithm (or none is named): the header was
		// never judged.
		if a := headerAlg(raw); a != "" && !strings.EqualFold(a, "none") {
			return nil, bad(adapter.CheckAlgorithm, "alg %s is not among the accepted algorithms (%s)", clip(a), strings.Join(o.cfg.Algorithms, ", "))
		}
		return nil, bad(adapter.CheckAlgorithm, "alg none: the token is not signed")
	case alg == "" && errors.Is(err, jwt.ErrTokenMalformed):
		return nil, bad(adapter.CheckFormat, "not a JWT (%s)", jwtErrText(err))
	case errors.Is(err, errNoKeys):
		return nil, adapter.ProtocolErr("oidc token", "a JWT, but the provider publishes no jwks_uri to verify it with")
	case errors.Is(err, errSymmetricKey):
		return nil, bad(adapter.CheckKey, "the provider's JWKS holds a shared secret (kty oct) under kid %q", kid)
	case errors.Is(err, jwkset.ErrKeyNotFound):
		return nil, bad(adapter.CheckKey, "no key with kid %q in the provider's JWKS", kid)
	case errors.Is(err, jwt.ErrInvalidKeyType), errors.Is(err, jwt.ErrTokenUnverifiable):
		return nil, bad(adapter.CheckKey, "the key under kid %q does not fit alg %s", kid, alg)
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return nil, bad(adapter.CheckSignature, "the signature does not verify with the provider's key %q", kid)
	default:
		return nil, bad(adapter.CheckFormat, "%s", jwtErrText(err))
	}
	if msg := o.checkClaims(claims, alg, want); msg[0] != "" {
		return nil, bad(msg[0], "%s", msg[1])
	}
	return claims, nil
}

// checkClaims returns the first failed check and what was found, or two empty
// strings.
func (o *Adapter) checkClaims(c jwt.MapClaims, alg string, want expected) [2]string {
	now := o.opt.Now()
	id := want.kind == adapter.TokenID
	if iss, _ := c["iss"].(string); iss != o.cfg.Issuer {
		return [2]string{adapter.CheckIssuer, fmt.Sprintf("iss %q is not the issuer %q", clip(iss), o.cfg.Issuer)}
	}
	sub, _ := c["sub"].(string)
	switch {
	case id && sub == "":
		return [2]string{adapter.CheckSubject, "no sub"}
	case want.subject != "" && sub != want.subject:
		return [2]string{adapter.CheckSubject, "sub differs from the ID token of the sign-in (OIDC Core s12.2)"}
	}
	aud, err := c.GetAudience()
	audience := want.audience
	if id {
		audience = o.cfg.ClientID
	}
	if err != nil || audience != "" && !slices.Contains(aud, audience) {
		return [2]string{adapter.CheckAudience, fmt.Sprintf("aud does not include %q", audience)}
	}
	if azp, ok := c["azp"].(string); id && ok && azp != o.cfg.ClientID {
		return [2]string{adapter.CheckAZP, fmt.Sprintf("azp is not the client %q", o.cfg.ClientID)}
	}
	exp, err := c.GetExpirationTime()
	switch {
	case err != nil || exp == nil:
		return [2]string{adapter.CheckExpiry, "no exp: the token never expires"}
	case now.After(exp.Add(leeway)):
		return [2]string{adapter.CheckExpiry, fmt.Sprintf("expired %s ago", now.Sub(exp.Time).Round(time.Second))}
	}
	if nbf, err := c.GetNotBefore(); err != nil || nbf != nil && nbf.After(now.Add(leeway)) {
		return [2]string{adapter.CheckNotBefore, "nbf is in the future: the token is not valid yet"}
	}
	iat, err := c.GetIssuedAt()
	switch {
	case err != nil, id && iat == nil:
		return [2]string{adapter.CheckIssuedAt, "no iat"}
	case iat != nil && iat.After(now.Add(leeway)):
		return [2]string{adapter.CheckIssuedAt, fmt.Sprintf("issued %s in the future", iat.Sub(now).Round(time.Second))}
	}
	if !id {
		return [2]string{}
	}
	nonce, has := c["nonce"].(string)
	switch {
	case want.nonce != "" && !has:
		return [2]string{adapter.CheckNonce, "no nonce, although the authorization request sent one"}
	case want.nonce != "" && nonce != want.nonce:
		return [2]string{adapter.CheckNonce, "nonce is not the one the authorization request sent"}
	}
	for _, h := range []struct{ check, claim, of, what string }{
		{adapter.CheckATHash, "at_hash", want.access, "access token"}, {adapter.CheckCHash, "c_hash", want.code, "code"},
	} {
		got, present := c[h.claim].(string)
		if !present || h.of == "" {
			continue
		}
		if sum, ok := halfHash(alg, h.of); !ok || sum != got {
			return [2]string{h.check, fmt.Sprintf("%s does not match the %s it came with", h.claim, h.what)}
		}
	}
	return [2]string{}
}

// checkType is RFC 8725 s3.11 explicit typing: an ID token typed as another kind
// of token, or an access token typed as something other than an access token, is
// a token of the wrong kind. An absent typ passes; so does "JWT", which most
// providers put on access tokens too.
func checkType(kind string, v any) string {
	typ, _ := v.(string)
	t := strings.TrimPrefix(strings.ToLower(typ), "application/")
	switch {
	case typ == "", t == "jwt":
		return ""
	case kind == adapter.TokenAccess && t == "at+jwt":
		return ""
	case kind == adapter.TokenAccess:
		return fmt.Sprintf("typ %q is not an access token's (at+jwt, RFC 9068 s2.1)", clip(typ))
	}
	return fmt.Sprintf("typ %q on an ID token: a token of another kind", clip(typ))
}

// halfHash is the at_hash / c_hash of v for alg: the left half of the hash the
// algorithm signs with, base64url (OIDC Core s3.1.3.6, s3.3.2.11).
func halfHash(alg, v string) (string, bool) {
	var h crypto.Hash
	switch {
	case strings.HasSuffix(alg, "256"):
		h = crypto.SHA256
	case strings.HasSuffix(alg, "384"):
		h = crypto.SHA384
	case strings.HasSuffix(alg, "512"), alg == "EdDSA":
		h = crypto.SHA512
	default:
		return "", false
	}
	w := h.New()
	w.Write([]byte(v))
	sum := w.Sum(nil)
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2]), true
}

var (
	errNoKeys       = errors.New("no JWKS")
	errSymmetricKey = errors.New("symmetric key in the JWKS")
)

// keyfunc finds the key a token is signed with: the client secret for an ID token
// signed with HMAC where that is configured, else an asymmetric key of the
// provider's JWKS (a shared secret there is refused).
func (o *Adapter) keyfunc(ctx context.Context) jwt.Keyfunc {
	return func(t *jwt.Token) (any, error) {
		if alg, _ := t.Header["alg"].(string); strings.HasPrefix(alg, "HS") {
			return []byte(o.cfg.ClientSecret.Secret().Reveal()), nil
		}
		o.mu.Lock()
		keys := o.keys
		o.mu.Unlock()
		if keys == nil {
			return nil, errNoKeys
		}
		k, err := keys.KeyfuncCtx(ctx)(t)
		if err != nil {
			return nil, err
		}
		switch k.(type) {
		case []byte, jwt.VerificationKeySet:
			if set, ok := k.(jwt.VerificationKeySet); ok {
				// No kid: every key is tried, so none may be a shared secret.
				for _, kk := range set.Keys {
					if _, sym := kk.([]byte); sym {
						return nil, errSymmetricKey
					}
				}
				return set, nil
			}
			return nil, errSymmetricKey
		}
		return k, nil
	}
}

func (o *Adapter) keysStale() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return time.Since(o.keysFetched) > keysRefetchEvery
}

// hmacIDTokens reports whether ID tokens may be signed with the client secret
// (OIDC Core s10.1): only when an HMAC algorithm is configured on purpose and the
// harness client is confidential.
func (o *Adapter) hmacIDTokens() bool {
	return o.cfg.ClientSecret != nil && slices.ContainsFunc(o.cfg.Algorithms, func(a string) bool { return strings.HasPrefix(a, "HS") })
}

// jwtErrText is a parse error without what golang-jwt may quote of the token.
func jwtErrText(err error) string {
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return "token is malformed"
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		return "token is unverifiable"
	}
	return "token does not parse"
}

// clip bounds a value quoted in a detail: a claim is not a credential, but a
// broken provider may put anything in one.
func clip(s string) string {
	if len(s) > 64 {
		return s[:61] + "..."
	}
	return s
}

// headerAlg is the alg of a token's header where golang-jwt refused to parse it
// (an algorithm it does not know), "" where there is none to read.
func headerAlg(raw string) string {
	head, _, _ := strings.Cut(raw, ".")
	b, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		return ""
	}
	var h struct {
		Alg string `json:"alg"`
	}
	if json.Unmarshal(b, &h) != nil {
		return ""
	}
	return h.Alg
}

// unverifiedClaims reads the claims of a token validated earlier (an ID token a
// refresh carried over), without checking it again: it may have expired since.
func unverifiedClaims(raw string) map[string]any {
	c := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(raw, c); err != nil {
		return nil
	}
	return c
}
