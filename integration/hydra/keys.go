package hydra

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math/big"
	"net/http"
)

// The key sets Hydra signs with: ID tokens, and access tokens under the jwt strategy.
// Both are published at /.well-known/jwks.json.
var signingKeySets = []string{"hydra.openid.id-token", "hydra.jwt.access-token"}

// signingKeyBits is the size of the RSA keys Start gives Hydra.
//
// Left alone, Hydra generates an RSA-4096 key pair per set on the first request that
// needs it. On two busy cores that takes from half a second to over thirty seconds,
// which made starts time out when tests run in parallel and would charge the first
// login of a rehearsal with it as latency. Start generates RS256 keys of this size
// instead and installs them through the admin API before any public request.
const signingKeyBits = 2048

// jwk is an RSA private JSON Web Key (RFC 7517, RFC 7518 s6.3).
type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	N   string `json:"n"`
	E   string `json:"e"`
	D   string `json:"d"`
	P   string `json:"p"`
	Q   string `json:"q"`
	Dp  string `json:"dp"`
	Dq  string `json:"dq"`
	Qi  string `json:"qi"`
}

// newSigningKey generates an RS256 signing key as a private JWK.
func newSigningKey(set string) (jwk, error) {
	k, err := rsa.GenerateKey(rand.Reader, signingKeyBits)
	if err != nil {
		return jwk{}, fmt.Errorf("signing key for %s: %w", set, err)
	}
	id := make([]byte, 16)
	if _, err := rand.Read(id); err != nil {
		return jwk{}, err
	}
	b := func(i *big.Int) string { return base64.RawURLEncoding.EncodeToString(i.Bytes()) }
	return jwk{
		Kty: "RSA", Kid: hex.EncodeToString(id), Use: "sig", Alg: "RS256",
		N: b(k.N), E: b(big.NewInt(int64(k.E))), D: b(k.D),
		P: b(k.Primes[0]), Q: b(k.Primes[1]),
		Dp: b(k.Precomputed.Dp), Dq: b(k.Precomputed.Dq), Qi: b(k.Precomputed.Qinv),
	}, nil
}

// signingKeys generates one key per set in signingKeySets, concurrently.
func signingKeys() (map[string]jwk, error) {
	type result struct {
		set string
		key jwk
		err error
	}
	ch := make(chan result, len(signingKeySets))
	for _, set := range signingKeySets {
		go func() {
			k, err := newSigningKey(set)
			ch <- result{set, k, err}
		}()
	}
	keys := make(map[string]jwk, len(signingKeySets))
	var firstErr error
	for range signingKeySets {
		r := <-ch
		if r.err != nil && firstErr == nil {
			firstErr = r.err
		}
		keys[r.set] = r.key
	}
	return keys, firstErr
}

// installKeys replaces Hydra's key sets with keys (PUT /admin/keys/{set}).
func (s *Server) installKeys(ctx context.Context, keys map[string]jwk) error {
	for set, k := range keys {
		body := map[string][]jwk{"keys": {k}}
		if err := adminJSON(ctx, s.http, http.MethodPut, s.AdminURL+"/admin/keys/"+set, body, nil); err != nil {
			return fmt.Errorf("install signing key %s: %w", set, err)
		}
	}
	return nil
}
