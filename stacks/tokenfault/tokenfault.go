// Package tokenfault fronts an OIDC provider (the embedded candidate) as a
// provider of its own, re-signing every token the upstream issues with its own key
// and, when asked, breaking one thing in one kind of token: an unsigned token, a
// shared-secret algorithm, a foreign key, a wrong issuer, audience, nonce or
// at_hash, an expired token... It exists to show that the harness validates every
// token a candidate issues, as a relying party and a resource server would, and
// files a failure as TOKEN_INVALID, never as anything else.
//
// The proxy rewrites the upstream's discovery document to name itself, serves its
// own JWKS, and translates the tokens it minted back into the upstream's on every
// request it forwards (bearer headers, token, refresh and hint parameters), so the
// upstream keeps working as before behind it. It is test support: it serves on
// loopback and keeps every token it minted in memory.
//
// It imports nothing of this module.
package tokenfault

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Fault is one thing broken in one kind of token.
type Fault struct {
	// Name identifies the fault: "access-alg-none".
	Name string
	// Token is the kind of token it breaks: "access_token" or "id_token".
	Token string
	// Check is the check a validating client must fail the token on (the
	// adapter's Check* names: "alg", "signature", "nonce"...).
	Check string
	// Description says what the proxy does.
	Description string
}

// Faults lists every fault the proxy can inject.
var Faults = []Fault{
	{"access-alg-none", "access_token", "alg", "the access token is unsigned (alg none)"},
	{"access-hs256", "access_token", "alg", "the access token is signed with HS256 and a random secret"},
	{"access-hs256-public-key", "access_token", "alg", "the access token is signed with HS256 keyed with the provider's public key (algorithm confusion)"},
	{"access-hs256-jwks-oct", "access_token", "alg", "the JWKS publishes a shared secret (kty oct) and the access token is signed with it"},
	{"access-bad-signature", "access_token", "signature", "the access token's signature is damaged"},
	{"access-tampered-roles", "access_token", "signature", "the access token's roles are changed after signing"},
	{"access-foreign-key", "access_token", "signature", "the access token is signed with a key that is not the provider's, under its kid"},
	{"access-unknown-kid", "access_token", "kid", "the access token names a kid the JWKS does not hold"},
	{"access-wrong-issuer", "access_token", "iss", "the access token names another issuer"},
	{"access-wrong-audience", "access_token", "aud", "the access token is for another audience"},
	{"access-expired", "access_token", "exp", "the access token expired an hour ago"},
	{"access-no-exp", "access_token", "exp", "the access token has no expiry"},
	{"access-nbf-future", "access_token", "nbf", "the access token is not valid for another hour"},
	{"access-iat-future", "access_token", "iat", "the access token is issued an hour in the future"},
	{"access-typ-logout", "access_token", "typ", "the access token is typed as a logout token"},
	{"id-alg-none", "id_token", "alg", "the ID token is unsigned (alg none)"},
	{"id-hs256", "id_token", "alg", "the ID token is signed with HS256 and a random secret"},
	{"id-foreign-key", "id_token", "signature", "the ID token is signed with a key that is not the provider's"},
	{"id-wrong-issuer", "id_token", "iss", "the ID token names another issuer"},
	{"id-wrong-audience", "id_token", "aud", "the ID token is for another client"},
	{"id-azp", "id_token", "azp", "the ID token's azp is another client"},
	{"id-expired", "id_token", "exp", "the ID token expired an hour ago"},
	{"id-no-iat", "id_token", "iat", "the ID token has no iat"},
	{"id-no-sub", "id_token", "sub", "the ID token has no sub"},
	{"id-nonce-missing", "id_token", "nonce", "the ID token carries no nonce"},
	{"id-nonce-mismatch", "id_token", "nonce", "the ID token carries another nonce"},
	{"id-at-hash", "id_token", "at_hash", "the ID token's at_hash is not the access token's"},
	{"id-typ-access", "id_token", "typ", "the ID token is typed as an access token (at+jwt)"},
}

// Lookup returns the fault named name.
func Lookup(name string) (Fault, bool) {
	i := slices.IndexFunc(Faults, func(f Fault) bool { return f.Name == name })
	if i < 0 {
		return Fault{}, false
	}
	return Faults[i], true
}

// Proxy is a running proxy in front of one upstream provider.
type Proxy struct {
	// URL is the proxy's base URL: its issuer.
	URL string

	upstream string
	fault    Fault
	key      *ecdsa.PrivateKey
	foreign  *ecdsa.PrivateKey
	oct      []byte
	srv      *http.Server
	ln       net.Listener
	client   *http.Client

	mu       sync.Mutex
	original map[string]string // minted token -> the upstream's
}

const kid, octKid = "proxy-1", "proxy-oct"

// Start serves a proxy for the provider at upstream (its issuer URL, without a
// trailing slash) on a loopback port, injecting fault (the zero Fault injects
// none: every token is only re-signed, which a validating client accepts).
func Start(upstream string, fault Fault) (*Proxy, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	foreign, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	oct := make([]byte, 32)
	_, _ = rand.Read(oct)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{
		URL: "http://" + ln.Addr().String(), upstream: strings.TrimSuffix(upstream, "/"), fault: fault,
		key: key, foreign: foreign, oct: oct, ln: ln, original: map[string]string{},
		client: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
	}
	p.srv = &http.Server{Handler: http.HandlerFunc(p.serve), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

// Close stops the proxy.
func (p *Proxy) Close() error { return p.srv.Close() }

func (p *Proxy) serve(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/.well-known/openid-configuration":
		p.discovery(w, r)
		return
	case "/proxy/jwks":
		p.jwks(w)
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		if form, err := url.ParseQuery(string(body)); err == nil {
			for _, k := range []string{"token", "refresh_token", "subject_token", "id_token_hint"} {
				if v := form.Get(k); v != "" {
					form.Set(k, p.back(v))
				}
			}
			body = []byte(form.Encode())
		}
	}
	q := r.URL.Query()
	if v := q.Get("id_token_hint"); v != "" {
		q.Set("id_token_hint", p.back(v))
		r.URL.RawQuery = q.Encode()
	}
	req, err := http.NewRequestWithContext(r.Context(), r.Method, p.upstream+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	req.Header = r.Header.Clone()
	if a := req.Header.Get("Authorization"); strings.HasPrefix(a, "Bearer ") {
		req.Header.Set("Authorization", "Bearer "+p.back(strings.TrimPrefix(a, "Bearer ")))
	}
	resp, err := p.client.Do(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") && r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/token") && resp.StatusCode == http.StatusOK {
		out = p.reissue(out)
	}
	out = bytes.ReplaceAll(out, []byte(p.upstream), []byte(p.URL))
	maps.Copy(w.Header(), resp.Header)
	w.Header().Del("Content-Length")
	if loc := resp.Header.Get("Location"); loc != "" {
		w.Header().Set("Location", strings.Replace(loc, p.upstream, p.URL, 1))
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(out)
}

// back returns the upstream's token behind one the proxy minted (others pass).
func (p *Proxy) back(tok string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if o, ok := p.original[tok]; ok {
		return o
	}
	return tok
}

func (p *Proxy) discovery(w http.ResponseWriter, r *http.Request) {
	resp, err := p.client.Get(p.upstream + r.URL.Path)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	var doc map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	for k, v := range doc {
		if s, ok := v.(string); ok {
			doc[k] = strings.Replace(s, p.upstream, p.URL, 1)
		}
	}
	doc["jwks_uri"] = p.URL + "/proxy/jwks"
	writeJSON(w, doc)
}

func (p *Proxy) jwks(w http.ResponseWriter) {
	b, _ := p.key.PublicKey.Bytes() // uncompressed point: 0x04 || X || Y
	enc := base64.RawURLEncoding.EncodeToString
	keys := []map[string]string{{"kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": kid, "x": enc(b[1:33]), "y": enc(b[33:65])}}
	if p.fault.Name == "access-hs256-jwks-oct" {
		keys = append(keys, map[string]string{"kty": "oct", "use": "sig", "alg": "HS256", "kid": octKid, "k": enc(p.oct)})
	}
	writeJSON(w, map[string]any{"keys": keys})
}

// reissue re-signs the access and ID tokens of a token answer, the fault applied
// to the kind of token it breaks.
func (p *Proxy) reissue(body []byte) []byte {
	var doc map[string]any
	if json.Unmarshal(body, &doc) != nil {
		return body
	}
	access, _ := doc["access_token"].(string)
	if strings.Count(access, ".") == 2 {
		if minted, err := p.mint(access, "access_token", ""); err == nil {
			doc["access_token"] = minted
			access = minted
		}
	}
	if id, ok := doc["id_token"].(string); ok {
		if minted, err := p.mint(id, "id_token", access); err == nil {
			doc["id_token"] = minted
		}
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return body
	}
	return out
}

// mint re-signs the upstream token up as a token of kind; access is the access
// token it came with, for an ID token's at_hash.
func (p *Proxy) mint(up, kind, access string) (string, error) {
	parsed, _, err := jwt.NewParser().ParseUnverified(up, jwt.MapClaims{})
	if err != nil {
		return "", err
	}
	c := parsed.Claims.(jwt.MapClaims)
	c["iss"] = p.URL
	typ, _ := parsed.Header["typ"].(string)
	if kind == "id_token" && access != "" {
		sum := crypto.SHA256.New()
		sum.Write([]byte(access))
		c["at_hash"] = base64.RawURLEncoding.EncodeToString(sum.Sum(nil)[:16])
	}
	method, key, keyID := jwt.SigningMethod(jwt.SigningMethodES256), any(p.key), kid
	f := p.fault
	if f.Token == kind {
		hour := time.Now().Add(time.Hour).Unix()
		switch strings.TrimPrefix(strings.TrimPrefix(f.Name, "access-"), "id-") {
		case "alg-none":
			method, key = jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType
		case "hs256":
			method, key = jwt.SigningMethodHS256, p.oct
		case "hs256-public-key":
			der, _ := x509.MarshalPKIXPublicKey(&p.key.PublicKey)
			method, key = jwt.SigningMethodHS256, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
		case "hs256-jwks-oct":
			method, key, keyID = jwt.SigningMethodHS256, p.oct, octKid
		case "foreign-key":
			key = p.foreign
		case "unknown-kid":
			keyID = "not-in-the-jwks"
		case "wrong-issuer":
			c["iss"] = "https://issuer.invalid"
		case "wrong-audience":
			c["aud"] = []string{"someone-else"}
		case "azp":
			c["azp"] = "someone-else"
		case "expired":
			c["exp"] = time.Now().Add(-time.Hour).Unix()
		case "no-exp":
			delete(c, "exp")
		case "nbf-future":
			c["nbf"] = hour
		case "iat-future":
			c["iat"] = hour
		case "no-iat":
			delete(c, "iat")
		case "no-sub":
			delete(c, "sub")
		case "nonce-missing":
			delete(c, "nonce")
		case "nonce-mismatch":
			c["nonce"] = "another-nonce"
		case "at-hash":
			c["at_hash"] = "AAAAAAAAAAAAAAAAAAAAAA"
		case "typ-logout":
			typ = "logout+jwt"
		case "typ-access":
			typ = "at+jwt"
		}
	}
	t := jwt.NewWithClaims(method, c)
	if typ != "" {
		t.Header["typ"] = typ
	}
	t.Header["kid"] = keyID
	out, err := t.SignedString(key)
	if err != nil {
		return "", fmt.Errorf("tokenfault: sign: %w", err)
	}
	if f.Token == kind {
		switch f.Name {
		case "access-bad-signature":
			out = damage(out)
		case "access-tampered-roles":
			out = tamper(out)
		}
	}
	p.mu.Lock()
	p.original[out] = up
	p.mu.Unlock()
	return out, nil
}

// damage flips bits in the middle of the signature.
func damage(tok string) string {
	i := strings.LastIndexByte(tok, '.')
	sig, err := base64.RawURLEncoding.DecodeString(tok[i+1:])
	if err != nil || len(sig) == 0 {
		return tok
	}
	sig[len(sig)/2] ^= 0xff
	return tok[:i+1] + base64.RawURLEncoding.EncodeToString(sig)
}

// tamper grants the admin role in the claims and keeps the signature.
func tamper(tok string) string {
	parts := strings.Split(tok, ".")
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return tok
	}
	var c map[string]any
	if json.Unmarshal(raw, &c) != nil {
		return tok
	}
	c["roles"] = []string{"admin"}
	b, _ := json.Marshal(c)
	parts[1] = base64.RawURLEncoding.EncodeToString(b)
	return strings.Join(parts, ".")
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
