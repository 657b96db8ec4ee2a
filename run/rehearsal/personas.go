package rehearsal

import (
	"strconv"

	"github.com/cutover-dev/cutover/personas"
	"github.com/cutover-dev/cutover/results/record"
)

// personaTable is what the reports may say about each persona (personas.json):
// the attributes findings and cohorts are grouped by, never a username, a name
// or a credential. The free-form attributes of an accounts file pass through
// the run's redactor like every record.
func personaTable(pop personas.Population, red *record.Redactor) record.PersonaTable {
	t := record.PersonaTable{Schema: record.PersonasSchema, Personas: make([]record.PersonaAttrs, 0, len(pop.Personas))}
	for _, p := range pop.Personas {
		attrs := make(map[string]string, len(p.Attributes)+5)
		for k, v := range p.Attributes {
			attrs[k] = red.String(v)
		}
		attrs[record.AttrKind] = string(p.Kind)
		attrs[record.AttrCohort] = p.Cohort.String()
		if p.Cohort.Wave != "" {
			attrs[record.AttrWave] = p.Cohort.Wave
		}
		if p.Cohort.HashScheme != "" {
			attrs[record.AttrHashScheme] = p.Cohort.HashScheme
		}
		if p.Kind == personas.Clinician {
			attrs[record.AttrBreakGlass] = strconv.FormatBool(p.BreakGlass)
		}
		t.Personas = append(t.Personas, record.PersonaAttrs{ID: p.ID, Attrs: attrs})
	}
	return t
}
