package shadow

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"golang.org/x/time/rate"

	"github.com/cutover-dev/cutover/internal/exitcode"
	"github.com/cutover-dev/cutover/journeys/adapter"
	"github.com/cutover-dev/cutover/loadgen"
	"github.com/cutover-dev/cutover/personas"
)

// The AuthZEN Access Evaluation API (Authorization API 1.0): the only
// requests shadow mode ever sends the PDP. The evaluations ask for a decision
// and change nothing at the PDP; the metadata (discovery.go) is read once
// when candidate.batch does not say single or batch.
const (
	pathEvaluation  = "/access/v1/evaluation"
	pathEvaluations = "/access/v1/evaluations"
	opEvaluation    = "authzen evaluation"
)

// pdp asks the candidate's policy decision point: under a rate ceiling, to
// allowed hosts only, with a bounded number of requests in flight. It is safe
// for concurrent use.
type pdp struct {
	// url is the endpoint asked: the evaluation endpoint, or the batch
	// (evaluations) endpoint when batch is above 0.
	url      string
	client   *http.Client
	token    personas.Secret
	limiter  *rate.Limiter
	batch    int
	workers  int
	timeout  time.Duration
	props    func(string) bool
	host     string
	endpoint string

	requests, evaluations, errors atomic.Int64
	mu                            sync.Mutex
	latency                       *hdrhistogram.Histogram
}

// verdict is the candidate's answer to one question: a decision, or the
// error that took its place (an error is never a decision).
type verdict struct {
	allow  bool
	status int
	err    error
}

// newPDP readies the PDP of f: the endpoint the file says (candidate.batch
// set), or the one the PDP's metadata offers (discover).
func newPDP(ctx context.Context, f *File, tr http.RoundTripper) (*pdp, error) {
	c := f.Candidate
	base := strings.TrimRight(c.URL, "/")
	if tr == nil {
		tr = loadgen.NewGuard(f.AllowHosts, adapter.NewTransport(c.Concurrency))
	}
	p := &pdp{client: &http.Client{Transport: tr, CheckRedirect: adapter.NoRedirect},
		limiter: rate.NewLimiter(rate.Limit(c.Rate), 1), workers: c.Concurrency, timeout: c.Timeout,
		latency: hdrhistogram.New(1, int64(time.Minute/time.Microsecond), 3)}
	switch {
	case c.Batch == nil:
		if err := p.discover(ctx, f, base); err != nil {
			return nil, err
		}
	case *c.Batch > 0:
		p.url, p.batch = base+pathEvaluations, *c.Batch
	default:
		p.url = base + pathEvaluation
	}
	u, err := url.Parse(p.url)
	if err != nil {
		return nil, exitcode.With(f.errAt("not a URL", "candidate", "url"), exitcode.Usage)
	}
	p.host, p.endpoint = u.Host, "POST "+u.Path
	if c.Token != nil {
		p.token = c.Token.Secret()
	}
	sent := map[string]bool{}
	for _, k := range c.Properties {
		sent[k] = true
	}
	p.props = func(k string) bool { return len(sent) == 0 || sent[k] }
	return p, nil
}

// evaluation is the AuthZEN shape of one question.
type evaluation struct {
	Subject  subject           `json:"subject"`
	Action   map[string]string `json:"action"`
	Resource map[string]string `json:"resource"`
	Context  map[string]string `json:"context"`
}

type subject struct {
	Type       string         `json:"type"`
	ID         string         `json:"id"`
	Properties map[string]any `json:"properties,omitempty"`
}

func (p *pdp) evaluationOf(q *question) evaluation {
	props := map[string]any{}
	if p.props("roles") && q.roles != nil {
		props["roles"] = q.roles
	}
	for _, x := range q.attrs {
		if p.props(x.k) {
			props[x.k] = x.v
		}
	}
	ctx := map[string]string{}
	for _, x := range q.context {
		ctx[x.k] = x.v
	}
	return evaluation{Subject: subject{Type: q.subjectType, ID: q.subject, Properties: props},
		Action: map[string]string{"name": q.action}, Resource: map[string]string{"type": q.typ, "id": q.id}, Context: ctx}
}

// evaluate asks the PDP every question of qs and returns the verdicts in
// order: one request per question, or batches of p.batch, at most p.workers
// requests at once, each waiting for the rate limiter.
func (p *pdp) evaluate(ctx context.Context, qs []*question) []verdict {
	out := make([]verdict, len(qs))
	size := max(p.batch, 1)
	var groups [][2]int
	for i := 0; i < len(qs); i += size {
		groups = append(groups, [2]int{i, min(i+size, len(qs))})
	}
	work := make(chan [2]int)
	var wg sync.WaitGroup
	for range min(p.workers, len(groups)) {
		wg.Go(func() {
			for g := range work {
				p.ask(ctx, qs[g[0]:g[1]], out[g[0]:g[1]])
			}
		})
	}
	for _, g := range groups {
		work <- g
	}
	close(work)
	wg.Wait()
	return out
}

// ask sends one request for qs and fills out.
func (p *pdp) ask(ctx context.Context, qs []*question, out []verdict) {
	fail := func(status int, err error) {
		p.errors.Add(int64(len(qs)))
		for i := range out {
			out[i] = verdict{status: status, err: err}
		}
	}
	if err := p.limiter.Wait(ctx); err != nil {
		fail(0, fmt.Errorf("%s: not sent: %w", opEvaluation, context.Cause(ctx)))
		return
	}
	var body any
	if p.batch > 0 {
		evs := make([]evaluation, len(qs))
		for i, q := range qs {
			evs[i] = p.evaluationOf(q)
		}
		body = map[string]any{"evaluations": evs, "options": map[string]string{"evaluations_semantic": "execute_all"}}
	} else {
		body = p.evaluationOf(qs[0])
	}
	b, err := json.Marshal(body)
	if err != nil {
		fail(0, err)
		return
	}
	rctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	req, err := adapter.NewRequest(rctx, http.MethodPost, p.url, bytes.NewReader(b))
	if err != nil {
		fail(0, err)
		return
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if !p.token.IsZero() {
		req.Header.Set("Authorization", "Bearer "+p.token.Reveal())
	}
	start := time.Now()
	p.requests.Add(1)
	p.evaluations.Add(int64(len(qs)))
	resp, err := adapter.Send(p.client, req, opEvaluation)
	p.mu.Lock()
	_ = p.latency.RecordValue(max(time.Since(start).Microseconds(), 1))
	p.mu.Unlock()
	if err != nil {
		fail(0, err)
		return
	}
	if resp.StatusCode != http.StatusOK {
		adapter.Drain(resp)
		fail(resp.StatusCode, adapter.ProtocolErr(opEvaluation, "HTTP %d is an error, not a decision", resp.StatusCode))
		return
	}
	if p.batch == 0 {
		var ans struct {
			Decision *bool `json:"decision"`
		}
		if err := adapter.DecodeJSON(resp, opEvaluation, &ans); err != nil {
			fail(resp.StatusCode, err)
			return
		}
		if ans.Decision == nil {
			fail(resp.StatusCode, adapter.ProtocolErr(opEvaluation, "HTTP 200 without a boolean decision"))
			return
		}
		out[0] = verdict{allow: *ans.Decision, status: resp.StatusCode}
		return
	}
	var ans struct {
		Evaluations []struct {
			Decision *bool `json:"decision"`
		} `json:"evaluations"`
	}
	if err := adapter.DecodeJSON(resp, opEvaluation, &ans); err != nil {
		fail(resp.StatusCode, err)
		return
	}
	if len(ans.Evaluations) != len(qs) {
		fail(resp.StatusCode, adapter.ProtocolErr(opEvaluation, "%d decisions for %d evaluations asked with execute_all", len(ans.Evaluations), len(qs)))
		return
	}
	for i, e := range ans.Evaluations {
		if e.Decision == nil {
			p.errors.Add(1)
			out[i] = verdict{status: resp.StatusCode, err: adapter.ProtocolErr(opEvaluation, "evaluation %d without a boolean decision", i)}
			continue
		}
		out[i] = verdict{allow: *e.Decision, status: resp.StatusCode}
	}
}

// latencyMS returns the p50 and p99 of the PDP's answers, in milliseconds.
func (p *pdp) latencyMS() (p50, p99 float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.latency.TotalCount() == 0 {
		return 0, 0
	}
	return float64(p.latency.ValueAtQuantile(50)) / 1000, float64(p.latency.ValueAtQuantile(99)) / 1000
}

// shownURL is a URL as reports, errors and logs show it: without its user
// name, password, query and fragment, any of which may carry a credential.
func shownURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(not a URL)"
	}
	u.User, u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = nil, "", false, "", ""
	return u.String()
}

// validateCandidate checks candidate and allow_hosts.
func (f *File) validateCandidate(bad func(string, ...string)) {
	c := f.Candidate
	u, err := url.Parse(c.URL)
	switch {
	case c.URL == "":
		bad("url is empty: the candidate's AuthZEN policy decision point", "candidate", "url")
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		bad("not an http(s) URL", "candidate", "url")
	case u.User != nil:
		bad("a URL with a user name or password: reports show the PDP's URL; a credential goes in candidate.token", "candidate", "url")
	case u.RawQuery != "" || u.Fragment != "":
		bad("a base URL has no query or fragment: evaluations go to URL/access/v1/evaluation", "candidate", "url")
	case !slices.ContainsFunc(f.AllowHosts, func(h string) bool { return strings.EqualFold(strings.Trim(h, "[]"), u.Hostname()) }):
		bad(fmt.Sprintf("host %s is not in allow_hosts: shadow mode sends to listed hosts only", u.Hostname()), "candidate", "url")
	}
	if len(f.AllowHosts) == 0 {
		bad("empty: list the PDP's host", "allow_hosts")
	}
	if c.Rate < 0 {
		bad("rate below 0", "candidate", "rate")
	}
	if b := c.Batch; b != nil && (*b < 0 || *b > 1000) {
		bad(fmt.Sprintf("batch %d; want 0 (one evaluation per request) to 1000, or unset (the PDP's metadata decides)", *b), "candidate", "batch")
	}
	if c.Concurrency < 0 || c.Concurrency > 64 {
		bad(fmt.Sprintf("concurrency %d; want 1 to 64", c.Concurrency), "candidate", "concurrency")
	}
	if c.Timeout < 0 {
		bad("timeout below 0", "candidate", "timeout")
	}
	for i, p := range c.Properties {
		if _, ok := f.Log.Attributes[p]; p != "roles" && !ok {
			bad(fmt.Sprintf("%q is neither roles nor an attribute of log.attributes", p), "candidate", "properties", strconv.Itoa(i))
		}
	}
}
