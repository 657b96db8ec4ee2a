package analysis

import (
	"slices"
	"strings"

	"github.com/cutover-dev/cutover/results/record"
)

// Cohort statuses.
const (
	CohortPass = "pass"
	CohortFail = "fail"
	// CohortIncomplete: no failing cause touches it, but the run was aborted
	// before its schedule ended.
	CohortIncomplete   = "incomplete"
	CohortNotExercised = "not exercised"
	// CohortInconclusive: no failing cause touches it, but a class the journeys
	// should judge was not judged for its personas (Missing says which).
	CohortInconclusive = "inconclusive"
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
	// Missing lists the classes not judged for the cohort's personas, which
	// keep an otherwise passing cohort inconclusive.
	Missing []Class `json:"missing,omitempty"`
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
	return record.AttrCohort
}

// cohorts judges every cohort's readiness against the causes.
func (in *causeInput) cohorts(causes []Cause, by string, aborted bool, coverage []ClassCoverage) []Cohort {
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
	in.missing(coverage, cohortOf, func(name string, c Class) {
		if a := all[name]; !slices.Contains(a.c.Missing, c) {
			a.c.Missing = append(a.c.Missing, c)
		}
	})
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
		case len(a.c.Missing) > 0:
			a.c.Status = CohortInconclusive
		default:
			a.c.Status = CohortPass
		}
		out = append(out, a.c)
	}
	slices.SortFunc(out, func(a, b Cohort) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// missing calls note for every cohort whose personas a blocking coverage gap
// concerns: a parity class that personas of the cohort ran the steps of without
// being judged, or that no persona reached; a performance class whose verdict
// an unhealthy generator took away (every cohort that ran).
func (in *causeInput) missing(coverage []ClassCoverage, cohortOf []string, note func(cohort string, c Class)) {
	for _, cov := range coverage {
		if !cov.Blocking() {
			continue
		}
		bit := classBit[cov.Class]
		var slots []int
		for k, i := range in.cmp.steps {
			if slices.Contains(cov.Class.Info().Steps, k.Step) {
				slots = append(slots, i)
			}
		}
		for i, u := range in.cmp.unitList {
			concerned := cov.Level == LevelStep || len(slots) == 0
			for _, si := range slots {
				if si/64 < len(u.steps) && u.steps[si/64]&(1<<(si%64)) != 0 && u.exercised&bit == 0 {
					concerned = true
					break
				}
			}
			if concerned {
				note(cohortOf[i], cov.Class)
			}
		}
	}
}
