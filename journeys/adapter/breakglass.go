package adapter

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// HTTPBreakGlass is a break-glass request made by one HTTP call with the
// requester's session: a homegrown endpoint, or a provider's custom API.
type HTTPBreakGlass struct {
	// Request asks for access; placeholders {patient} and {reason}. A request
	// without a reason leaves the members holding only {reason} out.
	Request RequestTemplate `yaml:"request"`
	// GrantID and ExpiresIn are paths in the answer: the grant's id and its time
	// box in seconds. Both optional.
	GrantID   string `yaml:"grant_id"`
	ExpiresIn string `yaml:"expires_in"`
	// Token is the path of a token in the answer that carries the access, sent as a
	// bearer token; empty means the session itself carries the grant.
	Token string `yaml:"token"`
	// End ends a grant early; placeholder {grant_id}.
	End *RequestTemplate `yaml:"end"`
}

const opBreakGlass = "break-glass"

// Obtain asks, with the session s, for emergency access to patient with reason
// ("" sends none): a refusal is a *RefusedError.
func (h *HTTPBreakGlass) Obtain(ctx context.Context, tr http.RoundTripper, base *url.URL, s *Session, patient, reason string) (*Grant, error) {
	req, err := h.Request.Expand(map[string]string{"patient": patient, "reason": reason})
	if err != nil {
		return nil, err
	}
	resp, err := Call(ctx, tr, Resolve(base, req.Path), s, req)
	if err != nil {
		return nil, err
	}
	if re := RefusalOf(resp); re != nil {
		Drain(resp)
		return nil, re
	}
	switch {
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		Drain(resp)
		return nil, ProtocolErr(opBreakGlass, "HTTP %d is neither a grant nor a refusal", resp.StatusCode)
	}
	g := &Grant{Session: s}
	if h.GrantID == "" && h.ExpiresIn == "" && h.Token == "" {
		Drain(resp)
		return g, nil
	}
	doc, err := DecodeAnswer(resp, opBreakGlass)
	if err != nil {
		return nil, err
	}
	if h.GrantID != "" {
		if g.id, err = StringAt(doc, h.GrantID); err != nil {
			return nil, ProtocolErr(opBreakGlass, "%v", err)
		}
	}
	if h.ExpiresIn != "" {
		secs, err := NumberAt(doc, h.ExpiresIn)
		if err != nil {
			return nil, ProtocolErr(opBreakGlass, "%v", err)
		}
		g.TTL = time.Duration(secs * float64(time.Second))
	}
	if h.Token != "" {
		tok, err := StringAt(doc, h.Token)
		if err != nil {
			return nil, ProtocolErr(opBreakGlass, "%v", err)
		}
		gs := *s
		gs.Cred = Bearer(tok)
		g.Session = &gs
	}
	return g, nil
}

// Finish ends grant g early with the End request; ErrUnsupported without one.
func (h *HTTPBreakGlass) Finish(ctx context.Context, tr http.RoundTripper, base *url.URL, g *Grant) error {
	if h.End == nil || g.id == "" {
		return ErrUnsupported
	}
	req, err := h.End.Expand(map[string]string{"grant_id": g.id})
	if err != nil {
		return err
	}
	status, err := Do(ctx, tr, Resolve(base, req.Path), g.Session, req)
	if err != nil {
		return err
	}
	if status >= 400 {
		return &RefusedError{Status: status, Reason: "end of grant refused"}
	}
	return nil
}
