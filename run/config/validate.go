package config

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/cutover-dev/cutover/journeys"
	"github.com/cutover-dev/cutover/personas"
	"github.com/cutover-dev/cutover/results/record"
)

// problems collects validation errors with their file:line.
type problems struct {
	f    *File
	errs []error
}

func (p *problems) add(path []string, format string, a ...any) {
	p.errs = append(p.errs, fmt.Errorf("%s:%d: %s: %s", p.f.Path, p.f.line(path...), strings.Join(path, "."), fmt.Sprintf(format, a...)))
}

// Validate checks the whole file and returns every problem, joined.
func (f *File) Validate() error {
	p := &problems{f: f}
	if f.Version != 1 {
		p.add([]string{"version"}, "is %d; want 1", f.Version)
	}
	if f.Name == "" {
		p.add([]string{"name"}, "is empty")
	}
	if f.Mode != ModeParity && f.Mode != ModeAA {
		p.add([]string{"mode"}, "is %q; want %q or %q", f.Mode, ModeParity, ModeAA)
	}
	f.validateSide(p, "legacy", f.Stacks.Legacy)
	if f.Mode == ModeParity {
		f.validateSide(p, "candidate", f.Stacks.Candidate)
	}
	if len(f.Stacks.AllowHosts) == 0 {
		p.add([]string{"stacks", "allow_hosts"}, "is empty: name the hosts the harness may send traffic to")
	}
	f.validatePersonas(p)
	f.validateJourneys(p)
	f.validatePlans(p)
	f.validateLoad(p)
	f.validateThresholds(p)
	f.validateBrowser(p)
	if r := f.Parity.Roles; r != "" && r != ParityReport && r != ParityAbort {
		p.add([]string{"parity", "roles"}, "is %q; want %s or %s", r, ParityReport, ParityAbort)
	}
	return errors.Join(p.errs...)
}

func (f *File) validateSide(p *problems, name string, s Side) {
	at := func(k ...string) []string { return append([]string{"stacks", name}, k...) }
	switch s.Adapter {
	case "legacy":
		if s.Legacy == nil {
			p.add(at("legacy"), "missing: the legacy adapter needs its description")
			return
		}
		f.validateLegacy(p, at, s.Legacy)
	case "oidc":
		if s.OIDC == nil {
			p.add(at("oidc"), "missing: the oidc adapter needs its description")
			return
		}
		f.validateOIDC(p, at, s.OIDC)
	default:
		p.add(at("adapter"), "is %q; want legacy or oidc", s.Adapter)
	}
	if s.AuthZEN != nil {
		f.checkURL(p, at("authzen", "url"), s.AuthZEN.URL)
	}
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

// checkURL checks an absolute http(s) URL whose host is allowed.
func (f *File) checkURL(p *problems, path []string, raw string) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		p.add(path, "%q is not an absolute http(s) URL", raw)
		return
	}
	if !slices.Contains(f.Stacks.AllowHosts, u.Hostname()) {
		p.add(path, "host %q is not in stacks.allow_hosts; the harness refuses to send traffic there", u.Hostname())
	}
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
		if _, err := g.Mix.Counts(max(g.Count, 1)); err != nil {
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
		if pr.Expect != "" && pr.Expect != record.Allow && pr.Expect != record.Deny {
			p.add(at("expect"), "is %q; want allow, deny or empty (legacy decides)", pr.Expect)
		}
		typ, sel, ok := strings.Cut(pr.Resource, ":")
		if !ok || sel == "" {
			p.add(at("resource"), "is %q; want type:selector, e.g. record:{self}", pr.Resource)
			continue
		}
		for _, side := range []string{"legacy", "candidate"} {
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
