package personas_test

import (
	"errors"
	"io/fs"
	"strings"
	"testing"

	"github.com/cutover-dev/cutover/personas"
)

// testResolver resolves references against fixed variables and one secrets file,
// never the process environment or disk.
func testResolver() *personas.Resolver {
	files := map[string]string{
		"secrets.json": `{"p1": "file-secret-p1", "c1": "file-secret-c1"}`,
		"api.key":      "file-secret-api\n",
		"broken.json":  `{"p1": 12}`,
	}
	return &personas.Resolver{
		Env: map[string]string{"P1": "env-secret-p1", "P2": "env-secret-p2", "C1": "env-secret-c1", "S1": "env-secret-s1", "EMPTY": ""},
		ReadFile: func(path string) ([]byte, error) {
			if v, ok := files[path]; ok {
				return []byte(v), nil
			}
			return nil, &fs.PathError{Op: "open", Path: path, Err: fs.ErrNotExist}
		},
	}
}

const csvHeader = "id,kind,username,password,wave,hash_scheme,roles,panel,npi,break_glass,email,birth_date\n"

// Rows valid on their own, for building bad files around.
const (
	rowP1 = "p1,patient,pat.one,env:P1,wave-1,bcrypt,patient,,,,,\n"
	rowC1 = "c1,clinician,doc.one,env:C1,wave-1,bcrypt,clinician;breakglass-eligible,p1,1234567893,true,,\n"
)

// errLines returns the messages joined in err, one per problem.
func errLines(err error) []string {
	if err == nil {
		return nil
	}
	return strings.Split(err.Error(), "\n")
}

func TestReadCSVErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"unknown kind", csvHeader + "p1,nurse,pat.one,env:P1,wave-1,bcrypt,patient,,,,,\n",
			[]string{`users.csv:2: kind: unknown kind "nurse"; want one of patient, clinician, admin, billing, service, auditor`}},
		{"no password", csvHeader + "p1,patient,pat.one,,wave-1,bcrypt,patient,,,,,\n",
			[]string{`users.csv:2: password: no secret; want a password or an env: or file: reference`}},
		{"unset variable", csvHeader + "p1,patient,pat.one,env:NOPE,wave-1,bcrypt,patient,,,,,\n",
			[]string{`users.csv:2: password: env:NOPE: variable is not set: secret not found`}},
		{"empty variable", csvHeader + "p1,patient,pat.one,env:EMPTY,wave-1,bcrypt,patient,,,,,\n",
			[]string{`users.csv:2: password: env:EMPTY: variable is empty`}},
		{"bad variable name", csvHeader + "p1,patient,pat.one,env:1X,wave-1,bcrypt,patient,,,,,\n",
			[]string{`users.csv:2: password: env:1X: want a variable name of letters, digits and '_', not starting with a digit`}},
		{"missing file key", csvHeader + "p1,patient,pat.one,file:secrets.json#nobody,wave-1,bcrypt,patient,,,,,\n",
			[]string{`users.csv:2: password: file:secrets.json#nobody: no key "nobody" in secrets.json: secret not found`}},
		{"missing file", csvHeader + "p1,patient,pat.one,file:gone.json#p1,wave-1,bcrypt,patient,,,,,\n",
			[]string{`users.csv:2: password: file:gone.json#p1: open gone.json: file does not exist`}},
		{"secrets file not strings", csvHeader + "p1,patient,pat.one,file:broken.json#p1,wave-1,bcrypt,patient,,,,,\n",
			[]string{`users.csv:2: password: file:broken.json#p1: broken.json is not a JSON object of strings`}},
		{"duplicate username", csvHeader + rowP1 + "p2,patient,PAT.ONE,env:P2,wave-1,bcrypt,patient,,,,,\n",
			[]string{`users.csv:3: username: duplicate username "PAT.ONE" (first at users.csv:2)`}},
		{"duplicate id", csvHeader + rowP1 + "p1,patient,pat.two,env:P2,wave-1,bcrypt,patient,,,,,\n",
			[]string{`users.csv:3: id: duplicate id "p1" (first at users.csv:2)`}},
		{"panel names a clinician", csvHeader + rowP1 + "c1,clinician,doc.one,env:C1,wave-1,bcrypt,clinician,p1;c1,1234567893,,,\n",
			[]string{`users.csv:3: panel: "c1" is not a patient of this population`}},
		{"NPI check digit", csvHeader + rowP1 + "c1,clinician,doc.one,env:C1,wave-1,bcrypt,clinician,p1,1234567890,,,\n",
			[]string{`users.csv:3: npi: "1234567890" has check digit 0; want 3`}},
		{"break_glass not a boolean", csvHeader + rowP1 + "c1,clinician,doc.one,env:C1,wave-1,bcrypt,clinician,p1,,maybe,,\n",
			[]string{`users.csv:3: break_glass: "maybe" is not true or false`}},
		{"short row", csvHeader + "p1,patient\n",
			[]string{`users.csv:2: 2 fields; want 12 as in the header`}},
		{"misspelt column", "id,kind,username,pasword\np1,patient,pat.one,env:P1\n", []string{
			`users.csv:1: unknown column "pasword"; want id, kind, username, password, wave, hash_scheme, roles, name, email, birth_date, mrn, npi, panel, break_glass, permissions`,
			`users.csv:1: missing column "password"`,
		}},
		{"bad email", csvHeader + "p1,patient,pat.one,env:P1,wave-1,bcrypt,patient,,,,Pat <pat@example.org>,\n",
			[]string{`users.csv:2: email: "Pat <pat@example.org>" is not an address like name@example.org`}},
		{"unknown hash scheme", csvHeader + "p1,patient,pat.one,env:P1,wave-1,md5,patient,,,,,\n",
			[]string{`users.csv:2: hash_scheme: unknown scheme "md5"; want bcrypt or sha256-salted`}},
		{"service with roles and a hash", csvHeader + "s1,service,svc.one,env:S1,wave-1,bcrypt,admin,,,,,\n", []string{
			`users.csv:2: hash_scheme: service accounts have an API key, not a password hash; want it empty`,
			`users.csv:2: roles: service accounts hold permissions, not roles`,
		}},
		{"patient with a panel and break-glass", csvHeader + "p1,patient,pat.one,env:P1,wave-1,bcrypt,patient,p1,,true,,\n", []string{
			`users.csv:2: panel: only clinicians have a panel; patients see only themselves`,
			`users.csv:2: break_glass: only clinicians can be eligible for break-glass`,
		}},
		{"bad birth date", csvHeader + "p1,patient,pat.one,env:P1,wave-1,bcrypt,patient,,,,,1990-13-01\n",
			[]string{`users.csv:2: birth_date: "1990-13-01" is not a date like 1990-04-23`}},
		{"id with a space", csvHeader + "p 1,patient,pat.one,env:P1,wave-1,bcrypt,patient,,,,,\n",
			[]string{`users.csv:2: id: "p 1" has ' ' at byte 1; want only letters, digits, '.', '_' and '-'`}},
		{"bare quote", csvHeader + rowP1 + "p2,patient,pat\"two,env:P2,wave-1,bcrypt,patient,,,,,\n",
			[]string{`users.csv:3: byte 15: bare " in non-quoted-field`}},
		{"empty file", "", []string{`users.csv:1: empty file; want a header line with id, kind, username, password`}},
		{"header only", csvHeader, []string{`users.csv: no accounts`}},
		{"inline password redacted", csvHeader + "p1,patient,Hunter 22,Hunter 22,wave-1,bcrypt,patient,,,,,\n",
			[]string{`users.csv:2: username: "[redacted]" has ' ' at byte 6; want only printable characters and no spaces`}},
		{"several rows at once", csvHeader + rowP1 + "p2,patient,pat.two,,wave-1,bcrypt,patient,,,,,\n" + rowC1 + "a1,admin,adm.one,env:NOPE,,bcrypt,admin,,,,,\n", []string{
			`users.csv:3: password: no secret; want a password or an env: or file: reference`,
			`users.csv:5: password: env:NOPE: variable is not set: secret not found`,
			`users.csv:5: wave: required`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pop, err := personas.ReadCSV(strings.NewReader(tt.in), "users.csv", testResolver())
			got := errLines(err)
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("ReadCSV(%q) errors:\n%s\nwant:\n%s", tt.in, strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			if len(pop.Personas) != 0 {
				t.Errorf("ReadCSV(%q) returned %d personas with its error; want none", tt.in, len(pop.Personas))
			}
		})
	}
}

func TestReadJSONLErrors(t *testing.T) {
	const good = `{"id":"p1","kind":"patient","username":"pat.one","password":"env:P1","wave":"wave-1","hash_scheme":"bcrypt","roles":["patient"]}` + "\n"
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"invalid JSON", good + `{"id":"p2",` + "\n", []string{`users.jsonl:2: invalid JSON at byte 11`}},
		{"not an object", good + `["p2"]` + "\n", []string{`users.jsonl:2: want a JSON object`}},
		{"null", good + "null\n", []string{`users.jsonl:2: want a JSON object`}},
		{"roles not an array", `{"id":"p1","kind":"patient","username":"pat.one","password":"env:P1","wave":"wave-1","hash_scheme":"bcrypt","roles":"patient"}`,
			[]string{`users.jsonl:1: roles: want an array of strings`}},
		{"password not a string", `{"id":"p1","kind":"patient","username":"pat.one","password":12345678,"wave":"wave-1","hash_scheme":"bcrypt"}`,
			[]string{`users.jsonl:1: password: want a string`}},
		{"break_glass not a boolean", `{"id":"p1","kind":"patient","username":"pat.one","password":"env:P1","wave":"wave-1","hash_scheme":"bcrypt","break_glass":"yes"}`,
			[]string{`users.jsonl:1: break_glass: want true or false`}},
		{"unknown keys", `{"id":"p1","kind":"patient","username":"pat.one","pasword":"env:P1","wave":"wave-1","hash_scheme":"bcrypt","Role":"x"}`, []string{
			`users.jsonl:1: unknown key "Role"; want id, kind, username, password, wave, hash_scheme, roles, name, email, birth_date, mrn, npi, panel, break_glass, permissions`,
			`users.jsonl:1: unknown key "pasword"; want id, kind, username, password, wave, hash_scheme, roles, name, email, birth_date, mrn, npi, panel, break_glass, permissions`,
			`users.jsonl:1: password: no secret; want a password or an env: or file: reference`,
		}},
		{"blank lines keep numbering", "\n" + good + "\n" + `{"id":"p1","kind":"patient","username":"pat.two","password":"env:P2","wave":"wave-1","hash_scheme":"bcrypt"}`,
			[]string{`users.jsonl:4: id: duplicate id "p1" (first at users.jsonl:2)`}},
		{"empty file", "", []string{`users.jsonl: no accounts`}},
		{"line too long", good + `{"name":"` + strings.Repeat("x", 1<<20) + `"}` + "\n", []string{`users.jsonl:2: line longer than 1048576 bytes`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := personas.ReadJSONL(strings.NewReader(tt.in), "users.jsonl", testResolver())
			got := errLines(err)
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("ReadJSONL(%.80q) errors:\n%s\nwant:\n%s", tt.in, strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestReadErrorsAreRowErrors(t *testing.T) {
	in := csvHeader + rowP1 + "p2,nurse,pat.two,,wave-1,bcrypt,patient,,,,,\n"
	_, err := personas.ReadCSV(strings.NewReader(in), "users.csv", testResolver())
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		t.Fatalf("ReadCSV error %T; want errors.Join of *RowError", err)
	}
	var got []personas.RowError
	for _, e := range joined.Unwrap() {
		var re *personas.RowError
		if !errors.As(e, &re) {
			t.Fatalf("error %v is %T; want *RowError", e, e)
		}
		got = append(got, *re)
	}
	want := []personas.RowError{
		{File: "users.csv", Line: 3, Field: "kind", Msg: `unknown kind "nurse"; want one of patient, clinician, admin, billing, service, auditor`},
		{File: "users.csv", Line: 3, Field: "password", Msg: "no secret; want a password or an env: or file: reference"},
	}
	if len(got) != len(want) {
		t.Fatalf("errors = %+v; want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("error %d = %+v; want %+v", i, got[i], want[i])
		}
	}
}

func TestReadCSVSecrets(t *testing.T) {
	in := "id, kind, username, password, wave, hash_scheme, roles, permissions\n" +
		"p1,patient,pat.one,env:P1,w1,bcrypt,patient,\n" +
		"p2,patient,pat.two,file:secrets.json#p1,w1,sha256-salted,patient,\n" +
		"p3,patient,pat.three, inline:env:looks-like-a-ref ,w1,bcrypt,patient,\n" +
		"p4,patient,pat.four,plain-inline,w1,bcrypt,patient,\n" +
		"s1,service,svc-lab,file:api.key,w2,,,lab-results:read; lab-results:write;\n"
	pop, err := personas.ReadCSV(strings.NewReader("\ufeff"+in), "users.csv", testResolver())
	if err != nil {
		t.Fatalf("ReadCSV = %v", err)
	}
	tests := []struct{ id, secret, ref string }{
		{"p1", "env-secret-p1", "env:P1"},
		{"p2", "file-secret-p1", "file:secrets.json#p1"},
		{"p3", "env:looks-like-a-ref", ""},
		{"p4", "plain-inline", ""},
		{"s1", "file-secret-api", "file:api.key"},
	}
	for _, tt := range tests {
		p, ok := pop.Lookup(tt.id)
		if !ok {
			t.Fatalf("Lookup(%q) found nothing", tt.id)
		}
		if got := p.Secret.Reveal(); got != tt.secret || p.SecretRef != tt.ref {
			t.Errorf("%s: secret %q ref %q; want %q ref %q", tt.id, got, p.SecretRef, tt.secret, tt.ref)
		}
	}
	if s, _ := pop.Lookup("s1"); strings.Join(s.Permissions, " ") != "lab-results:read lab-results:write" {
		t.Errorf("s1 permissions = %q; want [lab-results:read lab-results:write]", s.Permissions)
	}
}

func TestReadWithoutResolver(t *testing.T) {
	_, err := personas.ReadCSV(strings.NewReader(csvHeader+rowP1), "users.csv", nil)
	if got, want := err.Error(), "users.csv:2: password: env:P1: no secret resolver was given"; got != want {
		t.Errorf("ReadCSV(nil resolver) = %q; want %q", got, want)
	}
	_, err = personas.ReadCSV(strings.NewReader(csvHeader+strings.Replace(rowP1, "env:P1", "file:secrets.json#p1", 1)), "users.csv", &personas.Resolver{})
	if got, want := err.Error(), "users.csv:2: password: file:secrets.json#p1: file references are not enabled"; got != want {
		t.Errorf("ReadCSV(no ReadFile) = %q; want %q", got, want)
	}
}

func TestWriteRefusesNonReference(t *testing.T) {
	pop, err := personas.ReadCSV(strings.NewReader(csvHeader+rowP1), "users.csv", testResolver())
	if err != nil {
		t.Fatal(err)
	}
	pop.Personas[0].SecretRef = "hunter2" // a secret put where a reference belongs
	for name, write := range map[string]func(*strings.Builder, personas.Population) error{
		"WriteCSV":   func(b *strings.Builder, p personas.Population) error { return personas.WriteCSV(b, p) },
		"WriteJSONL": func(b *strings.Builder, p personas.Population) error { return personas.WriteJSONL(b, p) },
	} {
		var b strings.Builder
		err := write(&b, pop)
		want := "export: personas[0] p1: secret_ref: not an env: or file: reference"
		if err == nil || err.Error() != want {
			t.Errorf("%s = %v; want %q", name, err, want)
		}
		if strings.Contains(b.String(), "hunter2") {
			t.Errorf("%s wrote the bad reference", name)
		}
	}
}
