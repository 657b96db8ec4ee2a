package hydra

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/cutover-dev/cutover/personas"
)

// Client is an OAuth 2.0 client as registered through Hydra's admin API
// (POST /admin/clients). Its String method leaves the secret out.
type Client struct {
	ID string
	// Secret is empty for a public client; for a confidential one, an empty Secret
	// asks Hydra to generate one, which CreateClient returns.
	Secret                 personas.Secret
	Name                   string
	GrantTypes             []string
	ResponseTypes          []string
	RedirectURIs           []string
	PostLogoutRedirectURIs []string
	// Scopes are the scopes the client may request.
	Scopes   []string
	Audience []string
	// TokenEndpointAuthMethod is "none" for a public client, else
	// "client_secret_basic" (Hydra's default) or "client_secret_post".
	TokenEndpointAuthMethod string
	// AccessTokens overrides the server's access token strategy for this client.
	AccessTokens TokenStrategy
}

// String describes c without its secret.
func (c Client) String() string {
	return fmt.Sprintf("client %s (auth %s, grants %s, scopes %s)", c.ID, c.TokenEndpointAuthMethod,
		strings.Join(c.GrantTypes, ","), strings.Join(c.Scopes, " "))
}

// GoString is String, so that %#v does not print the secret either.
func (c Client) GoString() string { return c.String() }

// PublicClient returns a public client (no secret, token_endpoint_auth_method none)
// for the authorization code flow with PKCE and refresh tokens, as a browser or
// native app registers. Ask for scope offline_access to get a refresh token.
func PublicClient(id string, redirectURIs []string, scopes ...string) Client {
	return Client{
		ID:                      id,
		GrantTypes:              []string{"authorization_code", "refresh_token"},
		ResponseTypes:           []string{"code"},
		RedirectURIs:            redirectURIs,
		PostLogoutRedirectURIs:  redirectURIs,
		Scopes:                  scopes,
		TokenEndpointAuthMethod: "none",
	}
}

// ConfidentialClient returns a client that authenticates with HTTP Basic: a web
// backend using the authorization code flow, or a resource server that introspects
// and revokes tokens.
func ConfidentialClient(id string, secret personas.Secret, redirectURIs []string, scopes ...string) Client {
	c := PublicClient(id, redirectURIs, scopes...)
	c.Secret = secret
	c.TokenEndpointAuthMethod = "client_secret_basic"
	return c
}

// ServiceClient returns a client for the client_credentials grant only (a service
// account), authenticating with HTTP Basic, allowed exactly scopes.
func ServiceClient(id string, secret personas.Secret, scopes ...string) Client {
	return Client{
		ID:                      id,
		Secret:                  secret,
		GrantTypes:              []string{"client_credentials"},
		ResponseTypes:           []string{"token"},
		Scopes:                  scopes,
		TokenEndpointAuthMethod: "client_secret_basic",
	}
}

// clientJSON is Hydra's wire form of a client.
type clientJSON struct {
	ID                      string   `json:"client_id,omitempty"`
	Secret                  string   `json:"client_secret,omitempty"`
	Name                    string   `json:"client_name,omitempty"`
	GrantTypes              []string `json:"grant_types,omitempty"`
	ResponseTypes           []string `json:"response_types,omitempty"`
	RedirectURIs            []string `json:"redirect_uris,omitempty"`
	PostLogoutRedirectURIs  []string `json:"post_logout_redirect_uris,omitempty"`
	Scope                   string   `json:"scope,omitempty"`
	Audience                []string `json:"audience,omitempty"`
	TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method,omitempty"`
	AccessTokenStrategy     string   `json:"access_token_strategy,omitempty"`
}

// CreateClient registers c and returns it as Hydra stored it, with the secret Hydra
// generated when c had none and is not public.
func (s *Server) CreateClient(ctx context.Context, c Client) (Client, error) {
	in := clientJSON{
		ID: c.ID, Secret: c.Secret.Reveal(), Name: c.Name,
		GrantTypes: c.GrantTypes, ResponseTypes: c.ResponseTypes,
		RedirectURIs: c.RedirectURIs, PostLogoutRedirectURIs: c.PostLogoutRedirectURIs,
		Scope: strings.Join(c.Scopes, " "), Audience: c.Audience,
		TokenEndpointAuthMethod: c.TokenEndpointAuthMethod,
		AccessTokenStrategy:     string(c.AccessTokens),
	}
	var out clientJSON
	if err := adminJSON(ctx, s.http, http.MethodPost, s.AdminURL+"/admin/clients", in, &out); err != nil {
		return Client{}, fmt.Errorf("create client %s: %w", c.ID, err)
	}
	got := Client{
		ID: out.ID, Secret: c.Secret, Name: out.Name,
		GrantTypes: out.GrantTypes, ResponseTypes: out.ResponseTypes,
		RedirectURIs: out.RedirectURIs, PostLogoutRedirectURIs: out.PostLogoutRedirectURIs,
		Scopes: strings.Fields(out.Scope), Audience: out.Audience,
		TokenEndpointAuthMethod: out.TokenEndpointAuthMethod,
		AccessTokens:            TokenStrategy(out.AccessTokenStrategy),
	}
	if out.Secret != "" {
		got.Secret = personas.NewSecret(out.Secret)
	}
	return got, nil
}

// Introspection is Hydra's RFC 7662 answer. Ext holds the access token session
// claims the login app set at consent (roles); Hydra returns them for access and
// refresh tokens alike.
type Introspection struct {
	Active    bool           `json:"active"`
	Scope     string         `json:"scope,omitempty"`
	ClientID  string         `json:"client_id,omitempty"`
	Subject   string         `json:"sub,omitempty"`
	ExpiresAt int64          `json:"exp,omitempty"`
	IssuedAt  int64          `json:"iat,omitempty"`
	NotBefore int64          `json:"nbf,omitempty"`
	Issuer    string         `json:"iss,omitempty"`
	Audience  []string       `json:"aud,omitempty"`
	TokenType string         `json:"token_type,omitempty"`
	TokenUse  string         `json:"token_use,omitempty"`
	Ext       map[string]any `json:"ext,omitempty"`
}

// Introspect asks Hydra's admin introspection endpoint about token. Hydra's admin API
// requires no client authentication; an inactive or unknown token is no error.
func (s *Server) Introspect(ctx context.Context, token string) (Introspection, error) {
	var out Introspection
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.IntrospectionURL(),
		strings.NewReader(url.Values{"token": {token}}.Encode()))
	if err != nil {
		return out, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if err := doJSON(s.http, req, &out); err != nil {
		return out, fmt.Errorf("introspect: %w", err)
	}
	return out, nil
}

// APIError is a non-2xx answer from Hydra: the HTTP status and Hydra's OAuth 2.0
// style error body. Hydra's error bodies name no tokens or secrets.
type APIError struct {
	Status      int
	Code        string `json:"error"`
	Description string `json:"error_description"`
}

func (e *APIError) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("hydra answered %d", e.Status)
	}
	return fmt.Sprintf("hydra answered %d %s: %s", e.Status, e.Code, e.Description)
}

// adminJSON sends in as JSON (nil: no body) and decodes a 2xx answer into out.
func adminJSON(ctx context.Context, c *http.Client, method, u string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return doJSON(c, req, out)
}

// doJSON runs req and decodes a 2xx JSON answer into out, or returns an *APIError.
func doJSON(c *http.Client, req *http.Request, out any) error {
	req.Header.Set("Accept", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		e := &APIError{Status: resp.StatusCode}
		json.Unmarshal(b, e) // best effort: a non-JSON body leaves Code empty
		return e
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("decode %s answer: %w", req.URL.Path, err)
	}
	return nil
}
