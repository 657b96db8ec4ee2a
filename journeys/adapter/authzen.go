package adapter

import (
	"cmp"
	"context"
	"encoding/json"
	"net/http"

	"github.com/cutover-dev/cutover/personas"
)

// AuthZEN evaluates probes at an OpenID AuthZEN policy decision point
// (Authorization API 1.0, POST /access/v1/evaluation) instead of requesting the
// resources. A deny is HTTP 200 with "decision": false; a 4xx or 5xx is an error,
// never a decision.
type AuthZEN struct {
	// URL is the evaluation endpoint.
	URL string `yaml:"url"`
	// Token, when set, is sent as a bearer token (the PEP's credential); otherwise
	// the persona's own credential is sent.
	Token *SecretRef `yaml:"token"`
	// SubjectType is the AuthZEN subject type of human personas (default "user");
	// service personas are "service".
	SubjectType string `yaml:"subject_type"`
}

const opPDP = "authzen evaluation"

// Evaluate asks the PDP whether the subject of s may do action on the resource
// typ:id, and returns its decision and the HTTP status; a refusal to decide is an
// error.
func (a *AuthZEN) Evaluate(ctx context.Context, tr http.RoundTripper, s *Session, kind personas.Kind, action, typ, id string) (allow bool, status int, err error) {
	if s.Subject == "" {
		return false, 0, ProtocolErr(opPDP, "the session has no subject to evaluate (legacy: set me.subject or service.subject; oidc: the access token is opaque and neither introspection nor an ID token says who it is)")
	}
	subjectType := cmp.Or(a.SubjectType, "user")
	if kind == personas.Service {
		subjectType = "service"
	}
	body, _ := json.Marshal(map[string]any{ // only strings: always marshals
		"subject":  map[string]string{"type": subjectType, "id": s.Subject},
		"action":   map[string]string{"name": action},
		"resource": map[string]string{"type": typ, "id": id},
		"context":  map[string]string{},
	})
	cred := s
	if a.Token != nil {
		tok := a.Token.Secret().Reveal()
		cred = &Session{Cred: Bearer(tok)}
	}
	resp, err := Call(ctx, tr, a.URL, cred, Request{Method: http.MethodPost, Path: "/access/v1/evaluation", Body: body, ContentType: "application/json"})
	if err != nil {
		return false, 0, err
	}
	if resp.StatusCode != http.StatusOK {
		Drain(resp)
		return false, resp.StatusCode, ProtocolErr(opPDP, "HTTP %d is an error, not a decision", resp.StatusCode)
	}
	var ans struct {
		Decision *bool `json:"decision"`
	}
	if err := DecodeJSON(resp, opPDP, &ans); err != nil {
		return false, resp.StatusCode, err
	}
	if ans.Decision == nil {
		return false, resp.StatusCode, ProtocolErr(opPDP, "HTTP 200 without a boolean decision")
	}
	return *ans.Decision, resp.StatusCode, nil
}
