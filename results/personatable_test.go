package results

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestPersonaTableRoundTrip writes the fixture's persona table and reads it
// back unchanged; MergePersonas keeps the first entry of each id.
func TestPersonaTableRoundTrip(t *testing.T) {
	want := goldenFixture.personas()
	path := filepath.Join(t.TempDir(), PersonasFile)
	if err := WritePersonasFile(path, *want); err != nil {
		t.Fatal(err)
	}
	got, err := ReadPersonasFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("read back %d personas, differing from the %d written", len(got.Personas), len(want.Personas))
	}
	other := &PersonaTable{Personas: []PersonaAttrs{{ID: want.Personas[0].ID, Attrs: map[string]string{AttrKind: "changed"}}, {ID: "extra-1", Attrs: map[string]string{}}}}
	m := MergePersonas(want, nil, other)
	if len(m.Personas) != len(want.Personas)+1 || m.Personas[0].Attrs[AttrKind] == "changed" || m.Personas[len(m.Personas)-1].ID != "extra-1" {
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
		_, err := ReadPersonas(strings.NewReader(tt.in), "personas.json")
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "personas.json") {
			t.Errorf("ReadPersonas(%s) = %v; want an error naming the file and %q", tt.in, err, tt.want)
		}
	}
}

// FuzzReadPersonas: whatever a results folder holds, ReadPersonas returns a
// table or an error, and a table it accepts encodes and reads back the same.
func FuzzReadPersonas(f *testing.F) {
	b, _ := json.Marshal(goldenFixture.personas())
	f.Add(b)
	f.Add([]byte(`{"schema":"cutover.personas/v1","personas":[{"id":"x","attrs":{"site":"n\u00e9"}}]}`))
	f.Add([]byte(`{"schema":"cutover.personas/v1","personas":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		tab, err := ReadPersonas(bytes.NewReader(data), "fuzz.json")
		if err != nil {
			return
		}
		enc, err := json.Marshal(tab)
		if err != nil {
			t.Fatal(err)
		}
		again, err := ReadPersonas(bytes.NewReader(enc), "again.json")
		if err != nil || !reflect.DeepEqual(again, tab) {
			t.Errorf("accepted table does not read back: %v", err)
		}
	})
}
