package shadow_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/cutover-dev/cutover/results/analysis"
	"github.com/cutover-dev/cutover/run/shadow"
)

// scriptedPDP is an AuthZEN PDP that allows reads, denies the rest, answers
// 503 for resource type "down", 200 without a decision for "mute", and
// short batches for "short"; it records what it was sent.
type scriptedPDP struct {
	mu    sync.Mutex
	sent  []string
	auths []string
}

func (p *scriptedPDP) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.sent = append(p.sent, r.Method+" "+r.URL.Path)
	p.auths = append(p.auths, r.Header.Get("Authorization"))
	p.mu.Unlock()
	type ev struct {
		Action   struct{ Name string }
		Resource struct{ Type string }
	}
	answer := func(e ev) (any, int) {
		switch e.Resource.Type {
		case "down":
			return nil, http.StatusServiceUnavailable
		case "mute":
			return map[string]any{"context": map[string]string{"reason": "no decision"}}, http.StatusOK
		}
		return map[string]bool{"decision": e.Action.Name == "read"}, http.StatusOK
	}
	if r.URL.Path == "/access/v1/evaluations" {
		var in struct{ Evaluations []ev }
		_ = json.NewDecoder(r.Body).Decode(&in)
		out := []any{}
		for _, e := range in.Evaluations {
			a, status := answer(e)
			if status != http.StatusOK {
				w.WriteHeader(status)
				return
			}
			if e.Resource.Type != "short" {
				out = append(out, a)
			}
		}
		writeJSON(w, map[string]any{"evaluations": out})
		return
	}
	var e ev
	_ = json.NewDecoder(r.Body).Decode(&e)
	a, status := answer(e)
	if status != http.StatusOK {
		w.WriteHeader(status)
		return
	}
	writeJSON(w, a)
}

// TestPDPErrorsAreNotDecisions: a PDP that answers 503, or 200 without a
// decision, gives no decision: those lines are availability errors
// (ERROR_RATE_REGRESSION, or a precondition when every answer fails), never
// OVER_ or UNDER_PERMISSION, and are not cached. Only evaluation requests
// were sent, each with the PEP's token, which no output shows.
func TestPDPErrorsAreNotDecisions(t *testing.T) {
	for _, batch := range []int{0, 3} {
		t.Run(fmt.Sprintf("batch=%d", batch), func(t *testing.T) {
			p := &scriptedPDP{}
			srv := httptest.NewServer(p)
			defer srv.Close()
			var lines []string
			for i := range 300 {
				typ := []string{"record", "record", "notes", "down", "mute"}[i%5]
				lines = append(lines, fmt.Sprintf(`{"u":"u%d","a":"read","t":%q,"d":"allow"}`, i%7, typ))
			}
			dir := t.TempDir()
			src := fmt.Sprintf("version: 1\nname: errors\nlog: {path: l.jsonl, subject: u, action: a, resource_type: t, decision: d}\n"+
				"candidate: {url: %q, rate: 200, batch: %d, token: {env: PEP_TOKEN}}\nallow_hosts: [127.0.0.1]\n", srv.URL, batch)
			f, err := shadow.Parse("t.yaml", []byte(src), func(string) string { return "pep-token-0123456789" })
			if err != nil {
				t.Fatal(err)
			}
			res, err := shadow.Run(t.Context(), f, shadow.Options{Source: strings.NewReader(strings.Join(lines, "\n")), Out: dir})
			if err != nil {
				t.Fatal(err)
			}
			r, s := res.Report, res.Summary
			// A batch request that fails fails every evaluation it carried.
			if r.Compared != 300 || r.Agreed+r.PDPErrors != 300 || r.PDPErrors < 120 || batch == 0 && r.PDPErrors != 120 || r.Over+r.Under != 0 {
				t.Fatalf("%s; want the 120 lines of down and mute as PDP errors (and their batches'), the rest agreed", r.Sentence())
			}
			var classes []string
			for _, f := range s.Findings {
				classes = append(classes, string(f.Class))
			}
			if !slices.Equal(classes, []string{string(analysis.ErrorRateRegression)}) {
				t.Errorf("findings %v; want ERROR_RATE_REGRESSION alone", classes)
			}
			// 7 subjects x (record, notes) decided once each; the errors
			// were asked again, chunk by chunk, never cached.
			if r.CacheHits != r.Compared-r.Evaluations || r.Evaluations < 14+14 {
				t.Errorf("%d evaluations, %d cache hits of %d lines; want the decisions cached, the errors not", r.Evaluations, r.CacheHits, r.Compared)
			}
			for i, sent := range p.sent {
				if want := "POST /access/v1/evaluation"; sent != want && sent != want+"s" || p.auths[i] != "Bearer pep-token-0123456789" {
					t.Fatalf("the PDP was sent %s with %q; want only evaluations, with the token", sent, p.auths[i])
				}
			}
			files, _ := filepath.Glob(filepath.Join(dir, "*"))
			for _, name := range files {
				if b, _ := os.ReadFile(name); strings.Contains(string(b), "pep-token") {
					t.Errorf("%s shows the PDP's token", filepath.Base(name))
				}
			}
		})
	}
}

// TestPDPDownIsAPrecondition: when the PDP answers nothing at all, the run
// says so (a precondition), it does not report a regression.
func TestPDPDownIsAPrecondition(t *testing.T) {
	srv := httptest.NewServer(&scriptedPDP{})
	defer srv.Close()
	var lines []string
	for i := range 50 {
		lines = append(lines, fmt.Sprintf(`{"u":"u%d","a":"read","t":"down","d":"allow"}`, i))
	}
	src := fmt.Sprintf("version: 1\nname: down\nlog: {path: l.jsonl, subject: u, action: a, resource_type: t, decision: d}\ncandidate: {url: %q, rate: 200, batch: 10}\nallow_hosts: [127.0.0.1]\n", srv.URL)
	f, err := shadow.Parse("t.yaml", []byte(src), nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := shadow.Run(t.Context(), f, shadow.Options{Source: strings.NewReader(strings.Join(lines, "\n"))})
	if err != nil {
		t.Fatal(err)
	}
	s := res.Summary
	if s.Verdict != analysis.VerdictInconclusive || len(s.Preconditions) != 1 || !strings.Contains(s.Preconditions[0].Error, "503") {
		t.Errorf("verdict %s, preconditions %+v; want inconclusive on a precondition naming the 503", s.Verdict, s.Preconditions)
	}
}
