package oidc

import (
	"crypto"
	"crypto/ed25519"
	"crypto/elliptic"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/cutover-dev/cutover/journeys/adapter"
)

// AuthMethods are the client authentication methods a configuration may name.
var AuthMethods = []string{AuthNone, AuthClientSecretBasic, AuthClientSecretPost, AuthPrivateKeyJWT}

// auth builds how client id authenticates with secret (nil for none) by c, the
// assertions' audience being the token endpoint (RFC 7523 s3, OIDC Core s9).
func (c ClientAuth) auth(id string, secret *adapter.SecretRef, audience string) (adapter.ClientAuth, error) {
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
		if secret == nil {
			return a, fmt.Errorf("auth_method %s needs client_secret", method)
		}
		a.Secret, a.Post = secret.Secret().Reveal(), method == AuthClientSecretPost
	case AuthPrivateKeyJWT:
		if c.PrivateKey == nil {
			return a, errors.New("auth_method private_key_jwt needs private_key (a PEM-encoded private key)")
		}
		signer, err := NewAssertionSigner(id, audience, c.KeyID, []byte(c.PrivateKey.Secret().Reveal()))
		if err != nil {
			return a, fmt.Errorf("private_key: %w", err)
		}
		a.Assertion = signer
	default:
		return a, fmt.Errorf("auth_method %q is not one of none, client_secret_basic, client_secret_post, private_key_jwt", method)
	}
	return a, nil
}

// NewAssertionSigner parses a PEM-encoded private key (RSA, EC or Ed25519) and
// returns a function that signs a fresh client assertion for clientID each time
// it is called (RFC 7523 s3: iss and sub the client, aud the authorization
// server's token endpoint, a unique jti, a lifetime of one minute). The
// algorithm follows the key: RS384 for RSA (as SMART on FHIR backend services
// ask), ES256/ES384/ES512 by curve, EdDSA.
func NewAssertionSigner(clientID, audience, keyID string, pemKey []byte) (func() (string, error), error) {
	key, method, err := parsePrivateKey(pemKey)
	if err != nil {
		return nil, err
	}
	return func() (string, error) {
		now := time.Now()
		t := jwt.NewWithClaims(method, jwt.RegisteredClaims{
			Issuer: clientID, Subject: clientID, Audience: jwt.ClaimStrings{audience},
			ID: adapter.RandomString(16), IssuedAt: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(time.Minute)),
		})
		if keyID != "" {
			t.Header["kid"] = keyID
		}
		return t.SignedString(key)
	}, nil
}

// parsePrivateKey reads a PEM private key and the JWS algorithm that fits it.
// Its errors never quote the key.
func parsePrivateKey(pemKey []byte) (crypto.Signer, jwt.SigningMethod, error) {
	if k, err := jwt.ParseRSAPrivateKeyFromPEM(pemKey); err == nil {
		if k.N.BitLen() < 2048 {
			return nil, nil, fmt.Errorf("an RSA key of %d bits; want at least 2048", k.N.BitLen())
		}
		return k, jwt.SigningMethodRS384, nil
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
