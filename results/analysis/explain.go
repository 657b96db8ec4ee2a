package analysis

import (
	"cmp"
	"slices"
)

// Thresholds of explain: the units a factor set must explain at least, the
// share of the units that makes a class uniform, and the significance level of
// a split (before correction).
const (
	minSupport   = 3
	uniformShare = 0.9
	significance = 0.01
)

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

// cand is a factor set that passes the tests, with its score.
type cand struct {
	x        *tally
	f1, prec float64
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
