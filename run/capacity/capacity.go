// Package capacity searches how much load each stack takes before it breaks
// its service level: the rate is raised step by step, each step a short
// one-sided run of one stack at a constant rate, judged against the
// rehearsal file's absolute latency limits and an error-rate ceiling. The
// generator's own health gates every step: a step where the harness, not the
// stack, could not keep up ends the search as harness-bound, never as the
// stack's limit.
package capacity

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/cutover-dev/cutover/personas"
	"github.com/cutover-dev/cutover/results/analysis"
	"github.com/cutover-dev/cutover/results/record"
	"github.com/cutover-dev/cutover/run/config"
	"github.com/cutover-dev/cutover/run/rehearsal"
)

// Options shape a search.
type Options struct {
	// Sides to search, legacy and candidate by default.
	Sides []string
	// Start is the first rate (journeys/s); each next step multiplies it by
	// Factor (1.5) until Max (the file's load.max_rate).
	Start, Factor, Max float64
	// Step is how long each step runs (20s).
	Step time.Duration
	// MaxErrorRate is the share of a step's answers that may be errors on
	// any step of the journeys (0.01).
	MaxErrorRate float64
	// Out is the folder; each step's results go to OUT/SIDE/RATE.
	Out string
	// Log receives a line per step.
	Log     io.Writer
	Version string
}

func (o Options) withDefaults(cfg *config.File) Options {
	if len(o.Sides) == 0 {
		o.Sides = []string{"legacy", "candidate"}
	}
	if o.Factor <= 1 {
		o.Factor = 1.5
	}
	if o.Max <= 0 {
		o.Max = cfg.Load.MaxRate
	}
	if o.Start <= 0 {
		o.Start = max(1, o.Max/16)
	}
	if o.Step <= 0 {
		o.Step = 20 * time.Second
	}
	if o.MaxErrorRate <= 0 {
		o.MaxErrorRate = 0.01
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	return o
}

// Step outcomes.
const (
	Passed = "passed"
	// Broken: the stack broke its service level at this rate.
	Broken = "broken"
	// HarnessBound: the generator could not keep the schedule; the stack's
	// limit is above what this machine could drive.
	HarnessBound = "harness-bound"
	// Aborted: the run's abort rule or an interrupt stopped the step.
	Aborted = "aborted"
)

// StepResult is one rate tried on one stack.
type StepResult struct {
	Rate float64 `json:"rate"`
	// Achieved is the journeys started per second.
	Achieved float64 `json:"achieved"`
	Outcome  string  `json:"outcome"`
	// Why names what broke (the step, the limit or the error rate) or why the
	// harness was the bottleneck.
	Why string `json:"why,omitempty"`
	// P95 is the slowest step's p95 latency (ms) and ErrorRate the highest
	// step error rate, for the plot.
	P95       float64 `json:"p95_ms"`
	Slowest   string  `json:"slowest"`
	ErrorRate float64 `json:"error_rate"`
	Dir       string  `json:"dir"`
}

// SideResult is the search on one stack.
type SideResult struct {
	Side  string       `json:"side"`
	Steps []StepResult `json:"steps"`
	// Highest is the highest rate passed (0: none).
	Highest float64 `json:"highest_passing_rate"`
	// BrokeAt and Broke name the first step that did not pass, and why.
	BrokeAt float64 `json:"broke_at,omitempty"`
	Broke   string  `json:"broke,omitempty"`
	Outcome string  `json:"outcome"` // of the last step: broken, harness-bound, aborted, or passed (the search reached Max)
}

// Result is a whole search.
type Result struct {
	Name  string       `json:"name"`
	Sides []SideResult `json:"sides"`
	// Ratio is the candidate's highest passing rate over legacy's, when both
	// broke on their own (not harness-bound) or reached Max.
	Ratio float64 `json:"ratio,omitempty"`
	// Limits are the service level each step was judged against.
	Limits       []string `json:"limits"`
	MaxErrorRate float64  `json:"max_error_rate"`
}

// Run searches each side in turn.
func Run(ctx context.Context, cfg *config.File, o Options) (*Result, error) {
	o = o.withDefaults(cfg)
	pop, err := rehearsal.Population(cfg)
	if err != nil {
		return nil, err
	}
	res := &Result{Name: cfg.Name, MaxErrorRate: o.MaxErrorRate, Limits: limitsOf(cfg)}
	if len(res.Limits) == 0 {
		return nil, errors.New("capacity: the file sets no absolute latency limit (thresholds.latency, such as [\"p95 < 300ms\"]): a step could only break on errors")
	}
	for _, side := range o.Sides {
		sr, err := search(ctx, cfg, pop, side, o)
		res.Sides = append(res.Sides, sr)
		if err != nil {
			return res, err
		}
	}
	res.Ratio = ratio(res.Sides)
	return res, nil
}

// limitsOf lists the limits the steps are judged against, as written.
func limitsOf(cfg *config.File) []string {
	out := slices.Clone(cfg.Thresholds.Latency)
	for _, key := range slices.Sorted(maps.Keys(cfg.Thresholds.Steps)) {
		for _, l := range cfg.Thresholds.Steps[key].Latency {
			out = append(out, key+": "+l)
		}
	}
	return out
}

// search raises the rate on one side until a step does not pass.
func search(ctx context.Context, cfg *config.File, pop personas.Population, side string, o Options) (SideResult, error) {
	sr := SideResult{Side: side, Outcome: Passed}
	for rate := o.Start; rate <= o.Max*1.0001; rate *= o.Factor {
		if ctx.Err() != nil {
			sr.Outcome = Aborted
			return sr, ctx.Err()
		}
		st, err := step(ctx, cfg, pop, side, rate, o)
		if err != nil {
			return sr, fmt.Errorf("capacity: %s at %.4g/s: %w", side, rate, err)
		}
		sr.Steps = append(sr.Steps, st)
		fmt.Fprintf(o.Log, "cutover capacity: %s %7.4g/s: %s (achieved %.4g/s, slowest p95 %.0fms %s, errors %.2f%%) %s\n",
			side, rate, st.Outcome, st.Achieved, st.P95, st.Slowest, 100*st.ErrorRate, st.Why)
		if st.Outcome != Passed {
			sr.Outcome, sr.BrokeAt, sr.Broke = st.Outcome, rate, st.Why
			return sr, nil
		}
		sr.Highest = rate
	}
	return sr, nil
}

// step runs one rate on one side and judges it.
func step(ctx context.Context, cfg *config.File, pop personas.Population, side string, rate float64, o Options) (StepResult, error) {
	c := *cfg
	c.Only = side
	c.Load.Profile = config.Profile{Type: config.ProfileConstant, Rate: rate}
	c.Load.Duration = o.Step
	c.Load.Raw = nil
	c.Load.Browser = nil
	if err := c.Validate(); err != nil {
		return StepResult{}, err
	}
	dir := filepath.Join(o.Out, side, fmt.Sprintf("%06.1f", rate))
	sum, err := rehearsal.Run(ctx, &c, rehearsal.Options{Out: dir, Population: &pop, Version: o.Version})
	if sum == nil {
		return StepResult{}, err
	}
	st := judge(sum, side, rate, o)
	st.Dir = dir
	return st, nil
}

// judge says whether a step passed: on schedule, within the limits and the
// error ceiling, on a healthy generator.
func judge(sum *analysis.Summary, side string, rate float64, o Options) StepResult {
	st := StepResult{Rate: rate, Outcome: Passed}
	if d := sum.Meta.Duration.Seconds(); d > 0 {
		st.Achieved = float64(sum.Generator.Started) / min(d, o.Step.Seconds())
	}
	for _, s := range sum.Steps {
		ss := s.Candidate
		if side == "legacy" {
			ss = s.Legacy
		}
		if ss.Count == 0 {
			continue
		}
		if ss.P95 > st.P95 {
			st.P95, st.Slowest = ss.P95, s.Journey+"/"+s.Step
		}
		st.ErrorRate = max(st.ErrorRate, ss.ErrorRate())
	}
	g := sum.Generator
	switch {
	case sum.Meta.Aborted != "":
		st.Outcome, st.Why = Aborted, sum.Meta.Aborted
	case len(g.Shortfall) > 0:
		st.Outcome, st.Why = HarnessBound, fmt.Sprintf("the population is too small for %.4g journeys/s: %d starts found no idle persona", rate, shortfall(g.Shortfall))
	case len(g.Saturated) > 0 || g.Dropped > 0:
		st.Outcome, st.Why = HarnessBound, fmt.Sprintf("the generator could not keep the schedule (%d starts dropped, %d saturated windows): this machine, not the stack, was the bottleneck", g.Dropped, len(g.Saturated))
	case latencyUnjudged(sum):
		// The latency verdicts rest on the answers measured while the
		// generator was healthy: a hiccup sets a few apart, a starved
		// generator too many to judge.
		st.Outcome, st.Why = HarnessBound, fmt.Sprintf("the generator was unhealthy in %d windows, too long to judge latency on the answers left: this machine, not the stack, was the bottleneck", len(g.Unhealthy))
	}
	if st.Outcome != Passed {
		return st
	}
	var broke []string
	brokenSteps := map[string]bool{}
	for _, f := range sum.Findings {
		if f.Class == analysis.LatencyRegression && strings.Contains(f.Detail, "> limit") {
			broke = append(broke, f.Journey+"/"+f.Step+" "+f.Detail[strings.Index(f.Detail, "over the absolute limits: ")+len("over the absolute limits: "):])
			brokenSteps[f.Journey+"/"+f.Step] = true
		}
	}
	for _, s := range sum.Steps {
		ss := s.Candidate
		if side == "legacy" {
			ss = s.Legacy
		}
		if ss.Count > 0 && ss.ErrorRate() > o.MaxErrorRate {
			broke = append(broke, fmt.Sprintf("%s/%s errors %.1f%% > %.1f%%", s.Journey, s.Step, 100*ss.ErrorRate(), 100*o.MaxErrorRate))
			brokenSteps[s.Journey+"/"+s.Step] = true
		}
	}
	if len(broke) > 0 {
		st.Outcome, st.Why = Broken, strings.Join(broke, "; ")
		if e := sharedEndpoint(sum, brokenSteps); e != "" {
			st.Why = e + " first: " + st.Why
		}
	}
	return st
}

// sharedEndpoint names the request every broken step makes ("POST /token"),
// the first in call order when there are several, or "" when they share
// none (the endpoints are the candidate's: a one-sided legacy run has none).
func sharedEndpoint(sum *analysis.Summary, broken map[string]bool) string {
	var shared []string
	first := true
	for _, s := range sum.Steps {
		if !broken[s.Journey+"/"+s.Step] {
			continue
		}
		if first {
			shared, first = slices.Clone(s.Endpoints), false
			continue
		}
		shared = slices.DeleteFunc(shared, func(e string) bool { return !slices.Contains(s.Endpoints, e) })
	}
	if len(shared) == 0 {
		return ""
	}
	return shared[0]
}

func shortfall(s []record.Shortfall) int64 {
	var n int64
	for _, x := range s {
		n += x.Dropped
	}
	return n
}

// ratio is the candidate's highest passing rate over legacy's, when neither
// search was cut short by the harness (its figure would be a floor, not a
// capacity).
func ratio(sides []SideResult) float64 {
	var leg, cand *SideResult
	for i := range sides {
		switch sides[i].Side {
		case "legacy":
			leg = &sides[i]
		case "candidate":
			cand = &sides[i]
		}
	}
	if leg == nil || cand == nil || leg.Highest == 0 || leg.Outcome == HarnessBound || cand.Outcome == HarnessBound || leg.Outcome == Aborted || cand.Outcome == Aborted {
		return 0
	}
	return cand.Highest / leg.Highest
}

// latencyUnjudged reports whether the latency verdicts of a step's run lost
// too many answers to an unhealthy generator to be given.
func latencyUnjudged(sum *analysis.Summary) bool {
	for _, c := range sum.Coverage {
		if c.Class == analysis.LatencyRegression && c.Blocking() {
			return true
		}
	}
	return false
}
