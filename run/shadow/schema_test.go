package shadow_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/cutover-dev/cutover/run/shadow"
)

// schemaTable reads the table of the SCHEMA.md section whose heading starts
// with heading: field path -> type.
func schemaTable(t *testing.T, heading string) map[string]string {
	t.Helper()
	f, err := os.Open("../../results/SCHEMA.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	in := false
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, heading):
			in = true
		case strings.HasPrefix(line, "#"):
			in = false
		case in && strings.HasPrefix(line, "| `"):
			cells := strings.Split(line, "|")
			out[strings.Trim(strings.TrimSpace(cells[1]), "`")] = strings.TrimSpace(cells[2])
		}
	}
	if len(out) == 0 {
		t.Fatalf("SCHEMA.md has no table under %q", heading)
	}
	return out
}

// fieldsOf flattens a JSON document into path -> types; arrays add "[]", the
// keys of the maps under mapPaths become "*".
func fieldsOf(v any, path string, out map[string][]string, mapPaths []string) {
	add := func(typ string) {
		if !slices.Contains(out[path], typ) {
			out[path] = append(out[path], typ)
		}
	}
	switch x := v.(type) {
	case map[string]any:
		add("object")
		for k, e := range x {
			p := k
			if path != "" {
				p = path + "." + k
			}
			if slices.Contains(mapPaths, path) {
				p = path + ".*"
			}
			fieldsOf(e, p, out, mapPaths)
		}
	case []any:
		add("array")
		for _, e := range x {
			fieldsOf(e, path+"[]", out, mapPaths)
		}
	case string:
		add("string")
	case bool:
		add("boolean")
	case float64:
		if x == math.Trunc(x) {
			add("integer")
		} else {
			add("number")
		}
	default:
		add("null")
	}
}

// TestReportMatchesSchema checks the shadow.json table of results/SCHEMA.md
// against the shadow.json of real runs, both ways: every field written is
// documented with its type, every field documented is written by a run of a
// synthetic production's log with ambiguous lines, a drift of the policy, a
// role expected and never seen and one seen and not expected; or is one
// written past the counting caps only (capped).
func TestReportMatchesSchema(t *testing.T) {
	doc := schemaTable(t, "## shadow.json")
	w := newWorld(400, 5)
	dir := t.TempDir()
	pdp := newOPA(t, policy(t, billingAdmin, blocking("\tinput.subject.properties.tenant == \"east\"\n\ttype == \"appointments\"")), map[string]any{"panels": w.panels()}, metaBatch)
	file := strings.Replace(synthShadowFile, "roles: [patient, clinician, billing-clerk, admin, auditor]", "roles: [patient, clinician, billing-clerk, admin, nurse]", 1)
	file = strings.Replace(file, "batch: %d, ", "", 1)
	f, err := shadow.Parse("synthetic.yaml", fmt.Appendf(nil, file, pdp.URL), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := shadow.Run(t.Context(), f, shadow.Options{Source: newSynthLog(w, 20_000), MaxRate: 1000, Out: dir}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, shadow.ReportFile))
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	seen := map[string][]string{}
	fieldsOf(v, "", seen, []string{"coverage.roles", "coverage.resource_types", "coverage.actions"})
	delete(seen, "")
	var undocumented, wrongType, unwritten []string
	for path, types := range seen {
		want, ok := doc[path]
		if !ok {
			undocumented = append(undocumented, path)
			continue
		}
		for _, typ := range types {
			if wants := strings.Split(want, " or "); !slices.Contains(wants, typ) && !(typ == "integer" && slices.Contains(wants, "number")) {
				wrongType = append(wrongType, path+": "+typ+", documented "+want)
			}
		}
	}
	for path := range doc {
		if _, ok := seen[path]; !ok && path != "capped" {
			unwritten = append(unwritten, path)
		}
	}
	sort.Strings(undocumented)
	sort.Strings(wrongType)
	sort.Strings(unwritten)
	if len(undocumented)+len(wrongType)+len(unwritten) > 0 {
		t.Errorf("SCHEMA.md and shadow.json disagree:\nundocumented: %q\nwrong type: %q\ndocumented but never written: %q", undocumented, wrongType, unwritten)
	}
}
