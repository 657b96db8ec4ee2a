package hydra_test

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"testing"
)

// jwt is a verified JWT: its header and claims.
type jwt struct {
	header map[string]any
	claims map[string]any
}

// verifyJWT checks tok's RS256 signature against the issuer's JWKS and decodes it.
func verifyJWT(t testing.TB, d discovery, tok string) jwt {
	t.Helper()
	j, err := verify(t.Context(), d.JWKSURI, tok)
	if err != nil {
		t.Fatalf("JWT: %v", err)
	}
	return j
}

func verify(ctx context.Context, jwksURI, tok string) (jwt, error) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return jwt{}, fmt.Errorf("%d parts; want 3", len(parts))
	}
	var j jwt
	for i, dst := range []*map[string]any{&j.header, &j.claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			return jwt{}, err
		}
		if err := json.Unmarshal(b, dst); err != nil {
			return jwt{}, err
		}
	}
	if j.header["alg"] != "RS256" {
		return jwt{}, fmt.Errorf("alg %v; want RS256", j.header["alg"])
	}
	key, err := rsaKey(ctx, jwksURI, fmt.Sprint(j.header["kid"]))
	if err != nil {
		return jwt{}, err
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return jwt{}, err
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(key, crypto.SHA256, sum[:], sig); err != nil {
		return jwt{}, fmt.Errorf("signature: %w", err)
	}
	return j, nil
}

func rsaKey(ctx context.Context, jwksURI, kid string) (*rsa.PublicKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, jwksURI, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var set struct {
		Keys []struct{ Kid, Kty, N, E string } `json:"keys"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		return nil, err
	}
	for _, k := range set.Keys {
		if k.Kid != kid || k.Kty != "RSA" {
			continue
		}
		n, err := base64.RawURLEncoding.DecodeString(k.N)
		if err != nil {
			return nil, err
		}
		e, err := base64.RawURLEncoding.DecodeString(k.E)
		if err != nil {
			return nil, err
		}
		return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}, nil
	}
	return nil, fmt.Errorf("no RSA key %q in %s", kid, jwksURI)
}

// strs turns a decoded JSON array of strings into a []string (nil if v is not one).
func strs(v any) []string {
	a, ok := v.([]any)
	if !ok {
		return nil
	}
	out := make([]string, 0, len(a))
	for _, x := range a {
		s, ok := x.(string)
		if !ok {
			return nil
		}
		out = append(out, s)
	}
	return out
}
