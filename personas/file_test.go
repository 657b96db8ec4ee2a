package personas_test

import (
	"errors"
	"io"
	"io/fs"
	"maps"
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

// A header with an attribute column and rows for it.
const (
	csvAttrHeader = "id,kind,username,password,wave,hash_scheme,roles,attr.site\n"
	rowAttrP1     = "p1,patient,pat.one,env:P1,wave-1,bcrypt,patient,"
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
			`users.csv:1: unknown column "pasword"; want id, kind, username, password, candidate_password, wave, hash_scheme, roles, name, email, birth_date, mrn, npi, panel, break_glass, permissions, or attr.NAME for an attribute`,
			`users.csv:1: missing column "password"`,
		}},
		{"attribute prefix is case-sensitive", "id,kind,username,password,Attr.site\np1,patient,pat.one,env:P1,north\n", []string{
			`users.csv:1: unknown column "Attr.site"; want id, kind, username, password, candidate_password, wave, hash_scheme, roles, name, email, birth_date, mrn, npi, panel, break_glass, permissions, or attr.NAME for an attribute`,
		}},
		{"attribute column twice", "id,kind,username,password,attr.site,attr.tenant, attr.site\np1,patient,pat.one,env:P1,north,acme,south\n",
			[]string{`users.csv:1: column "attr.site" appears twice`}},
		{"attribute without a name", "id,kind,username,password,attr.\np1,patient,pat.one,env:P1,north\n",
			[]string{`users.csv:1: column "attr.": name required`}},
		{"attribute name with a space", "id,kind,username,password,attr.home site\np1,patient,pat.one,env:P1,north\n",
			[]string{`users.csv:1: column "attr.home site": name "home site" has ' ' at byte 4; want only letters, digits, '.', '_' and '-'`}},
		{"attribute name too long", "id,kind,username,password,attr." + strings.Repeat("n", 41) + "\np1,patient,pat.one,env:P1,north\n",
			[]string{`users.csv:1: column "attr.` + strings.Repeat("n", 41) + `": name 41 bytes long; want at most 40`}},
		{"attribute names a built-in grouping", "id,kind,username,password,attr.kind,attr.cohort\np1,patient,pat.one,env:P1,x,y\n", []string{
			`users.csv:1: column "attr.kind": name "kind" is a built-in grouping; want a name other than kind, wave, hash_scheme, break_glass, cohort`,
			`users.csv:1: column "attr.cohort": name "cohort" is a built-in grouping; want a name other than kind, wave, hash_scheme, break_glass, cohort`,
		}},
		{"attribute value too long", csvAttrHeader + rowAttrP1 + strings.Repeat("é", 201) + "\n",
			[]string{`users.csv:2: attr.site: want a value of at most 200 characters and no control characters`}},
		{"attribute value with a control character", csvAttrHeader + rowAttrP1 + "\"north\nwing\"\n",
			[]string{`users.csv:2: attr.site: want a value of at most 200 characters and no control characters`}},
		{"attribute value not UTF-8", csvAttrHeader + rowAttrP1 + "north\xff\n",
			[]string{`users.csv:2: attr.site: value is not UTF-8 text`}},
		{"attribute value is the resolved secret", csvAttrHeader + rowAttrP1 + "env-secret-p1\n",
			[]string{`users.csv:2: attr.site: value is this persona's secret; attributes must not hold secrets`}},
		{"attribute value is the inline password", csvAttrHeader + "p1,patient,pat.one,inline:north-2024,wave-1,bcrypt,patient, north-2024 \n",
			[]string{`users.csv:2: attr.site: value is this persona's secret; attributes must not hold secrets`}},
		{"attribute name is the inline password", "id,kind,username,password,wave,hash_scheme,attr.Hunter2-x\np1,patient,pat.one,Hunter2-x,wave-1,bcrypt,north\n",
			[]string{`users.csv:2: attr.[redacted]: name is this persona's secret; attributes must not hold secrets`}},
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
	withAttrs := func(attrs string) string {
		return `{"id":"p1","kind":"patient","username":"pat.one","password":"env:P1","wave":"wave-1","hash_scheme":"bcrypt","attributes":` + attrs + `}`
	}
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
			`users.jsonl:1: unknown key "Role"; want id, kind, username, password, candidate_password, wave, hash_scheme, roles, name, email, birth_date, mrn, npi, panel, break_glass, permissions, attributes`,
			`users.jsonl:1: unknown key "pasword"; want id, kind, username, password, candidate_password, wave, hash_scheme, roles, name, email, birth_date, mrn, npi, panel, break_glass, permissions, attributes`,
			`users.jsonl:1: password: no secret; want a password or an env: or file: reference`,
		}},
		{"blank lines keep numbering", "\n" + good + "\n" + `{"id":"p1","kind":"patient","username":"pat.two","password":"env:P2","wave":"wave-1","hash_scheme":"bcrypt"}`,
			[]string{`users.jsonl:4: id: duplicate id "p1" (first at users.jsonl:2)`}},
		{"attributes not an object", withAttrs(`["north"]`), []string{`users.jsonl:1: attributes: want an object of strings`}},
		{"attribute not a string", withAttrs(`{"site":"north","batch":7,"vip":true}`), []string{
			`users.jsonl:1: attributes.batch: want a string`,
			`users.jsonl:1: attributes.vip: want a string`,
		}},
		{"attribute names a built-in grouping", withAttrs(`{"wave":"7"}`),
			[]string{`users.jsonl:1: attributes.wave: name "wave" is a built-in grouping; want a name other than kind, wave, hash_scheme, break_glass, cohort`}},
		{"attribute name with a space", withAttrs(`{"home site":"north"}`),
			[]string{`users.jsonl:1: attributes.home site: name "home site" has ' ' at byte 4; want only letters, digits, '.', '_' and '-'`}},
		{"attribute name empty", withAttrs(`{"":"north"}`), []string{`users.jsonl:1: attributes.: name required`}},
		{"attribute value too long", withAttrs(`{"site":"` + strings.Repeat("n", 201) + `"}`),
			[]string{`users.jsonl:1: attributes.site: want a value of at most 200 characters and no control characters`}},
		{"attribute value with a control character", withAttrs(`{"site":"north\twing"}`),
			[]string{`users.jsonl:1: attributes.site: want a value of at most 200 characters and no control characters`}},
		{"attribute value is the secret", withAttrs(`{"site":"env-secret-p1"}`),
			[]string{`users.jsonl:1: attributes.site: value is this persona's secret; attributes must not hold secrets`}},
		{"attribute name is the inline password", `{"id":"p1","kind":"patient","username":"pat.one","password":"pa ss","wave":"wave-1","hash_scheme":"bcrypt","attributes":{"pa ss":"x"}}`,
			[]string{`users.jsonl:1: attributes.[redacted]: name is this persona's secret; attributes must not hold secrets`}},
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

func TestReadAttributes(t *testing.T) {
	want := map[string]map[string]string{
		"p1": {"site": "north", "tenant": "acme, inc.", "batch": "7"},
		"p2": {"site": "south"},
		"c1": nil,
	}
	csvIn := "id,kind,username,password,wave,hash_scheme,roles,attr.site, attr.tenant ,attr.batch\n" +
		"p1,patient,pat.one,env:P1,wave-1,bcrypt,patient,north,\"acme, inc.\", 7 \n" +
		"p2,patient,pat.two,env:P2,wave-1,bcrypt,patient,south,,\n" +
		"c1,clinician,doc.one,env:C1,wave-1,bcrypt,clinician,,  ,\n"
	jsonlIn := `{"id":"p1","kind":"patient","username":"pat.one","password":"env:P1","wave":"wave-1","hash_scheme":"bcrypt","attributes":{"site":"north","tenant":"acme, inc.","batch":"7"}}` + "\n" +
		`{"id":"p2","kind":"patient","username":"pat.two","password":"env:P2","wave":"wave-1","hash_scheme":"bcrypt","attributes":{"site":"south","tenant":"","batch":null}}` + "\n" +
		`{"id":"c1","kind":"clinician","username":"doc.one","password":"env:C1","wave":"wave-1","hash_scheme":"bcrypt","attributes":{}}` + "\n"
	for _, tt := range []struct {
		name string
		read func(io.Reader, string, personas.SecretResolver) (personas.Population, error)
		in   string
	}{
		{"ReadCSV", personas.ReadCSV, csvIn},
		{"ReadJSONL", personas.ReadJSONL, jsonlIn},
	} {
		pop, err := tt.read(strings.NewReader(tt.in), "users", testResolver())
		if err != nil {
			t.Fatalf("%s = %v", tt.name, err)
		}
		for id, attrs := range want {
			p, _ := pop.Lookup(id)
			if !maps.Equal(p.Attributes, attrs) || (attrs == nil) != (p.Attributes == nil) {
				t.Errorf("%s: %s attributes = %#v; want %#v", tt.name, id, p.Attributes, attrs)
			}
		}
	}
}

func TestValidateAttributes(t *testing.T) {
	pop, err := personas.ReadCSV(strings.NewReader(csvHeader+rowP1), "users.csv", testResolver())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		attrs map[string]string
		want  string
	}{
		{map[string]string{"site": "north", "batch.id": "7", "Tenant_2": "acme-east"}, ""},
		{map[string]string{"site": ""}, "personas[0] p1: attributes.site: empty value; want a value, or no attribute"},
		{map[string]string{"break_glass": "yes"},
			`personas[0] p1: attributes.break_glass: name "break_glass" is a built-in grouping; want a name other than kind, wave, hash_scheme, break_glass, cohort`},
		{map[string]string{"site": "env-secret-p1"}, "personas[0] p1: attributes.site: value is this persona's secret; attributes must not hold secrets"},
		{map[string]string{"env-secret-p1": "x"}, "personas[0] p1: attributes.[redacted]: name is this persona's secret; attributes must not hold secrets"},
		{map[string]string{"b": "x\x00", "a": strings.Repeat("x", 201)}, "personas[0] p1: attributes.a: want a value of at most 200 characters and no control characters\n" +
			"personas[0] p1: attributes.b: want a value of at most 200 characters and no control characters"},
	}
	for _, tt := range tests {
		pop.Personas[0].Attributes = tt.attrs
		got := ""
		if err := pop.Validate(); err != nil {
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("Validate() with attributes %q = %q; want %q", tt.attrs, got, tt.want)
		}
	}
}

func TestWriteRefusesSecretAttribute(t *testing.T) {
	pop, err := personas.ReadCSV(strings.NewReader(csvHeader+rowP1), "users.csv", testResolver())
	if err != nil {
		t.Fatal(err)
	}
	pop.Personas[0].Attributes = map[string]string{"site": "env-secret-p1", "env-secret-p1": "north"}
	for name, write := range map[string]func(*strings.Builder, personas.Population) error{
		"WriteCSV":   func(b *strings.Builder, p personas.Population) error { return personas.WriteCSV(b, p) },
		"WriteJSONL": func(b *strings.Builder, p personas.Population) error { return personas.WriteJSONL(b, p) },
	} {
		var b strings.Builder
		err := write(&b, pop)
		want := "export: personas[0] p1: attributes.[redacted]: name is this persona's secret; attributes must not hold secrets\n" +
			"export: personas[0] p1: attributes.site: value is this persona's secret; attributes must not hold secrets"
		if err == nil || err.Error() != want {
			t.Errorf("%s = %v; want %q", name, err, want)
		}
		if b.Len() != 0 {
			t.Errorf("%s wrote %q; want nothing", name, b.String())
		}
	}
}
