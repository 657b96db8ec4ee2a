package personas

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"reflect"
	"slices"
	"strconv"
	"testing"
)

// codec is one accounts file format, for tests that run on both.
type codec struct {
	name  string
	write func(io.Writer, Population) error
	read  func(io.Reader, string, SecretResolver) (Population, error)
}

var codecs = []codec{{"csv", WriteCSV, ReadCSV}, {"jsonl", WriteJSONL, ReadJSONL}}

// secretsOf returns the environment and the JSON secrets file that hold the secrets
// of pop under the references EnvRef(prefix) and FileRef(path) give it.
func secretsOf(pop Population, prefix, path string) *Resolver {
	env := map[string]string{}
	file := map[string]string{}
	for _, p := range pop.Personas {
		env[EnvRef(prefix)(p)[len(refEnv):]] = p.Secret.Reveal()
		file[p.ID] = p.Secret.Reveal()
	}
	data, _ := json.Marshal(file)
	return &Resolver{Env: env, ReadFile: func(name string) ([]byte, error) {
		if name == path {
			return data, nil
		}
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}}
}

// withAttributes returns a copy of pop in which most personas get attributes, a
// few none, with values that need quoting in CSV (',', '"', ';', spaces inside,
// non-ASCII letters) and names that only some personas have.
func withAttributes(pop Population) Population {
	out := Population{Seed: pop.Seed, Personas: slices.Clone(pop.Personas)}
	sites := []string{"north", "south", "east wing", "Zürich \"HQ\"; 2"}
	for i := range out.Personas {
		if i%5 == 4 {
			continue
		}
		attrs := map[string]string{"site": sites[i%len(sites)]}
		if i%3 == 0 {
			attrs["tenant"] = "acme, inc."
		}
		if i%7 == 0 {
			attrs["batch"] = strconv.Itoa(i % 9)
		}
		if i == 1 {
			attrs["only.one_of-them"] = "x"
		}
		out.Personas[i].Attributes = attrs
	}
	return out
}

// TestRoundTrip is the property: export then import gives the same personas, secrets
// and attributes included, secrets carried by reference; and exporting again gives
// the same bytes.
func TestRoundTrip(t *testing.T) {
	opts := []GenerateOptions{
		{Count: 1000, UnassignedShare: 0.1, LegacySHA256Share: 0.3},
		{Count: 50, Mix: Mix{Clinician: 1, Patient: 1}, PanelSize: 7},
		{Count: 7, Mix: Mix{Service: 1}},
	}
	refs := map[string]func(Persona) string{"env": EnvRef("CUTOVER_SECRET_"), "file": FileRef("secrets.json")}
	for seed := uint64(1); seed <= 5; seed++ {
		for oi, opt := range opts {
			pop := mustGenerate(t, seed, opt)
			for _, p := range pop.Personas {
				if p.Attributes != nil {
					t.Fatalf("seed %d opt %d: generated %s has attributes %q; want none", seed, oi, p.ID, p.Attributes)
				}
			}
			resolver := secretsOf(pop, "CUTOVER_SECRET_", "secrets.json")
			for refName, ref := range refs {
				for attrs, base := range map[string]Population{"no attributes": pop, "attributes": withAttributes(pop)} {
					want := base.WithSecretRefs(ref)
					if err := want.Validate(); err != nil {
						t.Fatalf("seed %d opt %d %s: Validate = %v", seed, oi, attrs, err)
					}
					for _, c := range codecs {
						name := fmt.Sprintf("seed %d opt %d %s refs %s %s", seed, oi, refName, attrs, c.name)
						var first bytes.Buffer
						if err := c.write(&first, want); err != nil {
							t.Fatalf("%s: write = %v", name, err)
						}
						got, err := c.read(bytes.NewReader(first.Bytes()), "accounts", resolver)
						if err != nil {
							t.Fatalf("%s: read = %v", name, err)
						}
						if !reflect.DeepEqual(got.Personas, want.Personas) {
							t.Fatalf("%s: read(write(pop)) differs from pop", name)
						}
						var second bytes.Buffer
						if err := c.write(&second, got); err != nil {
							t.Fatalf("%s: write again = %v", name, err)
						}
						if !bytes.Equal(first.Bytes(), second.Bytes()) {
							t.Errorf("%s: write(read(write(pop))) differs from write(pop)", name)
						}
					}
				}
			}
		}
	}
}

// fuzzResolver resolves every well-formed reference to a value derived from it.
type fuzzResolver struct{}

func (fuzzResolver) Resolve(ref string) (Secret, error) {
	if msg := checkRef(ref); msg != "" {
		return Secret{}, errors.New(msg)
	}
	return NewSecret("resolved:" + ref), nil
}

// checkImport is the property of every input an importer accepts: export and import
// again gives the same personas once inline passwords are given references; and
// every error of an input it refuses is a *RowError.
func checkImport(t *testing.T, c codec, data []byte) {
	pop, err := c.read(bytes.NewReader(data), "fuzz", fuzzResolver{})
	if err != nil {
		joined, ok := err.(interface{ Unwrap() []error })
		if !ok {
			t.Fatalf("%s: error %T %v; want errors.Join of *RowError", c.name, err, err)
		}
		for _, e := range joined.Unwrap() {
			if _, ok := e.(*RowError); !ok {
				t.Fatalf("%s: error %T %v; want *RowError", c.name, e, e)
			}
		}
		return
	}
	if err := pop.Validate(); err != nil {
		t.Fatalf("%s: imported population fails Validate: %v", c.name, err)
	}
	want := pop.WithSecretRefs(EnvRef("FUZZ_"))
	for i := range want.Personas {
		want.Personas[i].Secret = NewSecret("resolved:" + want.Personas[i].SecretRef)
	}
	var buf bytes.Buffer
	if err := c.write(&buf, want); err != nil {
		t.Fatalf("%s: write = %v", c.name, err)
	}
	got, err := c.read(bytes.NewReader(buf.Bytes()), "fuzz", fuzzResolver{})
	if err != nil {
		t.Fatalf("%s: read(write(read(input))) = %v\nexport:\n%s", c.name, err, buf.Bytes())
	}
	if !reflect.DeepEqual(got.Personas, want.Personas) {
		t.Fatalf("%s: read(write(p)) differs from p\n got %+v\nwant %+v", c.name, got.Personas, want.Personas)
	}
}

// fuzzSeeds are exports of small populations and hand-written bad files.
func fuzzSeeds(f *testing.F, c codec, bad ...string) {
	pop := mustGenerate(f, 1, GenerateOptions{Count: 12, UnassignedShare: 0.2, LegacySHA256Share: 0.5})
	for _, p := range []Population{pop, withAttributes(pop)} {
		var buf bytes.Buffer
		if err := c.write(&buf, p.WithSecretRefs(FileRef("s.json"))); err != nil {
			f.Fatal(err)
		}
		f.Add(buf.Bytes())
	}
	for _, s := range bad {
		f.Add([]byte(s))
	}
}

func FuzzReadCSV(f *testing.F) {
	fuzzSeeds(f, codecs[0],
		"id,kind,username,password\np1,patient,pat,env:X\n",
		"id,kind,username,password,wave,hash_scheme,roles\np1,patient,pat,inline:x,w,bcrypt,patient\n",
		"id,kind,username,password,wave,hash_scheme,panel\nc1,clinician,doc,env:C,w,bcrypt,p1;p1\n",
		"\ufeffid,kind\n\"a\nb\",c\n",
		"id,kind,username,password,break_glass\np1,clinician,x,y,maybe\n",
		"id,kind,username,password,wave,hash_scheme,attr.site,attr.tenant\np1,patient,pat,env:X,w,bcrypt,north,\"acme, inc.\"\np2,patient,pat2,env:Y,w,bcrypt,,\n",
		"id,kind,username,password,attr.site,attr.site,attr.kind,attr.\np1,patient,pat,env:X,a,b,c,d\n",
	)
	f.Fuzz(func(t *testing.T, data []byte) { checkImport(t, codecs[0], data) })
}

func FuzzReadJSONL(f *testing.F) {
	fuzzSeeds(f, codecs[1],
		`{"id":"p1","kind":"patient","username":"pat","password":"env:X","wave":"w","hash_scheme":"bcrypt"}`,
		`{"id":"c1","kind":"clinician","username":"d","password":"x","wave":"w","hash_scheme":"bcrypt","panel":["p"],"break_glass":true}`,
		"{\"id\":1}\n[]\nnull\n\n{",
		`{"id":"s","kind":"service","username":"s","password":"file:a#b","wave":"w","permissions":["a:b"],"roles":[]}`,
		`{"id":"p1","kind":"patient","username":"pat","password":"env:X","wave":"w","hash_scheme":"bcrypt","attributes":{"site":"north","batch":"","x":null}}`,
		`{"id":"p1","kind":"patient","username":"pat","password":"pw","wave":"w","hash_scheme":"bcrypt","attributes":{"site":7,"kind":"x","pw":"pw"}}`,
	)
	f.Fuzz(func(t *testing.T, data []byte) { checkImport(t, codecs[1], data) })
}

func BenchmarkRead(b *testing.B) {
	pop := mustGenerate(b, 1, GenerateOptions{Count: 10_000, UnassignedShare: 0.1})
	resolver := secretsOf(pop, "CUTOVER_SECRET_", "secrets.json")
	pop = pop.WithSecretRefs(EnvRef("CUTOVER_SECRET_"))
	for _, c := range codecs {
		var buf bytes.Buffer
		if err := c.write(&buf, pop); err != nil {
			b.Fatal(err)
		}
		b.Run(c.name+"/n=10000", func(b *testing.B) {
			b.SetBytes(int64(buf.Len()))
			for b.Loop() {
				if _, err := c.read(bytes.NewReader(buf.Bytes()), "bench", resolver); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
