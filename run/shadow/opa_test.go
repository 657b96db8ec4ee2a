package shadow_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
)

// referencePolicy is the candidate's policy of examples/shadow/policy.rego:
// roles map to permissions as the embedded stacks' shared policy decides
// (stacks/internal/ehr), so that it agrees with every legacy decision.
const referencePolicy = "../../examples/shadow/policy.rego"

// drift edits the reference policy as a policy author would: it replaces
// from with to, or adds to when from is empty.
type drift struct{ from, to string }

var (
	// billingAdmin: billing clerks granted admin reads.
	billingAdmin = drift{`"billing-clerk": {"read": {"bills", "claims"}},`, `"billing-clerk": {"read": {"bills", "claims", "users"}},`}
	// notesDenied: clinicians denied the notes of their panel.
	notesDenied = drift{`panel_ops := {["read", "record"], ["read", "notes"], ["write", "notes"], ["read", "appointments"]}`,
		`panel_ops := {["read", "record"], ["write", "notes"], ["read", "appointments"]}`}
)

// blocking adds a rule blocking what the body says.
func blocking(body string) drift { return drift{to: "\nblocked if {\n" + body + "\n}\n"} }

// policy is the reference policy with drifts.
func policy(tb testing.TB, ds ...drift) string {
	tb.Helper()
	b, err := os.ReadFile(referencePolicy)
	if err != nil {
		tb.Fatal(err)
	}
	src := string(b)
	for _, d := range ds {
		if d.from == "" {
			src += d.to
			continue
		}
		if !strings.Contains(src, d.from) {
			tb.Fatalf("%s has no %s", referencePolicy, d.from)
		}
		src = strings.Replace(src, d.from, d.to, 1)
	}
	return src
}

// pdpMeta is the metadata an opaServer publishes at
// /.well-known/authzen-configuration.
type pdpMeta int

const (
	// metaBatch names both evaluation endpoints (at its own paths).
	metaBatch pdpMeta = iota
	// metaSingle names the evaluation endpoint only.
	metaSingle
	// metaNone publishes none: 404.
	metaNone
	// metaOther is another PDP's metadata (a mix-up).
	metaOther
	// metaElsewhere names endpoints on a host not allowed.
	metaElsewhere
	// metaQuery names its endpoints with a query that carries a credential
	// (secretInURL), which no output may show.
	metaQuery
	// metaLeaky is another PDP's metadata, its identifier with a user,
	// password and query (secretInURL).
	metaLeaky
	// metaCleartext is served over TLS and names plain-http endpoints.
	metaCleartext
)

// secretInURL is the credential the metadata of metaQuery and metaLeaky put
// in URLs.
const secretInURL = "s3cr3t-in-url"

// Where the metadata of an opaServer says its endpoints are; it answers on
// the default paths too.
const (
	metaEvaluation  = "/authzen/evaluation"
	metaEvaluations = "/authzen/evaluations"
)

// opaServer is a real Open Policy Agent behind the OpenID AuthZEN
// evaluation API (single and batch), with its metadata; it counts the
// evaluations it decided and the requests per path.
type opaServer struct {
	*httptest.Server
	evals atomic.Int64
	mu    sync.Mutex
	paths map[string]int
}

// requests returns how many requests reached path.
func (o *opaServer) requests(path string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.paths[path]
}

// opaPDP serves the Rego policy src with data in a real OPA behind an
// AuthZEN endpoint whose metadata offers batches; evals counts the
// evaluations it decided.
func opaPDP(tb testing.TB, src string, data map[string]any) (srv *httptest.Server, evals *atomic.Int64) {
	o := newOPA(tb, src, data, metaBatch)
	return o.Server, &o.evals
}

func newOPA(tb testing.TB, src string, data map[string]any, meta pdpMeta) *opaServer {
	tb.Helper()
	pq, err := rego.New(rego.Query("data.cutover.allow"), rego.Module("policy.rego", src), rego.Store(inmem.NewFromObject(data))).PrepareForEval(tb.Context())
	if err != nil {
		tb.Fatalf("rego: %v", err)
	}
	o := &opaServer{paths: map[string]int{}}
	decide := func(r *http.Request, in map[string]any) (bool, error) {
		o.evals.Add(1)
		rs, err := pq.Eval(r.Context(), rego.EvalInput(in))
		if err != nil {
			return false, err
		}
		return rs.Allowed(), nil
	}
	single := func(w http.ResponseWriter, r *http.Request) {
		var in map[string]any
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		allow, err := decide(r, in)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		writeJSON(w, map[string]bool{"decision": allow})
	}
	batch := func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Evaluations []map[string]any `json:"evaluations"`
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		out := make([]map[string]bool, len(in.Evaluations))
		for i, ev := range in.Evaluations {
			allow, err := decide(r, ev)
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			out[i] = map[string]bool{"decision": allow}
		}
		writeJSON(w, map[string]any{"evaluations": out})
	}
	mux := http.NewServeMux()
	for _, p := range []string{"/access/v1/evaluation", metaEvaluation} {
		mux.HandleFunc("POST "+p, single)
	}
	for _, p := range []string{"/access/v1/evaluations", metaEvaluations} {
		mux.HandleFunc("POST "+p, batch)
	}
	mux.HandleFunc("GET /.well-known/authzen-configuration", func(w http.ResponseWriter, r *http.Request) {
		id := "http://" + r.Host
		if r.TLS != nil {
			id = "https://" + r.Host
		}
		m := map[string]string{"policy_decision_point": id, "access_evaluation_endpoint": id + metaEvaluation}
		switch meta {
		case metaBatch:
			m["access_evaluations_endpoint"] = id + metaEvaluations
		case metaQuery:
			m["access_evaluation_endpoint"] = id + metaEvaluation + "?sig=" + secretInURL
			m["access_evaluations_endpoint"] = id + metaEvaluations + "?sig=" + secretInURL
		case metaLeaky:
			m["policy_decision_point"] = "https://pep:" + secretInURL + "@pdp.example.com/?key=" + secretInURL
		case metaCleartext:
			m["access_evaluations_endpoint"] = "http://" + r.Host + metaEvaluations
		case metaNone:
			http.NotFound(w, r)
			return
		case metaOther:
			m["policy_decision_point"] = "https://pdp.example.com"
		case metaElsewhere:
			m["access_evaluation_endpoint"] = "https://pdp.example.com" + metaEvaluation
		}
		writeJSON(w, m)
	})
	o.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.mu.Lock()
		o.paths[r.URL.Path]++
		o.mu.Unlock()
		mux.ServeHTTP(w, r)
	}))
	if meta == metaCleartext {
		o.StartTLS()
	} else {
		o.Start()
	}
	tb.Cleanup(o.Close)
	return o
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// TestOPAPolicy checks the Rego policy itself on a few questions, so that a
// failure of the shadow tests is not a policy typo.
func TestOPAPolicy(t *testing.T) {
	srv, _ := opaPDP(t, policy(t), map[string]any{"panels": map[string]any{"doc": []any{"pat"}}})
	tests := []struct {
		body string
		want bool
	}{
		{`{"subject":{"type":"user","id":"doc","properties":{"roles":["clinician"]}},"action":{"name":"read"},"resource":{"type":"notes","id":"pat"}}`, true},
		{`{"subject":{"type":"user","id":"doc","properties":{"roles":["clinician"]}},"action":{"name":"read"},"resource":{"type":"notes","id":"other"}}`, false},
		{`{"subject":{"type":"user","id":"bill","properties":{"roles":["billing-clerk"]}},"action":{"name":"read"},"resource":{"type":"users","id":"all"}}`, false},
		{`{"subject":{"type":"user","id":"bill","properties":{"roles":["billing-clerk"]}},"action":{"name":"read"},"resource":{"type":"claims","id":"all"}}`, true},
		{`{"subject":{"type":"user","id":"pat","properties":{"roles":["patient"]}},"action":{"name":"read"},"resource":{"type":"record","id":"pat"}}`, true},
		{`{"subject":{"type":"service","id":"lab","properties":{"perms":"lab-results:read lab-results:write"}},"action":{"name":"write"},"resource":{"type":"lab-results","id":"all"}}`, true},
		{`{"subject":{"type":"service","id":"lab","properties":{"perms":"lab-results:read"}},"action":{"name":"export"},"resource":{"type":"analytics","id":"all"}}`, false},
	}
	for _, tt := range tests {
		resp, err := http.Post(srv.URL+"/access/v1/evaluation", "application/json", strings.NewReader(tt.body))
		if err != nil {
			t.Fatal(err)
		}
		var ans struct{ Decision bool }
		_ = json.NewDecoder(resp.Body).Decode(&ans)
		resp.Body.Close()
		if ans.Decision != tt.want {
			t.Errorf("POST %s = %t; want %t", tt.body, ans.Decision, tt.want)
		}
	}
}
