package yamlkeys

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

type inner struct {
	Lower bool              `yaml:"lower"`
	Map   map[string]string `yaml:"map"`
}

type common struct {
	Shared string `yaml:"shared"`
}

type doc struct {
	Name    string        `yaml:"name"`
	Timeout time.Duration `yaml:"timeout"`
	Items   []inner       `yaml:"items"`
	Byname  map[string]*inner
	common  `yaml:",inline"`
	Common  common `yaml:",inline"`
	Skip    string `yaml:"-"`
}

// TestCheck: every unknown key and every duration without a unit, each
// with its YAML path and line, the nearest key of its section named; the
// keys a mapping chooses and merge keys are not unknown.
func TestCheck(t *testing.T) {
	src := `name: x
timout: 5s
timeout: 30
items:
  - {lower: true, lowr: true}
byname:
  anything: {map: {k: v}, mapp: {}}
shared: s
skip: y
<<: {name: y}
`
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(src), &n); err != nil {
		t.Fatal(err)
	}
	got, paths := Check(&n, reflect.TypeFor[doc]())
	want := []Problem{
		{2, "timout", "unknown key (did you mean timeout?)"},
		{3, "timeout", "30 has no unit: add one (30s, 30ms, 30m)"},
		{5, "items.0.lowr", "unknown key (did you mean lower?)"},
		{7, "byname.anything.mapp", "unknown key (did you mean map?)"},
		{9, "skip", "unknown key"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("Check = %+v;\nwant %+v", got, want)
	}
	if paths[7] != "byname.anything.mapp" || paths[8] != "shared" {
		t.Errorf("paths = %v; want the deepest key of each line", paths)
	}
}

// TestTypeError: the decoder's message in the user's words, at its YAML path,
// without the value; a line the walk reported is not reported twice.
func TestTypeError(t *testing.T) {
	paths := map[int]string{7: "candidate.rate", 9: "seed"}
	tests := []struct {
		msg, want string
		ok        bool
	}{
		{"line 7: cannot unmarshal !!str `fast` into float64", "7: candidate.rate: the value is not a number", true},
		{"line 9: cannot unmarshal !!str `s3cr3t` into int", "9: seed: the value is not a whole number", true},
		{"line 4: cannot unmarshal !!map into []string", "4: the value is not a list", true},
		{"line 3: cannot unmarshal !!str `x` into time.Duration", "", false},
	}
	for _, tt := range tests {
		got, ok := TypeError(tt.msg, paths, map[int]bool{3: true})
		if got != tt.want || ok != tt.ok {
			t.Errorf("TypeError(%q) = (%q, %t); want (%q, %t)", tt.msg, got, ok, tt.want, tt.ok)
		}
	}
}

func TestEditDistance(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want int
	}{{"", "", 0}, {"abc", "", 3}, {"lowr", "lower", 1}, {"kitten", "sitting", 3}} {
		if got := EditDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("EditDistance(%q, %q) = %d; want %d", tt.a, tt.b, got, tt.want)
		}
	}
}
