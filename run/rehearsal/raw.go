package rehearsal

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/cutover-dev/cutover/internal/exitcode"
	"github.com/cutover-dev/cutover/journeys/adapter"
	"github.com/cutover-dev/cutover/journeys/oidc"
	"github.com/cutover-dev/cutover/loadgen"
	"github.com/cutover-dev/cutover/personas"
	"github.com/cutover-dev/cutover/results/record"
	"github.com/cutover-dev/cutover/run/config"
)

// rawAttacks builds the raw attacks of cfg: on a side with the oidc adapter each
// endpoint is found through the provider's discovery document, on a legacy side it
// is the request the config gives (or the side is not attacked). Service personas
// lend their credentials in turn.
func rawAttacks(ctx context.Context, cfg *config.File, pop personas.Population, client *http.Client) ([]loadgen.Raw, error) {
	if len(cfg.Load.Raw) == 0 {
		return nil, nil
	}
	var services []personas.Persona
	for _, p := range pop.Personas {
		if p.Kind == personas.Service {
			services = append(services, p)
		}
	}
	sides := map[record.Side]config.Side{record.Legacy: cfg.Stacks.Legacy, record.Candidate: cfg.CandidateSide()}
	metas := map[string]*providerMeta{}
	var out []loadgen.Raw
	for i, r := range cfg.Load.Raw {
		raw := loadgen.Raw{
			Endpoint: r.Endpoint, Pacer: r.Profile.Pacer(cfg.Load.Duration), Duration: cfg.Load.Duration,
			Targets: map[record.Side]loadgen.RawTarget{}, Client: client,
		}
		for side, sc := range sides {
			if !cfg.Drives(string(side)) {
				continue
			}
			var (
				t   loadgen.RawTarget
				err error
			)
			switch {
			case sc.Adapter == "oidc":
				meta, ok := metas[sc.OIDC.Issuer]
				if !ok {
					if meta, err = discover(ctx, client, sc.OIDC.Issuer); err != nil {
						return nil, exitcode.With(fmt.Errorf("raw attack %s on the %s stack: %w", r.Endpoint, side, err), exitcode.Precondition)
					}
					metas[sc.OIDC.Issuer] = meta
				}
				t, err = oidcTarget(ctx, client, r, meta, sc.OIDC, services)
			case sc.Adapter == "legacy" && r.Legacy != nil:
				scheme := ""
				if sv := sc.Legacy.Service; sv != nil && strings.EqualFold(sv.Header, r.Legacy.Header) {
					scheme = sv.Scheme // the key as the side's service accounts send it
				}
				t, err = legacyTarget(sc.Legacy.BaseURL, *r.Legacy, scheme, services)
			default:
				continue
			}
			if err != nil {
				err = fmt.Errorf("load.raw.%d (%s) on the %s stack: %w", i, r.Endpoint, side, err)
				if exitcode.Of(err) == exitcode.Aborted { // untagged: the config asks for the impossible
					err = exitcode.With(err, exitcode.Usage)
				}
				return nil, err
			}
			raw.Targets[side] = t
		}
		if len(raw.Targets) > 0 {
			out = append(out, raw)
		}
	}
	return out, nil
}

// providerMeta is the part of an OpenID provider's metadata raw attacks use.
type providerMeta struct {
	issuer        string
	JWKSURI       string `json:"jwks_uri"`
	Token         string `json:"token_endpoint"`
	Introspection string `json:"introspection_endpoint"`
}

func discover(ctx context.Context, c *http.Client, issuer string) (*providerMeta, error) {
	wk := strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, wk, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("discovery: unavailable: %w", unwrapURL(err))
	}
	defer resp.Body.Close()
	m := &providerMeta{issuer: issuer}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("discovery: GET %s: HTTP %d", wk, resp.StatusCode)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(m); err != nil {
		return nil, fmt.Errorf("discovery: GET %s: not the expected JSON: %v", wk, err)
	}
	return m, nil
}

// ErrNoServicePersona: an attack that needs a service account's credentials, in a
// population without one.
var ErrNoServicePersona = errors.New("the population has no service persona to lend its credentials (personas.generate.mix: service)")

func oidcTarget(ctx context.Context, c *http.Client, r config.Raw, m *providerMeta, side *oidc.Config, services []personas.Persona) (loadgen.RawTarget, error) {
	get := func(u string) loadgen.RawTarget {
		return func(_ uint64, t *vegeta.Target) error {
			t.Method, t.URL = http.MethodGet, u
			return nil
		}
	}
	form := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	switch r.Endpoint {
	case config.RawDiscovery:
		return get(strings.TrimSuffix(m.issuer, "/") + "/.well-known/openid-configuration"), nil
	case config.RawJWKS:
		if m.JWKSURI == "" {
			return nil, errors.New("the provider publishes no jwks_uri")
		}
		return get(m.JWKSURI), nil
	case config.RawClientCredentials:
		if len(services) == 0 {
			return nil, ErrNoServicePersona
		}
		// The bodies carry secrets: built once, kept in memory, never recorded;
		// a client that signs assertions signs one per request (each has its
		// own jti).
		type client struct {
			auth   adapter.ClientAuth
			body   []byte
			header http.Header
		}
		clients := make([]client, len(services))
		for i, p := range services {
			a, err := oidc.ServiceClientAuth(side, p, m.Token)
			if err != nil {
				return nil, err
			}
			clients[i] = client{auth: a}
			if a.Assertion == nil {
				clients[i].body, clients[i].header, err = clientCredentials(a)
				if err != nil {
					return nil, err
				}
			}
		}
		return func(n uint64, t *vegeta.Target) error {
			cl := clients[n%uint64(len(clients))]
			body, h := cl.body, cl.header
			if body == nil {
				var err error
				if body, h, err = clientCredentials(cl.auth); err != nil {
					return err
				}
			}
			t.Method, t.URL, t.Header, t.Body = http.MethodPost, m.Token, h, body
			return nil
		}, nil
	case config.RawIntrospection:
		if m.Introspection == "" {
			return nil, errors.New("the provider publishes no introspection_endpoint")
		}
		if len(services) == 0 {
			return nil, fmt.Errorf("a token to introspect: %w", ErrNoServicePersona)
		}
		a, err := oidc.ServiceClientAuth(side, services[0], m.Token)
		if err != nil {
			return nil, err
		}
		tok, err := serviceToken(ctx, c, m.Token, services[0].ID, a)
		if err != nil {
			return nil, exitcode.With(fmt.Errorf("a token to introspect: %w", err), exitcode.Precondition)
		}
		body := []byte(url.Values{"token": {tok}, "token_type_hint": {"access_token"}}.Encode())
		req, _ := http.NewRequest(http.MethodPost, m.Introspection, nil)
		req.SetBasicAuth(url.QueryEscape(r.ClientID), url.QueryEscape(r.ClientSecret.Secret().Reveal()))
		h := http.Header{"Content-Type": form["Content-Type"], "Authorization": req.Header["Authorization"]}
		return func(_ uint64, t *vegeta.Target) error {
			t.Method, t.URL, t.Header, t.Body = http.MethodPost, m.Introspection, h, body
			return nil
		}, nil
	}
	return nil, fmt.Errorf("unknown endpoint %q", r.Endpoint)
}

// clientCredentials is the body and headers of a client_credentials request
// of client a.
func clientCredentials(a adapter.ClientAuth) ([]byte, http.Header, error) {
	form, h := url.Values{"grant_type": {"client_credentials"}}, http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	if err := a.Apply(form, h); err != nil {
		return nil, nil, err
	}
	return []byte(form.Encode()), h, nil
}

// serviceToken gets an access token for service persona id (client a) with
// the client_credentials grant.
func serviceToken(ctx context.Context, c *http.Client, tokenURL, id string, a adapter.ClientAuth) (string, error) {
	body, h, err := clientCredentials(a)
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header = h
	resp, err := c.Do(req)
	if err != nil {
		return "", fmt.Errorf("token endpoint unavailable: %w", unwrapURL(err))
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
		Error       string `json:"error"`
	}
	_ = json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&tok)
	if resp.StatusCode != http.StatusOK || tok.AccessToken == "" {
		return "", fmt.Errorf("client_credentials for %s: HTTP %d %s", id, resp.StatusCode, tok.Error)
	}
	return tok.AccessToken, nil
}

func legacyTarget(base string, r config.RawRequest, scheme string, services []personas.Persona) (loadgen.RawTarget, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, err
	}
	ref, err := url.Parse(r.Path)
	if err != nil {
		return nil, err
	}
	target := u.ResolveReference(ref).String()
	if r.Header == "" {
		return func(_ uint64, t *vegeta.Target) error {
			t.Method, t.URL = r.Method, target
			return nil
		}, nil
	}
	if len(services) == 0 {
		return nil, ErrNoServicePersona
	}
	headers := make([]http.Header, len(services))
	for i, p := range services {
		headers[i] = http.Header{http.CanonicalHeaderKey(r.Header): {adapter.WithScheme(scheme, p.Secret.Reveal())}}
	}
	return func(n uint64, t *vegeta.Target) error {
		t.Method, t.URL, t.Header = r.Method, target, headers[n%uint64(len(headers))]
		return nil
	}, nil
}

// unwrapURL drops the method and URL a client error starts with.
func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
