package config

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cutover-dev/cutover/journeys"
	"github.com/cutover-dev/cutover/results/analysis"
	"github.com/cutover-dev/cutover/results/record"
)

// Thresholds turn findings into a verdict.
type Thresholds struct {
	// FailOn lists the severities that fail the run.
	FailOn []string `yaml:"fail_on"`
	// LatencyRatio: candidate p50 over legacy p50 whose 95% lower bound fails.
	LatencyRatio float64 `yaml:"latency_ratio"`
	// LatencyMinDelta is the smallest p50 slow-down that can be a regression.
	LatencyMinDelta time.Duration `yaml:"latency_min_delta"`
	// ErrorRateDelta is how many points candidate's error rate may exceed legacy's.
	ErrorRateDelta float64 `yaml:"error_rate_delta"`
	// Latency lists absolute limits on percentiles of every step's candidate
	// latency, as service-level objectives are written: ["p95 < 300ms",
	// "p99 < 1s"] (also p(95)<300ms, med, max). Judged beside the comparison
	// with legacy; a breach is LATENCY_REGRESSION.
	Latency []string `yaml:"latency"`
	// MaxAccessTTL is the policy ceiling on access and service token lifetimes.
	MaxAccessTTL time.Duration `yaml:"max_access_ttl"`
	// TTLTolerance, when set, also flags a candidate lifetime that differs from
	// legacy's by more than this fraction.
	TTLTolerance float64 `yaml:"ttl_tolerance"`
	// MinSamples per side before a latency verdict is given (default 30).
	MinSamples int64 `yaml:"min_samples"`
	// Examples is how many examples each finding keeps (default 5).
	Examples int `yaml:"examples"`
	// Classes override single classes, keyed by class name.
	Classes map[string]ClassThreshold `yaml:"classes"`
	// Steps override the performance tolerances of single steps, keyed by
	// "journey/step".
	Steps map[string]StepThreshold `yaml:"steps"`
	// Coverage is how much of each class a run must judge before it may pass;
	// less makes it inconclusive.
	Coverage Coverage `yaml:"coverage"`
	// Shared is what a one-sided policy finding legacy shows too does: "report"
	// (the default: listed as present on both stacks, not failing) or "fail".
	Shared string `yaml:"shared"`
}

// Coverage is the floor of what a run must judge.
type Coverage struct {
	// MinPerKind is how many personas of every kind that ran a class's steps
	// must have been judged for it (default 1).
	MinPerKind int `yaml:"min_per_kind"`
	// Optional lists classes whose gaps are reported without making the run
	// inconclusive (a break-glass time box the run does not wait for, say).
	Optional []string `yaml:"optional"`
}

// What thresholds.shared may say.
const (
	SharedReport = "report"
	SharedFail   = "fail"
)

// ClassThreshold overrides how one class is judged.
type ClassThreshold struct {
	// Severity replaces the class's severity; fail_on applies to the new one.
	Severity string `yaml:"severity"`
	// Fail, when set, decides alone whether the class fails the run.
	Fail *bool `yaml:"fail"`
}

// StepThreshold overrides the performance tolerances of one step.
type StepThreshold struct {
	LatencyRatio    float64       `yaml:"latency_ratio"`
	LatencyMinDelta time.Duration `yaml:"latency_min_delta"`
	ErrorRateDelta  float64       `yaml:"error_rate_delta"`
	// Latency replaces the run's absolute limits for this step.
	Latency []string `yaml:"latency"`
}

// LatencyLimits parses limits written as in thresholds.latency.
func LatencyLimits(list []string) ([]analysis.LatencyLimit, error) {
	if list == nil {
		return nil, nil
	}
	out := make([]analysis.LatencyLimit, 0, len(list))
	for _, s := range list {
		l, err := analysis.ParseLatencyLimit(s)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, nil
}

func checkLimits(p *problems, path []string, list []string) {
	for i, s := range list {
		if _, err := analysis.ParseLatencyLimit(s); err != nil {
			p.add(append(slices.Clone(path), strconv.Itoa(i)), "%v", err)
		}
	}
}

var severityNames = []string{"critical", "high", "medium", "low"}

func (f *File) validateThresholds(p *problems) {
	t := f.Thresholds
	at := func(k ...string) []string { return append([]string{"thresholds"}, k...) }
	for i, s := range t.FailOn {
		if !slices.Contains(severityNames, s) {
			p.add(at("fail_on", strconv.Itoa(i)), "%q is not a severity (critical, high, medium, low)", s)
		}
	}
	f.checkRatio(p, at("latency_ratio"), t.LatencyRatio)
	f.checkRate(p, at("error_rate_delta"), t.ErrorRateDelta)
	if t.LatencyMinDelta < 0 {
		p.add(at("latency_min_delta"), "is %s; want >= 0", t.LatencyMinDelta)
	}
	checkLimits(p, at("latency"), t.Latency)
	if t.TTLTolerance < 0 {
		p.add(at("ttl_tolerance"), "is %v; want >= 0", t.TTLTolerance)
	}
	if t.MinSamples < 0 {
		p.add(at("min_samples"), "is %d; want >= 0", t.MinSamples)
	}
	if t.Examples < 0 {
		p.add(at("examples"), "is %d; want >= 0", t.Examples)
	}
	for _, name := range sortedKeys(t.Classes) {
		c := analysis.Class(name)
		if !slices.Contains(analysis.Classes, c) || c.Severity() == analysis.Info {
			p.add(at("classes", name), "%q is not a regression class of DOMAIN.md", name)
		}
		if s := t.Classes[name].Severity; s != "" && !slices.Contains(severityNames, s) {
			p.add(at("classes", name, "severity"), "%q is not a severity (critical, high, medium, low)", s)
		}
	}
	if t.Coverage.MinPerKind < 0 {
		p.add(at("coverage", "min_per_kind"), "is %d; want >= 1", t.Coverage.MinPerKind)
	}
	for i, name := range t.Coverage.Optional {
		if c := analysis.Class(name); !slices.Contains(analysis.Classes, c) || c.Severity() == analysis.Info {
			p.add(at("coverage", "optional", strconv.Itoa(i)), "%q is not a regression class of DOMAIN.md", name)
		}
	}
	if t.Shared != "" && t.Shared != SharedReport && t.Shared != SharedFail {
		p.add(at("shared"), "is %q; want %s or %s", t.Shared, SharedReport, SharedFail)
	}
	for _, key := range sortedKeys(t.Steps) {
		j, step, ok := strings.Cut(key, "/")
		switch {
		case !ok:
			p.add(at("steps", key), "want journey/step, e.g. session/login")
		case !slices.ContainsFunc(f.Journeys, func(x journeys.Journey) bool { return x.Name == j }):
			p.add(at("steps", key), "no journey named %q", j)
		case !slices.Contains(record.StepNames, step):
			p.add(at("steps", key), "%q is not a step (%s)", step, strings.Join(record.StepNames, ", "))
		}
		st := t.Steps[key]
		f.checkRatio(p, at("steps", key, "latency_ratio"), st.LatencyRatio)
		f.checkRate(p, at("steps", key, "error_rate_delta"), st.ErrorRateDelta)
		if st.LatencyMinDelta < 0 {
			p.add(at("steps", key, "latency_min_delta"), "is %s; want >= 0", st.LatencyMinDelta)
		}
		checkLimits(p, at("steps", key, "latency"), st.Latency)
	}
}

func (f *File) checkRatio(p *problems, path []string, v float64) {
	if v != 0 && v <= 1 {
		p.add(path, "is %v; want > 1", v)
	}
}

func (f *File) checkRate(p *problems, path []string, v float64) {
	if v < 0 || v >= 1 {
		p.add(path, "is %v; want in [0, 1)", v)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// AnalysisOptions turns the thresholds (and the run's mode and seed) into the
