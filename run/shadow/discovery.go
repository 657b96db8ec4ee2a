package shadow

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/cutover-dev/cutover/internal/exitcode"
	"github.com/cutover-dev/cutover/journeys/adapter"
)

// wellKnown is where a PDP publishes its metadata (Authorization API 1.0
// s9.2): inserted between the host and the path of its identifier.
const (
	wellKnown   = "/.well-known/authzen-configuration"
	opDiscovery = "authzen metadata"
)

// metadata is the part of a PDP's metadata (Authorization API 1.0 s9.1.1)
// shadow mode reads: its identifier and its two evaluation endpoints, the
// batch one optional.
type metadata struct {
	PDP         string `json:"policy_decision_point"`
	Evaluation  string `json:"access_evaluation_endpoint"`
	Evaluations string `json:"access_evaluations_endpoint"`
}

// discover reads the metadata of the PDP whose identifier is base and sets
// the endpoint asked: the batch endpoint, in batches of DefaultBatch, where
// the metadata names one, else the evaluation endpoint. It fails, naming
// candidate.batch, where the metadata cannot be read or used (another PDP's,
// endpoints on a host not allowed or of another scheme than base's): the
// file must then say single or batch.
func (p *pdp) discover(ctx context.Context, f *File, base string) error {
	fail := func(code exitcode.Code, format string, args ...any) error {
		return exitcode.With(f.errAt(fmt.Sprintf("not set, and the PDP's metadata does not say whether it takes batches: %s: set candidate.batch: 0 (one evaluation per request) or N (batches of N)",
			fmt.Sprintf(format, args...)), "candidate", "batch"), code)
	}
	u, err := url.Parse(base)
	if err != nil {
		return fail(exitcode.Usage, "candidate.url is not a URL")
	}
	at := shownURL(u.Scheme + "://" + u.Host + wellKnown + u.Path)
	if err := p.limiter.Wait(ctx); err != nil {
		return fail(exitcode.Aborted, "GET %s: not sent: %v", at, context.Cause(ctx))
	}
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	req, err := adapter.NewRequest(ctx, http.MethodGet, u.Scheme+"://"+u.Host+wellKnown+u.Path, nil)
	if err != nil {
		return fail(exitcode.Usage, "GET %s: not a URL", at)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := adapter.Send(p.client, req, opDiscovery)
	if err != nil {
		return fail(exitcode.Precondition, "GET %s: %v", at, err)
	}
	if resp.StatusCode != http.StatusOK {
		adapter.Drain(resp)
		return fail(exitcode.Usage, "GET %s: HTTP %d", at, resp.StatusCode)
	}
	var m metadata
	if err := adapter.DecodeJSON(resp, opDiscovery, &m); err != nil {
		return fail(exitcode.Usage, "GET %s: %v", at, err)
	}
	// The metadata of another PDP is not used (s9.2.3: mix-up).
	if strings.TrimRight(m.PDP, "/") != base {
		return fail(exitcode.Usage, "GET %s: policy_decision_point %q is not candidate.url %q", at, shownURL(m.PDP), shownURL(base))
	}
	if m.Evaluation == "" {
		return fail(exitcode.Usage, "GET %s: no access_evaluation_endpoint", at)
	}
	p.url = m.Evaluation
	if m.Evaluations != "" {
		p.url, p.batch = m.Evaluations, DefaultBatch
	}
	if err := allowed(f, p.url); err != nil {
		return fail(exitcode.Usage, "GET %s: %v", at, err)
	}
	// An https identifier's endpoints are https too: the PEP's token and the
	// questions never cross the network in clear text because the metadata
	// says so (nor does an http identifier move to another scheme).
	if e, _ := url.Parse(p.url); e.Scheme != u.Scheme {
		return fail(exitcode.Usage, "GET %s: endpoint %s is %s while candidate.url is %s: the PDP's endpoints keep its identifier's scheme", at, shownURL(p.url), e.Scheme, u.Scheme)
	}
	return nil
}

// allowed checks that endpoint is an http(s) URL on a host of allow_hosts.
func allowed(f *File, endpoint string) error {
	u, err := url.Parse(endpoint)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return fmt.Errorf("endpoint %q is not an http(s) URL", shownURL(endpoint))
	case !slices.ContainsFunc(f.AllowHosts, func(h string) bool { return strings.EqualFold(strings.Trim(h, "[]"), u.Hostname()) }):
		return errors.New("endpoint " + shownURL(endpoint) + " is on a host not in allow_hosts")
	}
	return nil
}
