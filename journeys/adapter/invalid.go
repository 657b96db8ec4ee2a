package adapter

import "fmt"

// Checks a token can fail, by the name findings give them (TOKEN_INVALID): the
// steps of OpenID Connect Core s3.1.3.7 for ID tokens and of RFC 9068 s4 and the
// JWT BCP (RFC 8725) for JWT access tokens.
const (
	CheckFormat    = "format"    // not a JWT: three base64url parts, JSON header and claims
	CheckAlgorithm = "alg"       // none, HMAC, or an algorithm not accepted for the provider
	CheckKey       = "kid"       // no key of the provider's JWKS verifies it (unknown kid, wrong key type)
	CheckSignature = "signature" // the signature does not verify with the provider's key
	CheckType      = "typ"       // explicit type of another kind of token (RFC 8725 s3.11)
	CheckIssuer    = "iss"
	CheckSubject   = "sub"
	CheckAudience  = "aud"
	CheckAZP       = "azp"
	CheckExpiry    = "exp" // expired, or no expiry at all
	CheckNotBefore = "nbf"
	CheckIssuedAt  = "iat"
	CheckNonce     = "nonce"
	CheckATHash    = "at_hash"
	CheckCHash     = "c_hash"
)

// Kinds of token, as findings name them.
const (
	TokenID     = "id_token"
	TokenAccess = "access_token"
)

// InvalidTokenError is a token the stack issued that fails validation as a
// relying party or a resource server would do it: the stack broke the protocol.
// It is neither a refusal nor an outage: the journeys record it as invalid and the
// analysis files it as TOKEN_INVALID.
type InvalidTokenError struct {
	// Token is TokenID or TokenAccess.
	Token string
	// Check is the check that failed (CheckAlgorithm, ...).
	Check string
	// Detail says what was found, never a token or a claim value that could be
	// one ("alg none", "expired 3600s ago").
	Detail string
}

func (e *InvalidTokenError) Error() string {
	return fmt.Sprintf("%s invalid: %s: %s", e.Token, e.Check, e.Detail)
}

// Name is the failed check as findings group it: "id_token.nonce".
func (e *InvalidTokenError) Name() string { return e.Token + "." + e.Check }
