package personas

import (
	"encoding/json"
	"testing"
)

func TestGenerateDeterministic(t *testing.T) {
	opt := GenerateOptions{Count: 200, LegacySHA256Share: 0.2, UnassignedShare: 0.2}
	a, err := Generate(7, opt)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Generate(7, opt)
	c, _ := Generate(8, opt)
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	jc, _ := json.Marshal(c)
	if string(ja) != string(jb) {
		t.Errorf("Generate(7) twice differs")
	}
	if string(ja) == string(jc) {
		t.Errorf("Generate(7) and Generate(8) are identical")
	}
	for i := range a.Personas {
		if a.Personas[i].Secret.Reveal() != b.Personas[i].Secret.Reveal() {
			t.Fatalf("persona %d: secrets differ between runs of the same seed", i)
		}
	}
	if err := a.Validate(); err != nil {
		t.Errorf("Validate() = %v", err)
	}
}
