package journeys

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/cutover-dev/cutover/personas"
	"github.com/cutover-dev/cutover/results"
)

// Probe is one row of the expected-decision table, in the shape of an AuthZEN
// evaluation: {persona kind, action, resource} -> expected decision.
type Probe struct {
	Kind   personas.Kind `yaml:"kind"`
	Action string        `yaml:"action"`
	// Resource is "type:selector"; the selector is self, panel, other, unassigned or
	// a literal id.
	Resource string `yaml:"resource"`
	// Expect is allow or deny; empty means "whatever legacy decides".
	Expect string `yaml:"expect"`
}

// Target is the probe's name in records: "read record:{panel}".
func (p Probe) Target() string { return p.Action + " " + p.Resource }

// Resources maps a resource type and an action to a request template,
// "METHOD /path/{id}", for one side.
type Resources map[string]map[string]string

// request resolves the probe against the side's templates for resource id.
func (rs Resources) request(p Probe, id string) (Request, error) {
	typ, _, _ := strings.Cut(p.Resource, ":")
	tmpl, ok := rs[typ][p.Action]
	if !ok {
		return Request{}, fmt.Errorf("no request template for %s %s", p.Action, typ)
	}
	method, path, ok := strings.Cut(tmpl, " ")
	if !ok {
		method, path = http.MethodGet, tmpl
	}
	return Request{Method: method, Path: strings.ReplaceAll(path, "{id}", id)}, nil
}

// Decide turns a probe's HTTP status into a decision: 2xx allow, 401/403 deny,
// anything else (a 4xx other than those, a stray redirect) an error instead of a
// decision. 5xx never gets here: it is an availability error.
func Decide(status int) string {
	switch {
	case status >= 200 && status < 300:
		return results.Allow
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return results.Deny
	default:
		return "error"
	}
}

// Targets resolves probe selectors against a population, deterministically.
type Targets struct {
	patients   []string
	unassigned []string
	panel      map[string]map[string]bool
}

// NewTargets indexes pop for selector resolution.
func NewTargets(pop personas.Population) *Targets {
	t := &Targets{panel: make(map[string]map[string]bool)}
	assigned := make(map[string]bool)
	for _, p := range pop.Personas {
		if p.Kind == personas.Clinician {
			set := make(map[string]bool, len(p.Panel))
			for _, id := range p.Panel {
				set[id] = true
				assigned[id] = true
			}
			t.panel[p.ID] = set
		}
	}
	for _, p := range pop.Personas {
		if p.Kind == personas.Patient {
			t.patients = append(t.patients, p.ID)
			if !assigned[p.ID] {
				t.unassigned = append(t.unassigned, p.ID)
			}
		}
	}
	return t
}

// Resolve returns the resource id a selector names for persona p at iteration n,
// or false when it names nobody (a clinician without a panel).
func (t *Targets) Resolve(selector string, p personas.Persona, n uint64) (string, bool) {
	switch selector {
	case "self":
		return p.ID, true
	case "panel":
		if len(p.Panel) == 0 {
			return "", false
		}
		return p.Panel[n%uint64(len(p.Panel))], true
	case "unassigned":
		for i := range t.unassigned {
			id := t.unassigned[(n+uint64(i))%uint64(len(t.unassigned))]
			if !t.panel[p.ID][id] {
				return id, true
			}
		}
		return "", false
	case "other":
		for i := range t.patients {
			id := t.patients[(n+uint64(i))%uint64(len(t.patients))]
			if id != p.ID && !t.panel[p.ID][id] {
				return id, true
			}
		}
		return "", false
	default:
		return selector, selector != ""
	}
}
