package schemadoc

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestCompare: a table and a document that disagree every way are reported
// every way; the same document against its own table agrees.
func TestCompare(t *testing.T) {
	md := filepath.Join(t.TempDir(), "SCHEMA.md")
	table := "# out.json\n\n| field | type | meaning |\n|---|---|---|\n" +
		"| `a` | string | a |\n| `n` | number | n |\n| `list` | array | l |\n| `list[]` | integer | l |\n" +
		"| `m` | object | a map |\n| `m.*` | string or null | its values |\n| `gone` | string | never written |\n| `cap` | integer | rare |\n" +
		"## other.json\n\n| `other` | string | not this table |\n"
	if err := os.WriteFile(md, []byte(table), 0o644); err != nil {
		t.Fatal(err)
	}
	doc, err := Table(md, "# out.json")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := doc["other"]; ok || len(doc) != 8 {
		t.Fatalf("table = %v; want the 8 rows of out.json alone", doc)
	}
	var v any
	_ = json.Unmarshal([]byte(`{"a": 1, "n": 2, "list": [1, 2.5], "m": {"x": "y", "z": null}, "extra": true}`), &v)
	seen := map[string][]string{}
	Fields(v, []string{"m"}, seen)
	d := Compare(doc, seen, "cap")
	if !slices.Equal(d.Undocumented, []string{"extra"}) || !slices.Equal(d.WrongType, []string{"a: integer, documented string", "list[]: number, documented integer"}) ||
		!slices.Equal(d.Unwritten, []string{"gone"}) || !d.Any() {
		t.Errorf("disagreements:\n%s", d)
	}
	if _, err := Table(md, "# missing.json"); err == nil {
		t.Error("Table of a heading the file lacks = nil error")
	}
}
