package config

import (
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
	"go.yaml.in/yaml/v3"

	"github.com/cutover-dev/cutover/journeys"
	"github.com/cutover-dev/cutover/journeys/adapter"
	"github.com/cutover-dev/cutover/loadgen"
)

// Load is the schedule and its safety rails.
type Load struct {
	Profile Profile `yaml:"profile"`
	// Duration is the length of the run; a stages profile defaults it to the sum
	// of its stages.
	Duration    time.Duration `yaml:"duration"`
	MaxInFlight int           `yaml:"max_in_flight"`
	// MaxDelay is how long a start may wait for a slot when max_in_flight journeys
	// run: it then starts late (and is counted so), or is dropped. 0 drops at once.
	MaxDelay    time.Duration `yaml:"max_delay"`
	StepTimeout time.Duration `yaml:"step_timeout"`
	Drain       time.Duration `yaml:"drain"`
	// MaxRate is the safety ceiling: a profile that would exceed it is refused.
	MaxRate float64 `yaml:"max_rate"`
	// Pairing is how the two sides of a journey are scheduled: PairSimultaneous
	// (the default) or PairRandomOrder.
	Pairing string `yaml:"pairing"`
	// Abort stops the run when the stacks suffer; nil: no abort rule.
	Abort *Abort `yaml:"abort"`
	// Raw lists stateless endpoints attacked directly, besides the journeys.
	Raw []Raw `yaml:"raw"`
	// Browser, when set, runs a share of the starts in a real browser.
	Browser *Browser `yaml:"browser"`
	// Health bounds a healthy load generator; steps measured while it was not
	// are set apart from the latency and error-rate verdicts.
	Health Health `yaml:"health"`
}

// Health are the limits of a healthy generator, each checked per 100ms
// interval; zero keeps the default (50ms, 50ms, 50ms, and no CPU limit).
type Health struct {
	// MaxHiccup is how late a timer may fire.
	MaxHiccup time.Duration `yaml:"max_hiccup"`
	// MaxSchedLatency bounds the Go scheduler's latency, 99th percentile.
	MaxSchedLatency time.Duration `yaml:"max_sched_latency"`
	// MaxGCPause bounds the longest GC pause.
	MaxGCPause time.Duration `yaml:"max_gc_pause"`
	// MaxCPU bounds the share of its cores the process uses.
	MaxCPU float64 `yaml:"max_cpu"`
}

// Pairings.
const (
	// PairSimultaneous runs the same persona on both sides at the same instant.
	PairSimultaneous = "simultaneous"
	// PairRandomOrder runs one side after the other, which first drawn from the
	// seed: neither side ever sees the other's traffic for that persona, and
	// neither always goes first.
	PairRandomOrder = "random-order"
)

// Profile types.
const (
	ProfileConstant     = "constant"
	ProfileStages       = "stages"
	ProfileSpike        = "spike"
	ProfileSine         = "sine"
	ProfileDiurnal      = "diurnal"
	ProfileShiftChange  = "shift-change"
	ProfileRefreshStorm = "refresh-storm"
)

// Profile is a load shape. Which fields a type takes is in profileFields; Rate is
// the base of every type (the rate of constant, the start of stages, the mean of
// sine and diurnal, the level a spike or a storm rises from).
type Profile struct {
	Type string  `yaml:"type"`
	Rate float64 `yaml:"rate"`
	// Stages of a stages profile (k6 ramping-arrival-rate).
	Stages []Stage `yaml:"stages"`
	// Peak is the top rate of a spike.
	Peak float64 `yaml:"peak"`
	// Amplitude is how far a sine or diurnal profile swings around its mean.
	Amplitude float64 `yaml:"amplitude"`
	// Period of a sine (diurnal: the run, by default).
	Period Span `yaml:"period"`
	// Start is where a sine begins: mean-up (default), peak, mean-down or trough.
	Start string `yaml:"start"`
	// At is when a spike or a storm begins; Ramp and Hold shape a spike; Over is
	// how long a storm lasts.
	At   Span `yaml:"at"`
	Ramp Span `yaml:"ramp"`
	Hold Span `yaml:"hold"`
	Over Span `yaml:"over"`
	// Cohort is the size of a storm: the logins of a shift change, the tokens
	// that expire together in a refresh storm.
	Cohort int `yaml:"cohort"`
	// Journey names the journey a storm's extra starts run (required for a
	// refresh storm: the journey that refreshes).
	Journey string `yaml:"journey"`
}

// profileFields lists the keys each profile type takes, besides type.
var profileFields = map[string][]string{
	ProfileConstant:     {"rate"},
	ProfileStages:       {"rate", "stages"},
	ProfileSpike:        {"rate", "peak", "at", "ramp", "hold"},
	ProfileSine:         {"rate", "amplitude", "period", "start"},
	ProfileDiurnal:      {"rate", "amplitude", "period"},
	ProfileShiftChange:  {"rate", "cohort", "at", "over", "journey"},
	ProfileRefreshStorm: {"rate", "cohort", "at", "over", "journey"},
}

// profileTypes in the order the documentation gives them.
var profileTypes = []string{ProfileConstant, ProfileStages, ProfileSpike, ProfileSine, ProfileDiurnal, ProfileShiftChange, ProfileRefreshStorm}

var sineStarts = map[string]float64{"": vegeta.MeanUp, "mean-up": vegeta.MeanUp, "peak": vegeta.Peak, "mean-down": vegeta.MeanDown, "trough": vegeta.Trough}

// Stage is one leg of a stages profile: the rate moves linearly to Target (per
// second) over Duration.
type Stage struct {
	Duration Span    `yaml:"duration"`
	Target   float64 `yaml:"target"`
}

// Span is a length of time in a profile: a duration ("90s", "2m") or a share of the
// run ("25%"), so a profile keeps its shape when the run is made shorter.
type Span struct {
	D   time.Duration
	Pct float64
}

// UnmarshalYAML reads "90s" or "25%".
func (s *Span) UnmarshalYAML(n *yaml.Node) error {
	v := strings.TrimSpace(n.Value)
	if pct, ok := strings.CutSuffix(v, "%"); ok && n.Kind == yaml.ScalarNode {
		f, err := strconv.ParseFloat(pct, 64)
		if err == nil && f >= 0 && f <= 100 {
			*s = Span{Pct: f}
			return nil
		}
	} else if d, err := time.ParseDuration(v); err == nil && n.Kind == yaml.ScalarNode && d >= 0 {
		*s = Span{D: d}
		return nil
	}
	return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %q is not a duration (90s, 2m) or a share of the run (25%%)", n.Line, v)}}
}

// Of returns the span within a run of length run.
func (s Span) Of(run time.Duration) time.Duration {
	if s.Pct > 0 {
		return time.Duration(float64(run) * s.Pct / 100)
	}
	return s.D
}

// IsZero reports whether the span is absent or zero.
func (s Span) IsZero() bool { return s.D == 0 && s.Pct == 0 }

// String renders the span as written.
func (s Span) String() string {
	if s.Pct > 0 {
		return strconv.FormatFloat(s.Pct, 'g', -1, 64) + "%"
	}
	return s.D.String()
}

// Abort configures the abort rules (loadgen.AbortRule).
type Abort struct {
	Grace        time.Duration `yaml:"grace"`
	Window       time.Duration `yaml:"window"`
	MaxErrorRate float64       `yaml:"max_error_rate"`
	MaxP99       time.Duration `yaml:"max_p99"`
	MinSamples   int           `yaml:"min_samples"`
}

// Raw endpoints: on a side with the oidc adapter each is found through discovery.
const (
	RawDiscovery         = "discovery"
	RawJWKS              = "jwks"
	RawClientCredentials = "client_credentials"
	RawIntrospection     = "introspection"
)

// RawEndpoints lists the raw endpoints.
var RawEndpoints = []string{RawDiscovery, RawJWKS, RawClientCredentials, RawIntrospection}

// Raw is a raw attack on one stateless endpoint of both stacks.
type Raw struct {
	Endpoint string  `yaml:"endpoint"`
	Profile  Profile `yaml:"profile"`
	// Legacy is the request that stands for the endpoint on a side with the legacy
	// adapter (the API-key check that client_credentials replaces, say); without
	// it, such a side is not attacked.
	Legacy *RawRequest `yaml:"legacy"`
	// ClientID and ClientSecret authenticate introspection requests.
	ClientID     string             `yaml:"client_id"`
	ClientSecret *adapter.SecretRef `yaml:"client_secret"`
}

// RawRequest is a request on a legacy stack, relative to its base_url.
type RawRequest struct {
	Method string `yaml:"method"`
	Path   string `yaml:"path"`
	// Header, if set, carries a service persona's API key.
	Header string `yaml:"header"`
}

func (l *Load) defaults() {
	if l.Pairing == "" {
		l.Pairing = PairSimultaneous
	}
	if l.Duration == 0 && l.Profile.Type == ProfileStages {
		for _, st := range l.Profile.Stages {
			l.Duration += st.Duration.D
		}
	}
	if l.Abort != nil {
		if l.Abort.Grace == 0 {
			l.Abort.Grace = 10 * time.Second
		}
		if l.Abort.Window == 0 {
			l.Abort.Window = 10 * time.Second
		}
		if l.Abort.MinSamples == 0 {
			l.Abort.MinSamples = 20
		}
	}
	for i := range l.Raw {
		if r := l.Raw[i].Legacy; r != nil && r.Method == "" {
			r.Method = http.MethodGet
		}
	}
}

// Pacer returns the profile as a schedule for a run of length run.
func (p Profile) Pacer(run time.Duration) vegeta.Pacer {
	switch p.Type {
	case ProfileStages:
		st := loadgen.Stages{Start: p.Rate}
		for _, s := range p.Stages {
			st.Stages = append(st.Stages, loadgen.Stage{Duration: s.Duration.Of(run), Target: s.Target})
		}
		return st
	case ProfileSpike:
		return loadgen.Spike{Base: p.Rate, Peak: p.Peak, At: p.At.Of(run), Ramp: p.Ramp.Of(run), Hold: p.Hold.Of(run)}
	case ProfileSine:
		return loadgen.Sine{Mean: p.Rate, Amp: p.Amplitude, Period: p.Period.Of(run), Phase: sineStarts[p.Start]}
	case ProfileDiurnal:
		period := p.Period.Of(run)
		if period == 0 {
			period = run
		}
		return loadgen.Sine{Mean: p.Rate, Amp: p.Amplitude, Period: period, Phase: vegeta.Trough}
	case ProfileShiftChange:
		return loadgen.ShiftChange{Base: p.Rate, Cohort: p.Cohort, At: p.At.Of(run), Over: p.Over.Of(run)}
	case ProfileRefreshStorm:
		return loadgen.RefreshStorm{Base: p.Rate, Cohort: p.Cohort, At: p.At.Of(run), Over: p.Over.Of(run)}
	default:
		return loadgen.Constant{PerSecond: p.Rate}
	}
}

// node returns the node at a path of mapping keys and sequence indexes, or nil.
func (f *File) node(path ...string) *yaml.Node {
	n, _ := f.walk(path...)
	return n
}

func (f *File) validateLoad(p *problems) {
	l := f.Load
	at := func(k ...string) []string { return append([]string{"load"}, k...) }
	if l.Duration <= 0 {
		p.add(at("duration"), "is %s; want > 0", l.Duration)
	}
	f.validateProfile(p, at("profile"), l.Profile, true)
	if l.MaxInFlight < 0 {
		p.add(at("max_in_flight"), "is %d; want > 0", l.MaxInFlight)
	}
	if l.MaxDelay < 0 {
		p.add(at("max_delay"), "is %s; want >= 0", l.MaxDelay)
	}
	for _, d := range []struct {
		key string
		v   time.Duration
	}{{"max_hiccup", l.Health.MaxHiccup}, {"max_sched_latency", l.Health.MaxSchedLatency}, {"max_gc_pause", l.Health.MaxGCPause}} {
		if d.v < 0 {
			p.add(at("health", d.key), "is %s; want > 0", d.v)
		}
	}
	if c := l.Health.MaxCPU; c < 0 || c > 1 {
		p.add(at("health", "max_cpu"), "is %v; want a share of the cores in (0, 1]", c)
	}
	if l.Pairing != PairSimultaneous && l.Pairing != PairRandomOrder {
		p.add(at("pairing"), "is %q; want %s or %s", l.Pairing, PairSimultaneous, PairRandomOrder)
	}
	if a := l.Abort; a != nil {
		if a.MaxErrorRate == 0 && a.MaxP99 == 0 {
			p.add(at("abort"), "sets no limit: give max_error_rate, max_p99 or both")
		}
		if a.MaxErrorRate < 0 || a.MaxErrorRate > 1 {
			p.add(at("abort", "max_error_rate"), "is %v; want in (0, 1]", a.MaxErrorRate)
		}
		if a.MaxP99 < 0 || a.Grace < 0 || a.Window < 0 || a.MinSamples < 0 {
			p.add(at("abort"), "has a negative value")
		}
	}
	if len(f.Journeys) > 0 && !slices.ContainsFunc(f.Journeys, func(j journeys.Journey) bool { return j.Weight > 0 }) && l.Profile.Journey == "" {
		p.add([]string{"journeys"}, "every journey has weight 0: nothing to schedule")
	}
	for i, r := range l.Raw {
		f.validateRaw(p, at("raw", strconv.Itoa(i)), r)
	}
}

// validateProfile checks a profile: its type, the fields the type takes and their
// values, and its peak against the safety ceiling.
func (f *File) validateProfile(p *problems, at []string, pr Profile, schedulesJourneys bool) {
	in := func(k ...string) []string { return append(slices.Clone(at), k...) }
	fields, ok := profileFields[pr.Type]
	if !ok {
		p.add(in("type"), "is %q; want one of %s", pr.Type, strings.Join(profileTypes, ", "))
		return
	}
	// Judged on the values, not the file's keys: a profile edited after reading
	// (cutover demo --rate) is checked as it will run.
	set := []struct {
		key string
		on  bool
	}{
		{"rate", pr.Rate != 0}, {"stages", len(pr.Stages) > 0}, {"peak", pr.Peak != 0}, {"amplitude", pr.Amplitude != 0},
		{"period", !pr.Period.IsZero()}, {"start", pr.Start != ""}, {"at", !pr.At.IsZero()}, {"ramp", !pr.Ramp.IsZero()},
		{"hold", !pr.Hold.IsZero()}, {"over", !pr.Over.IsZero()}, {"cohort", pr.Cohort != 0}, {"journey", pr.Journey != ""},
	}
	for _, f := range set {
		if f.on && !slices.Contains(fields, f.key) {
			p.add(in(f.key), "is not used by a %s profile (it takes %s)", pr.Type, strings.Join(fields, ", "))
		}
	}
	run := f.Load.Duration
	positive := func(k string, v float64) {
		if !(v > 0) || math.IsInf(v, 0) {
			p.add(in(k), "is %v; want > 0", v)
		}
	}
	span := func(k string, s Span, required bool) {
		if required && s.IsZero() {
			p.add(in(k), "is missing or zero; want a duration or a share of the run")
		}
	}
	if pr.Rate < 0 || math.IsNaN(pr.Rate) || math.IsInf(pr.Rate, 0) {
		p.add(in("rate"), "is %v; want >= 0", pr.Rate)
	}
	end := time.Duration(0) // where the shape's event ends, to check it fits the run
	switch pr.Type {
	case ProfileConstant:
		positive("rate", pr.Rate)
	case ProfileStages:
		if len(pr.Stages) == 0 {
			p.add(in("stages"), "is empty")
		}
		for i, s := range pr.Stages {
			if s.Duration.IsZero() {
				p.add(in("stages", strconv.Itoa(i), "duration"), "is missing or zero")
			}
			if s.Duration.Pct > 0 && run == 0 {
				p.add(in("stages", strconv.Itoa(i), "duration"), "is a share of the run, but load.duration is not set")
			}
			if !(s.Target >= 0) {
				p.add(in("stages", strconv.Itoa(i), "target"), "is %v; want >= 0", s.Target)
			}
		}
	case ProfileSpike:
		if pr.Peak < pr.Rate || math.IsNaN(pr.Peak) {
			p.add(in("peak"), "is %v; want >= the base rate %v", pr.Peak, pr.Rate)
		}
		if pr.Ramp.IsZero() && pr.Hold.IsZero() {
			p.add(in("hold"), "and ramp are both zero: the spike has no width")
		}
		end = pr.At.Of(run) + 2*pr.Ramp.Of(run) + pr.Hold.Of(run)
	case ProfileSine, ProfileDiurnal:
		positive("rate", pr.Rate)
		if pr.Amplitude < 0 || pr.Amplitude > pr.Rate {
			p.add(in("amplitude"), "is %v; want between 0 and the mean rate %v", pr.Amplitude, pr.Rate)
		}
		span("period", pr.Period, pr.Type == ProfileSine)
		if _, ok := sineStarts[pr.Start]; !ok {
			p.add(in("start"), "is %q; want mean-up, peak, mean-down or trough", pr.Start)
		}
	case ProfileShiftChange, ProfileRefreshStorm:
		if pr.Cohort <= 0 {
			p.add(in("cohort"), "is %d; want > 0", pr.Cohort)
		}
		span("over", pr.Over, true)
		end = pr.At.Of(run) + pr.Over.Of(run)
		switch {
		case !schedulesJourneys && pr.Journey != "":
			p.add(in("journey"), "has no meaning for a raw attack")
		case pr.Journey != "" && !slices.ContainsFunc(f.Journeys, func(j journeys.Journey) bool { return j.Name == pr.Journey }):
			p.add(in("journey"), "%q is not a journey of this file", pr.Journey)
		case schedulesJourneys && pr.Journey == "" && pr.Type == ProfileRefreshStorm:
			p.add(in("journey"), "is missing: name the journey the refreshes run")
		}
	}
	if run > 0 && end > run {
		p.add(at, "its wave ends at %s, after the run (load.duration %s)", end, run)
	}
	if run > 0 {
		peak := loadgen.Peak(pr.Pacer(run), run)
		switch {
		case peak > f.Load.MaxRate && pr.Type == ProfileConstant:
			p.add(in("rate"), "%v/s exceeds the safety ceiling load.max_rate %v/s", pr.Rate, f.Load.MaxRate)
		case peak > f.Load.MaxRate:
			p.add(at, "peaks at %.4g/s, which exceeds the safety ceiling load.max_rate %v/s", peak, f.Load.MaxRate)
		}
	}
}

func (f *File) validateRaw(p *problems, at []string, r Raw) {
	in := func(k ...string) []string { return append(slices.Clone(at), k...) }
	if !slices.Contains(RawEndpoints, r.Endpoint) {
		p.add(in("endpoint"), "is %q; want one of %s", r.Endpoint, strings.Join(RawEndpoints, ", "))
		return
	}
	f.validateProfile(p, in("profile"), r.Profile, false)
	if r.Legacy != nil {
		if !strings.HasPrefix(r.Legacy.Path, "/") {
			p.add(in("legacy", "path"), "is %q; want a path from the legacy base_url, starting with /", r.Legacy.Path)
		}
		if !slices.Contains([]string{http.MethodGet, http.MethodPost, http.MethodHead}, r.Legacy.Method) {
			p.add(in("legacy", "method"), "is %q; want GET, POST or HEAD", r.Legacy.Method)
		}
	}
	// In A/A mode both sides are legacy: an endpoint only an oidc side has is
	// skipped, so a parity file runs A/A unchanged.
	if f.RawSides(r) == 0 && f.Mode != ModeAA {
		p.add(in("endpoint"), "%s: no side can be attacked (an oidc side finds it through discovery; a legacy side needs raw.legacy)", r.Endpoint)
	}
	if r.Endpoint == RawIntrospection && (r.ClientID == "" || r.ClientSecret == nil) {
		p.add(in("client_id"), "and client_secret are needed to call introspection")
	}
}

// RawSides counts the sides a raw attack can reach: an oidc side always, a legacy
// side when the attack gives its legacy request.
func (f *File) RawSides(r Raw) int {
	n := 0
	for i, s := range []Side{f.Stacks.Legacy, f.CandidateSide()} {
		if !f.Drives([]string{"legacy", "candidate"}[i]) {
			continue
		}
		if s.Adapter == "oidc" || s.Adapter == "legacy" && r.Legacy != nil {
			n++
		}
	}
	return n
}

// CandidateSide is the candidate's configuration: the legacy's again in A/A mode.
func (f *File) CandidateSide() Side {
	if f.Mode == ModeAA {
		return f.Stacks.Legacy
	}
	return f.Stacks.Candidate
}
