package legacy

import (
	"cmp"
	"context"
	"net/http"
	"time"

	"github.com/cutover-dev/cutover/journeys/adapter"
)

// Refresh implements Refresher with the keep-alive: the session is renewed in
// place, so the returned session carries the same credential.
func (l *Adapter) Refresh(ctx context.Context, s *adapter.Session) (*adapter.Session, error) {
	const op = "legacy renew"
	rn := l.cfg.Renew
	if rn == nil {
		return nil, adapter.ErrUnsupported
	}
	resp, err := adapter.Call(ctx, l.tr, l.url(rn.Path), s, adapter.Request{Method: cmp.Or(rn.Method, http.MethodPost), Path: rn.Path})
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
		return nil, adapter.Refusal(resp)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		adapter.Drain(resp)
		return nil, adapter.ProtocolErr(op, "HTTP %d", resp.StatusCode)
	}
	next := *s
	if rn.TTL == "" {
		adapter.Drain(resp)
		return &next, nil
	}
	doc, err := adapter.DecodeAnswer(resp, op)
	if err != nil {
		return nil, err
	}
	secs, err := adapter.NumberAt(doc, rn.TTL)
	if err != nil {
		return nil, adapter.ProtocolErr(op, "%v", err)
	}
	next.TTL = time.Duration(secs) * time.Second
	return &next, nil
}

// Credentials implements Introspector: a legacy session is one credential.
func (l *Adapter) Credentials(*adapter.Session) []string { return []string{"session"} }

// Active implements Introspector: the who-am-I endpoint still knows the session.
func (l *Adapter) Active(ctx context.Context, s *adapter.Session, _ string) (bool, error) {
	status, err := adapter.Do(ctx, l.tr, l.url(l.cfg.Me.Path), s, adapter.Request{Method: http.MethodGet, Path: l.cfg.Me.Path})
	if err != nil {
		return false, err
	}
	switch {
	case status == http.StatusOK:
		return true, nil
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return false, nil
	}
	return false, adapter.ProtocolErr("legacy who-am-i", "HTTP %d is neither active nor inactive", status)
}
