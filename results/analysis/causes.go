package analysis

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/cutover-dev/cutover/results/record"
)

// Root causes. One broken hash migration shows as a LOGIN_FAILED finding on every
// journey and persona kind; one slow token endpoint as a LATENCY_REGRESSION on
// every step that calls it. A cause folds the findings of a class that share a
// factor, and says how strongly the factor explains them, with the counts on both
// sides of the split:
//
//   - parity classes are judged per persona: the units are the personas whose
//     judged candidate steps could raise the class, the factors their attributes
//     (kind, hash scheme, wave, break-glass eligibility, cohort, any attribute of
//     the personas file);
//   - performance classes are judged per step: the units are the journey steps
//     with a verdict, the factors their request facts (the endpoints the step
//     calls, its step group, its journey).
//
// Per class, the factor (or pair of factors) that best separates the units
// showing the class from the units that do not (F1 score of "has the factor"
// against "shows the class") explains them, if it passes the tests of explain:
// support, a rate twice that of the units without it, and a significant split.
// The units it explains are set aside and the search goes on for the rest, so
// two faults of one class give two causes. A class that hits nearly every unit
// that could show it is uniform (no narrower factor); what no factor explains is
// said to have no single factor. Causes of different classes with the same
// factor are one cause (a wrong role mapping for billing clerks is both a
// ROLE_MAPPING_DRIFT and an OVER_PERMISSION of billing personas). Nothing is
// inferred beyond the counts.

// CauseOptions tune root-cause grouping and the cohort readiness table.
type CauseOptions struct {
	// CohortBy is the persona attribute cohorts are cut by: wave (the default),
	// hash_scheme, cohort (wave/hash scheme), kind, break_glass or any attribute
	// of the personas file.
	CohortBy string `json:"cohort_by"`
	// Unit is what the units of the persona level are called in the causes'
	// texts and the cohort table: persona (the default), or in shadow mode
	// entitlement (a subject asking one action on one resource type).
	Unit string `json:"unit"`
}

func (o CauseOptions) withDefaults() CauseOptions {
	if o.CohortBy == "" {
		o.CohortBy = record.AttrWave
	}
	if o.Unit == "" {
		o.Unit = LevelPersona
	}
	return o
}

// Levels a cause is found at.
const (
	// LevelPersona: units are personas, factors their attributes.
	LevelPersona = "persona"
	// LevelStep: units are journey steps, factors their request facts.
	LevelStep = "step"
)

// Step facts a step-level factor names.
const (
	FactEndpoint = "endpoint"
	FactHost     = "host"
	FactGroup    = "group"
	FactJourney  = "journey"
)

// How a cause is explained.
const (
	// ExplainedByFactor: one factor picks out the findings.
	ExplainedByFactor = "factor"
	// ExplainedUniform: nearly every unit that could show the class shows it;
	// no narrower factor.
	ExplainedUniform = "uniform"
	// ExplainedNone: no single factor explains the findings.
	ExplainedNone = "none"
)

// Factor is what the findings of a cause have in common: a persona attribute
// (hash_scheme=sha256-salted) or a request fact of the step (endpoint=POST /token).
type Factor struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// String returns "name=value".
func (f Factor) String() string { return f.Name + "=" + f.Value }

// Cause is the findings of one or more classes that one factor explains, or the
// findings of one class that no factor does.
type Cause struct {
	// unit is CauseOptions.Unit, for the texts of a persona-level cause.
	unit string
	// ID numbers the causes of a run, most severe first: C1, C2...
	ID string `json:"id"`
	// Key identifies the cause across runs (`cutover diff`): level and factor, or
	// level, class and how it is explained when there is no factor.
	Key      string   `json:"key"`
	Severity Severity `json:"severity"`
	Fails    bool     `json:"fails"`
	Level    string   `json:"level"`
	// ExplainedBy is ExplainedByFactor, ExplainedUniform or ExplainedNone.
	ExplainedBy string `json:"explained_by"`
	// Factors hold for every unit of the cause: one factor, or two together
	// (kind=billing and wave=wave-2) when no single one explains the findings.
	Factors []Factor `json:"factors,omitempty"`
	// Equivalent lists other factor sets that pick out exactly the same units
	// (kind=billing and a custom attribute every billing clerk has).
	Equivalent []string     `json:"equivalent,omitempty"`
	Title      string       `json:"title"`
	Classes    []CauseClass `json:"classes"`
	Findings   []FindingRef `json:"findings"`
	Units      int          `json:"units"`
	// Consequences are the steps not compared because of state the cause's
	// steps left the candidate in (see StateGroup).
	Consequences []Consequence `json:"consequences,omitempty"`
	// steps and personas are the units of the cause (indexes into the
	// comparison's personas), for the cohort table.
	steps    []StepKey
	personas []int
}

// CauseClass is one class of a cause with the counts on both sides of its split.
type CauseClass struct {
	Class Class `json:"class"`
	// Occurrences are the occurrences of the class the cause accounts for (for a
	// step-level class, the findings' counts).
	Occurrences int `json:"occurrences"`
	// Affected counts the units of the cause that show the class, ClassUnits the
	// units of the run that show it (under every cause).
	Affected   int `json:"affected"`
	ClassUnits int `json:"class_units"`
	// WithFactor counts the units that could show the class and have the
	// factor, WithFactorAffected those of them that show it; Others the units
	// without the factor, OthersAffected those of them that show it (under
	// other causes, or none). For a uniform or unexplained class, WithFactor
	// counts the units that could show it and no other cause explains.
	WithFactor         int `json:"with_factor"`
	WithFactorAffected int `json:"with_factor_affected"`
	Others             int `json:"others"`
	OthersAffected     int `json:"others_affected"`
	// othersElsewhere counts the units of OthersAffected other causes explain.
	othersElsewhere int
	// Evidence says it in one sentence.
	Evidence string `json:"evidence"`
	// Check is the class's advice on what to look at first (ClassInfo.Check).
	Check string `json:"check,omitempty"`
}

// FindingRef names a finding row a cause folds.
type FindingRef struct {
	Class       Class  `json:"class"`
	Journey     string `json:"journey"`
	Step        string `json:"step"`
	PersonaKind string `json:"persona_kind,omitempty"`
	Check       string `json:"check,omitempty"`
}

// causeInput is what grouping reads: the summary's findings (severities and
// gate applied), the comparison's personas, the persona table and the steps.
type causeInput struct {
	opt      CauseOptions
	findings []Finding
	cmp      *Comparer
	table    map[string]map[string]string
	tableIDs []string
	stats    *Stats
	perf     PerfOptions
	pu       *unitSet
}

// causes groups the findings into causes, most severe first.
func (in *causeInput) causes() []Cause {
	cs := &causeSet{byKey: map[string]*Cause{}, personaSeen: map[*Cause]map[int]bool{}}
	in.personaCauses(cs)
	in.stepCauses(cs)
	rows := map[FindingRef]Finding{}
	for _, f := range in.findings {
		rows[f.Ref()] = f
	}
	for _, c := range cs.list {
		if c.Level == LevelPersona {
			c.unit = in.opt.withDefaults().Unit
		}
		c.settle(rows)
	}
	return cs.numbered()
}

// causeSet collects the causes as the classes are explained: one per factor
// set, or per class and how it is explained when no factor explains it.
type causeSet struct {
	list  []*Cause
	byKey map[string]*Cause
	// personaSeen holds, per cause, the personas already among its units.
	personaSeen map[*Cause]map[int]bool
}

// add accounts group g of class cls, with its counts cc, to the cause of its
// key, creating it, and returns that cause.
func (cs *causeSet) add(level string, cls Class, g group, cc CauseClass) *Cause {
	key := ""
	if g.how == ExplainedByFactor {
		key = level + ":" + g.factors.String()
	} else {
		key = level + ":" + string(cls) + ":" + g.how
	}
	c := cs.byKey[key]
	if c == nil {
		c = &Cause{Key: key, Level: level, ExplainedBy: g.how}
		if g.how == ExplainedByFactor {
			c.Factors = g.factors
		}
		cs.byKey[key] = c
		cs.personaSeen[c] = map[int]bool{}
		cs.list = append(cs.list, c)
	}
	// Equivalent for the cause: for every class it explains.
	if len(c.Classes) == 0 {
		c.Equivalent = g.equivalent
	} else {
		c.Equivalent = slices.DeleteFunc(c.Equivalent, func(e string) bool { return !slices.Contains(g.equivalent, e) })
	}
	cc.Class, cc.Check = cls, cls.Info().Check
	c.Classes = append(c.Classes, cc)
	return c
}

// personaCauses explains the parity classes, per persona.
func (in *causeInput) personaCauses(cs *causeSet) {
	us := in.persons()
	for _, cls := range Classes {
		if cls.Performance() || cls.Severity() == Info || !in.has(cls) {
			continue
		}
		exercised, affected := in.personasOf(cls)
		groups := us.explain(exercised, affected)
		for gi, g := range groups {
			cc := us.evidence(groups, gi, exercised, affected)
			for _, u := range g.units {
				cc.Occurrences += in.cmp.unitList[u].hits[cls]
			}
			cc.Evidence = evidenceText(in.opt.withDefaults().Unit, cls, g, cc)
			in.foldPersonas(cs, cs.add(LevelPersona, cls, g, cc), cls, g.units)
		}
	}
}

// personasOf returns the personas that could show class cls (exercised, as
// indexes into the comparison's personas) and, per persona, whether it shows it.
func (in *causeInput) personasOf(cls Class) (exercised []int, affected []bool) {
	bit := classBit[cls]
	affected = make([]bool, len(in.cmp.unitOrder))
	for i, u := range in.cmp.unitList {
		if u.exercised&bit != 0 || u.affected&bit != 0 {
			exercised = append(exercised, i)
		}
		if u.affected&bit != 0 {
			affected[i] = true
		}
	}
	return exercised, affected
}

// foldPersonas adds personas to cause c, and the finding rows of class cls
// they contributed to.
func (in *causeInput) foldPersonas(cs *causeSet, c *Cause, cls Class, personas []int) {
	rows := map[int]bool{}
	for _, u := range personas {
		if !cs.personaSeen[c][u] {
			cs.personaSeen[c][u] = true
			c.personas = append(c.personas, u)
		}
		for _, fi := range in.cmp.unitList[u].findings {
			rows[fi] = true
		}
	}
	for _, fi := range slices.Sorted(maps.Keys(rows)) {
		k := in.cmp.order[fi]
		ref := FindingRef{k.class, k.journey, k.step, k.kind, k.check}
		if k.class == cls && !slices.Contains(c.Findings, ref) {
			c.Findings = append(c.Findings, ref)
		}
	}
}

// stepCauses explains the performance classes, per step.
func (in *causeInput) stepCauses(cs *causeSet) {
	keys := in.stats.Keys()
	ss := in.stepUnits(keys)
	for _, cls := range []Class{LatencyRegression, ErrorRateRegression} {
		if !in.has(cls) {
			continue
		}
		exercised, affected, count := in.stepsOf(cls, keys)
		groups := ss.explain(exercised, affected)
		for gi, g := range groups {
			cc := ss.evidence(groups, gi, exercised, affected)
			for _, u := range g.units {
				cc.Occurrences += count[u]
			}
			cc.Evidence = evidenceText("step", cls, g, cc)
			foldSteps(cs.add(LevelStep, cls, g, cc), cls, keys, g.units)
		}
	}
}

// stepsOf returns the steps (indexes into keys) that got a verdict of class cls
// or show it (exercised), whether each shows it, and the occurrences each
// shows.
func (in *causeInput) stepsOf(cls Class, keys []StepKey) (exercised []int, affected []bool, count map[int]int) {
	affected, count = make([]bool, len(keys)), map[int]int{}
	for _, f := range in.findings {
		if f.Class == cls {
			if i := slices.Index(keys, StepKey{f.Journey, f.Step}); i >= 0 {
				affected[i] = true
				count[i] += f.Count
			}
		}
	}
	for i, k := range keys {
		if affected[i] || in.judgedStep(cls, k) {
			exercised = append(exercised, i)
		}
	}
	return exercised, affected, count
}

// foldSteps adds steps (indexes into keys) to cause c, each with its finding
// row of class cls.
func foldSteps(c *Cause, cls Class, keys []StepKey, steps []int) {
	for _, u := range steps {
		k := keys[u]
		if !slices.Contains(c.steps, k) {
			c.steps = append(c.steps, k)
		}
		ref := FindingRef{Class: cls, Journey: k.Journey, Step: k.Step}
		if !slices.Contains(c.Findings, ref) {
			c.Findings = append(c.Findings, ref)
		}
	}
}

// settle fills in what c's findings decide, once every class is explained: its
// classes most severe first, its severity, whether it fails and is trusted,
// its finding rows in order, its units and title. rows holds the run's
// findings by reference.
func (c *Cause) settle(rows map[FindingRef]Finding) {
	slices.SortStableFunc(c.Classes, func(a, b CauseClass) int {
		return cmp.Compare(severityRank[a.Class.Severity()], severityRank[b.Class.Severity()])
	})
	c.Severity = Info
	for _, ref := range c.Findings {
		f := rows[ref]
		if c.Severity == Info || severityRank[f.Severity] < severityRank[c.Severity] {
			c.Severity = f.Severity
		}
		c.Fails = c.Fails || f.Fails
	}
	slices.SortFunc(c.Findings, func(a, b FindingRef) int {
		return strings.Compare(string(a.Class)+"\x00"+a.Journey+"\x00"+a.Step+"\x00"+a.PersonaKind+"\x00"+a.Check,
			string(b.Class)+"\x00"+b.Journey+"\x00"+b.Step+"\x00"+b.PersonaKind+"\x00"+b.Check)
	})
	c.Units = len(c.personas) + len(c.steps)
	c.Title = causeTitle(c)
}

// numbered returns the causes most severe first, failing before passing, then
// by occurrences and key, numbered C1, C2...
func (cs *causeSet) numbered() []Cause {
	out := cs.list
	slices.SortStableFunc(out, func(a, b *Cause) int {
		if c := cmp.Compare(severityRank[a.Severity], severityRank[b.Severity]); c != 0 {
			return c
		}
		if a.Fails != b.Fails {
			if a.Fails {
				return -1
			}
			return 1
		}
		if c := cmp.Compare(b.occurrences(), a.occurrences()); c != 0 {
			return c
		}
		return strings.Compare(a.Key, b.Key)
	})
	res := make([]Cause, len(out))
	for i, c := range out {
		c.ID = fmt.Sprintf("C%d", i+1)
		res[i] = *c
	}
	return res
}

// has reports whether any finding is of class c.
func (in *causeInput) has(c Class) bool {
	return slices.ContainsFunc(in.findings, func(f Finding) bool { return f.Class == c })
}

// judgedStep reports whether step k got a verdict of class c: a p50 ratio for
// latency, records on both sides for error rates.
func (in *causeInput) judgedStep(c Class, k StepKey) bool {
	leg, cand := in.stats.Side(k, record.Legacy), in.stats.Side(k, record.Candidate)
	if leg == nil || cand == nil {
		return false
	}
	if c == LatencyRegression {
		o := in.perf.forStep(k)
		_, ok := in.stats.P50Ratio(k, o.MinSamples, o.Seed)
		return ok
	}
	return leg.Count > 0 && cand.Count > 0
}

func (c *Cause) occurrences() int {
	n := 0
	for _, cc := range c.Classes {
		n += cc.Occurrences
	}
	return n
}

// ClassNames lists the cause's classes.
func (c *Cause) ClassNames() []string {
	out := make([]string, len(c.Classes))
	for i, cc := range c.Classes {
		out[i] = string(cc.Class)
	}
	return out
}
