package config

import (
	"slices"
	"strconv"
	"strings"

	"github.com/cutover-dev/cutover/journeys"
	"github.com/cutover-dev/cutover/personas"
	"github.com/cutover-dev/cutover/results/record"
)

// validateSteps checks a journey's step groups: known names, a session before
// the groups that need one, and the plans the groups rely on.
func (f *File) validateSteps(p *problems, at func(...string) []string, j journeys.Journey) {
	signedIn := false
	for k, s := range j.Steps {
		path := at("steps", strconv.Itoa(k))
		if !slices.Contains(journeys.StepGroups, s) {
			p.add(path, "%q is not a step (%s)", s, strings.Join(journeys.StepGroups, ", "))
			continue
		}
		if journeys.NeedsSession(s) && !signedIn {
			p.add(path, "%q needs a login or service step before it", s)
		}
		if s == journeys.StepsLogin || s == journeys.StepsService {
			signedIn = true
		}
		switch s {
		case journeys.StepsBreakglass:
			f.validateBreakGlassPlan(p)
		case journeys.StepsService:
			for i, kind := range j.Kinds {
				if kind != personas.Service {
					p.add(at("kinds", strconv.Itoa(i)), "%q runs the service step, which is for service personas", kind)
				}
			}
		}
	}
}

func (f *File) validateBreakGlassPlan(p *problems) {
	bg := f.BreakGlass
	at := func(k ...string) []string { return append([]string{"breakglass"}, k...) }
	if bg.Reason == "" {
		p.add(at("reason"), "is empty: the break-glass step needs the reason it gives")
	}
	typ, sel, ok := strings.Cut(bg.Resource, ":")
	if !ok || sel == "" {
		p.add(at("resource"), "is %q; want type:selector, e.g. record:unassigned", bg.Resource)
		return
	}
	for _, side := range f.DrivenSides() {
		if _, ok := f.SideResources(side)[typ][bg.Action]; !ok {
			p.add(at("action"), "no %s request template for %s %s (resources.%s.%s)", side, bg.Action, typ, typ, bg.Action)
		}
	}
	if bg.MaxWait < 0 {
		p.add(at("max_wait"), "is %s; want >= 0", bg.MaxWait)
	}
}

// validatePlans checks the audit bounds and the request templates.
func (f *File) validatePlans(p *problems) {
	if n := f.WrongPassword.Attempts; n < 0 || n > 100 {
		p.add([]string{"wrong_password", "attempts"}, "is %d; want 0 (one attempt) to 100", n)
	}
	a := f.Audit
	if a.Within < 0 || a.Poll <= 0 || a.Skew < 0 {
		p.add([]string{"audit"}, "within %s, poll %s, skew %s: want within >= 0, poll > 0, skew >= 0", a.Within, a.Poll, a.Skew)
	}
	if f.Load.StepTimeout > 0 && a.Within >= f.Load.StepTimeout {
		p.add([]string{"audit", "within"}, "is %s; want less than load.step_timeout %s, or the step times out first", a.Within, f.Load.StepTimeout)
	}
	check := func(at []string, rs journeys.Resources) {
		for typ, actions := range rs {
			for action, t := range actions {
				p.checkTemplate(append(slices.Clone(at), typ, action), t, "id", "attr.*")
			}
		}
	}
	check([]string{"resources"}, f.Resources)
	check([]string{"stacks", "legacy", "resources"}, f.Stacks.Legacy.Resources)
	check([]string{"stacks", "candidate", "resources"}, f.Stacks.Candidate.Resources)
}

// validateCohortBy checks that personas.cohort_by names a built-in persona
// attribute or one the imported accounts carry.
func (f *File) validateCohortBy(p *problems) {
	by := f.Personas.CohortBy
	builtin := []string{record.AttrWave, record.AttrHashScheme, record.AttrCohort, record.AttrKind, record.AttrBreakGlass}
	if by == "" || slices.Contains(builtin, by) {
		return
	}
	if pop, ok := f.Personas.Accounts(); ok {
		for _, pe := range pop.Personas {
			if _, has := pe.Attributes[by]; has {
				return
			}
		}
		p.add([]string{"personas", "cohort_by"}, "is %q: no account of %s has that attribute; want one of %s or an attribute of the file", by, f.Personas.File, strings.Join(builtin, ", "))
		return
	}
	p.add([]string{"personas", "cohort_by"}, "is %q; want one of %s (generated personas have no other attribute)", by, strings.Join(builtin, ", "))
}

func (f *File) validatePersonas(p *problems) {
	f.validateCohortBy(p)
	g := f.Personas.Generate
	switch {
	case g != nil && f.Personas.File != "":
		p.add([]string{"personas"}, "names both generate and file; want one")
		return
	case g == nil && f.Personas.File == "":
		p.add([]string{"personas"}, "needs generate or file")
		return
	case g == nil:
		return
	}
	if g.Count <= 0 {
		p.add([]string{"personas", "generate", "count"}, "is %d; want > 0", g.Count)
	}
	if g.Mix != nil {
		if err := g.Mix.Validate(); err != nil {
			p.add([]string{"personas", "generate", "mix"}, "%v", err)
		} else if _, err := g.Mix.Counts(max(g.Count, 1)); err != nil {
			p.add([]string{"personas", "generate", "mix"}, "%v", err)
		}
	}
	for _, s := range []struct {
		k string
		v float64
	}{{"sha256_share", g.SHA256Share}, {"unassigned_share", g.UnassignedShare}} {
		if s.v < 0 || s.v > 1 {
			p.add([]string{"personas", "generate", s.k}, "is %v; want in [0, 1]", s.v)
		}
	}
}

func (f *File) validateJourneys(p *problems) {
	if len(f.Journeys) == 0 {
		p.add([]string{"journeys"}, "is empty")
	}
	seen := map[string]bool{}
	for i, j := range f.Journeys {
		at := func(k ...string) []string { return append([]string{"journeys", strconv.Itoa(i)}, k...) }
		if j.Name == "" {
			p.add(at("name"), "is empty")
		} else if seen[j.Name] {
			p.add(at("name"), "%q is used twice", j.Name)
		}
		seen[j.Name] = true
		if len(j.Kinds) == 0 {
			p.add(at("kinds"), "is empty")
		}
		for k, kind := range j.Kinds {
			if !kind.Valid() {
				p.add(at("kinds", strconv.Itoa(k)), "%q is not a persona kind (%v)", kind, personas.Kinds)
			}
		}
		if len(j.Steps) == 0 {
			p.add(at("steps"), "is empty")
		}
		f.validateSteps(p, at, j)
		if j.Weight < 0 {
			p.add(at("weight"), "is %v; want >= 0", j.Weight)
		}
	}
	for i, pr := range f.Probes {
		at := func(k ...string) []string { return append([]string{"probes", strconv.Itoa(i)}, k...) }
		if !pr.Kind.Valid() {
			p.add(at("kind"), "%q is not a persona kind", pr.Kind)
		}
		for k, v := range pr.When {
			switch {
			case k == "break_glass":
				if _, err := strconv.ParseBool(strings.TrimPrefix(v, "!")); err != nil {
					p.add(at("when", k), "is %q; want true or false", v)
				}
			case slices.Contains(journeys.WhenFacts, k):
			case f.Personas.accounts != nil && accountsHave(*f.Personas.accounts, k):
			default:
				known := strings.Join(journeys.WhenFacts, ", ")
				if f.Personas.accounts != nil {
					known += ", or a column of the accounts file"
				}
				p.add(at("when", k), "is not a fact of a persona (%s)", known)
			}
		}
		if pr.Expect != "" && pr.Expect != record.Allow && pr.Expect != record.Deny {
			p.add(at("expect"), "is %q; want allow, deny or empty (legacy decides)", pr.Expect)
		}
		typ, sel, ok := strings.Cut(pr.Resource, ":")
		if !ok || sel == "" {
			p.add(at("resource"), "is %q; want type:selector, e.g. record:{self}", pr.Resource)
			continue
		}
		for _, side := range f.DrivenSides() {
			if _, ok := f.SideResources(side)[typ][pr.Action]; !ok {
				p.add(at("action"), "no %s request template for %s %s (resources.%s.%s)", side, pr.Action, typ, typ, pr.Action)
			}
		}
	}
}

// SideResources returns the request templates of a side: its own, else the shared.
func (f *File) SideResources(side string) journeys.Resources {
	s := f.Stacks.Legacy
	if side == "candidate" && f.Mode == ModeParity {
		s = f.Stacks.Candidate
	}
	if s.Resources != nil {
		return s.Resources
	}
	return f.Resources
}

// accountsHave reports whether some account of pop has attribute name.
func accountsHave(pop personas.Population, name string) bool {
	for _, p := range pop.Personas {
		if _, ok := p.Attributes[name]; ok {
			return true
		}
	}
	return false
}

// DrivenSides lists the sides a run of f drives.
func (f *File) DrivenSides() []string {
	if f.Only != "" {
		return []string{f.Only}
	}
	return []string{"legacy", "candidate"}
}
