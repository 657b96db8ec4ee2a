package shadow

import (
	"fmt"
	"time"

	"github.com/cutover-dev/cutover/results/analysis"
	"github.com/cutover-dev/cutover/results/record"
)

// Journey is the journey name of a shadow run's records; their step is
// record.StepProbe, their target "ACTION TYPE:ID".
const Journey = "shadow"

// Caps on what a window counts per distinct value, so that a log of unbounded
// variety (a resource type per line) cannot grow it without bound: past a cap
// new values are counted together as capped, and a subject's new questions
// join its unit of no action and resource type.
const (
	maxScopes = 50_000
	maxSeen   = 10_000
	maxUnits  = 200_000
)

// Unit attributes: what a unit asks, beside its subject's attributes, so that
// root causes may name an action or a resource type (resource_type=notes for
// everyone, or kind=billing-clerk and resource_type=users).
const (
	AttrAction       = "action"
	AttrResourceType = "resource_type"
)

// scopeKey counts the lines of one action on one resource type: all of them
// (name and value empty), or those of subjects of one role (name kind).
type scopeKey struct{ action, typ, name, value string }

// unitKey is a unit of the analysis: one subject asking one action on one
// resource type. The analysis judges units as it judges a rehearsal's
// personas, so a unit's attributes are its subject's, its action and its
// resource type, all of them factors a root cause may name.
type unitKey struct{ subject, action, typ string }

// unit is one unit and what happened to its lines; action and typ are empty
// for the unit past maxUnits that holds the rest of a subject's questions.
type unit struct {
	unitKey
	id string
	tally
}

// tally is what happened to a set of lines.
type tally struct{ Compared, Over, Under, Errors int64 }

// window is the part of the log judged together: the whole log, or one
// window of a followed one.
type window struct {
	e     *engine
	start time.Time
	a     *analysis.Analysis
	rep   Report
	// subjects holds each subject's attributes as its first line gave them;
	// units the units, in first-seen order (the persona table).
	subjects map[string]map[string]string
	units    map[unitKey]*unit
	order    []*unit
	scopes   map[scopeKey]*tally
	capped   int64
	seen     [3]map[string]int64 // roles, resource types, actions
	ambig    map[string]*Reason
	distinct *distinct
	// requests and evaluations are the PDP's counters when the window began.
	requests, evaluations, pdpErrors int64
	leg, cand                        record.Record
	// tab is the persona table the window was judged with.
	tab record.PersonaTable
}

func newWindow(e *engine, start time.Time) *window {
	f := e.f
	opt := analysis.Options{
		Gate:     analysis.Gate{FailOn: f.Thresholds.FailOn},
		Causes:   analysis.CauseOptions{CohortBy: f.CohortBy, Unit: "entitlement"},
		Coverage: analysis.CoverageOptions{MinPerKind: f.Thresholds.MinPerKind, Planned: []string{record.StepProbe}},
	}
	w := &window{e: e, start: start, a: analysis.New(opt, start), subjects: map[string]map[string]string{}, units: map[unitKey]*unit{},
		scopes: map[scopeKey]*tally{}, ambig: map[string]*Reason{}, distinct: newDistinct(),
		requests: e.pdp.requests.Load(), evaluations: e.pdp.evaluations.Load(), pdpErrors: e.pdp.errors.Load()}
	for i := range w.seen {
		w.seen[i] = map[string]int64{}
	}
	host := []string{e.pdp.host}
	endpoint := []string{e.pdp.endpoint}
	w.leg = record.Record{Side: record.Legacy, Journey: Journey, Step: record.StepProbe, Start: start, Intended: start, Outcome: record.OK}
	w.cand = record.Record{Side: record.Candidate, Journey: Journey, Step: record.StepProbe, Start: start, Intended: start,
		Endpoints: endpoint, Hosts: host}
	return w
}

// account counts one line and, for a compared one, feeds its two records to
// the analysis: the legacy's decision and the candidate's verdict v (cached
// when a cache entry gave it).
func (w *window) account(x *entry, k qkey, v verdict, cached bool) {
	r := &w.rep
	r.Lines++
	if m := w.e.opt.Metrics; m != nil && (x.skipped || x.why != "") {
		m.notCompared(x.skipped)
	}
	switch {
	case x.skipped:
		r.Skipped++
		return
	case x.why != "":
		r.Ambiguous++
		a := w.ambig[x.why]
		if a == nil {
			a = &Reason{Reason: x.why}
			w.ambig[x.why] = a
		}
		a.Count++
		if len(a.Lines) < 3 {
			a.Lines = append(a.Lines, x.n)
		}
		return
	}
	r.Compared++
	if cached {
		r.CacheHits++
	}
	w.distinct.add(k)
	q := &x.q
	// A subject with no role (and no kind from the accounts file) is known
	// by its subject type when that says more than "user".
	kind := x.kind
	switch {
	case kind != "":
	case q.subjectType != "" && q.subjectType != "user":
		kind = q.subjectType
	default:
		kind = defaultRoleName
	}
	attrs, seen := w.subjects[q.subject]
	if !seen {
		attrs = map[string]string{record.AttrKind: kind}
		for _, a := range q.attrs {
			attrs[a.k] = a.v
		}
		for _, a := range x.extra {
			attrs[a.k] = a.v
		}
		w.subjects[q.subject] = attrs
	}
	u := w.unitOf(q)
	target := q.action + " " + q.typ + ":" + q.id
	leg, cand := &w.leg, &w.cand
	leg.Persona, leg.Kind, leg.Cohort, leg.Iteration, leg.Target = u.id, kind, attrs[w.e.f.CohortBy], x.n, target
	leg.Facts = record.Facts{Decision: x.decision}
	cand.Persona, cand.Kind, cand.Cohort, cand.Iteration, cand.Target = u.id, kind, leg.Cohort, x.n, target
	cand.Facts, cand.Error, cand.Outcome = record.Facts{Status: v.status}, "", record.OK
	t := tally{Compared: 1}
	switch {
	case v.err != nil:
		cand.Outcome, cand.Error = record.Error, v.err.Error()
		t.Errors = 1
		r.PDPErrors++
	case v.allow:
		cand.Facts.Decision = record.Allow
	default:
		cand.Facts.Decision = record.Deny
	}
	if v.err == nil {
		switch {
		case cand.Facts.Decision == x.decision:
			r.Agreed++
		case v.allow:
			t.Over = 1
			r.Over++
		default:
			t.Under = 1
			r.Under++
		}
	}
	w.a.Add(leg)
	w.a.Add(cand)
	u.add(t)
	w.count(scopeKey{action: q.action, typ: q.typ}, t)
	w.count(scopeKey{q.action, q.typ, record.AttrKind, kind}, t)
	for _, role := range q.roles {
		w.see(0, role)
	}
	if len(q.roles) == 0 {
		w.see(0, kind)
	}
	w.see(1, q.typ)
	w.see(2, q.action)
	if m := w.e.opt.Metrics; m != nil {
		m.line(t, v.err != nil)
	}
}

// unitOf returns the unit of q's subject, action and resource type,
// creating it: past maxUnits, the subject's unit of no action and resource
// type (its line attributions counted as capped).
func (w *window) unitOf(q *question) *unit {
	k := unitKey{q.subject, q.action, q.typ}
	if u := w.units[k]; u != nil {
		return u
	}
	id := q.subject + " [" + q.action + " " + q.typ + "]"
	if len(w.units) >= maxUnits {
		w.capped++
		k, id = unitKey{subject: q.subject}, q.subject
		if u := w.units[k]; u != nil {
			return u
		}
	}
	u := &unit{unitKey: k, id: id}
	w.units[k] = u
	w.order = append(w.order, u)
	return u
}

func (t *tally) add(o tally) {
	t.Compared += o.Compared
	t.Over += o.Over
	t.Under += o.Under
	t.Errors += o.Errors
}

func (w *window) count(k scopeKey, t tally) {
	s := w.scopes[k]
	if s == nil {
		if len(w.scopes) >= maxScopes {
			w.capped++
			return
		}
		s = &tally{}
		w.scopes[k] = s
	}
	s.add(t)
}

func (w *window) see(i int, v string) {
	if _, ok := w.seen[i][v]; ok || len(w.seen[i]) < maxSeen {
		w.seen[i][v]++
	}
}

// table is the window's persona table: every unit with its attributes, its
// subject's, its action and its resource type.
func (w *window) table() record.PersonaTable {
	t := record.PersonaTable{Schema: record.PersonasSchema, Personas: make([]record.PersonaAttrs, 0, len(w.order))}
	for _, u := range w.order {
		t.Personas = append(t.Personas, record.PersonaAttrs{ID: u.id, Attrs: w.attrs(u)})
	}
	return t
}

// attrs returns unit u's attributes.
func (w *window) attrs(u *unit) map[string]string {
	sub := w.subjects[u.subject]
	out := make(map[string]string, len(sub)+2)
	for k, v := range sub {
		out[k] = v
	}
	if u.action != "" {
		out[AttrAction], out[AttrResourceType] = u.action, u.typ
	}
	return out
}

// judge summarises the window: the analysis's summary, with the log's own
// notices and what the log did not exercise, and the shadow report.
func (w *window) judge(aborted string) *Result {
	e := w.e
	now := e.opt.Now()
	w.tab = w.table()
	w.a.SetPersonas(&w.tab)
	meta := analysis.Meta{Name: e.f.Name, Version: e.opt.Version, ConfigHash: e.f.Hash, Start: w.start.UTC(), Duration: now.Sub(w.start), Aborted: aborted}
	sum := w.a.Summary(meta, record.Accounting{})
	rep := w.report(&sum, now)
	if rep.Ambiguous > 0 {
		sum.Notices = append(sum.Notices, analysis.Notice{Class: NoticeAmbiguous, Detail: rep.ambiguityText()})
	}
	var why []string
	if share := rep.AmbiguousShare(); share > *e.f.Thresholds.MaxAmbiguous {
		why = append(why, fmt.Sprintf("legacy log: %.2f%% of the decision lines are ambiguous, above thresholds.max_ambiguous %.2f%%", 100*share, 100**e.f.Thresholds.MaxAmbiguous))
	}
	if rep.Compared == 0 && aborted == "" {
		why = append(why, "legacy log: no decision line was compared")
	}
	for _, g := range rep.Coverage.Missing {
		why = append(why, "legacy log never exercised "+g)
	}
	if len(why) > 0 && (sum.Verdict == analysis.VerdictPass || sum.Verdict == analysis.VerdictInconclusive) {
		sum.Verdict = analysis.VerdictInconclusive
		sum.Inconclusive = append(sum.Inconclusive, why...)
	}
	return &Result{Summary: &sum, Stats: w.a.Stats(), Report: rep}
}
