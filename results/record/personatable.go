package record

import (
	"encoding/json"
	"fmt"
	"io"
)

// PersonasSchema names the version of personas.json.
const PersonasSchema = "cutover.personas/v1"

// Built-in persona attributes. A persona table may carry any other attribute of
// the personas file beside them.
const (
	AttrKind       = "kind"
	AttrWave       = "wave"
	AttrHashScheme = "hash_scheme"
	AttrBreakGlass = "break_glass"
	// AttrCohort is the record's cohort, "wave/hash scheme": always known, even
	// without a persona table.
	AttrCohort = "cohort"
)

// PersonaAttrs is one persona as the reports may describe it: its id and
// attributes (kind, wave, hash scheme, break-glass eligibility, the free-form
// attributes of an accounts file). Never a username, a name or a credential.
type PersonaAttrs struct {
	ID    string            `json:"id"`
	Attrs map[string]string `json:"attrs"`
}

// PersonaTable is the content of personas.json: every persona of the run,
// driven or not, so that a cohort nobody in the run belonged to shows as not
// exercised.
type PersonaTable struct {
	Schema   string         `json:"schema"`
	Personas []PersonaAttrs `json:"personas"`
}

// WritePersonas writes t to w as personas.json, its schema set: one line of
// JSON and a newline.
func WritePersonas(w io.Writer, t PersonaTable) error {
	t.Schema = PersonasSchema
	return json.NewEncoder(w).Encode(t)
}

// ReadPersonas decodes a personas.json; name is used in errors.
func ReadPersonas(r io.Reader, name string) (*PersonaTable, error) {
	var t PersonaTable
	if err := json.NewDecoder(r).Decode(&t); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if t.Schema != PersonasSchema {
		return nil, fmt.Errorf("%s: schema %q; want %q", name, t.Schema, PersonasSchema)
	}
	for i, p := range t.Personas {
		if p.ID == "" {
			return nil, fmt.Errorf("%s: personas[%d]: no id", name, i)
		}
	}
	return &t, nil
}

// MergePersonas unions tables by persona id, the first table's entry winning:
// the segments of a distributed run each carry the whole population.
func MergePersonas(ts ...*PersonaTable) PersonaTable {
	out := PersonaTable{Schema: PersonasSchema}
	seen := map[string]bool{}
	for _, t := range ts {
		if t == nil {
			continue
		}
		for _, p := range t.Personas {
			if !seen[p.ID] {
				seen[p.ID] = true
				out.Personas = append(out.Personas, p)
			}
		}
	}
	return out
}
