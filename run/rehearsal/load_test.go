package rehearsal

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cutover-dev/cutover/examples"
	"github.com/cutover-dev/cutover/journeys"
	"github.com/cutover-dev/cutover/journeys/adapter"
	"github.com/cutover-dev/cutover/journeys/legacy"
	"github.com/cutover-dev/cutover/loadgen"
	"github.com/cutover-dev/cutover/results/analysis"
	"github.com/cutover-dev/cutover/results/record"
	"github.com/cutover-dev/cutover/run/config"
	"github.com/cutover-dev/cutover/stacks"
)

// demo starts the embedded stacks with drift and returns the demo config pointed
// at them, edited by edit and validated.
func demo(t *testing.T, drift string, edit func(*config.File)) (*config.File, *stacks.Pair) {
	t.Helper()
	drifts, err := stacks.ParseDrifts(drift)
	if err != nil {
		t.Fatal(err)
	}
	return demoWith(t, stacks.Options{Drifts: drifts}, nil, edit)
}

// demoWith starts the embedded stacks with opt (drifts, dialects; seeded with
// the demo's population, after people edits the personas section) and returns
// the demo config pointed at them, edited by edit and validated.
func demoWith(t *testing.T, opt stacks.Options, people, edit func(*config.File)) (*config.File, *stacks.Pair) {
	t.Helper()
	pair, err := stacks.Listen(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pair.Close() })
	env := map[string]string{"CUTOVER_LEGACY_URL": pair.LegacyURL, "CUTOVER_CANDIDATE_URL": pair.CandidateURL,
		"CUTOVER_INTROSPECTION_SECRET": pair.IntrospectionClientSecret.Reveal(), "CUTOVER_PROVISIONER_SECRET": pair.ProvisionerClientSecret.Reveal()}
	cfg, err := config.Parse("demo.yaml", examples.Demo, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if people != nil {
		people(cfg)
	}
	pop, err := Population(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := pair.Serve(context.Background(), pop); err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("edited demo config: %v", err)
	}
	return cfg, pair
}

// constant makes the run a constant rate for d.
func constant(rate float64, d time.Duration) func(*config.File) {
	return func(cfg *config.File) {
		cfg.Load.Profile = config.Profile{Type: config.ProfileConstant, Rate: rate}
		cfg.Load.Duration = d
	}
}

// readRecords reads the results folder's records, failing on any line that does
// not parse (a record cut in half by a stop would).
func readRecords(t *testing.T, dir string) []*record.Record {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, RecordsFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []*record.Record
	if err := record.ReadRecords(f, RecordsFile, func(r *record.Record) error { c := *r; out = append(out, &c); return nil }); err != nil {
		t.Fatalf("records.jsonl: %v", err)
	}
	return out
}

// checkNothingLost: the summary's steps account for every record written, every
// started journey recorded its first step on both sides, and every journey whose
// login succeeded went on to its logout (the drain let it finish).
func checkNothingLost(t *testing.T, sum *analysis.Summary, recs []*record.Record) {
	t.Helper()
	var counted int64
	for _, st := range sum.Steps {
		for _, side := range []analysis.SideSummary{st.Legacy, st.Candidate} {
			// Performed, and not performed (unsupported, skipped): every record.
			counted += side.Count + side.Unsupported + side.Skipped
		}
	}
	if counted != int64(len(recs)) {
		t.Errorf("the summary counts %d steps; records.jsonl holds %d", counted, len(recs))
	}
	type journeyKey struct {
		side    record.Side
		persona string
		iter    uint64
	}
	logins := map[record.Side]int64{}
	loggedIn, loggedOut := map[journeyKey]bool{}, map[journeyKey]bool{}
	for _, r := range recs {
		k := journeyKey{r.Side, r.Persona, r.Iteration}
		switch {
		case r.Step == record.StepLogin && r.Target == "" || r.Step == record.StepServiceToken:
			// The first step of a journey (a login, or a service account's token);
			// a "relogin" after a stack ended the grant is not one.
			logins[r.Side]++
			if r.Step == record.StepLogin && r.Outcome == record.OK && r.Facts.Decision == record.Allow {
				loggedIn[k] = true
			}
		case r.Step == record.StepLogin && r.Target == "relogin" && (r.Outcome != record.OK || r.Facts.Decision != record.Allow):
			// A sign-in again after the stack ended the grant that failed ends
			// the journey there: not logged in any more.
			delete(loggedIn, k)
		case r.Step == record.StepLogout:
			loggedOut[k] = true
		}
	}
	for _, side := range []record.Side{record.Legacy, record.Candidate} {
		if logins[side] != sum.Generator.Started {
			t.Errorf("%d %s first-step records for %d started journeys; want one each", logins[side], side, sum.Generator.Started)
		}
	}
	for k := range loggedIn {
		if !loggedOut[k] {
			t.Errorf("%s journey %d of %s logged in but has no logout record: it was cut, not drained", k.side, k.iter, k.persona)
		}
	}
}

// TestInterruptKeepsEveryRecord cancels a long run mid-way, as SIGINT does: the
// schedule stops, the journeys in flight finish, every record is kept and the
// summary says aborted.
func TestInterruptKeepsEveryRecord(t *testing.T) {
	cfg, _ := demo(t, "none", constant(20, time.Minute))
	// Long enough for every journey in flight to finish on a loaded machine: the
	// test is about nothing being lost, not about the drain deadline.
	cfg.Load.Drain = time.Minute
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(1500*time.Millisecond, cancel)
	out := t.TempDir()
	var log bytes.Buffer
	sum, err := Run(ctx, cfg, Options{Out: out, Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Verdict != analysis.VerdictAborted || !strings.Contains(sum.Meta.Aborted, "interrupted after") {
		t.Errorf("verdict %q (%q); want aborted, interrupted", sum.Verdict, sum.Meta.Aborted)
	}
	if sum.Generator.Started == 0 || sum.Generator.Scheduled > 600 {
		t.Errorf("generator %+v; want some journeys, far fewer than a minute's 1200", sum.Generator)
	}
	checkNothingLost(t, sum, readRecords(t, out))
	written := readSummaryFile(t, out)
	if written.Verdict != analysis.VerdictAborted || written.Generator.Started != sum.Generator.Started {
		t.Errorf("summary.json: verdict %q, %d started; want aborted, %d", written.Verdict, written.Generator.Started, sum.Generator.Started)
	}
}

func readSummaryFile(t *testing.T, dir string) analysis.Summary {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, SummaryFile))
	if err != nil {
		t.Fatal(err)
	}
	var s analysis.Summary
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("summary.json: %v", err)
	}
	return s
}

// TestAbortRuleStopsTheRun: half the candidate's answers are 503s; the error-rate
// rule stops the run, which keeps what it measured.
func TestAbortRuleStopsTheRun(t *testing.T) {
	cfg, _ := demo(t, "flaky-5xx=0.5", func(cfg *config.File) {
		constant(20, time.Minute)(cfg)
		cfg.Load.Abort = &config.Abort{Grace: 500 * time.Millisecond, Window: 5 * time.Second, MaxErrorRate: 0.2, MinSamples: 20}
		// What is in flight at the abort must be drained, not cut: on a busy
		// machine under -race that takes longer than the demo's 10s.
		cfg.Load.Drain = time.Minute
	})
	out := t.TempDir()
	sum, err := Run(context.Background(), cfg, Options{Out: out})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Verdict != analysis.VerdictAborted || !strings.Contains(sum.Meta.Aborted, "abort rule: candidate error rate") {
		t.Fatalf("verdict %q (%q); want aborted by the candidate's error rate", sum.Verdict, sum.Meta.Aborted)
	}
	if sum.Generator.Scheduled > 600 {
		t.Errorf("scheduled %d; want the run stopped long before its minute", sum.Generator.Scheduled)
	}
	checkNothingLost(t, sum, readRecords(t, out))
}

// slowLegacy is a homegrown stack that takes delay to log anyone in.
func slowLegacy(t *testing.T, delay time.Duration) *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/login", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(delay)
		fmt.Fprint(w, `{"session_id":"s"}`)
	})
	mux.HandleFunc("GET /api/me", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"id":"x","roles":["patient"]}`)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// TestSaturationIsAccountedHonestly drives a deliberately slow stack harder than
// two journey slots can carry: starts wait for a slot (late) or give up (dropped),
// the saturated windows are reported, and a late journey's login latency runs from
// its intended start, so the waiting shows instead of vanishing.
func TestSaturationIsAccountedHonestly(t *testing.T) {
	const delay = 150 * time.Millisecond
	srv := slowLegacy(t, delay)
	cfg, _ := demo(t, "none", func(cfg *config.File) {
		constant(40, 3*time.Second)(cfg)
		cfg.Mode = config.ModeAA
		cfg.Stacks.Legacy.Legacy = &legacy.Config{
			BaseURL: srv.URL,
			Login:   legacy.Login{Mode: "json", Path: "/api/login", SessionPath: "session_id"},
			Session: legacy.SessionCarrier{Header: "X-Session-Id"},
			Me:      legacy.Me{Path: "/api/me", Subject: adapter.F("id"), Roles: adapter.F("roles")},
		}
		cfg.Journeys = cfg.Journeys[:1]
		cfg.Journeys[0].Steps = []string{journeys.StepsLogin}
		cfg.Load.MaxInFlight, cfg.Load.MaxDelay = 2, 400*time.Millisecond
	})
	out := t.TempDir()
	sum, err := Run(context.Background(), cfg, Options{Out: out})
	if err != nil {
		t.Fatal(err)
	}
	g := sum.Generator
	if g.Late == 0 || g.Dropped == 0 || g.Started+g.Dropped != g.Scheduled || len(g.Saturated) == 0 {
		t.Errorf("generator %+v; want late and dropped starts, all accounted for, and saturated windows", g)
	}
	saturated := false
	for _, n := range sum.Notices {
		saturated = saturated || n.Class == analysis.GeneratorSaturated
	}
	if !saturated {
		t.Errorf("notices %+v lack GENERATOR_SATURATED", sum.Notices)
	}
	late := 0
	for _, r := range readRecords(t, out) {
		if r.Step != record.StepLogin || r.Outcome != record.OK {
			continue
		}
		waited := r.Start.Sub(r.Intended)
		if r.Latency < delay || waited > 25*time.Millisecond && r.Latency < waited+delay {
			t.Errorf("login of %s (iteration %d) waited %s for a slot and took %s; want its latency from the intended start, >= %s",
				r.Persona, r.Iteration, waited, r.Latency, waited+delay)
		}
		if waited > 25*time.Millisecond {
			late++
		}
	}
	if late == 0 {
		t.Error("no login record started late")
	}
}

// TestRandomOrderPairing: each journey runs on one side, then the other, which
// first drawn from the seed; the second side is meant to start when the first is
// done, and both orders happen.
func TestRandomOrderPairing(t *testing.T) {
	cfg, _ := demo(t, "none", func(cfg *config.File) {
		constant(10, 2*time.Second)(cfg)
		cfg.Load.Pairing = config.PairRandomOrder
	})
	out := t.TempDir()
	sum, err := Run(context.Background(), cfg, Options{Out: out})
	if err != nil {
		t.Fatal(err)
	}
	type key struct {
		persona string
		iter    uint64
	}
	intended := map[key]map[record.Side]time.Time{}
	lastStart := map[key]map[record.Side]time.Time{}
	for _, r := range readRecords(t, out) {
		if r.Journey == loadgen.RawJourney {
			continue
		}
		k := key{r.Persona, r.Iteration}
		if intended[k] == nil {
			intended[k], lastStart[k] = map[record.Side]time.Time{}, map[record.Side]time.Time{}
		}
		intended[k][r.Side] = r.Intended
		if r.Start.After(lastStart[k][r.Side]) {
			lastStart[k][r.Side] = r.Start
		}
	}
	firsts := map[record.Side]int{}
	for k, in := range intended {
		first := loadgen.FirstSide(cfg.Seed, k.iter)
		second := record.Candidate
		if first == record.Candidate {
			second = record.Legacy
		}
		firsts[first]++
		if !in[second].After(lastStart[k][first]) {
			t.Errorf("iteration %d: %s meant to start at %s, before %s's last step began at %s", k.iter, second, in[second], first, lastStart[k][first])
		}
	}
	if firsts[record.Legacy] == 0 || firsts[record.Candidate] == 0 {
		t.Errorf("first sides %v; want both orders", firsts)
	}
	for _, f := range sum.Findings {
		if !f.Class.Performance() && f.Class != analysis.GeneratorSaturated {
			t.Errorf("clean stacks gave %s: %+v", f.Class, f)
		}
	}
}

// TestRawAttacks: raw attacks on the embedded stacks' stateless endpoints, from
// config, recorded as steps of the "raw" journey; no secret reaches the records.
func TestRawAttacks(t *testing.T) {
	var pair *stacks.Pair
	cfg, pair := demo(t, "none", func(cfg *config.File) {
		constant(2, 2*time.Second)(cfg)
	})
	rate := config.Profile{Type: config.ProfileConstant, Rate: 10}
	cfg.Load.Raw = []config.Raw{
		{Endpoint: config.RawDiscovery, Profile: rate},
		{Endpoint: config.RawJWKS, Profile: rate},
		{Endpoint: config.RawClientCredentials, Profile: rate, Legacy: &config.RawRequest{Method: http.MethodGet, Path: "/api/whoami", Header: "X-API-Key"}},
		{Endpoint: config.RawIntrospection, Profile: rate, ClientID: pair.IntrospectionClientID, ClientSecret: ptr(adapter.NewSecretRef(pair.IntrospectionClientSecret))},
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	var log bytes.Buffer
	if _, err := Run(context.Background(), cfg, Options{Out: out, Log: &log}); err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	endpoints := map[string]string{
		"candidate discovery": "GET /.well-known/openid-configuration", "candidate jwks": "GET /jwks.json",
		"candidate client_credentials": "POST /token", "legacy client_credentials": "GET /api/whoami",
		"candidate introspection": "POST /introspect",
	}
	journeyEndpoints := 0
	for _, r := range readRecords(t, out) {
		if r.Journey != loadgen.RawJourney {
			journeyEndpoints += len(r.Endpoints)
			continue
		}
		counts[string(r.Side)+" "+r.Step]++
		if r.Outcome != record.OK {
			t.Errorf("%s %s: %s %q; want ok", r.Side, r.Step, r.Outcome, r.Error)
		}
		if want := []string{endpoints[string(r.Side)+" "+r.Step]}; !slices.Equal(r.Endpoints, want) {
			t.Errorf("%s %s: endpoints %q; want %q", r.Side, r.Step, r.Endpoints, want)
		}
	}
	if journeyEndpoints == 0 {
		t.Error("no journey record lists an endpoint: the journeys' transport is not tapped")
	}
	for _, want := range []string{"candidate discovery", "candidate jwks", "candidate client_credentials", "legacy client_credentials", "candidate introspection"} {
		if counts[want] < 15 {
			t.Errorf("%d records of %s; want about 20 (10/s for 2s)", counts[want], want)
		}
	}
	if counts["legacy jwks"]+counts["legacy discovery"]+counts["legacy introspection"] != 0 {
		t.Errorf("counts %v: the legacy stack was attacked on endpoints it does not have", counts)
	}
	recs, _ := os.ReadFile(filepath.Join(out, RecordsFile))
	pop, _ := Population(cfg)
	secrets := []string{pair.IntrospectionClientSecret.Reveal()}
	for _, p := range pop.Personas {
		secrets = append(secrets, p.Secret.Reveal())
	}
	for _, s := range secrets {
		if bytes.Contains(recs, []byte(s)) || bytes.Contains(log.Bytes(), []byte(s)) {
			t.Fatal("a secret reached records.jsonl or the log")
		}
	}
	if !strings.Contains(log.String(), "raw attack on client_credentials: Constant{10/s} on 2 stack(s)") {
		t.Errorf("log does not announce the raw attacks:\n%s", log.String())
	}
}

func ptr[T any](v T) *T { return &v }
