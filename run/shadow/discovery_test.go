package shadow_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cutover-dev/cutover/internal/exitcode"
	"github.com/cutover-dev/cutover/results/analysis"
	"github.com/cutover-dev/cutover/run/shadow"
)

// TestDiscovery: with candidate.batch unset, the PDP's metadata
// (/.well-known/authzen-configuration) decides: batches to the
// access_evaluations_endpoint it names where it names one, single
// evaluations to its access_evaluation_endpoint otherwise. Metadata that
// cannot be read or used (none, another PDP's, endpoints on a host not
// allowed, plain http for an https PDP) is refused with the YAML path to set;
// a file that says single or batch reads none. No error or report shows a
// credential of a URL the metadata names. The PDP is a real OPA running the
// reference policy.
func TestDiscovery(t *testing.T) {
	w := newWorld(300, 11)
	const lines = 3000
	tests := []struct {
		name  string
		meta  pdpMeta
		batch string // candidate.batch, "" unset
		path  string // the endpoint every request went to; "" the run is refused
		want  string // the refusal
	}{
		{"batch offered", metaBatch, "", metaEvaluations, ""},
		{"single only", metaSingle, "", metaEvaluation, ""},
		{"no metadata", metaNone, "", "", "candidate.batch: not set, and the PDP's metadata does not say whether it takes batches: GET http://127.0.0.1:"},
		{"another PDP's metadata", metaOther, "", "", `policy_decision_point "https://pdp.example.com" is not candidate.url`},
		{"endpoints elsewhere", metaElsewhere, "", "", "is on a host not in allow_hosts"},
		{"endpoints with a credential in their query", metaQuery, "", metaEvaluations, ""},
		{"another PDP's, with credentials in its URL", metaLeaky, "", "", `policy_decision_point "https://pdp.example.com/" is not candidate.url`},
		{"https PDP, http endpoints", metaCleartext, "", "", metaEvaluations + " is http while candidate.url is https: the PDP's endpoints keep its identifier's scheme"},
		{"single configured", metaNone, "batch: 0, ", "/access/v1/evaluation", ""},
		{"batch configured", metaSingle, "batch: 50, ", "/access/v1/evaluations", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pdp := newOPA(t, policy(t), map[string]any{"panels": w.panels()}, tt.meta)
			file := strings.Replace(synthShadowFile, "batch: %d, ", tt.batch, 1)
			f, err := shadow.Parse("synthetic.yaml", fmt.Appendf(nil, file, pdp.URL), nil)
			if err != nil {
				t.Fatal(err)
			}
			opt := shadow.Options{Source: newSynthLog(w, lines), MaxRate: 1000, Out: t.TempDir()}
			if pdp.TLS != nil {
				opt.Transport = pdp.Client().Transport // trusts the test's certificate
			}
			res, err := shadow.Run(t.Context(), f, opt)
			if err != nil && strings.Contains(err.Error(), secretInURL) {
				t.Errorf("the error shows a credential of a URL: %v", err)
			}
			if tt.path == "" {
				if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "synthetic.yaml:") || exitcode.Of(err) != exitcode.Usage {
					t.Fatalf("Run = %v (exit %d); want exit 2 and %q", err, exitcode.Of(err), tt.want)
				}
				t.Log(err)
				if n := pdp.evals.Load(); n != 0 {
					t.Errorf("%d evaluations sent after a refused discovery; want none", n)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			r := res.Report
			if res.Summary.Verdict != analysis.VerdictPass || r.Evaluations != pdp.evals.Load() {
				t.Fatalf("verdict %s; %s; the PDP decided %d", res.Summary.Verdict, r.Sentence(), pdp.evals.Load())
			}
			discovered := tt.batch == ""
			if got := pdp.requests(tt.path); got != int(r.Requests) || r.PDPDiscovered != discovered || !strings.HasSuffix(r.PDP, tt.path) {
				t.Errorf("%d of %d requests to %s, report says %s (discovered %t); want them all there", got, r.Requests, tt.path, r.PDP, r.PDPDiscovered)
			}
			if batched := strings.HasSuffix(tt.path, "s"); batched != (r.Requests < r.Evaluations) || batched != (r.PDPBatch > 0) {
				t.Errorf("%d evaluations in %d requests, batch %d; want batches %t", r.Evaluations, r.Requests, r.PDPBatch, batched)
			}
			if looked := pdp.requests("/.well-known/authzen-configuration"); looked != map[bool]int{true: 1}[discovered] {
				t.Errorf("the metadata was read %d times; want once when candidate.batch is unset, never when it is set", looked)
			}
			// No output shows a URL's user, password or query.
			for _, name := range []string{shadow.ReportFile, shadow.MarkdownFile} {
				b, err := os.ReadFile(filepath.Join(opt.Out, name))
				if err != nil {
					t.Fatal(err)
				}
				if bytes.Contains(b, []byte(secretInURL)) || strings.Contains(r.PDP, "?") {
					t.Errorf("%s shows the endpoint's query: pdp %q", name, r.PDP)
				}
			}
		})
	}
}
