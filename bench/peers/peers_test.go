package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/cutover-dev/cutover/personas"
	"github.com/cutover-dev/cutover/stacks"
)

// TestPeersJourney runs the journeys of locustfile.py, artillery.yml and
// artillery-full.yml, in Go, against the embedded candidate, with a population
// like the one run.sh generates (patients only), and gets the provisioner's
// token as run.sh does: if the candidate's contract moves, the peers' scripts
// need the same change. The full journey must make as many requests of each
// kind as cutover's own does on the wire (the figures of results.md): 14.
func TestPeersJourney(t *testing.T) {
	pop, err := personas.Generate(7, personas.GenerateOptions{Count: 10, Mix: personas.Mix{personas.Patient: 1}})
	if err != nil {
		t.Fatal(err)
	}
	pair, err := stacks.Start(t.Context(), stacks.Options{Population: pop})
	if err != nil {
		t.Fatal(err)
	}
	defer pair.Close()
	if pair.HarnessClientID != clientID || pair.HarnessRedirectURI != redirectURI {
		t.Fatalf("the candidate's harness client is %s with %s; the peers' scripts name %s with %s",
			pair.HarnessClientID, pair.HarnessRedirectURI, clientID, redirectURI)
	}
	for _, p := range []personas.Persona{pop.Personas[0], pop.Personas[len(pop.Personas)-1]} {
		if n := peerJourney(t.Context(), t, pair.CandidateURL, p.Username, p.ForCandidate().Secret.Reveal(), nil); n != 5 {
			t.Errorf("the peers' journey made %d requests; want 5", n)
		}
		full := &introspector{pair.IntrospectionClientID, pair.IntrospectionClientSecret.Reveal()}
		if n := peerJourney(t.Context(), t, pair.CandidateURL, p.Username, p.ForCandidate().Secret.Reveal(), full); n != 14 {
			t.Errorf("cutover's journey, as the peers run it, made %d requests; want 14", n)
		}
	}

	secret := filepath.Join(t.TempDir(), "provisioner-secret")
	if err := os.WriteFile(secret, []byte(pair.ProvisionerClientSecret.Reveal()), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	args := []string{"token", "-issuer", pair.CandidateURL, "-client-id", pair.ProvisionerClientID, "-secret-file", secret, "-scope", "scim"}
	if err := run(args, &out); err != nil || strings.Count(out.String(), ".") != 2 {
		t.Errorf("peers token = %q, %v; want a JWT", out.String(), err)
	}
	if err := os.WriteFile(secret, []byte("wrong"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := run(args, &out); err == nil {
		t.Errorf("peers token with a wrong secret = nil error; want the provider's refusal")
	}
}

// introspector is the introspection client's credentials, for the full journey.
type introspector struct{ id, secret string }

// peerJourney is the peers' journey: authorize with PKCE S256 (the answer is
// the login form), post the form, read the code from the 303, redeem it,
// refresh once, revoke the rotated refresh token, which is then refused. With
// full set it is cutover's journey as locustfile.py's "full" describes it. It
// returns the requests the journey made (the check after the short one is not
// part of it).
func peerJourney(ctx context.Context, t *testing.T, base, username, password string, full *introspector) (requests int) {
	t.Helper()
	var client *http.Client
	do := func(method, path string, form url.Values, basic *introspector) (*http.Response, []byte) {
		t.Helper()
		requests++
		req, err := http.NewRequestWithContext(ctx, method, base+path, strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		if basic != nil {
			req.SetBasicAuth(basic.id, basic.secret)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		return resp, b.Bytes()
	}
	type tokens struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	token := func(form url.Values) tokens {
		t.Helper()
		resp, body := do(http.MethodPost, "/token", form, nil)
		var tok tokens
		_ = json.Unmarshal(body, &tok)
		if resp.StatusCode != http.StatusOK || tok.RefreshToken == "" {
			t.Fatalf("POST /token %s = %d: %s", form.Get("grant_type"), resp.StatusCode, body)
		}
		return tok
	}
	refreshForm := func(rt string) url.Values {
		return url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {clientID}}
	}
	refused := func(what, rt string) {
		t.Helper()
		if resp, body := do(http.MethodPost, "/token", refreshForm(rt), nil); resp.StatusCode != http.StatusBadRequest && resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("%s = %d: %s; want a refusal", what, resp.StatusCode, body)
		}
	}
	// signIn is a new browser each time (no single sign-on session).
	signIn := func() tokens {
		t.Helper()
		jar, _ := cookiejar.New(nil)
		client = &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		verifier := base64.RawURLEncoding.EncodeToString([]byte(rand.Text() + rand.Text()))
		sum := sha256.Sum256([]byte(verifier))
		q := url.Values{
			"response_type": {"code"}, "client_id": {clientID}, "scope": {"openid profile offline_access"},
			"redirect_uri": {redirectURI}, "state": {"s1"}, "nonce": {"n1"},
			"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
		}
		resp, page := do(http.MethodGet, "/authorize?"+q.Encode(), nil, nil)
		m := regexp.MustCompile(`name="auth_request" value="([^"]+)"`).FindSubmatch(page)
		if resp.StatusCode != http.StatusOK || m == nil || !bytes.Contains(page, []byte(`id="login-form"`)) {
			t.Fatalf("GET /authorize = %d without the login form: %s", resp.StatusCode, page)
		}
		resp, _ = do(http.MethodPost, "/login", url.Values{"username": {username}, "password": {password}, "auth_request": {string(m[1])}}, nil)
		loc, _ := url.Parse(resp.Header.Get("Location"))
		code := loc.Query().Get("code")
		if resp.StatusCode != http.StatusSeeOther || code == "" || !strings.HasPrefix(loc.String(), redirectURI) {
			t.Fatalf("POST /login as %s = %d to %q; want 303 to %s with a code", username, resp.StatusCode, loc, redirectURI)
		}
		return token(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}, "client_id": {clientID}, "code_verifier": {verifier}})
	}
	revoke := func(tok, hint string) {
		t.Helper()
		if resp, _ := do(http.MethodPost, "/revoke", url.Values{"token": {tok}, "token_type_hint": {hint}, "client_id": {clientID}}, nil); resp.StatusCode != http.StatusOK {
			t.Fatalf("POST /revoke %s = %d; want 200", hint, resp.StatusCode)
		}
	}

	tok := signIn()
	prev := tok.RefreshToken
	tok = token(refreshForm(prev))
	if full == nil {
		revoke(tok.RefreshToken, "refresh_token")
		n := requests
		refused("refresh after revocation", tok.RefreshToken)
		return n
	}
	if tok.RefreshToken == prev {
		t.Fatal("the refresh token was not rotated")
	}
	refused("the previous refresh token replayed", prev)
	// The embedded candidate revokes the family on reuse: the newest is
	// refused too, and the persona signs in again.
	refused("the newest refresh token after the reuse", tok.RefreshToken)
	tok = signIn()
	revoke(tok.RefreshToken, "refresh_token")
	revoke(tok.AccessToken, "access_token")
	for _, c := range []string{tok.AccessToken, tok.RefreshToken} {
		resp, body := do(http.MethodPost, "/introspect", url.Values{"token": {c}}, full)
		var in struct{ Active *bool }
		if _ = json.Unmarshal(body, &in); resp.StatusCode != http.StatusOK || in.Active == nil || *in.Active {
			t.Fatalf("POST /introspect after revocation = %d: %s; want inactive", resp.StatusCode, body)
		}
	}
	refused("refresh after logout", tok.RefreshToken)
	return requests
}

// The client and redirect URI the peers' scripts name.
const (
	clientID    = "cutover-harness"
	redirectURI = "http://localhost/cutover/callback"
)

func TestCreds(t *testing.T) {
	dir := t.TempDir()
	accounts, secrets, out := filepath.Join(dir, "a.jsonl"), filepath.Join(dir, "s.json"), filepath.Join(dir, "c.csv")
	write := func(path, body string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(accounts, `{"id":"patient-00001","kind":"patient","username":"ana.lee","password":"file:s.json#patient-00001"}
{"id":"service-00001","kind":"service","username":"svc-lab-feed-00001"}
{"id":"patient-00002","kind":"patient","username":"bo.chan","password":"file:s.json#patient-00002"}
`)
	write(secrets, `{"patient-00001": "a,b\"c", "patient-00002": "p2", "service-00001": "s"}`)
	if err := run([]string{"creds", "-accounts", accounts, "-secrets", secrets, "-out", out}, io.Discard); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"username", "password"}, {"ana.lee", `a,b"c`}, {"bo.chan", "p2"}}
	if fmt.Sprint(rows) != fmt.Sprint(want) {
		t.Errorf("creds wrote %q; want %q", rows, want)
	}
	if st, _ := os.Stat(out); st.Mode().Perm() != 0o600 {
		t.Errorf("creds wrote mode %v; want 0600", st.Mode().Perm())
	}
	write(secrets, `{"patient-00001": "p1"}`)
	if err := run([]string{"creds", "-accounts", accounts, "-secrets", secrets, "-out", out}, io.Discard); err == nil || !strings.Contains(err.Error(), "patient-00002") {
		t.Errorf("creds with a secret missing = %v; want an error naming the persona", err)
	}
}

func TestParseStat(t *testing.T) {
	tests := []struct {
		line        string
		comm, utime string
	}{
		{"42 (node) S 1 42 42 0 -1 4194560 100 0 0 0 731 95 3 1 20 0 11 0", "(node)", "731"},
		{"7 (a b) c)) R 1 7 7 0 -1 0 0 0 0 0 12 3 0 0 20 0 1 0", "(a b) c))", "12"},
	}
	for _, tt := range tests {
		f := parseStat(tt.line)
		if len(f) < 17 || f[1] != tt.comm || f[13] != tt.utime {
			t.Errorf("parseStat(%q) = %q; want comm %s, utime (f[13]) %s", tt.line, f, tt.comm, tt.utime)
		}
	}
	if f := parseStat("garbage"); f != nil {
		t.Errorf("parseStat(garbage) = %q; want nil", f)
	}
}

func TestCPUAt(t *testing.T) {
	s := []sample{{1, 0.5}, {2, 1.5}, {4, 1.5}}
	tests := []struct{ at, want float64 }{{0, 0.5}, {1, 0.5}, {1.5, 1}, {3, 1.5}, {9, 1.5}}
	for _, tt := range tests {
		if got := cpuAt(s, tt.at); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("cpuAt(%v) = %v; want %v", tt.at, got, tt.want)
		}
	}
}

func TestCountRequests(t *testing.T) {
	// tcpdump -A: the headers' bytes as dots, then the request, one line each.
	dump := `06:01:02.000001 IP 127.0.0.1.51234 > 127.0.0.1.35679: Flags [P.], length 120
E..x..@.@.........POST /token HTTP/1.1
Host: 127.0.0.1:35679
06:01:02.000002 IP 127.0.0.1.51236 > 127.0.0.1.35679: Flags [P.], length 300
E..x..@.@.........GET /authorize?response_type=code&client_id=x HTTP/1.1
06:01:02.000003 IP 127.0.0.1.51234 > 127.0.0.1.35679: Flags [P.], length 99
..........POST /token HTTP/1.1
a body that says GET /nothing but is no request line
`
	got := countRequests(strings.NewReader(dump))
	want := map[string]int{"POST /token": 2, "GET /authorize": 1}
	if len(got) != len(want) || got["POST /token"] != 2 || got["GET /authorize"] != 1 {
		t.Errorf("countRequests = %v; want %v", got, want)
	}
	if n := droppedByKernel("12 packets captured\n3 packets dropped by kernel\n"); n != 3 {
		t.Errorf("droppedByKernel = %d; want 3", n)
	}
}

func TestQuantiles(t *testing.T) {
	var ms []float64
	for i := 100; i >= 1; i-- {
		ms = append(ms, float64(i))
	}
	if got, want := *quantiles(ms), (Quantiles{N: 100, P50: 50, P95: 95, P99: 99}); got != want {
		t.Errorf("quantiles(1..100) = %+v; want %+v", got, want)
	}
	if q := quantiles(nil); q != nil {
		t.Errorf("quantiles(nil) = %+v; want nil", q)
	}
}

// TestTally reads one round of each tool from files shaped as the tools write
// them, and checks the figures and the ratios to cutover.
func TestTally(t *testing.T) {
	dir := t.TempDir()
	write := func(run, name, body string) {
		t.Helper()
		p := filepath.Join(dir, "runs", run, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	meta := func(tool, phase string, rate float64) string {
		b, _ := json.Marshal(Meta{Tool: tool, Phase: phase, Round: 1, Rate: rate, DurationS: 10, JourneyRequests: map[string]int{"vegeta": 5}[tool]})
		return string(b)
	}
	// Every tool: 100 journeys in 10 s, 1 s of CPU over a full load window.
	proc := `{"user_s": 1.5, "sys_s": 0.5, "max_rss_kib": 10240, "load_start_s": 0.5, "load_window_s": 10, "load_cpu_s": %s, "load1_end": 1.5}`
	for _, tool := range tools {
		write("steady-"+tool, "run.json", meta(tool, "steady", 10))
	}
	write("steady-cutover", "process.json", strings.Replace(proc, "%s", "0.5", 1))
	write("steady-locust", "process.json", strings.Replace(proc, "%s", "1", 1))
	write("steady-locust-full", "process.json", strings.Replace(proc, "%s", "1.5", 1))
	write("steady-artillery", "process.json", strings.Replace(proc, "%s", "2", 1))
	write("steady-vegeta", "process.json", strings.Replace(proc, "%s", "0.25", 1))

	write("steady-cutover", "results/summary.json", `{"generator": {"started": 100}}`)
	var recs strings.Builder
	for i := range 100 {
		outcome := "ok"
		if i == 0 {
			outcome = "error"
		}
		for _, step := range []string{"login", "refresh", "logout"} {
			line, _ := json.Marshal(map[string]any{"persona": "patient-00001", "iter": i, "journey": "session", "step": step,
				"intended": "2026-01-01T00:00:00Z", "outcome": outcome, "latency_ns": (i + 1) * 1000, "endpoints": []string{"POST /token"}})
			recs.Write(append(line, '\n'))
		}
	}
	write("steady-cutover", "results/records.jsonl", recs.String())
	write("steady-locust", "locust.json", `{"started": 100, "completed": 100, "failed": 0, "token_ms": {"POST /token (refresh)": [1, 2, 3]}}`)
	write("steady-locust", "locust_stats.csv", "Type,Name,Request Count,Failure Count\nPOST,POST /token (refresh),100,0\n,Aggregated,500,0\n")
	write("steady-locust-full", "locust.json", `{"started": 100, "completed": 100, "failed": 0, "token_ms": {"POST /token (refresh)": [1, 2, 3]}}`)
	write("steady-locust-full", "locust_stats.csv", "Type,Name,Request Count,Failure Count\n,Aggregated,1400,0\n")
	write("steady-artillery", "report.json", `{"aggregate": {"counters": {"vusers.created": 100, "vusers.completed": 99, "vusers.failed": 1, "http.requests": 499, "peers.started_in_time": 90},
		"summaries": {"plugins.metrics-by-endpoint.response_time.POST /token (refresh)": {"count": 99, "p50": 1, "p95": 2, "p99": 3}}}}`)
	write("steady-vegeta", "report.json", `{"requests": 500, "success": 1}`)
	write("wire-cutover", "run.json", meta("cutover", "wire", 10))
	write("wire-cutover", "wire.json", `{"requests": 1400, "by_endpoint": {"POST /token": 1400}}`)
	write("wire-cutover", "results/summary.json", `{"generator": {"started": 100}}`)
	write("wire-cutover", "results/records.jsonl", recs.String())
	write("ramp-artillery", "run.json", meta("artillery", "ramp", 160))
	// cutover's ramp: 0.2 CPU s/s at 10 journeys/s, 0.4 at 20: 20 ms a journey more.
	for rate, cpu := range map[float64]string{10: "2", 20: "4"} {
		run := fmt.Sprintf("ramp-cutover-%g", rate)
		write(run, "run.json", meta("cutover", "ramp", rate))
		write(run, "process.json", strings.Replace(proc, "%s", cpu, 1))
		write(run, "results/summary.json", fmt.Sprintf(`{"generator": {"started": %g}}`, rate*10))
		write(run, "results/records.jsonl", "")
	}

	var out bytes.Buffer
	if err := tally([]string{dir}, &out); err != nil {
		t.Fatal(err)
	}
	var res Results
	data, err := os.ReadFile(filepath.Join(dir, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &res); err != nil {
		t.Fatal(err)
	}
	byTool := map[string]Figures{}
	for _, f := range res.Steady {
		byTool[f.Tool] = f
	}
	// cutover: 99 journeys completed (the first failed), 14 requests each on the wire.
	c := byTool["cutover"]
	if got := c.ErrorPct[0]; got != 1 {
		t.Errorf("cutover errors = %v%%; want 1%%", got)
	}
	if c.RequestsPerJourney != 1400.0/99 || c.PerJourneyFrom != "wire" {
		t.Errorf("cutover requests/journey = %v from %s; want %v from wire", c.RequestsPerJourney, c.PerJourneyFrom, 1400.0/99)
	}
	if c.Refresh == nil || c.Refresh.N != 99 {
		t.Errorf("cutover refresh latencies = %+v; want 99 of them", c.Refresh)
	}
	l := byTool["locust"]
	if got, want := l.RatioLoad[0], (1000.0/100)/(500.0/99); math.Abs(got-want) > 1e-9 {
		t.Errorf("locust ratio at load = %v; want %v", got, want)
	}
	if l.RequestsPerJourney != 5 || l.PerJourneyFrom != "tool" {
		t.Errorf("locust requests/journey = %v from %s; want 5 from tool", l.RequestsPerJourney, l.PerJourneyFrom)
	}
	// The same journey: 1.5 s of CPU for 100 journeys against cutover's 0.5 s for 99.
	if lf := byTool["locust-full"]; lf.RequestsPerJourney != 14 || math.Abs(lf.RatioLoad[0]-(1500.0/100)/(500.0/99)) > 1e-9 {
		t.Errorf("locust-full = %v requests/journey, ratio %v; want 14, %v", lf.RequestsPerJourney, lf.RatioLoad, (1500.0/100)/(500.0/99))
	}
	if _, ok := byTool["artillery-full"]; ok {
		t.Errorf("artillery-full has figures without any output")
	}
	if a := byTool["artillery"]; a.StartRate[0] != 9 {
		t.Errorf("artillery start rate = %v; want 9 (90 started in the 10 s)", a.StartRate[0])
	}
	if v := byTool["vegeta"]; v.Completed[0] != 100 || v.RequestsPerJourney != 5 {
		t.Errorf("vegeta = %d journeys of %v requests; want 100 of 5", v.Completed[0], v.RequestsPerJourney)
	}
	if len(res.Ramp) != 2 {
		t.Fatalf("ramps = %+v; want cutover's and artillery's", res.Ramp)
	}
	if c := res.Ramp[0]; c.Highest != 20 || c.MarginalMS == nil || math.Abs(*c.MarginalMS-20) > 1e-9 {
		t.Errorf("cutover's ramp = highest %v, marginal %v; want 20/s, 20 ms", c.Highest, c.MarginalMS)
	}
	if a := res.Ramp[1].Points[0]; a.OnSchedule || a.Error == "" {
		t.Errorf("ramp of a run without outputs = %+v; want off schedule, with its error", a)
	}
	for _, want := range []string{"| cutover | 14.1 |", "| locust-full | 14.0 (tool) |", "| artillery | 5.0 (tool) |", "no: its outputs are missing"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("results.md lacks %q:\n%s", want, out.String())
		}
	}
}
