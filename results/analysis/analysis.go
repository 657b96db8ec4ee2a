// Package analysis judges records: it pairs legacy and candidate step records
// and names every disagreement by the regression classes of DOMAIN.md (their
// severities, decision rules and RFC backing), keeps HDR latency histograms per
// step and side with a timeline, tests latency and error rates for regressions
// (bootstrap intervals), folds findings into root causes and the readiness of
// each cohort, applies the gate, and compares two runs (Diff). Its product is
// the Summary, summary.json. It imports only results/record (and internal/splitmix, a hash) of this module:
// never loadgen or journeys (it knows records, not how they were produced), nor
// results/report or results (rendering and the results folder sit above it).
package analysis

import (
	"fmt"
	"strings"
	"time"

	"github.com/cutover-dev/cutover/results/record"
)

// Analysis turns a stream of records into a Summary: the pairing comparison and the
// step statistics in one pass. The live run and `cutover report` feed it the same
// way. It is not safe for concurrent use.
type Analysis struct {
	opt   Options
	cmp   *Comparer
	stats *Stats
	// table and tableIDs are the persona table (SetPersonas): the attributes
	// causes are grouped by.
	table    map[string]map[string]string
	tableIDs []string
}

// New returns an empty Analysis whose timeline starts at origin (the run's
// start; zero means the first record's).
func New(opt Options, origin time.Time) *Analysis {
	opt = opt.WithDefaults()
	return &Analysis{opt: opt, cmp: NewComparer(opt.Compare), stats: NewStats(origin)}
}

// SetPersonas gives the analysis the run's persona table (personas.json), the
// attributes findings are grouped by and the cohorts of the readiness table.
// Without one, personas are known by the kind and cohort their records carry,
// and only cohorts that ran appear.
func (a *Analysis) SetPersonas(t *record.PersonaTable) {
	a.table, a.tableIDs = map[string]map[string]string{}, nil
	if t == nil {
		return
	}
	for _, p := range t.Personas {
		// The first entry of an id wins, as in record.MergePersonas.
		if _, dup := a.table[p.ID]; !dup {
			a.tableIDs = append(a.tableIDs, p.ID)
			a.table[p.ID] = p.Attrs
		}
	}
}

// Add accounts one record.
func (a *Analysis) Add(r *record.Record) {
	a.stats.Add(r)
	a.cmp.Add(r)
}

// Stats returns the step statistics gathered so far.
func (a *Analysis) Stats() *Stats { return a.stats }

// Summary judges everything added and returns the summary with its verdict. Call it
// once, after the last Add.
func (a *Analysis) Summary(meta Meta, acct record.Accounting) Summary {
	s := Summary{Schema: SummarySchema, Meta: meta, Generator: acct, Options: a.opt, Notices: []Notice{}, Steps: []StepSummary{}}
	perf, gate := a.opt.Perf, a.opt.Gate
	s.Findings = append(a.cmp.Findings(), a.stats.PerfFindings(perf)...)
	s.Shared = a.cmp.Shared()
	if a.opt.SharedFails {
		s.Findings, s.Shared = append(s.Findings, s.Shared...), nil
	}
	for _, k := range a.stats.Keys() {
		ss := StepSummary{Journey: k.Journey, Step: k.Step,
			Legacy: sideSummary(a.stats.Side(k, record.Legacy)), Candidate: sideSummary(a.stats.Side(k, record.Candidate)),
			UnhealthyShare: a.stats.unhealthyShare(k), Timeline: a.stats.StepTimeline(k, meta.Start), Evidence: a.stats.evidence(k),
			Endpoints: a.stats.Endpoints(k)}
		if r, ok := a.stats.P50Ratio(k, perf.MinSamples, perf.Seed); ok {
			ss.Ratio = &r
		}
		if judged, why, _ := a.stats.perfJudgement(k, perf); !judged {
			ss.NotJudged = why
		}
		s.Steps = append(s.Steps, ss)
	}
	for _, fs := range [][]Finding{s.Findings, s.Shared} {
		for i := range fs {
			f := &fs[i]
			f.Severity = gate.Severity(f.Class)
			f.Fails = gate.Fails(*f)
		}
	}
	for i := range s.Shared {
		s.Shared[i].Fails = false
	}
	for _, f := range s.Findings {
		if !f.Class.Performance() {
			s.Disagreed += f.Count
		}
	}
	SortFindings(s.Findings)
	if s.Findings == nil {
		s.Findings = []Finding{}
	}
	if s.Shared == nil {
		s.Shared = []Finding{}
	}
	if len(acct.Saturated) > 0 {
		s.Notices = append(s.Notices, Notice{Class: GeneratorSaturated, Detail: saturationDetail(acct)})
	}
	if d := healthDetail(acct); d != "" {
		s.Notices = append(s.Notices, Notice{Class: GeneratorSaturated, Detail: d})
	}
	s.Preconditions = a.stats.preconditions()
	if s.Preconditions == nil {
		s.Preconditions = []Precondition{}
	}
	in := &causeInput{opt: a.opt.Causes, findings: s.Findings, cmp: a.cmp, table: a.table, tableIDs: a.tableIDs,
		stats: a.stats, perf: perf}
	s.Coverage = in.coverage(a.opt.Coverage, s.Preconditions)
	if !a.cmp.noUnits {
		s.Causes = in.causes()
		s.CohortBy = in.cohortBy()
		// An A/A run tests no candidate: there is no readiness to judge.
		if !meta.AA {
			s.Cohorts = in.cohorts(s.Causes, s.CohortBy, meta.Aborted != "", s.Coverage)
		}
		for i := range s.Causes {
			s.Causes[i].steps, s.Causes[i].personas = nil, nil
		}
	}
	s.StateApart = a.cmp.StateApart()
	for _, g := range s.StateApart {
		s.NotComparable += g.Count
	}
	consequences(s.Causes, s.StateApart)
	if s.Causes == nil {
		s.Causes = []Cause{}
	}
	if s.Cohorts == nil {
		s.Cohorts = []Cohort{}
	}
	s.Compared, s.Uncomparable = a.cmp.Compared, a.cmp.Uncomparable
	if meta.AA {
		s.NoiseFloor = &NoiseFloor{Compared: s.Compared, Disagreed: s.Disagreed}
		if s.Compared > 0 {
			s.NoiseFloor.Rate = float64(s.Disagreed) / float64(s.Compared)
		}
	}
	s.Timeline = a.stats.Timeline(meta.Start)
	s.Verdict, s.Inconclusive = verdict(&s, gate)
	return s
}

// verdict judges the run: a trustworthy failing parity finding fails it
// whatever else happened; a step that failed on every attempt (a precondition)
// makes it inconclusive before a performance finding can fail it, since an
// outage that stops every login is not "only performance"; a failing
// performance finding fails it next; a class judged too thinly, or a latency
// verdict resting on an unhealthy generator, makes it inconclusive; else it
// passes.
func verdict(s *Summary, g Gate) (string, []string) {
	// A journey whose sign-ins the legacy stack refused throughout compared
	// nothing: legacy is the reference, and the harness could not sign in to
	// it. Its parity findings do not fail the run; the precondition says why.
	// Keyed by journey and persona kind: the other kinds of the journey were
	// compared.
	unreferenced := map[[2]string]bool{}
	for _, p := range s.Preconditions {
		if p.Refused && p.Side == record.Legacy {
			unreferenced[[2]string{p.Journey, p.Kind}] = true
		}
	}
	var parity, perf bool
	for _, f := range s.Failing(g) {
		switch {
		case f.Class.Performance():
			perf = true
		case !unreferenced[[2]string{f.Journey, f.PersonaKind}]:
			parity = true
		}
	}
	var why []string
	for _, p := range s.Preconditions {
		why = append(why, "precondition: "+p.Text())
	}
	preconds := len(why) > 0
	for _, c := range s.Coverage {
		if c.Blocking() {
			why = append(why, fmt.Sprintf("%s %s", c.Class, c.Text()))
		}
	}
	switch {
	case s.Meta.Aborted != "":
		return VerdictAborted, nil
	case parity:
		return VerdictFail, why
	case preconds:
		return VerdictInconclusive, why
	case perf:
		return VerdictFail, why
	case len(why) > 0:
		return VerdictInconclusive, why
	}
	return VerdictPass, nil
}

// healthDetail says where the generator was unhealthy, from the monitor's
// windows; "" when it never was.
func healthDetail(acct record.Accounting) string {
	if len(acct.Unhealthy) == 0 {
		return ""
	}
	ws := make([]string, 0, len(acct.Unhealthy))
	for i, w := range acct.Unhealthy {
		if i == 5 {
			ws = append(ws, fmt.Sprintf("and %d more", len(acct.Unhealthy)-5))
			break
		}
		ws = append(ws, w.String())
	}
	return fmt.Sprintf("the generator itself was unhealthy in %s: steps measured then are set apart from the latency and error-rate verdicts", strings.Join(ws, ", "))
}

// saturationDetail says where the generator fell behind and what it means.
func saturationDetail(acct record.Accounting) string {
	ws := make([]string, len(acct.Saturated))
	for i, w := range acct.Saturated {
		ws[i] = w.String()
	}
	return fmt.Sprintf("the generator could not keep the schedule in %s (late %d, dropped %d): late journeys are timed from their intended start, so the queueing shows as latency on both sides",
		strings.Join(ws, ", "), acct.Late, acct.Dropped)
}
