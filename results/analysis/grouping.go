package analysis

import (
	"cmp"
	"math"
	"slices"
	"strings"

	"github.com/cutover-dev/cutover/internal/splitmix"
	"github.com/cutover-dev/cutover/results/record"
)

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

// tally counts the units holding one factor set: w of them, r affected, with
// signatures of both sets.
type tally struct {
	fs         factorSet
	key        setKey
	r, w       int
	sigR, sigW uint64
}

// untally takes affected unit u, holding the sets keys, out of t.
func untally(t map[setKey]*tally, keys []setKey, u int) {
	for _, key := range keys {
		x := t[key]
		x.w, x.r = x.w-1, x.r-1
		x.sigW, x.sigR = x.sigW-splitmix.Mix64(uint64(u)), x.sigR-splitmix.Mix64(uint64(u))
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
			x.sigW += splitmix.Mix64(uint64(u))
			if remaining[u] {
				x.r++
				x.sigR += splitmix.Mix64(uint64(u))
			}
		}
	}
	return t
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
	if attrs[record.AttrKind] == "" && u.kind != "" {
		fs = append(fs, Factor{record.AttrKind, u.kind})
		fromRecord++
	}
	if attrs[record.AttrCohort] == "" && u.cohort != "" {
		fs = append(fs, Factor{record.AttrCohort, u.cohort})
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
		for _, h := range in.stats.Hosts(k) {
			fs = append(fs, Factor{FactHost, h})
		}
		us.factors[i] = fs
	}
	us.rank = func(n string) int { return slices.Index(stepFacts, n) }
	us.eligible = func(Factor) bool { return true }
	return us
}

var stepFacts = []string{FactEndpoint, FactHost, FactGroup, FactJourney}

// builtinAttrs orders the built-in attributes: when two factors explain the same
// findings equally well, the earlier one names the cause and the other is listed
// as equivalent.
var builtinAttrs = []string{record.AttrKind, record.AttrHashScheme, record.AttrWave, record.AttrBreakGlass, record.AttrCohort}

// attrOrder returns the attribute names of the table in the order factors are
// preferred: the built-ins first, then the others alphabetically.
func attrOrder(names map[string]bool) []string {
	var out []string
	for _, n := range builtinAttrs {
		if names[n] {
			out = append(out, n)
		}
	}
	var rest []string
	for n := range names {
		if !slices.Contains(builtinAttrs, n) {
			rest = append(rest, n)
		}
	}
	slices.Sort(rest)
	return append(out, rest...)
}
