package oidc

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"slices"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/cutover-dev/cutover/personas"
)

// TestRolesClaimShapes reads the roles claim in the shapes providers write it.
func TestRolesClaimShapes(t *testing.T) {
	for _, tt := range []struct {
		name, claim, format, doc string
		want                     []string
	}{
		{"array", "roles", "", `{"roles":["clinician","breakglass"]}`, []string{"breakglass", "clinician"}},
		{"comma-joined", "roles", "", `{"roles":"clinician,breakglass"}`, []string{"breakglass", "clinician"}},
		{"comma and space", "roles", "", `{"roles":"clinician, breakglass"}`, []string{"breakglass", "clinician"}},
		{"space-joined", "roles", "space", `{"roles":"clinician breakglass"}`, []string{"breakglass", "clinician"}},
		{"comma keeps spaces in names", "roles", "comma", `{"roles":"Billing Clerk,Admin"}`, []string{"Admin", "Billing Clerk"}},
		{"list keeps a string whole", "roles", "list", `{"roles":"a,b"}`, []string{"a,b"}},
		{"array names kept whole", "roles", "", `{"roles":["Billing Clerk"]}`, []string{"Billing Clerk"}},
		{"nested (Keycloak realm)", "realm_access.roles", "", `{"realm_access":{"roles":["admin"]}}`, []string{"admin"}},
		{"client roles with a hyphen", "resource_access['my-client'].roles", "", `{"resource_access":{"my-client":{"roles":["patient"]}}}`, []string{"patient"}},
		{"namespaced (Auth0)", "$['https://example.com/roles']", "", `{"https://example.com/roles":["billing"]}`, []string{"billing"}},
		{"object keys (Zitadel)", "$['urn:zitadel:iam:org:project:roles']", "", `{"urn:zitadel:iam:org:project:roles":{"admin":{"123":"org"},"auditor":{"123":"org"}}}`, []string{"admin", "auditor"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var doc map[string]any
			if err := json.Unmarshal([]byte(tt.doc), &doc); err != nil {
				t.Fatal(err)
			}
			o := &Adapter{cfg: Config{RolesClaim: tt.claim, RolesFormat: tt.format}}
			got, ok := o.rolesIn(doc)
			slices.Sort(got)
			if !ok || !slices.Equal(got, tt.want) {
				t.Errorf("rolesIn = %q, %t; want %q", got, ok, tt.want)
			}
		})
	}
	o := &Adapter{cfg: Config{RolesClaim: "roles"}}
	if _, ok := o.rolesIn(map[string]any{"other": []any{"x"}}); ok {
		t.Error("a document without the claim gave roles")
	}
	if _, ok := o.rolesIn(map[string]any{"roles": nil}); ok {
		t.Error(`"roles": null gave roles`)
	}
	flags := map[string]any{"roles": map[string]any{"admin": true, "user": false}}
	if got, ok := o.rolesIn(flags); !ok || !slices.Equal(got, []string{"admin"}) {
		t.Errorf("roles as flags: %q, %t; want [admin]", got, ok)
	}
	o.cfg.RolesClaim = "realm_access"
	if got, ok := o.rolesIn(map[string]any{"realm_access": map[string]any{"roles": []any{"admin"}}}); ok {
		t.Errorf("roles_claim naming the object around the list gave roles %q", got)
	}
}

// TestLoginIdentifier signs in by username, e-mail or an accounts attribute,
// and says what is missing.
func TestLoginIdentifier(t *testing.T) {
	p := personas.Persona{ID: "p1", Username: "pat", Email: "pat@example.org", Attributes: map[string]string{"upn": "pat@corp"}}
	for li, want := range map[string]string{"": "pat", "username": "pat", "email": "pat@example.org", "attribute:upn": "pat@corp"} {
		o := &Adapter{cfg: Config{LoginIdentifier: li}}
		if got, err := o.identifier(p); err != nil || got != want {
			t.Errorf("login_identifier %q: %q, %v; want %q", li, got, err, want)
		}
	}
	o := &Adapter{cfg: Config{LoginIdentifier: "attribute:npi"}}
	if _, err := o.identifier(p); err == nil || !strings.Contains(err.Error(), `no attribute "npi"`) {
		t.Errorf("missing attribute: %v", err)
	}
}

// TestClientAssertion signs RFC 7523 assertions that a provider can verify
// with the public key: issuer and subject the client, audience the token
// endpoint, a fresh jti each time; weak or unreadable keys are refused
// without quoting them.
func TestClientAssertion(t *testing.T) {
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(ec)
	if err != nil {
		t.Fatal(err)
	}
	sign, err := NewAssertionSigner("svc-1", "https://op.example/token", "k1", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for range 3 {
		a, err := sign()
		if err != nil {
			t.Fatal(err)
		}
		var c jwt.RegisteredClaims
		tok, err := jwt.ParseWithClaims(a, &c, func(*jwt.Token) (any, error) { return ec.Public(), nil },
			jwt.WithValidMethods([]string{"ES256"}), jwt.WithAudience("https://op.example/token"), jwt.WithIssuer("svc-1"), jwt.WithExpirationRequired())
		if err != nil {
			t.Fatalf("assertion does not verify: %v", err)
		}
		if c.Subject != "svc-1" || c.ID == "" || seen[c.ID] || tok.Header["kid"] != "k1" {
			t.Errorf("claims %+v, kid %v: want sub svc-1, a fresh jti, kid k1", c, tok.Header["kid"])
		}
		seen[c.ID] = true
		payload, _ := base64.RawURLEncoding.DecodeString(strings.Split(a, ".")[1])
		if !strings.Contains(string(payload), `"aud":"https://op.example/token"`) {
			t.Errorf("assertion payload %s: want aud as one string", payload)
		}
	}
	rsa2048, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsaPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsa2048)})
	for _, tt := range []struct {
		algs []string
		want string
	}{{nil, "RS256"}, {[]string{"ES384", "RS384"}, "RS384"}, {[]string{"PS256"}, "PS256"}, {[]string{"ES256"}, ""}} {
		sign, err := newAssertionSigner("c", "a", "", rsaPEM, tt.algs)
		if tt.want == "" {
			if err == nil {
				t.Errorf("RSA key, provider takes %v: signer built; want an error", tt.algs)
			}
			continue
		}
		if err != nil {
			t.Fatalf("algs %v: %v", tt.algs, err)
		}
		a, _ := sign()
		header, _ := base64.RawURLEncoding.DecodeString(strings.Split(a, ".")[0])
		if !strings.Contains(string(header), `"alg":"`+tt.want+`"`) {
			t.Errorf("RSA key, provider takes %v: header %s; want %s", tt.algs, header, tt.want)
		}
	}
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	weakPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(weak)})
	if _, err := NewAssertionSigner("c", "a", "", weakPEM); err == nil || !strings.Contains(err.Error(), "1024 bits") {
		t.Errorf("a 1024-bit RSA key: %v; want refused", err)
	}
	garbage := "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LXZhbHVlLW5vdC1hLWtleQ==\n-----END PRIVATE KEY-----\n"
	if _, err := NewAssertionSigner("c", "a", "", []byte(garbage)); err == nil || strings.Contains(err.Error(), "c2VjcmV0") {
		t.Errorf("garbage key: %v; want refused without quoting it", err)
	}
}
