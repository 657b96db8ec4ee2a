package record_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/cutover-dev/cutover/results/internal/fixture"
	"github.com/cutover-dev/cutover/results/record"
)

// TestPersonaTableRoundTrip writes the fixture's persona table and reads it
// back unchanged; MergePersonas keeps the first entry of each id.
func TestPersonaTableRoundTrip(t *testing.T) {
	want := fixture.Golden.Personas()
	var buf bytes.Buffer
	if err := record.WritePersonas(&buf, *want); err != nil {
		t.Fatal(err)
	}
	got, err := record.ReadPersonas(&buf, "personas.json")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("read back %d personas, differing from the %d written", len(got.Personas), len(want.Personas))
	}
	other := &record.PersonaTable{Personas: []record.PersonaAttrs{{ID: want.Personas[0].ID, Attrs: map[string]string{record.AttrKind: "changed"}}, {ID: "extra-1", Attrs: map[string]string{}}}}
	m := record.MergePersonas(want, nil, other)
	if len(m.Personas) != len(want.Personas)+1 || m.Personas[0].Attrs[record.AttrKind] == "changed" || m.Personas[len(m.Personas)-1].ID != "extra-1" {
		t.Errorf("MergePersonas: %d personas, first %+v; want the first table's entries and the extra one", len(m.Personas), m.Personas[0])
	}
}

func TestReadPersonasErrors(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{`{"schema":"cutover.personas/v9","personas":[]}`, `schema "cutover.personas/v9"`},
		{`{"schema":"cutover.personas/v1","personas":[{"attrs":{}}]}`, "personas[0]: no id"},
		{`{"schema":"cutover.personas/v1","personas":[{"id":"a","attrs":{"kind":7}}]}`, "cannot unmarshal number"},
		{`[1, 2`, "personas.json"},
	} {
		_, err := record.ReadPersonas(strings.NewReader(tt.in), "personas.json")
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "personas.json") {
			t.Errorf("ReadPersonas(%s) = %v; want an error naming the file and %q", tt.in, err, tt.want)
		}
	}
}

// FuzzReadPersonas: whatever a results folder holds, ReadPersonas returns a
// table or an error, and a table it accepts encodes and reads back the same.
func FuzzReadPersonas(f *testing.F) {
	b, _ := json.Marshal(fixture.Golden.Personas())
	f.Add(b)
	f.Add([]byte(`{"schema":"cutover.personas/v1","personas":[{"id":"x","attrs":{"site":"n\u00e9"}}]}`))
	f.Add([]byte(`{"schema":"cutover.personas/v1","personas":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		tab, err := record.ReadPersonas(bytes.NewReader(data), "fuzz.json")
		if err != nil {
			return
		}
		enc, err := json.Marshal(tab)
		if err != nil {
			t.Fatal(err)
		}
		again, err := record.ReadPersonas(bytes.NewReader(enc), "again.json")
		if err != nil || !reflect.DeepEqual(again, tab) {
			t.Errorf("accepted table does not read back: %v", err)
		}
	})
}
