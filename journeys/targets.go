package journeys

import (
	"maps"

	"github.com/cutover-dev/cutover/journeys/adapter"
	"github.com/cutover-dev/cutover/personas"
)

// Targets resolves probe selectors against a population, deterministically.
type Targets struct {
	patients   []string
	unassigned []string
	panel      map[string]map[string]bool
	// byID holds every persona, for the attributes a request template names.
	byID map[string]personas.Persona
}

// NewTargets indexes pop for selector resolution.
func NewTargets(pop personas.Population) *Targets {
	t := &Targets{panel: make(map[string]map[string]bool), byID: make(map[string]personas.Persona, len(pop.Personas))}
	assigned := make(map[string]bool)
	for _, p := range pop.Personas {
		t.byID[p.ID] = p
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

// attrs are the attributes of the persona with id, as template variables
// attr.NAME: its record number (mrn) and NPI, and every attribute of the
// accounts file. None when no persona has that id (t may be nil). Its username
// and e-mail address are not among them: a request path is recorded, and
// records name personas by id only.
func (t *Targets) attrs(id string) map[string]string {
	if t == nil {
		return nil
	}
	p, ok := t.byID[id]
	if !ok {
		return nil
	}
	out := map[string]string{}
	for k, v := range p.Attributes {
		out["attr."+k] = v
	}
	for k, v := range map[string]string{"mrn": p.MRN, "npi": p.NPI} {
		if v != "" {
			out["attr."+k] = v
		}
	}
	return out
}

// Name returns how a stack names the persona with id: tmpl ("{attr.mrn}",
// "Patient/{id}") filled with its id and attributes, or the id itself when
// tmpl is empty.
func (t *Targets) Name(tmpl, id string) (string, error) {
	if tmpl == "" {
		return id, nil
	}
	vars := map[string]string{"id": id}
	maps.Copy(vars, t.attrs(id))
	return adapter.ExpandText(tmpl, vars)
}
