package rehearsal

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/cutover-dev/cutover/journeys"
	"github.com/cutover-dev/cutover/journeys/oidc"
	"github.com/cutover-dev/cutover/loadgen"
	"github.com/cutover-dev/cutover/personas"
	"github.com/cutover-dev/cutover/results/record"
	"github.com/cutover-dev/cutover/run/config"
)

// Estimate is what a run would send, worked out from its config alone: the
// schedule exactly (it is deterministic), the journey mix exactly (it is seeded),
// and the requests per endpoint per stack as an estimate, since which persona runs
// a journey depends on which are idle, and how far a journey goes depends on the
// answers (a refused login ends it).
type Estimate struct {
	Name     string
	Profile  string
	Duration time.Duration
	// Starts is the number of journey starts; Peak the highest rate on the way.
	Starts int
	Peak   float64
	// Buckets are the starts of each Bucket-long span of the run, in order.
	Bucket  time.Duration
	Buckets []int
	// Journeys holds the starts of each journey and their expected split by kind.
	Journeys []JourneyEstimate
	// Requests are the requests per stack and endpoint: legacy first, in the order
	// a journey sends them, then the raw attacks'.
	Requests []Requests
	// Setup lists the requests made once, before the schedule starts.
	Setup []string
	// Unmodelled names the step groups whose requests the estimate does not know.
	Unmodelled []string
}

// JourneyEstimate is one journey's share of the schedule.
type JourneyEstimate struct {
	Name   string
	Starts int
	Kinds  map[personas.Kind]float64
}

// Requests is the expected number of requests to one endpoint of one stack.
type Requests struct {
	Side     record.Side
	Endpoint string
	// Source is the step group (or step) that sends them, or "raw".
	Source string
	Count  float64
	// DependsOnAnswers marks counts that hold only if the steps before answer as
	// expected (a login that succeeds, a probe that is allowed).
	DependsOnAnswers bool

	seq int // first seen: the order a journey sends them in
}

// request is one request a step group sends, as the adapters send it.
type request struct {
	endpoint string
	// conditional: sent only if an earlier answer allows it.
	conditional bool
	// step, if set, is the step that sends it, when not the group's own.
	step string
}

// Plan works out the Estimate of cfg without sending anything.
func Plan(cfg *config.File) (*Estimate, error) {
	pop, err := Population(cfg)
	if err != nil {
		return nil, err
	}
	pacer := Pacer(cfg)
	e := &Estimate{Name: cfg.Name, Profile: fmt.Sprint(pacer), Duration: cfg.Load.Duration, Peak: loadgen.Peak(pacer, cfg.Load.Duration)}
	e.Bucket = bucket(cfg.Load.Duration)
	e.Buckets = make([]int, int((cfg.Load.Duration+e.Bucket-1)/e.Bucket))
	loadgen.Schedule(pacer, cfg.Load.Duration, func(_ uint64, at time.Duration) bool {
		e.Buckets[min(int(at/e.Bucket), len(e.Buckets)-1)]++
		e.Starts++
		return true
	})
	counts := mix(cfg).Counts(pacer, cfg.Load.Duration)
	targets := journeys.NewTargets(pop)
	sides := [2]record.Side{record.Legacy, record.Candidate}
	sideCfg := [2]config.Side{cfg.Stacks.Legacy, cfg.CandidateSide()}
	totals := map[[3]string]*Requests{}
	add := func(side record.Side, source string, r request, n float64) {
		k := [3]string{string(side), r.endpoint, source}
		if totals[k] == nil {
			totals[k] = &Requests{Side: side, Endpoint: r.endpoint, Source: source, seq: len(totals)}
		}
		totals[k].Count += n
		totals[k].DependsOnAnswers = totals[k].DependsOnAnswers || r.conditional
	}
	for ji, j := range cfg.Journeys {
		je := JourneyEstimate{Name: j.Name, Starts: counts[ji], Kinds: map[personas.Kind]float64{}}
		var eligible []personas.Persona
		for _, p := range pop.Personas {
			if slices.Contains(j.Kinds, p.Kind) {
				eligible = append(eligible, p)
			}
		}
		for _, p := range eligible {
			// Each eligible persona runs an equal share of the journey's starts.
			share := float64(counts[ji]) / float64(len(eligible))
			je.Kinds[p.Kind] += share
			for s := range sides {
				if !cfg.Drives(string(sides[s])) {
					continue // a one-sided run sends the other nothing
				}
				for _, group := range j.Steps {
					reqs, ok := groupRequests(cfg, sideCfg[s], sides[s], group, p, targets)
					if !ok && !slices.Contains(e.Unmodelled, group) {
						e.Unmodelled = append(e.Unmodelled, group)
					}
					for _, r := range reqs {
						add(sides[s], cmp.Or(r.step, group), r, share)
					}
				}
			}
		}
		e.Journeys = append(e.Journeys, je)
	}
	for _, r := range cfg.Load.Raw {
		n := 0
		loadgen.Schedule(r.Profile.Pacer(cfg.Load.Duration), cfg.Load.Duration, func(uint64, time.Duration) bool { n++; return true })
		for s := range sides {
			if !cfg.Drives(string(sides[s])) {
				continue
			}
			if ep, ok := rawEndpoint(r, sideCfg[s]); ok {
				add(sides[s], loadgen.RawJourney, request{endpoint: ep}, float64(n))
			}
		}
	}
	for _, r := range totals {
		e.Requests = append(e.Requests, *r)
	}
	// Legacy first, then in the order a journey sends them, the raw attacks last.
	order := []string{journeys.StepsLogin, journeys.StepsProbes, journeys.StepsLogout, record.StepLogoutProbe, loadgen.RawJourney}
	rank := func(source string) int {
		if i := slices.Index(order, source); i >= 0 {
			return i
		}
		return len(order)
	}
	slices.SortFunc(e.Requests, func(a, b Requests) int {
		return cmp.Or(cmp.Compare(sideIndex(a.Side), sideIndex(b.Side)), cmp.Compare(rank(a.Source), rank(b.Source)), cmp.Compare(a.seq, b.seq))
	})
	for s, sc := range sideCfg {
		if sc.Adapter != "oidc" || !cfg.Drives(string(sides[s])) {
			continue
		}
		setup := "GET /.well-known/openid-configuration, GET jwks_uri (the adapter)"
		if len(cfg.Load.Raw) > 0 {
			setup += "; GET /.well-known/openid-configuration (raw attacks)"
		}
		if slices.ContainsFunc(cfg.Load.Raw, func(r config.Raw) bool { return r.Endpoint == config.RawIntrospection }) {
			setup += "; POST token_endpoint (client_credentials: a token to introspect)"
		}
		e.Setup = append(e.Setup, fmt.Sprintf("%s: %s", sides[s], setup))
	}
	return e, nil
}

// bucket picks the span the schedule is shown by: a second for runs up to two
// minutes, then a round span giving at most about 60 rows.
func bucket(d time.Duration) time.Duration {
	for _, b := range []time.Duration{time.Second, 5 * time.Second, 10 * time.Second, 30 * time.Second, time.Minute, 5 * time.Minute, 15 * time.Minute, time.Hour} {
		if d <= 120*b && (b == time.Second || d <= 60*b) {
			return b
		}
	}
	return time.Hour
}

// groupRequests is the model of what one step group sends on one side for persona
// p, mirroring the adapters of package journeys: the legacy adapter logs in with
// its form (GET the page, POST it) or JSON, then asks who-am-I; the OIDC adapter
// goes through the authorization endpoint and the login form and redeems the code
// at the token endpoint; logout is the legacy logout, or revocation of the refresh
// and the access token; then the first allowed probe is replayed. ok is false for
// a step group the model does not know.
func groupRequests(cfg *config.File, sc config.Side, side record.Side, group string, p personas.Persona, targets *journeys.Targets) (reqs []request, ok bool) {
	switch group {
	case journeys.StepsLogin:
		if sc.Adapter == "oidc" {
			return []request{{endpoint: "GET authorization_endpoint"}, {endpoint: "POST login form", conditional: true}, {endpoint: "POST token_endpoint", conditional: true}}, true
		}
		l := sc.Legacy
		if l.Login.Mode == "json" {
			return []request{{endpoint: "POST " + l.Login.Path}, {endpoint: "GET " + l.Me.Path, conditional: true}}, true
		}
		return []request{{endpoint: "GET " + l.Login.Path}, {endpoint: "POST login form", conditional: true}, {endpoint: "GET " + l.Me.Path, conditional: true}}, true
	case journeys.StepsProbes:
		for _, pr := range probesOf(cfg, p, targets) {
			reqs = append(reqs, request{endpoint: probeEndpoint(cfg, side, pr), conditional: true})
		}
		return reqs, true
	case journeys.StepsLogout:
		// The logout itself, then the old credentials: logout.probe replays the
		// first probe this side allowed (estimated as the first the table expects
		// allowed, or leaves to legacy), logout.introspect asks about each
		// credential, logout.refresh tries to refresh.
		var introspect, refresh []request
		if sc.Adapter == "oidc" {
			o := sc.OIDC
			logout := o.Logout
			if len(logout) == 0 {
				logout = []string{oidc.LogoutRevoke}
			}
			for _, m := range logout {
				switch m {
				case oidc.LogoutRevoke:
					reqs = append(reqs, request{endpoint: "POST revocation_endpoint", conditional: true}, request{endpoint: "POST revocation_endpoint", conditional: true})
				case oidc.LogoutEndSession:
					reqs = append(reqs, request{endpoint: "GET end_session_endpoint", conditional: true})
				}
			}
			if o.Introspection != nil {
				introspect = []request{{endpoint: "POST introspection_endpoint", conditional: true, step: record.StepLogoutIntrospect}, {endpoint: "POST introspection_endpoint", conditional: true, step: record.StepLogoutIntrospect}}
			}
			refresh = []request{{endpoint: "POST token_endpoint (refresh_token)", conditional: true, step: record.StepLogoutRefresh}}
		} else {
			l := sc.Legacy
			reqs = []request{{endpoint: cmp.Or(l.Logout.Method, http.MethodGet) + " " + l.Logout.Path, conditional: true}}
			introspect = []request{{endpoint: "GET " + l.Me.Path, conditional: true, step: record.StepLogoutIntrospect}}
			if l.Renew != nil {
				refresh = []request{{endpoint: cmp.Or(l.Renew.Method, http.MethodPost) + " " + l.Renew.Path, conditional: true, step: record.StepLogoutRefresh}}
			}
		}
		for _, pr := range probesOf(cfg, p, targets) {
			if pr.Expect != record.Deny {
				reqs = append(reqs, request{endpoint: probeEndpoint(cfg, side, pr), conditional: true, step: record.StepLogoutProbe})
				break
			}
		}
		return append(append(reqs, introspect...), refresh...), true
	}
	return nil, false
}

// probesOf returns the probes persona p runs: the rows about it whose selector
// names somebody for it.
func probesOf(cfg *config.File, p personas.Persona, targets *journeys.Targets) []journeys.Probe {
	var out []journeys.Probe
	for _, pr := range cfg.Probes {
		if !pr.Applies(p) {
			continue
		}
		_, sel, _ := strings.Cut(pr.Resource, ":")
		if _, ok := targets.Resolve(sel, p, 0); ok {
			out = append(out, pr)
		}
	}
	return out
}

// probeEndpoint is the request template a probe resolves to on a side.
func probeEndpoint(cfg *config.File, side record.Side, pr journeys.Probe) string {
	typ, _, _ := strings.Cut(pr.Resource, ":")
	tmpl := cfg.SideResources(string(side))[typ][pr.Action]
	method := tmpl.Method
	if method == "" {
		method = http.MethodGet
	}
	return method + " " + tmpl.Path
}

// rawEndpoint names what a raw attack hits on a side, if it hits it.
func rawEndpoint(r config.Raw, sc config.Side) (string, bool) {
	switch {
	case sc.Adapter == "oidc":
		return map[string]string{
			config.RawDiscovery:         "GET /.well-known/openid-configuration",
			config.RawJWKS:              "GET jwks_uri",
			config.RawClientCredentials: "POST token_endpoint (client_credentials)",
			config.RawIntrospection:     "POST introspection_endpoint",
		}[r.Endpoint], true
	case sc.Adapter == "legacy" && r.Legacy != nil:
		return r.Legacy.Method + " " + r.Legacy.Path, true
	}
	return "", false
}
