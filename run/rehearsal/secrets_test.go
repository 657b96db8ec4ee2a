package rehearsal

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cutover-dev/cutover/examples"
	"github.com/cutover-dev/cutover/personas"
	"github.com/cutover-dev/cutover/results"
	"github.com/cutover-dev/cutover/results/report"
	"github.com/cutover-dev/cutover/run/config"
	"github.com/cutover-dev/cutover/stacks"
)

// secretSet collects every credential that crossed the wire, by kind.
type secretSet struct {
	mu     sync.Mutex
	byKind map[string]map[string]bool
	// planted counts the answers in which a credential was echoed back on purpose.
	planted int
}

func (s *secretSet) add(kind, v string) {
	if len(v) < 6 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byKind[kind] == nil {
		s.byKind[kind] = map[string]bool{}
	}
	s.byKind[kind][v] = true
}

// latest returns some captured secret of a kind.
func (s *secretSet) any(kind string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for v := range s.byKind[kind] {
		return v
	}
	return ""
}

// recorder wraps a stack's handler: it notes every credential in requests and
// answers, and lets plant rewrite an answer to echo credentials back, as a
// careless stack might.
func (s *secretSet) recorder(h http.Handler, plant func(r *http.Request, status int, body []byte) []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a := r.Header.Get("Authorization"); a != "" {
			_, v, _ := strings.Cut(a, " ")
			s.add("authorization", v)
		}
		for _, c := range r.Cookies() {
			s.add("cookie", c.Value)
		}
		if r.Method == http.MethodPost && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
			_ = r.ParseForm() // the stack's own ParseForm then finds the form parsed
			for _, k := range []string{"password", "client_secret", "refresh_token", "code", "code_verifier", "csrf_token", "token"} {
				s.add("form "+k, r.PostForm.Get(k))
			}
		}
		rr := httptest.NewRecorder()
		h.ServeHTTP(rr, r)
		for _, c := range rr.Result().Cookies() {
			s.add("set-cookie", c.Value)
		}
		if loc, err := url.Parse(rr.Header().Get("Location")); err == nil {
			s.add("redirect code", loc.Query().Get("code"))
		}
		body := rr.Body.Bytes()
		var doc map[string]any
		if json.Unmarshal(body, &doc) == nil {
			for _, k := range []string{"access_token", "refresh_token", "id_token"} {
				if v, ok := doc[k].(string); ok {
					s.add(k, v)
				}
			}
		}
		if plant != nil {
			if nb := plant(r, rr.Code, body); nb != nil {
				body = nb
				s.mu.Lock()
				s.planted++
				s.mu.Unlock()
			}
		}
		for k, v := range rr.Header() {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(rr.Code)
		_, _ = w.Write(body)
	})
}

// serve serves h on addr until the test ends.
func serve(t *testing.T, addr string, h http.Handler) {
	t.Helper()
	// The stopped server releases its listener from its own goroutine: retry
	// until the address is free.
	var l net.Listener
	var err error
	for range 100 {
		if l, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("listen on %s again: %v", addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
}

// TestNoSecretInAnyArtefact runs the demo rehearsal against the embedded stacks
// behind recorders that note every password, session cookie, code, access,
// refresh and ID token, CSRF token and client credential that crosses the wire,
// and make the legacy stack echo credentials back: each /api/me answer carries
// the persona's password, its session id and a candidate access token among its
// roles. None of them may appear in any file of the results folder or in the log.
func TestNoSecretInAnyArtefact(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end run")
	}
	ctx := context.Background()
	local := func(string) string { return "http://127.0.0.1" }
	cfg, err := config.Parse("examples/demo.yaml", examples.Demo, local)
	if err != nil {
		t.Fatal(err)
	}
	pop, err := Population(cfg)
	if err != nil {
		t.Fatal(err)
	}
	passwords := map[string]string{}
	for _, p := range pop.Personas {
		passwords[p.ID] = p.Secret.Reveal()
	}
	pair, err := stacks.Start(ctx, stacks.Options{Population: pop})
	if err != nil {
		t.Fatal(err)
	}
	// Serve the seeded stacks again on their own addresses (the candidate's issuer
	// is its address), behind the recorders.
	legacyAddr, candAddr := strings.TrimPrefix(pair.LegacyURL, "http://"), strings.TrimPrefix(pair.CandidateURL, "http://")
	if err := pair.Close(); err != nil {
		t.Fatal(err)
	}
	sec := &secretSet{byKind: map[string]map[string]bool{}}
	serve(t, candAddr, sec.recorder(pair.Candidate, nil))
	serve(t, legacyAddr, sec.recorder(pair.Legacy, func(r *http.Request, status int, body []byte) []byte {
		if r.URL.Path != "/api/me" || status != http.StatusOK {
			return nil
		}
		var doc map[string]any
		if json.Unmarshal(body, &doc) != nil {
			return nil
		}
		roles, _ := doc["roles"].([]any)
		id, _ := doc["id"].(string)
		planted := []any{passwords[id]}
		if c, err := r.Cookie("LEGACY_SESSION"); err == nil {
			planted = append(planted, c.Value)
		}
		if tok := sec.any("access_token"); tok != "" {
			planted = append(planted, tok)
		}
		doc["roles"] = append(roles, planted...)
		nb, _ := json.Marshal(doc)
		return nb
	}))

	env := map[string]string{"CUTOVER_LEGACY_URL": pair.LegacyURL, "CUTOVER_CANDIDATE_URL": pair.CandidateURL,
		"CUTOVER_INTROSPECTION_SECRET": pair.IntrospectionClientSecret.Reveal(), "CUTOVER_PROVISIONER_SECRET": pair.ProvisionerClientSecret.Reveal()}
	cfg, err = config.Parse("examples/demo.yaml", examples.Demo, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	cfg.Load.Duration, cfg.Load.Profile.Rate = 2*time.Second, 10
	out := t.TempDir()
	var logBuf bytes.Buffer
	sum, err := Run(ctx, cfg, Options{Out: out, Log: &logBuf, Version: "test", Gzip: true})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	var tableBuf bytes.Buffer
	if err := report.WriteTable(&tableBuf, sum); err != nil {
		t.Fatal(err)
	}

	artefacts := map[string][]byte{"log": logBuf.Bytes(), "table": tableBuf.Bytes()}
	entries, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(out, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(e.Name(), ".gz") {
			zr, err := gzip.NewReader(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			if b, err = io.ReadAll(zr); err != nil {
				t.Fatal(err)
			}
		}
		artefacts[e.Name()] = b
	}
	for _, want := range []string{results.RecordsFileGz, results.SummaryFile, results.HistogramsFile, results.MarkdownFile, results.JUnitFile, results.HTMLFile} {
		if _, ok := artefacts[want]; !ok {
			t.Errorf("results folder lacks %s", want)
		}
	}
	for id, pw := range passwords {
		sec.add("password of "+string(personaKind(pop, id)), pw)
	}
	// The test must be able to fail: the run really carried each kind of secret,
	// and the planted ones reached the harness (which redacted them).
	for _, kind := range []string{"cookie", "set-cookie", "form password", "form csrf_token", "redirect code", "form code_verifier", "access_token", "refresh_token", "authorization"} {
		if len(sec.byKind[kind]) == 0 {
			t.Errorf("no %s crossed the wire: the recorder or the run is broken", kind)
		}
	}
	if sec.planted == 0 || !bytes.Contains(artefacts[results.RecordsFileGz], []byte("[redacted:")) {
		t.Errorf("planted %d answers; records hold no [redacted:] placeholder: the planted credentials never reached the harness", sec.planted)
	}
	total := 0
	for kind, vals := range sec.byKind {
		for v := range vals {
			total++
			for name, b := range artefacts {
				if bytes.Contains(b, []byte(v)) {
					// Never print the secret itself.
					t.Errorf("%s contains a %s (%d bytes)", name, kind, len(v))
				}
			}
		}
	}
	t.Logf("%d distinct secrets checked against %d artefacts; %d answers planted with credentials", total, len(artefacts), sec.planted)
}

func personaKind(pop personas.Population, id string) personas.Kind {
	for _, p := range pop.Personas {
		if p.ID == id {
			return p.Kind
		}
	}
	return ""
}
