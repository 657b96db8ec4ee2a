package rehearsal

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cutover-dev/cutover/journeys"
	"github.com/cutover-dev/cutover/personas"
	"github.com/cutover-dev/cutover/results/record"
	"github.com/cutover-dev/cutover/run/config"
)

// counting is a transport that counts requests by host.
type counting struct {
	mu     sync.Mutex
	byHost map[string]int
}

func (c *counting) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.byHost[r.URL.Host]++
	c.mu.Unlock()
	return http.DefaultTransport.RoundTrip(r)
}

// TestRequestModelMatchesTheAdapters keeps `cutover plan` honest: for a persona of
// each kind, the requests the model predicts for the demo journey are the requests
// the adapters send to the clean embedded stacks, one by one.
func TestRequestModelMatchesTheAdapters(t *testing.T) {
	cfg, pair := demo(t, "none", nil)
	pop, err := Population(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tr := &counting{byHost: map[string]int{}}
	ctx := context.Background()
	legacy, candidate, err := adapters(ctx, cfg, tr, pop)
	if err != nil {
		t.Fatal(err)
	}
	hostOf := func(u string) string { return strings.TrimPrefix(u, "http://") }
	runner := newRunner(cfg, pop, tr)
	// The model covers the login, probes and logout groups: the shift-change
	// journey is made of exactly those.
	var j journeys.Journey
	for _, x := range cfg.Journeys {
		if x.Name == "shift-change" {
			j = x
		}
	}
	done := map[personas.Kind]bool{}
	for _, p := range pop.Personas {
		if done[p.Kind] || !p.Human() {
			continue
		}
		done[p.Kind] = true
		for _, side := range []struct {
			name record.Side
			st   journeys.Stack
			cfg  config.Side
			host string
		}{
			{record.Legacy, legacy, cfg.Stacks.Legacy, hostOf(pair.LegacyURL)},
			{record.Candidate, candidate, cfg.Stacks.Candidate, hostOf(pair.CandidateURL)},
		} {
			tr.mu.Lock()
			clear(tr.byHost)
			tr.mu.Unlock()
			runner.Run(ctx, j, side.name, side.st, p, journeys.Iteration{}, func(*record.Record) {})
			want := 0
			for _, g := range j.Steps {
				reqs, ok := groupRequests(cfg, side.cfg, side.name, g, p, runner.Targets)
				if !ok {
					t.Fatalf("step group %s is not modelled", g)
				}
				want += len(reqs)
			}
			if got := tr.byHost[side.host]; got != want {
				t.Errorf("%s on %s: the adapter sent %d requests; the plan's model says %d", p.Kind, side.name, got, want)
			}
		}
	}
}

func TestPlanEstimate(t *testing.T) {
	cfg, _ := demo(t, "none", nil)
	e, err := Plan(cfg)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, b := range e.Buckets {
		total += b
	}
	starts := 0
	for _, j := range e.Journeys {
		starts += j.Starts
	}
	if secs := int(cfg.Load.Duration / time.Second); e.Starts == 0 || total != e.Starts || starts != e.Starts || len(e.Buckets) != secs {
		t.Errorf("estimate: %d starts, %d in buckets %v, %d by journey; want them equal, in %d one-second buckets", e.Starts, total, e.Buckets, starts, secs)
	}
	// Every start of a journey with a login group logs in once on each side.
	logins := 0
	for _, je := range e.Journeys {
		for _, j := range cfg.Journeys {
			if j.Name == je.Name && slices.Contains(j.Steps, journeys.StepsLogin) {
				logins += je.Starts
			}
		}
	}
	if logins == 0 || logins == e.Starts {
		t.Fatalf("%d of %d starts log in; the demo mixes journeys with and without a login", logins, e.Starts)
	}
	for _, r := range e.Requests {
		if r.Source == journeys.StepsLogin && (r.Endpoint == "GET /login" || r.Endpoint == "GET authorization_endpoint") && int(r.Count+0.5) != logins {
			t.Errorf("%s %s: %v requests; want one per start of a journey that logs in, %d", r.Side, r.Endpoint, r.Count, logins)
		}
	}
}

// TestPlanOneSided: the plan of a candidate-only run, its legacy stack left
// out of the file, lists requests to the candidate only.
func TestPlanOneSided(t *testing.T) {
	cfg, _ := demo(t, "none", func(cfg *config.File) {
		cfg.Only = "candidate"
		cfg.Stacks.Legacy = config.Side{}
		cfg.Load.Raw = nil
	})
	e, err := Plan(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Requests) == 0 {
		t.Fatal("no request planned")
	}
	for _, r := range e.Requests {
		if r.Side != record.Candidate {
			t.Errorf("request %+v planned for %s in a candidate-only run", r, r.Side)
		}
	}
}
