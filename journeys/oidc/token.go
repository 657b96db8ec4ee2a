package oidc

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/cutover-dev/cutover/journeys/adapter"
)

// tokenResponse is the RFC 6749 s5.1 answer.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"`
	// Scope is nil when the answer has no scope member (an empty one is an
	// empty grant).
	Scope *string `json:"scope"`
	Error string  `json:"error"`

	// nonce and code are what the authorization request sent and got back, for
	// the checks of the ID token that came with the answer.
	nonce, code string
	// requested is the scope the request asked for: the grant's when neither
	// the answer nor the token names one (RFC 6749 s5.1).
	requested []string
}

// token calls the token endpoint.
func (o *Adapter) token(ctx context.Context, form url.Values, a adapter.ClientAuth) (*tokenResponse, error) {
	op := "oidc token " + form.Get("grant_type")
	if gt := form.Get("grant_type"); strings.HasPrefix(gt, "urn:") {
		op = "oidc token exchange"
	}
	resp, err := adapter.PostForm(ctx, o.tr, o.meta.TokenEndpoint, form, a, op)
	if err != nil {
		return nil, err
	}
	status := resp.StatusCode
	if status != http.StatusOK {
		err := tokenError(resp, op)
		var re *adapter.RefusedError
		if errors.As(err, &re) && a.ID == o.cfg.ClientID {
			gt := form.Get("grant_type")
			switch {
			case re.Reason == "invalid_client" || re.Status == http.StatusUnauthorized && re.Reason == "" && gt == "authorization_code":
				// The harness client, not the persona, was refused (RFC 6749
				// s5.2: a failed client authentication is a 401; a fresh code
				// refused with a bare 401 can be nothing else): nothing the run
				// would record of this side could be judged. A bare 401 on a
				// refresh is the provider's "no" to the token (the client was
				// just accepted).
				return nil, adapter.ProtocolErr(op, "the provider refused the harness client %s (HTTP %d%s): check client_id, client_secret and auth_method%s", a.ID, re.Status, reasonSuffix(re.Reason), o.authMethodsHint())
			case re.Reason == "unauthorized_client" && (gt == "authorization_code" || gt == grantRefresh):
				return nil, adapter.ProtocolErr(op, "the provider does not allow the harness client %s the %s grant (unauthorized_client): allow it for the client", a.ID, gt)
			}
		}
		return nil, err
	}
	var tok tokenResponse
	if err := adapter.DecodeJSON(resp, op, &tok); err != nil {
		return nil, err
	}
	if tok.AccessToken == "" {
		return nil, adapter.ProtocolErr(op, "HTTP 200 without access_token")
	}
	return &tok, nil
}

// tokenError classifies a token endpoint's answer other than 200 by RFC 6749
// s5.2: a 400 or 401 (and the other refusal statuses) is the provider's "no",
// whatever its body says, with the error code when the body has one; 429 is the
// provider shedding load, an outage; anything else is not an OAuth answer.
func tokenError(resp *http.Response, op string) error {
	switch status := resp.StatusCode; {
	case adapter.RefusalStatus(status):
		return adapter.Refusal(resp)
	case status == http.StatusTooManyRequests:
		adapter.Drain(resp)
		return &adapter.UnavailableError{Op: op, Status: status}
	default:
		adapter.Drain(resp)
		return adapter.ProtocolErr(op, "HTTP %d is neither tokens nor an OAuth error", status)
	}
}

// authMethodsHint names the client authentication methods discovery lists.
func (o *Adapter) authMethodsHint() string {
	if len(o.meta.AuthMethodsSupported) == 0 {
		return ""
	}
	return " (discovery lists token_endpoint_auth_methods_supported: " + strings.Join(o.meta.AuthMethodsSupported, ", ") + ")"
}

func reasonSuffix(reason string) string {
	if reason == "" {
		return ""
	}
	return ", " + reason
}
