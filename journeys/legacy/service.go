package legacy

import (
	"cmp"
	"context"
	"net/http"

	"github.com/cutover-dev/cutover/journeys/adapter"
	"github.com/cutover-dev/cutover/personas"
)

// ServiceLogin implements ServiceAuthenticator: the persona's secret is its API
// key, checked and described by the service who-am-I. API keys do not expire and
// come with no refresh token.
func (l *Adapter) ServiceLogin(ctx context.Context, p personas.Persona) (*adapter.Session, error) {
	const op = "legacy api key"
	sv := l.cfg.Service
	if sv == nil {
		return nil, adapter.ErrUnsupported
	}
	s := &adapter.Session{TTL: -1, Cred: adapter.Credential{Header: cmp.Or(sv.Header, "X-API-Key"), Value: adapter.WithScheme(sv.Scheme, p.Secret.Reveal())}}
	resp, err := adapter.Call(ctx, l.tr, l.url(sv.Whoami), s, adapter.Request{Method: http.MethodGet, Path: sv.Whoami})
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
		return nil, adapter.Refusal(resp)
	}
	if resp.StatusCode != http.StatusOK {
		adapter.Drain(resp)
		return nil, adapter.ProtocolErr(op, "HTTP %d", resp.StatusCode)
	}
	doc, err := adapter.DecodeAnswer(resp, op)
	if err != nil {
		return nil, err
	}
	if !sv.Subject.IsZero() {
		if s.Subject, err = sv.Subject.StringAt(doc); err != nil {
			return nil, adapter.ProtocolErr(op, "%v", err)
		}
	}
	permissions := sv.Permissions
	if permissions.IsZero() {
		permissions.Path = "permissions"
	}
	perms, err := permissions.StringsAt(doc)
	if err != nil {
		return nil, adapter.ProtocolErr(op, "%v", err)
	}
	s.Scopes = adapter.MapPermissions(perms, l.cfg.PermissionMap)
	return s, nil
}
