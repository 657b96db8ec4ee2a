package config

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// Validation is one walk over the file, top to bottom, in Validate: the stacks
// (validate_stacks.go), the personas and journeys with their plans and probes
// (validate_journeys.go), the load (load.go), the thresholds (thresholds.go) and
// the browser (browser.go). Every problem is collected with its YAML path and
// file:line and all are returned at once.

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
	for side, spec := range f.Parity.IDs {
		if side != "legacy" && side != "candidate" {
			p.add([]string{"parity", "ids", side}, "is not a side (legacy, candidate)")
		}
		if spec != "persona" && spec != "none" && !(strings.HasPrefix(spec, "attribute:") && len(spec) > len("attribute:")) {
			p.add([]string{"parity", "ids", side}, "is %q; want persona, none or attribute:NAME (an attribute of the accounts file)", spec)
		}
	}
	if f.Mode != ModeParity && f.Mode != ModeAA {
		p.add([]string{"mode"}, "is %q; want %q or %q", f.Mode, ModeParity, ModeAA)
	}
	switch {
	case f.Only != "" && f.Only != "legacy" && f.Only != "candidate":
		p.add([]string{"only"}, "is %q; want legacy or candidate (or leave it out to drive both)", f.Only)
	case f.Only != "" && f.Mode == ModeAA:
		p.add([]string{"only"}, "an A/A run drives legacy twice: leave only out, or mode: parity")
	}
	if f.Drives("legacy") {
		f.validateSide(p, "legacy", f.Stacks.Legacy)
	}
	if f.Mode == ModeParity && f.Drives("candidate") {
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

// checkURL checks an absolute http(s) URL whose host is allowed.
func (f *File) checkURL(p *problems, path []string, raw string) {
	pending := f.offline && varRef.MatchString(raw)
	if pending && strings.HasPrefix(strings.TrimSpace(raw), "${") {
		return // the whole URL, scheme and all, comes at run time
	}
	if pending {
		// Needed at run time (and noted so): what is written out is checked,
		// the scheme always, the host when it is not the variable's.
		raw = varRef.ReplaceAllString(raw, "runtime-value")
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		p.add(path, "%q is not an absolute http(s) URL", raw)
		return
	}
	if pending && strings.Contains(u.Hostname(), "runtime-value") {
		return
	}
	if !slices.Contains(f.Stacks.AllowHosts, u.Hostname()) {
		p.add(path, "host %q is not in stacks.allow_hosts; the harness refuses to send traffic there", u.Hostname())
	}
}
