package oidc

import (
	"crypto"
	"crypto/ed25519"
	"crypto/elliptic"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/cutover-dev/cutover/journeys/adapter"
)

// AuthMethods are the client authentication methods a configuration may name.
var AuthMethods = []string{AuthNone, AuthClientSecretBasic, AuthClientSecretPost, AuthPrivateKeyJWT}

// assertionTarget is where client assertions point: the token endpoint, the
// issuer, and the algorithms the provider says it takes.
type assertionTarget struct {
	tokenEndpoint, issuer string
	algs                  []string
}

// auth builds how client id authenticates with secret (nil for none) by c
// (RFC 6749 s2.3, RFC 7523 s3, OIDC Core s9).
func (c ClientAuth) auth(id string, secret *adapter.SecretRef, t assertionTarget) (adapter.ClientAuth, error) {
	a := adapter.ClientAuth{ID: id}
	method := c.AuthMethod
	if method == "" {
		method = AuthClientSecretBasic
		if secret == nil {
			method = AuthNone
		}
		if c.PrivateKey != nil {
			method = AuthPrivateKeyJWT
		}
	}
	switch method {
	case AuthNone:
	case AuthClientSecretBasic, AuthClientSecretPost:
		if secret == nil || secret.Secret().Reveal() == "" {
			return a, fmt.Errorf("auth_method %s needs a client_secret that is not empty", method)
		}
		a.Secret, a.Post = secret.Secret().Reveal(), method == AuthClientSecretPost
	case AuthPrivateKeyJWT:
		if c.PrivateKey == nil {
			return a, errors.New("auth_method private_key_jwt needs private_key (a PEM-encoded private key)")
		}
		aud := t.tokenEndpoint
		switch c.AssertionAudience {
		case "", AudienceTokenEndpoint:
		case AudienceIssuer:
			aud = t.issuer
		default:
			return a, fmt.Errorf("assertion_audience %q; want token_endpoint or issuer", c.AssertionAudience)
		}
		signer, err := newAssertionSigner(id, aud, c.KeyID, []byte(c.PrivateKey.Secret().Reveal()), t.algs)
		if err != nil {
			return a, fmt.Errorf("private_key: %w", err)
		}
		a.Assertion = signer
	default:
		return a, fmt.Errorf("auth_method %q is not one of none, client_secret_basic, client_secret_post, private_key_jwt", method)
	}
	return a, nil
}

// Audiences of client assertions.
const (
	AudienceTokenEndpoint = "token_endpoint"
	AudienceIssuer        = "issuer"
)

// NewAssertionSigner parses a PEM-encoded private key (RSA, EC or Ed25519) and
// returns a function that signs a fresh client assertion for clientID each time
// it is called (RFC 7523 s3: iss and sub the client, aud the authorization
// server as one string, a unique jti, a lifetime of one minute). The algorithm
// follows the key: RS256 for RSA, ES256/ES384/ES512 by curve, EdDSA.
func NewAssertionSigner(clientID, audience, keyID string, pemKey []byte) (func() (string, error), error) {
	return newAssertionSigner(clientID, audience, keyID, pemKey, nil)
}

// newAssertionSigner is NewAssertionSigner with the algorithms the provider
// lists (token_endpoint_auth_signing_alg_values_supported): the first of them
// the key can sign with wins (RS384 where a SMART server asks for it).
func newAssertionSigner(clientID, audience, keyID string, pemKey []byte, algs []string) (func() (string, error), error) {
	key, method, err := parsePrivateKey(pemKey)
	if err != nil {
		return nil, err
	}
	if len(algs) > 0 {
		fits := false
		for _, alg := range algs {
			if m := jwt.GetSigningMethod(alg); m != nil && sameKeyType(m, method) {
				method, fits = m, true
				break
			}
		}
		if !fits {
			return nil, fmt.Errorf("the provider takes assertions signed with %s, and the key signs %s", strings.Join(algs, ", "), method.Alg())
		}
	}
	return func() (string, error) {
		now := time.Now()
		t := jwt.NewWithClaims(method, jwt.MapClaims{
			"iss": clientID, "sub": clientID, "aud": audience, "jti": adapter.RandomString(16),
			"iat": now.Unix(), "exp": now.Add(time.Minute).Unix(),
		})
		if keyID != "" {
			t.Header["kid"] = keyID
		}
		return t.SignedString(key)
	}, nil
}

// sameKeyType reports whether two signing methods take the same kind of key.
func sameKeyType(a, b jwt.SigningMethod) bool {
	family := func(m jwt.SigningMethod) string {
		switch m.(type) {
		case *jwt.SigningMethodRSA, *jwt.SigningMethodRSAPSS:
			return "rsa"
		case *jwt.SigningMethodECDSA:
			return "ec:" + m.Alg()
		case *jwt.SigningMethodEd25519:
			return "ed"
		}
		return m.Alg()
	}
	return family(a) == family(b)
}

// parsePrivateKey reads a PEM private key and the JWS algorithm that fits it.
// Its errors never quote the key.
func parsePrivateKey(pemKey []byte) (crypto.Signer, jwt.SigningMethod, error) {
	if k, err := jwt.ParseRSAPrivateKeyFromPEM(pemKey); err == nil {
		if k.N.BitLen() < 2048 {
			return nil, nil, fmt.Errorf("an RSA key of %d bits; want at least 2048", k.N.BitLen())
		}
		return k, jwt.SigningMethodRS256, nil
	}
	if k, err := jwt.ParseECPrivateKeyFromPEM(pemKey); err == nil {
		switch k.Curve {
		case elliptic.P256():
			return k, jwt.SigningMethodES256, nil
		case elliptic.P384():
			return k, jwt.SigningMethodES384, nil
		case elliptic.P521():
			return k, jwt.SigningMethodES512, nil
		}
		return nil, nil, errors.New("an EC key on a curve JWS does not name (want P-256, P-384 or P-521)")
	}
	if k, err := jwt.ParseEdPrivateKeyFromPEM(pemKey); err == nil {
		if ek, ok := k.(ed25519.PrivateKey); ok {
			return ek, jwt.SigningMethodEdDSA, nil
		}
	}
	return nil, nil, errors.New("not a PEM-encoded RSA, EC or Ed25519 private key")
}
