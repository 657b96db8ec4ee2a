package analysis

import "slices"

// Gate decides the verdict from findings.
type Gate struct {
	// FailOn lists the severities that fail a run.
	FailOn []Severity `json:"fail_on"`
	// Classes override the severity of single classes and whether they fail.
	Classes map[Class]ClassRule `json:"classes,omitempty"`
}

// ClassRule overrides how one class is judged.
type ClassRule struct {
	// Severity, when set, replaces the class's severity from DOMAIN.md; FailOn
	// then applies to the new severity.
	Severity Severity `json:"severity,omitempty"`
	// Fail, when set, decides alone whether a finding of the class fails the run.
	Fail *bool `json:"fail,omitempty"`
}

// Severity returns the severity f is reported with.
func (g Gate) Severity(c Class) Severity {
	if r, ok := g.Classes[c]; ok && r.Severity != "" {
		return r.Severity
	}
	return c.Severity()
}

// Fails reports whether f fails the run.
func (g Gate) Fails(f Finding) bool {
	if r, ok := g.Classes[f.Class]; ok && r.Fail != nil {
		return *r.Fail
	}
	return slices.Contains(g.FailOn, f.Severity)
}

// Options configure an Analysis.
type Options struct {
	Compare  CompareOptions  `json:"compare"`
	Perf     PerfOptions     `json:"perf"`
	Gate     Gate            `json:"gate"`
	Causes   CauseOptions    `json:"causes"`
	Coverage CoverageOptions `json:"coverage"`
	// SharedFails counts the policy findings present on both stacks as
	// regressions (thresholds.shared: fail); by default they are reported apart.
	SharedFails bool `json:"shared_fails,omitempty"`
}

// WithDefaults returns o with every unset setting at its default, as the summary
// records them.
func (o Options) WithDefaults() Options {
	o.Compare = o.Compare.withDefaults()
	o.Perf = o.Perf.withDefaults()
	o.Causes = o.Causes.withDefaults()
	o.Coverage = o.Coverage.withDefaults()
	if o.Gate.FailOn == nil {
		o.Gate.FailOn = []Severity{}
	}
	return o
}
