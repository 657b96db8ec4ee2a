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
	Scope        string `json:"scope"`
	Error        string `json:"error"`

	// nonce and code are what the authorization request sent and got back, for
	// the checks of the ID token that came with the answer.
	nonce, code string
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
		if errors.As(err, &re) && (re.Reason == "invalid_client" || re.Reason == "unauthorized_client") && a.ID == o.cfg.ClientID {
			// The harness client, not the persona, was refused: nothing the
			// run would record of this side could be judged.
			return nil, adapter.ProtocolErr(op, "the provider refused the harness client %s (%s, HTTP %d): check client_id, client_secret and auth_method%s", a.ID, re.Reason, re.Status, o.authMethodsHint())
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
