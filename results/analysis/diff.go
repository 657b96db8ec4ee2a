package analysis

import (
	"sort"

	"github.com/cutover-dev/cutover/results/record"
)

// DiffFinding is a finding as it stands in two runs: the baseline (A) and the run
// compared to it (B). A count of 0 means absent from that run.
type DiffFinding struct {
	Class       Class    `json:"class"`
	Severity    Severity `json:"severity"`
	Journey     string   `json:"journey"`
	Step        string   `json:"step"`
	PersonaKind string   `json:"persona_kind"`
	Check       string   `json:"check,omitempty"`
	CountA      int      `json:"count_a"`
	CountB      int      `json:"count_b"`
	// Fails reports whether the finding fails run B (or A, for a fixed one).
	Fails bool `json:"fails"`
	// Example is B's first example (A's for a fixed finding), or its detail.
	Example string `json:"example"`
}

// StepDelta is the latency of one step in both runs.
type StepDelta struct {
	Journey string `json:"journey"`
	Step    string `json:"step"`
	// A and B are the candidate side, LegacyA and LegacyB the legacy side.
	A, B             SideSummary
	LegacyA, LegacyB SideSummary
	// Ratio is B's candidate p50 over A's with a bootstrap 95% interval, when both
	// runs' histograms are at hand and hold enough samples.
	Ratio *Ratio `json:"p50_ratio,omitempty"`
}

// DiffCause is a root cause as it stands in two runs, matched by its key.
type DiffCause struct {
	Key string `json:"key"`
	// IDA and IDB are the cause's ids in each run; empty where it is absent.
	IDA, IDB string
	// Title is B's (A's for a fixed cause).
	Title    string
	Severity Severity
	// Fails reports whether the cause fails run B (or A, for a fixed one).
	Fails bool
	// ClassesA and ClassesB list its classes in each run, UnitsA and UnitsB the
	// personas or steps it explains.
	ClassesA, ClassesB []string
	UnitsA, UnitsB     int
}

// DiffCohort is a cohort's readiness in both runs; a status is empty where the
// run has no such cohort.
type DiffCohort struct {
	Name               string
	StatusA, StatusB   string
	BlockedA, BlockedB []string
}

// Diff compares two runs: which causes and findings are new in B, fixed since
// A, or persisting, how each cohort's readiness changed, and how each step's
// latency moved.
type Diff struct {
	A, B                                     Meta
	VerdictA, VerdictB                       string
	NewCauses, FixedCauses, PersistingCauses []DiffCause
	Cohorts                                  []DiffCohort
	CohortByA, CohortByB                     string
	// NoCausesA is set when the baseline predates root causes (a v1 summary).
	NoCausesA              bool
	New, Fixed, Persisting []DiffFinding
	Steps                  []StepDelta
	OnlyInA, OnlyInB       []string
	NoHistograms           bool
}

// NewDiff compares summary b with the baseline a. ha and hb, the runs'
// histograms, may be nil; with both, each step's candidate p50 change gets a
// bootstrap interval.
func NewDiff(a, b *Summary, ha, hb *Stats) Diff {
	d := Diff{A: a.Meta, B: b.Meta, VerdictA: a.Verdict, VerdictB: b.Verdict, NoHistograms: ha == nil || hb == nil,
		CohortByA: a.CohortBy, CohortByB: b.CohortBy, NoCausesA: a.Schema == SummarySchemaV1}
	d.diffCauses(a, b)
	key := func(f Finding) findingKey { return findingKey{f.Class, f.Journey, f.Step, f.PersonaKind, f.Check} }
	inA := map[findingKey]Finding{}
	for _, f := range a.Findings {
		inA[key(f)] = f
	}
	inB := map[findingKey]bool{}
	for _, f := range b.Findings {
		inB[key(f)] = true
		df := DiffFinding{Class: f.Class, Severity: f.Severity, Journey: f.Journey, Step: f.Step, PersonaKind: f.PersonaKind, Check: f.Check, CountB: f.Count, Fails: f.Fails, Example: f.ExampleText()}
		if fa, ok := inA[key(f)]; ok {
			df.CountA = fa.Count
			d.Persisting = append(d.Persisting, df)
		} else {
			d.New = append(d.New, df)
		}
	}
	for _, f := range a.Findings {
		if !inB[key(f)] {
			d.Fixed = append(d.Fixed, DiffFinding{Class: f.Class, Severity: f.Severity, Journey: f.Journey, Step: f.Step, PersonaKind: f.PersonaKind, Check: f.Check, CountA: f.Count, Fails: f.Fails, Example: f.ExampleText()})
		}
	}
	stepsA := map[StepKey]StepSummary{}
	for _, st := range a.Steps {
		stepsA[StepKey{st.Journey, st.Step}] = st
	}
	minSamples := b.Options.Perf.withDefaults().MinSamples
	seen := map[StepKey]bool{}
	for _, sb := range b.Steps {
		k := StepKey{sb.Journey, sb.Step}
		seen[k] = true
		sa, ok := stepsA[k]
		if !ok {
			d.OnlyInB = append(d.OnlyInB, k.String())
			continue
		}
		sd := StepDelta{Journey: k.Journey, Step: k.Step, A: sa.Candidate, B: sb.Candidate, LegacyA: sa.Legacy, LegacyB: sb.Legacy}
		if !d.NoHistograms {
			ca, cb := ha.Side(k, record.Candidate), hb.Side(k, record.Candidate)
			if ca != nil && cb != nil && ca.Hist.TotalCount() >= minSamples && cb.Hist.TotalCount() >= minSamples {
				r := ratioCI(cb.Hist, ca.Hist, b.Meta.Seed^stepSeed(k))
				sd.Ratio = &r
			}
		}
		d.Steps = append(d.Steps, sd)
	}
	for _, sa := range a.Steps {
		if k := (StepKey{sa.Journey, sa.Step}); !seen[k] {
			d.OnlyInA = append(d.OnlyInA, k.String())
		}
	}
	SortDiffFindings(d.New)
	SortDiffFindings(d.Fixed)
	SortDiffFindings(d.Persisting)
	return d
}

// diffCauses matches the causes of a and b by key, and their cohorts by name.
func (d *Diff) diffCauses(a, b *Summary) {
	inA := map[string]Cause{}
	for _, c := range a.Causes {
		inA[c.Key] = c
	}
	inB := map[string]bool{}
	for _, c := range b.Causes {
		inB[c.Key] = true
		dc := DiffCause{Key: c.Key, IDB: c.ID, Title: c.Title, Severity: c.Severity, Fails: c.Fails, ClassesB: c.ClassNames(), UnitsB: c.Units}
		if ca, ok := inA[c.Key]; ok {
			dc.IDA, dc.ClassesA, dc.UnitsA = ca.ID, ca.ClassNames(), ca.Units
			d.PersistingCauses = append(d.PersistingCauses, dc)
		} else {
			d.NewCauses = append(d.NewCauses, dc)
		}
	}
	for _, c := range a.Causes {
		if !inB[c.Key] {
			d.FixedCauses = append(d.FixedCauses, DiffCause{Key: c.Key, IDA: c.ID, Title: c.Title, Severity: c.Severity, Fails: c.Fails, ClassesA: c.ClassNames(), UnitsA: c.Units})
		}
	}
	cohorts := map[string]*DiffCohort{}
	var names []string
	get := func(n string) *DiffCohort {
		if cohorts[n] == nil {
			cohorts[n] = &DiffCohort{Name: n}
			names = append(names, n)
		}
		return cohorts[n]
	}
	if a.CohortBy == b.CohortBy {
		for _, c := range a.Cohorts {
			x := get(c.Name)
			x.StatusA, x.BlockedA = c.Status, c.BlockedBy
		}
	}
	for _, c := range b.Cohorts {
		x := get(c.Name)
		x.StatusB, x.BlockedB = c.Status, c.BlockedBy
	}
	sort.Strings(names)
	for _, n := range names {
		d.Cohorts = append(d.Cohorts, *cohorts[n])
	}
}

// SortDiffFindings orders diff findings as SortFindings orders findings.
func SortDiffFindings(fs []DiffFinding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		return findingLess(a.Severity, b.Severity, findingKey{a.Class, a.Journey, a.Step, a.PersonaKind, a.Check}, findingKey{b.Class, b.Journey, b.Step, b.PersonaKind, b.Check})
	})
}

// NewFailing returns the new findings that fail run B.
func (d Diff) NewFailing() []DiffFinding {
	var out []DiffFinding
	for _, f := range d.New {
		if f.Fails {
			out = append(out, f)
		}
	}
	return out
}
