package results

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
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
const (
	minSupport   = 3
	uniformShare = 0.9
	significance = 0.01
)

// CauseOptions tune root-cause grouping and the cohort readiness table.
type CauseOptions struct {
	// CohortBy is the persona attribute cohorts are cut by: wave (the default),
	// hash_scheme, cohort (wave/hash scheme), kind, break_glass or any attribute
	// of the personas file.
	CohortBy string `json:"cohort_by"`
}

func (o CauseOptions) withDefaults() CauseOptions {
	if o.CohortBy == "" {
		o.CohortBy = AttrWave
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
	FactGroup    = "group"
	FactJourney  = "journey"
)

var stepFacts = []string{FactEndpoint, FactGroup, FactJourney}

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
	Untrusted  bool         `json:"untrusted,omitempty"`
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
}

// FindingRef names a finding row a cause folds.
type FindingRef struct {
	Class       Class  `json:"class"`
	Journey     string `json:"journey"`
	Step        string `json:"step"`
	PersonaKind string `json:"persona_kind,omitempty"`
}

// Cohort statuses.
const (
	CohortPass = "pass"
	CohortFail = "fail"
	// CohortIncomplete: no failing cause touches it, but the run was aborted
	// before its schedule ended.
	CohortIncomplete   = "incomplete"
	CohortNotExercised = "not exercised"
)

// Cohort is one migration cohort's readiness: whether any cause that fails the
// run touches its personas.
type Cohort struct {
	Name string `json:"name"`
	// Personas counts the cohort's personas (the whole population with a persona
	// table, else those that ran), Exercised those with a judged candidate step,
	// Affected those a parity cause's findings name.
	Personas  int    `json:"personas"`
	Exercised int    `json:"exercised"`
	Affected  int    `json:"affected"`
	Status    string `json:"status"`
	// BlockedBy lists the failing causes that touch the cohort; Warnings the
	// causes that touch it without failing the run.
	BlockedBy []string `json:"blocked_by"`
	Warnings  []string `json:"warnings,omitempty"`
}

// unitSet is the units one class is judged over, and the factors of each.
type unitSet struct {
	factors [][]Factor
	// rank orders factor names: the lower explains a tie.
	rank func(string) int
	// eligible says whether a factor may explain findings at all.
	eligible func(Factor) bool
	// cands, ids and facts intern the eligible factors of each unit, withPairs
	// those and their pairs (candidates).
	cands     [][]setKey
	withPairs [][]setKey
	ids       map[Factor]int
	facts     []Factor
}

// group is what explain finds for a class: units it explains and why.
type group struct {
	how string
	// factors all hold for every unit of the group (one, or a pair); key is
	// their interned set.
	factors    factorSet
	key        setKey
	equivalent []string
	units      []int
}

// factorSet is one factor or a conjunction of two, in rank order.
type factorSet []Factor

func (fs factorSet) String() string {
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = f.String()
	}
	return strings.Join(parts, " and ")
}

// setKey identifies a factor set by the interned ids of its factors.
type setKey uint64

// candidates returns the factor sets of unit u: its eligible factors (computed
// once), and with pairs each pair of them of different names too.
func (us *unitSet) candidates(u int, pairs bool) []setKey {
	if us.cands == nil {
		us.cands = make([][]setKey, len(us.factors))
		us.ids = map[Factor]int{}
	}
	singles := us.cands[u]
	if singles == nil {
		singles = make([]setKey, 0, len(us.factors[u]))
		for _, f := range us.factors[u] {
			if us.eligible(f) {
				i, ok := us.ids[f]
				if !ok {
					i = len(us.facts)
					us.ids[f] = i
					us.facts = append(us.facts, f)
				}
				singles = append(singles, setKey(i+1))
			}
		}
		us.cands[u] = singles
	}
	if !pairs {
		return singles
	}
	if us.withPairs == nil {
		us.withPairs = make([][]setKey, len(us.factors))
	}
	if out := us.withPairs[u]; out != nil {
		return out
	}
	out := slices.Clone(singles)
	for i, a := range singles {
		for _, b := range singles[i+1:] {
			if us.facts[a-1].Name != us.facts[b-1].Name {
				out = append(out, min(a, b)<<32|max(a, b))
			}
		}
	}
	us.withPairs[u] = out
	return out
}

// set returns the factors of key k, in rank order.
func (us *unitSet) set(k setKey) factorSet {
	if hi := k >> 32; hi != 0 {
		fs := factorSet{us.facts[hi-1], us.facts[k&(1<<32-1)-1]}
		slices.SortFunc(fs, us.compareFactors)
		return fs
	}
	return factorSet{us.facts[k-1]}
}

// holds reports whether unit u holds the factor set k.
func (us *unitSet) holds(u int, k setKey) bool {
	singles := us.candidates(u, false)
	if hi := k >> 32; hi != 0 {
		return slices.Contains(singles, hi) && slices.Contains(singles, k&(1<<32-1))
	}
	return slices.Contains(singles, k)
}

func (us *unitSet) compareFactors(a, b Factor) int {
	if c := cmp.Compare(us.rank(a.Name), us.rank(b.Name)); c != 0 {
		return c
	}
	return strings.Compare(a.String(), b.String())
}

// explain splits the affected units of one class (exercised: the units that
// could show it) into groups, each explained by a factor set, uniform, or by
// none.
//
// A factor set explains the remaining affected units when at least minSupport
// of them hold it, they are affected at least twice as often as the units
// without it, not every unit holds it, and the split is significant: the chance
// that as many affected units fall among that many units drawn at random
// (hypergeometric tail), times the number of factor sets that could reach
// significance at all (Tarone's correction of Bonferroni, over distinct unit
// subsets), is below significance. Among those, the best F1 score wins, a single
// factor over a pair unless the pair scores a tenth better. A class that hits
// at least uniformShare of the units is uniform unless a factor set scores
// better. The units a group explains are set aside and the search goes on.
func (us *unitSet) explain(exercised []int, affected []bool) []group {
	remaining := make([]bool, len(affected))
	left := 0
	for _, u := range exercised {
		if affected[u] {
			remaining[u] = true
			left++
		}
	}
	taken := make([]bool, len(affected))
	singles := us.tally(exercised, remaining, taken, false)
	var pairs map[setKey]*tally
	n := len(exercised)
	var groups []group
	for left > 0 {
		r := left
		cands := us.score(singles, n, r)
		// Pairs only when no single factor nearly fits: one whose F1 is 0.9 or
		// more cannot lose to a pair by the Occam rule below.
		if len(cands) == 0 || cands[0].f1 < 0.9 {
			if pairs == nil {
				pairs = us.tally(exercised, remaining, taken, true)
			}
			c2 := us.score(pairs, n, r)
			// Occam: a single factor within a tenth of the best pair explains it.
			if len(c2) > 0 && len(c2[0].x.fs) > 1 {
				if i := slices.IndexFunc(c2, func(c cand) bool { return len(c.x.fs) == 1 }); i > 0 && c2[i].f1 >= 0.9*c2[0].f1 {
					c2[0], c2[i] = c2[i], c2[0]
				}
			}
			cands = c2
		}
		uniform := float64(r)/float64(n) >= uniformShare
		f1u := 2 * float64(r) / float64(r+n)
		var g group
		switch {
		case len(cands) > 0 && (!uniform || cands[0].f1 > f1u):
			best := cands[0].x
			g = group{how: ExplainedByFactor, factors: best.fs, key: best.key}
			for _, c := range cands {
				if x := c.x; x != best && x.r == best.r && x.w == best.w && x.sigR == best.sigR && x.sigW == best.sigW && len(x.fs) <= len(best.fs) {
					g.equivalent = append(g.equivalent, x.fs.String())
				}
			}
			slices.Sort(g.equivalent)
			for _, u := range exercised {
				if remaining[u] && us.holds(u, best.key) {
					g.units = append(g.units, u)
				}
			}
		case uniform:
			g = group{how: ExplainedUniform}
		default:
			g = group{how: ExplainedNone}
		}
		if g.how != ExplainedByFactor {
			for _, u := range exercised {
				if remaining[u] {
					g.units = append(g.units, u)
				}
			}
		}
		// Set the group's units aside: out of the remaining and of the tallies.
		for _, u := range g.units {
			remaining[u], taken[u] = false, true
			left--
			n--
			untally(singles, us.candidates(u, false), u)
			if pairs != nil {
				untally(pairs, us.candidates(u, true), u)
			}
		}
		groups = append(groups, g)
	}
	return groups
}

// tally counts the units holding one factor set: w of them, r affected, with
// signatures of both sets.
type tally struct {
	fs         factorSet
	key        setKey
	r, w       int
	sigR, sigW uint64
}

// cand is a factor set that passes the tests, with its score.
type cand struct {
	x        *tally
	f1, prec float64
}

// untally takes affected unit u, holding the sets keys, out of t.
func untally(t map[setKey]*tally, keys []setKey, u int) {
	for _, key := range keys {
		x := t[key]
		x.w, x.r = x.w-1, x.r-1
		x.sigW, x.sigR = x.sigW-mix(u), x.sigR-mix(u)
	}
}

// tally counts the factor sets (single factors, and pairs too when pairs is
// set) of the exercised units not taken.
func (us *unitSet) tally(exercised []int, remaining, taken []bool, pairs bool) map[setKey]*tally {
	t := map[setKey]*tally{}
	for _, u := range exercised {
		if taken[u] {
			continue
		}
		for _, key := range us.candidates(u, pairs) {
			x := t[key]
			if x == nil {
				x = &tally{key: key}
				t[key] = x
			}
			x.w++
			x.sigW += mix(u)
			if remaining[u] {
				x.r++
				x.sigR += mix(u)
			}
		}
	}
	return t
}

// score returns the factor sets of t that may explain the r remaining affected
// units among the n units not yet explained, best first.
func (us *unitSet) score(t map[setKey]*tally, n, r int) []cand {
	// Tarone: only sets that could reach significance count in the correction.
	// A set of w units reaches at best the tail of all of them affected; sets
	// that pick out the same units are one test.
	type subset struct {
		w    int
		sigW uint64
	}
	distinct := map[subset]bool{}
	for _, x := range t {
		if x.w >= minSupport && x.w < n {
			distinct[subset{x.w, x.sigW}] = true
		}
	}
	best := map[int]float64{}
	bestP := func(w int) float64 {
		p, ok := best[w]
		if !ok {
			p = hypergeomTail(n, r, w, min(w, r))
			best[w] = p
		}
		return p
	}
	m := len(distinct)
	for {
		k := 0
		for s := range distinct {
			if bestP(s.w)*float64(m) < significance {
				k++
			}
		}
		if k >= m {
			break
		}
		m = k
	}
	m = max(m, 1)
	var cands []cand
	for _, x := range t {
		if x.r < minSupport || x.w == n {
			continue
		}
		in, out := float64(x.r)/float64(x.w), float64(r-x.r)/float64(n-x.w)
		if in < 2*out {
			continue
		}
		if hypergeomTail(n, r, x.w, x.r)*float64(m) >= significance {
			continue
		}
		if x.fs == nil {
			x.fs = us.set(x.key)
		}
		cands = append(cands, cand{x, 2 * float64(x.r) / float64(r+x.w), in})
	}
	slices.SortFunc(cands, func(a, b cand) int {
		if c := cmp.Compare(b.f1, a.f1); c != 0 {
			return c
		}
		if c := cmp.Compare(len(a.x.fs), len(b.x.fs)); c != 0 {
			return c
		}
		if c := cmp.Compare(b.prec, a.prec); c != 0 {
			return c
		}
		for i := range min(len(a.x.fs), len(b.x.fs)) {
			if c := us.compareFactors(a.x.fs[i], b.x.fs[i]); c != 0 {
				return c
			}
		}
		return 0
	})
	return cands
}

// hypergeomTail returns the chance that w units drawn at random from n, of
// which r are affected, hold at least k affected ones.
func hypergeomTail(n, r, w, k int) float64 {
	lchoose := func(a, b int) float64 {
		x, _ := math.Lgamma(float64(a + 1))
		y, _ := math.Lgamma(float64(b + 1))
		z, _ := math.Lgamma(float64(a - b + 1))
		return x - y - z
	}
	total := lchoose(n, w)
	p := 0.0
	for x := k; x <= min(w, r); x++ {
		if w-x > n-r {
			continue
		}
		p += math.Exp(lchoose(r, x) + lchoose(n-r, w-x) - total)
	}
	return min(p, 1)
}

// evidence counts both sides of group gi's split over every unit that could
// show the class: for a factor, the units with it and without it, and how many
// of each show the class (OthersAffected: those without it, under other causes
// or none); for a uniform or unexplained group, the units no other group
// explains.
func (us *unitSet) evidence(groups []group, gi int, exercised []int, affected []bool) CauseClass {
	g := groups[gi]
	elsewhere := make([]bool, len(affected))
	for i, o := range groups {
		if i != gi {
			for _, u := range o.units {
				elsewhere[u] = true
			}
		}
	}
	cc := CauseClass{Affected: len(g.units)}
	for _, u := range exercised {
		if affected[u] {
			cc.ClassUnits++
		}
		if g.how != ExplainedByFactor {
			if !elsewhere[u] {
				cc.WithFactor++
			}
			continue
		}
		if us.holds(u, g.key) {
			cc.WithFactor++
			if affected[u] {
				cc.WithFactorAffected++
			}
			continue
		}
		cc.Others++
		if affected[u] {
			cc.OthersAffected++
			if elsewhere[u] {
				cc.othersElsewhere++
			}
		}
	}
	return cc
}

// mix spreads a unit index over 64 bits (splitmix64), for the signatures that
// tell factors picking out the same units.
func mix(u int) uint64 {
	z := uint64(u) + 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
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

// persons returns the persona-level unit set: every persona judged, with its
// attributes as factors (built once).
func (in *causeInput) persons() *unitSet {
	if in.pu == nil {
		in.pu = in.personaUnits()
	}
	return in.pu
}

func (in *causeInput) personaUnits() *unitSet {
	names := map[string]bool{}
	// counts holds how many personas of the run (the table's, and the judged
	// ones it lacks) have each factor.
	counts := map[Factor]int{}
	for _, id := range in.tableIDs {
		for k, v := range in.table[id] {
			if v != "" {
				counts[Factor{k, v}]++
				names[k] = true
			}
		}
	}
	us := &unitSet{factors: make([][]Factor, len(in.cmp.unitOrder))}
	for i, id := range in.cmp.unitOrder {
		fs, fromRecord := in.factorsOf(id, in.cmp.unitList[i])
		// The table's factors are counted above; the record's are new.
		for _, f := range fs[len(fs)-fromRecord:] {
			names[f.Name] = true
			counts[f]++
		}
		us.factors[i] = fs
	}
	order := attrOrder(names)
	us.rank = func(n string) int { return slices.Index(order, n) }
	// A value one persona alone holds is no common factor (and may identify it).
	us.eligible = func(f Factor) bool { return counts[f] >= 2 }
	return us
}

// factorsOf returns a judged persona's attributes as factors: the persona
// table's, then the record's kind and cohort where the table has none
// (fromRecord counts those, at the end).
func (in *causeInput) factorsOf(id string, u *unit) (fs []Factor, fromRecord int) {
	attrs := in.table[id]
	fs = make([]Factor, 0, len(attrs)+2)
	for k, v := range attrs {
		if v != "" {
			fs = append(fs, Factor{k, v})
		}
	}
	if attrs[AttrKind] == "" && u.kind != "" {
		fs = append(fs, Factor{AttrKind, u.kind})
		fromRecord++
	}
	if attrs[AttrCohort] == "" && u.cohort != "" {
		fs = append(fs, Factor{AttrCohort, u.cohort})
		fromRecord++
	}
	return fs, fromRecord
}

// attrOf returns the value of attribute name among a unit's factors.
func attrOf(fs []Factor, name string) string {
	for _, f := range fs {
		if f.Name == name {
			return f.Value
		}
	}
	return ""
}

// stepUnits builds the step-level unit set: every step of the run, with its
// endpoints, group and journey as factors.
func (in *causeInput) stepUnits(keys []StepKey) *unitSet {
	us := &unitSet{factors: make([][]Factor, len(keys))}
	for i, k := range keys {
		fs := []Factor{{FactGroup, StepGroup(k.Step)}, {FactJourney, k.Journey}}
		for _, e := range in.stats.Endpoints(k) {
			fs = append(fs, Factor{FactEndpoint, e})
		}
		us.factors[i] = fs
	}
	us.rank = func(n string) int { return slices.Index(stepFacts, n) }
	us.eligible = func(Factor) bool { return true }
	return us
}

// causes groups the findings into causes, most severe first.
func (in *causeInput) causes() []Cause {
	var out []*Cause
	byFactor := map[string]*Cause{}
	personaSeen := map[*Cause]map[int]bool{}
	add := func(level string, cls Class, g group, cc CauseClass, build func(*Cause)) {
		key := ""
		if g.how == ExplainedByFactor {
			key = level + ":" + g.factors.String()
		} else {
			key = level + ":" + string(cls) + ":" + g.how
		}
		c := byFactor[key]
		if c == nil {
			c = &Cause{Key: key, Level: level, ExplainedBy: g.how}
			if g.how == ExplainedByFactor {
				c.Factors = g.factors
			}
			byFactor[key] = c
			personaSeen[c] = map[int]bool{}
			out = append(out, c)
		}
		// Equivalent for the cause: for every class it explains.
		if len(c.Classes) == 0 {
			c.Equivalent = g.equivalent
		} else {
			c.Equivalent = slices.DeleteFunc(c.Equivalent, func(e string) bool { return !slices.Contains(g.equivalent, e) })
		}
		cc.Class = cls
		c.Classes = append(c.Classes, cc)
		build(c)
	}

	// Parity classes, per persona.
	us := in.persons()
	for _, cls := range Classes {
		if cls.Performance() || cls.Severity() == Info || !in.has(cls) {
			continue
		}
		bit := classBit[cls]
		var exercised []int
		affected := make([]bool, len(in.cmp.unitOrder))
		for i, u := range in.cmp.unitList {
			if u.exercised&bit != 0 || u.affected&bit != 0 {
				exercised = append(exercised, i)
			}
			if u.affected&bit != 0 {
				affected[i] = true
			}
		}
		groups := us.explain(exercised, affected)
		for gi, g := range groups {
			cc := us.evidence(groups, gi, exercised, affected)
			for _, u := range g.units {
				cc.Occurrences += in.cmp.unitList[u].hits[cls]
			}
			cc.Evidence = evidenceText(LevelPersona, cls, g, cc)
			add(LevelPersona, cls, g, cc, func(c *Cause) {
				rows := map[int]bool{}
				for _, u := range g.units {
					if !personaSeen[c][u] {
						personaSeen[c][u] = true
						c.personas = append(c.personas, u)
					}
					for _, fi := range in.cmp.unitList[u].findings {
						rows[fi] = true
					}
				}
				for _, fi := range slices.Sorted(maps.Keys(rows)) {
					k := in.cmp.order[fi]
					ref := FindingRef{k.class, k.journey, k.step, k.kind}
					if k.class == cls && !slices.Contains(c.Findings, ref) {
						c.Findings = append(c.Findings, ref)
					}
				}
			})
		}
	}

	// Performance classes, per step.
	keys := in.stats.Keys()
	ss := in.stepUnits(keys)
	for _, cls := range []Class{LatencyRegression, ErrorRateRegression} {
		if !in.has(cls) {
			continue
		}
		var exercised []int
		affected := make([]bool, len(keys))
		count := map[int]int{}
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
		groups := ss.explain(exercised, affected)
		for gi, g := range groups {
			cc := ss.evidence(groups, gi, exercised, affected)
			for _, u := range g.units {
				cc.Occurrences += count[u]
			}
			cc.Evidence = evidenceText(LevelStep, cls, g, cc)
			add(LevelStep, cls, g, cc, func(c *Cause) {
				for _, u := range g.units {
					k := keys[u]
					if !slices.Contains(c.steps, k) {
						c.steps = append(c.steps, k)
					}
					ref := FindingRef{Class: cls, Journey: k.Journey, Step: k.Step}
					if !slices.Contains(c.Findings, ref) {
						c.Findings = append(c.Findings, ref)
					}
				}
			})
		}
	}

	rows := map[FindingRef]Finding{}
	for _, f := range in.findings {
		rows[FindingRef{f.Class, f.Journey, f.Step, f.PersonaKind}] = f
	}
	for _, c := range out {
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
			c.Untrusted = c.Untrusted || f.Untrusted
		}
		slices.SortFunc(c.Findings, func(a, b FindingRef) int {
			return strings.Compare(string(a.Class)+"\x00"+a.Journey+"\x00"+a.Step+"\x00"+a.PersonaKind,
				string(b.Class)+"\x00"+b.Journey+"\x00"+b.Step+"\x00"+b.PersonaKind)
		})
		c.Units = len(c.personas) + len(c.steps)
		c.Title = causeTitle(c)
	}
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
	leg, cand := in.stats.Side(k, Legacy), in.stats.Side(k, Candidate)
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

// CountText says what Occurrences counts: occurrences, or for the step-level
// classes the candidate samples of the slow steps and the candidate errors.
func (cc CauseClass) CountText() string {
	switch cc.Class {
	case LatencyRegression:
		return fmt.Sprintf("%d candidate %s", cc.Occurrences, plural(cc.Occurrences, "sample"))
	case ErrorRateRegression:
		return fmt.Sprintf("%d candidate %s", cc.Occurrences, plural(cc.Occurrences, "error"))
	}
	return fmt.Sprintf("%d %s", cc.Occurrences, plural(cc.Occurrences, "occurrence"))
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

// FactorText names what the cause's findings have in common, for reports.
func (c *Cause) FactorText() string {
	unit := "personas"
	if c.Level == LevelStep {
		unit = "steps"
	}
	switch c.ExplainedBy {
	case ExplainedByFactor:
		return factorSet(c.Factors).String()
	case ExplainedUniform:
		return "every " + strings.TrimSuffix(unit, "s") + " exercised"
	default:
		return "no single factor (" + unit + ")"
	}
}

func causeTitle(c *Cause) string {
	var parts []string
	for _, cc := range c.Classes {
		unit := "persona"
		if c.Level == LevelStep {
			unit = "step"
		}
		parts = append(parts, fmt.Sprintf("%s on %d %s", cc.Class, cc.Affected, plural(cc.Affected, unit)))
	}
	title := c.FactorText()
	if c.Level == LevelStep && c.ExplainedBy != ExplainedByFactor && len(c.Findings) <= 3 {
		var steps []string
		for _, f := range c.Findings {
			steps = append(steps, f.Journey+"/"+f.Step)
		}
		title += " [" + strings.Join(steps, ", ") + "]"
	}
	if len(c.Equivalent) > 0 {
		title += " (same " + c.Level + "s: " + strings.Join(c.Equivalent, ", ") + ")"
	}
	return title + ": " + strings.Join(parts, ", ")
}

// evidenceText says how strongly a group explains a class, with the counts on
// both sides of the split.
func evidenceText(level string, cls Class, g group, cc CauseClass) string {
	unit := "persona"
	if level == LevelStep {
		unit = "step"
	}
	switch g.how {
	case ExplainedByFactor:
		one := cc.Affected == 1
		have := verb(one, "has ", "have ") + g.factors.String()
		if level == LevelStep && len(g.factors) == 1 {
			switch f := g.factors[0]; f.Name {
			case FactEndpoint:
				have = verb(one, "calls ", "call ") + f.Value
			case FactGroup:
				have = verb(one, "is", "are") + " in step group " + f.Value
			case FactJourney:
				have = verb(one, "is", "are") + " in journey " + f.Value
			}
		}
		text := fmt.Sprintf("%d of %d %s with %s %s; it hits %d of %d with the factor, %d of %d without",
			cc.Affected, cc.ClassUnits, plural(cc.ClassUnits, unit), cls, have,
			cc.WithFactorAffected, cc.WithFactor, cc.OthersAffected, cc.Others)
		switch {
		case cc.OthersAffected > 0 && cc.othersElsewhere == cc.OthersAffected:
			text += " (all under other causes)"
		case cc.othersElsewhere > 0:
			text += fmt.Sprintf(" (%d of them under other causes)", cc.othersElsewhere)
		}
		return text
	case ExplainedUniform:
		return fmt.Sprintf("%d of %d %s that could show %s show it: no narrower factor", cc.Affected, cc.WithFactor, plural(cc.WithFactor, unit), cls)
	default:
		return fmt.Sprintf("no single factor: %d of %d %s that could show %s show it", cc.Affected, cc.WithFactor, plural(cc.WithFactor, unit), cls)
	}
}

func verb(one bool, singular, pl string) string {
	if one {
		return singular
	}
	return pl
}

func plural(n int, s string) string {
	if n == 1 {
		return s
	}
	return s + "s"
}

// cohortBy returns the attribute cohorts are cut by: the configured one, or the
// records' cohort when no persona has the configured attribute.
func (in *causeInput) cohortBy() string {
	by := in.opt.withDefaults().CohortBy
	for _, id := range in.tableIDs {
		if in.table[id][by] != "" {
			return by
		}
	}
	for _, fs := range in.persons().factors {
		if attrOf(fs, by) != "" {
			return by
		}
	}
	return AttrCohort
}

// cohorts judges every cohort's readiness against the causes.
func (in *causeInput) cohorts(causes []Cause, by string, aborted bool) []Cohort {
	// Personas without the attribute are a cohort too, so that no failing
	// cause goes unseen.
	unknown := "(no " + by + ")"
	type acc struct {
		c        Cohort
		personas map[int]bool
	}
	all := map[string]*acc{}
	get := func(name string) *acc {
		a := all[name]
		if a == nil {
			a = &acc{c: Cohort{Name: name, BlockedBy: []string{}}, personas: map[int]bool{}}
			all[name] = a
		}
		return a
	}
	// A persona's cohort: its table value, else what its records carry (kind,
	// cohort), else unknown.
	cohortOf := make([]string, len(in.cmp.unitOrder))
	for i := range in.cmp.unitOrder {
		if cohortOf[i] = attrOf(in.persons().factors[i], by); cohortOf[i] == "" {
			cohortOf[i] = unknown
		}
		get(cohortOf[i]).c.Exercised++
	}
	for _, id := range in.tableIDs {
		v := in.table[id][by]
		if u, ran := in.cmp.units[id]; ran {
			v = cohortOf[u.idx]
		}
		if v == "" {
			v = unknown
		}
		get(v).c.Personas++
	}
	for i, id := range in.cmp.unitOrder {
		if _, inTable := in.table[id]; !inTable {
			get(cohortOf[i]).c.Personas++
		}
	}
	// Causes come in id order, so each cohort's lists of them do too.
	for ci := range causes {
		c := &causes[ci]
		touched := map[string]bool{}
		if c.Level == LevelPersona {
			for _, u := range c.personas {
				if v := cohortOf[u]; v != "" {
					touched[v] = true
					all[v].personas[u] = true
				}
			}
		} else {
			// A step-level cause touches the cohorts whose personas ran its
			// steps; one on a step no persona ran (a raw attack on an endpoint)
			// touches every cohort.
			stackWide := false
			for _, k := range c.steps {
				si, ok := in.cmp.steps[k]
				if !ok {
					stackWide = true
					continue
				}
				for i, id := range in.cmp.unitOrder {
					u := in.cmp.units[id]
					if cohortOf[i] != "" && si/64 < len(u.steps) && u.steps[si/64]&(1<<(si%64)) != 0 {
						touched[cohortOf[i]] = true
					}
				}
			}
			if stackWide {
				for name, a := range all {
					if a.c.Exercised > 0 {
						touched[name] = true
					}
				}
			}
		}
		for name := range touched {
			a := all[name]
			if c.Fails {
				a.c.BlockedBy = append(a.c.BlockedBy, c.ID)
			} else {
				a.c.Warnings = append(a.c.Warnings, c.ID)
			}
		}
	}
	out := make([]Cohort, 0, len(all))
	for _, a := range all {
		a.c.Affected = len(a.personas)
		switch {
		case len(a.c.BlockedBy) > 0:
			a.c.Status = CohortFail
		case a.c.Exercised == 0:
			a.c.Status = CohortNotExercised
		case aborted:
			a.c.Status = CohortIncomplete
		default:
			a.c.Status = CohortPass
		}
		out = append(out, a.c)
	}
	slices.SortFunc(out, func(a, b Cohort) int { return strings.Compare(a.Name, b.Name) })
	return out
}
