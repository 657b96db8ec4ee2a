package personas_test

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cutover-dev/cutover/personas"
)

// TestInlineSecrets lists the rows of CSV and JSONL accounts files whose
// secret columns hold plaintext, bare or inline:, with their lines and
// columns, never the value; references are not listed, and a file with other
// problems still gets its list.
func TestInlineSecrets(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"accounts.csv": "id,kind,username,password,candidate_password,wave,hash_scheme,roles\n" +
			"p1,patient,pat.one,env:P1,,wave-1,bcrypt,patient\n" +
			"p2,patient,pat.two,hunter2-bare-secret,,wave-1,bcrypt,patient\n" +
			"p3,nurse,pat.three,inline:hunter3-inline-secret,,wave-1,bcrypt,patient\n" +
			"s1,service,svc.one,file:keys.json#s1,inline:hunter4-client-secret,wave-1,,\n",
		"accounts.jsonl": `{"id":"p1","kind":"patient","username":"pat.one","password":"env:P1","wave":"wave-1","hash_scheme":"bcrypt","roles":["patient"]}` + "\n" +
			"\n" +
			`{"id":"p2","kind":"patient","username":"pat.two","password":"hunter2-bare-secret","wave":"wave-1","hash_scheme":"bcrypt","roles":["patient"]}` + "\n" +
			`{"id":"hunter5-pasted-id","kind":"patient","username":"pat.three","password":"hunter5-pasted-id"}` + "\n",
	}
	want := map[string][]personas.InlineSecret{
		"accounts.csv": {
			{Line: 3, ID: "p2", Field: "password"},
			{Line: 4, ID: "p3", Field: "password"},
			{Line: 5, ID: "s1", Field: "candidate_password"},
		},
		"accounts.jsonl": {
			{Line: 3, ID: "p2", Field: "password"},
			{Line: 4, ID: "[redacted]", Field: "password"},
		},
	}
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := personas.InlineSecrets(path)
		if err != nil {
			t.Fatal(err)
		}
		for i := range want[name] {
			want[name][i].File = path
		}
		if !slices.Equal(got, want[name]) {
			t.Errorf("InlineSecrets(%s) = %+v; want %+v", name, got, want[name])
		}
		for _, s := range got {
			if msg := s.String(); strings.Contains(msg, "hunter") || !strings.Contains(msg, "holds a plaintext secret") {
				t.Errorf("warning %q: want it to say what is wrong, without the value", msg)
			}
		}
	}
	if _, err := personas.InlineSecrets(filepath.Join(dir, "missing.csv")); err == nil {
		t.Error("InlineSecrets of a missing file = nil error")
	}
}

// TestMixValidate: the shares of a mix a user gives must be known kinds, each
// a number from 0 to 1, adding up to 1 within 1e-9; the error says what they
// add up to.
func TestMixValidate(t *testing.T) {
	for _, tt := range []struct {
		mix  personas.Mix
		want string
	}{
		{personas.DefaultMix, ""},
		{personas.Mix{personas.Patient: 0.1, personas.Clinician: 0.2, personas.Admin: 0.7}, ""},
		{personas.Mix{personas.Patient: 1 - 5e-10}, ""},
		{personas.Mix{personas.Patient: 0.7, personas.Clinician: 0.7}, "mix: the shares add up to 1.4; want 1 (within 1e-09)"},
		{personas.Mix{personas.Patient: 0.5, personas.Clinician: 0.3}, "mix: the shares add up to 0.8; want 1 (within 1e-09)"},
		{personas.Mix{personas.Patient: 1 - 2e-9}, "mix: the shares add up to 0.999999998; want 1 (within 1e-09)"},
		{personas.Mix{}, "mix: the shares add up to 0; want 1 (within 1e-09)"},
		{personas.Mix{"nurse": 0.5, personas.Patient: -0.5, personas.Admin: math.NaN()},
			"mix: patient share is -0.5; want a number from 0 to 1\nmix: admin share is NaN; want a number from 0 to 1\n" +
				`mix: unknown kind "nurse"; want one of patient, clinician, admin, billing, service, auditor`},
	} {
		err := tt.mix.Validate()
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("%v.Validate() = %q; want %q", tt.mix, got, tt.want)
		}
	}
}
