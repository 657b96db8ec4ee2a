package shadow

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"golang.org/x/time/rate"

	"github.com/cutover-dev/cutover/journeys/adapter"
	"github.com/cutover-dev/cutover/loadgen"
	"github.com/cutover-dev/cutover/personas"
)

// The AuthZEN Access Evaluation API (Authorization API 1.0): the only two
// requests shadow mode ever sends. Both ask for a decision and change
// nothing at the PDP.
const (
	pathEvaluation  = "/access/v1/evaluation"
	pathEvaluations = "/access/v1/evaluations"
	opEvaluation    = "authzen evaluation"
)

// pdp asks the candidate's policy decision point: under a rate ceiling, to
// allowed hosts only, with a bounded number of requests in flight. It is safe
// for concurrent use.
type pdp struct {
	base     *url.URL
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

func newPDP(f *File, tr http.RoundTripper) (*pdp, error) {
	c := f.Candidate
	u, err := url.Parse(strings.TrimRight(c.URL, "/"))
	if err != nil {
		return nil, fmt.Errorf("candidate.url: %w", err)
	}
	if tr == nil {
		tr = loadgen.NewGuard(f.AllowHosts, adapter.NewTransport(c.Concurrency))
	}
	p := &pdp{base: u, client: &http.Client{Transport: tr, CheckRedirect: adapter.NoRedirect},
		limiter: rate.NewLimiter(rate.Limit(c.Rate), 1), batch: c.Batch, workers: c.Concurrency, timeout: c.Timeout,
		host: u.Host, endpoint: "POST " + pathEvaluation, latency: hdrhistogram.New(1, int64(time.Minute/time.Microsecond), 3)}
	if c.Token != nil {
		p.token = c.Token.Secret()
	}
	if p.batch > 0 {
		p.endpoint = "POST " + pathEvaluations
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
	path := pathEvaluation
	if p.batch > 0 {
		path = pathEvaluations
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
	req, err := adapter.NewRequest(rctx, http.MethodPost, p.base.String()+path, bytes.NewReader(b))
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
