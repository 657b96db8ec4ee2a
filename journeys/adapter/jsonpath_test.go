package adapter

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestStringsAt(t *testing.T) {
	var doc any
	_ = json.Unmarshal([]byte(`{
		"user": {"id": "p1", "roles": ["a", "b"]},
		"scope": "x y",
		"n": 3,
		"list": [{"id": "z"}, {"id": "w"}],
		"grants": [{"role": "clinician"}, {"role": "breakglass"}],
		"authorities": [{"type": "role", "name": "admin"}, {"type": "perm", "name": "users:read"}],
		"odd-key": ["q"]
	}`), &doc)
	tests := []struct {
		path    string
		want    string
		wantErr string
	}{
		{"$.user.roles", "a b", ""},
		{"user.roles", "a b", ""},
		{"scope", "x y", ""},
		{"list[0].id", "z", ""},
		{"list[-1].id", "w", ""},
		{"list[*].id", "z w", ""},
		{"$.grants[*].role", "clinician breakglass", ""},
		{"$.authorities[?@.type=='role'].name", "admin", ""},
		{"$['odd-key']", "q", ""},
		{"user.missing", "", `path "user.missing": nothing there`},
		{"n", "", "a number, not a string or list"},
		{"list[4]", "", "nothing there"},
		{"user.", "", `path "user.": jsonpath`},
		{"", "", "path is empty"},
	}
	for _, tt := range tests {
		got, err := StringsAt(doc, tt.path)
		switch {
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("StringsAt(%q) error = %v; want %q", tt.path, err, tt.wantErr)
		case tt.wantErr == "" && (err != nil || strings.Join(got, " ") != tt.want):
			t.Errorf("StringsAt(%q) = %v, %v; want %q", tt.path, got, err, tt.want)
		}
	}
	if _, err := Lookup(doc, "list[*].id"); err == nil || !strings.Contains(err.Error(), "2 values where one is expected") {
		t.Errorf("Lookup(list[*].id) = %v; want an error about two values", err)
	}
	if v, err := NumberAt(doc, "n"); err != nil || v != 3 {
		t.Errorf("NumberAt(n) = %v, %v; want 3", v, err)
	}
}

// FuzzStringsAt feeds arbitrary JSON answers and paths: extraction returns values
// or errors, never panics, and never quotes the document in its errors.
func FuzzStringsAt(f *testing.F) {
	f.Add(`{"a":{"b":[1,"x"]}}`, "a.b[1]")
	f.Add(`[]`, "$[0]")
	f.Add(`{"roles":["s3cr3t-value"]}`, "$.roles[?@ == 1]")
	f.Add(`{"a":[{"t":"r","n":"x"}]}`, "$.a[?@.t=='r'].n")
	f.Fuzz(func(t *testing.T, js, path string) {
		var doc any
		if err := json.Unmarshal([]byte(js), &doc); err != nil {
			return
		}
		_, err := StringsAt(doc, path)
		if err != nil && len(js) > 12 && strings.Contains(err.Error(), js) {
			t.Fatalf("error quotes the document: %v", err)
		}
		_, _ = NumberAt(doc, path)
		_, _ = StringAt(doc, path)
	})
}
