package rehearsal

import (
	"fmt"
	"slices"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/cutover-dev/cutover/internal/exitcode"
	"github.com/cutover-dev/cutover/journeys"
	"github.com/cutover-dev/cutover/journeys/browser"
	"github.com/cutover-dev/cutover/loadgen"
	"github.com/cutover-dev/cutover/personas"
	"github.com/cutover-dev/cutover/results/analysis"
	"github.com/cutover-dev/cutover/results/record"
	"github.com/cutover-dev/cutover/run/config"
)

// The rehearsal file is plain data (package config); this file is the one place
// that turns it into the run's objects: the population, the schedule and the
// journey mix, the abort rule, the analysis settings, the browser sites. A run,
// a plan and a canary check build them here, once.

// Population builds the run's personas from the config: the accounts file the
// config imported, or a synthetic population from its seed.
func Population(cfg *config.File) (personas.Population, error) {
	if pop, ok := cfg.Personas.Accounts(); ok {
		return pop, nil
	}
	g := cfg.Personas.Generate
	pop, err := personas.Generate(cfg.Seed, personas.GenerateOptions{
		Count: g.Count, Mix: g.Mix, LegacySHA256Share: g.SHA256Share, UnassignedShare: g.UnassignedShare, PanelSize: g.PanelSize,
	})
	if err != nil {
		return personas.Population{}, exitcode.With(fmt.Errorf("personas: %w", err), exitcode.Usage)
	}
	return pop, nil
}

// Pacer is the journeys' schedule.
func Pacer(cfg *config.File) vegeta.Pacer { return cfg.Load.Profile.Pacer(cfg.Load.Duration) }

// mix is the journey mix: the journeys' weights, and the storm of the profile
// routed to the journey it names.
func mix(cfg *config.File) loadgen.Mix {
	weights := make([]float64, len(cfg.Journeys))
	for i, j := range cfg.Journeys {
		weights[i] = j.Weight
	}
	surge, ok := Pacer(cfg).(loadgen.Surge)
	to := slices.IndexFunc(cfg.Journeys, func(j journeys.Journey) bool { return j.Name == cfg.Load.Profile.Journey })
	if !ok || cfg.Load.Profile.Journey == "" || to < 0 {
		return loadgen.NewMix(weights, cfg.Seed, nil, 0)
	}
	return loadgen.NewMix(weights, cfg.Seed, surge, to)
}

// abortRule is the run's abort rule; nil without one.
func abortRule(cfg *config.File) *loadgen.AbortRule {
	a := cfg.Load.Abort
	if a == nil {
		return nil
	}
	return &loadgen.AbortRule{Grace: a.Grace, Window: a.Window, MaxErrorRate: a.MaxErrorRate, MaxP99: a.MaxP99, MinSamples: a.MinSamples}
}

// AnalysisOptions derives the comparison, performance, gate and grouping
// settings from the config's thresholds.
func AnalysisOptions(cfg *config.File) analysis.Options {
	t := cfg.Thresholds
	gate := analysis.Gate{FailOn: []analysis.Severity{}}
	for _, s := range t.FailOn {
		gate.FailOn = append(gate.FailOn, analysis.Severity(s))
	}
	for name, c := range t.Classes {
		if gate.Classes == nil {
			gate.Classes = map[analysis.Class]analysis.ClassRule{}
		}
		gate.Classes[analysis.Class(name)] = analysis.ClassRule{Severity: analysis.Severity(c.Severity), Fail: c.Fail}
	}
	// The limits were checked when the file was read.
	limits, _ := config.LatencyLimits(t.Latency)
	perf := analysis.PerfOptions{LatencyRatio: t.LatencyRatio, LatencyMinDelta: t.LatencyMinDelta, ErrorRateDelta: t.ErrorRateDelta, MinSamples: t.MinSamples, Seed: cfg.Seed, Limits: limits}
	for key, s := range t.Steps {
		if perf.Steps == nil {
			perf.Steps = map[string]analysis.StepTolerance{}
		}
		stepLimits, _ := config.LatencyLimits(s.Latency)
		perf.Steps[key] = analysis.StepTolerance{LatencyRatio: s.LatencyRatio, LatencyMinDelta: s.LatencyMinDelta, ErrorRateDelta: s.ErrorRateDelta, Limits: stepLimits}
	}
	cov := analysis.CoverageOptions{MinPerKind: t.Coverage.MinPerKind, Planned: plannedSteps(cfg), OneSided: cfg.Only}
	for _, c := range t.Coverage.Optional {
		cov.Optional = append(cov.Optional, analysis.Class(c))
	}
	return analysis.Options{
		Compare: analysis.CompareOptions{AA: cfg.Mode == config.ModeAA, MaxAccessTTL: t.MaxAccessTTL, TTLTolerance: t.TTLTolerance, Examples: t.Examples,
			ExpectTTL: cfg.CandidateSide().ExpectLifetime},
		Perf:        perf,
		Gate:        gate,
		Causes:      analysis.CauseOptions{CohortBy: cfg.Personas.CohortBy},
		Coverage:    cov,
		SharedFails: t.Shared == config.SharedFail,
	}
}

// plannedSteps lists the steps the configured journeys record, for every kind
// that runs them, in a stable order.
func plannedSteps(cfg *config.File) []string {
	var out []string
	for _, j := range cfg.Journeys {
		for _, k := range j.Kinds {
			for _, s := range journeys.Steps(j, k) {
				if !slices.Contains(out, s) {
					out = append(out, s)
				}
			}
		}
	}
	return out
}

// browserSites resolves how the browser meets each side; in A/A mode the
// candidate is the legacy site again.
func browserSites(cfg *config.File) (map[record.Side]browser.Site, error) {
	b := cfg.Load.Browser
	out := map[record.Side]browser.Site{}
	if cfg.Drives("legacy") {
		leg, err := cfg.BrowserSite(b.Legacy, cfg.Stacks.Legacy)
		if err != nil {
			return nil, err
		}
		out[record.Legacy] = leg
	}
	if cfg.Drives("candidate") {
		site, side := b.Candidate, cfg.Stacks.Candidate
		if cfg.Mode == config.ModeAA {
			site, side = b.Legacy, cfg.Stacks.Legacy
		}
		cand, err := cfg.BrowserSite(site, side)
		if err != nil {
			return nil, err
		}
		out[record.Candidate] = cand
	}
	return out, nil
}
