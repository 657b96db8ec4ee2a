package shadow_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cutover-dev/cutover/internal/schemadoc"
	"github.com/cutover-dev/cutover/run/shadow"
)

// TestReportMatchesSchema checks the shadow.json table of results/SCHEMA.md
// against the shadow.json of real runs, both ways: every field written is
// documented with its type, every field documented is written by a run of a
// synthetic production's log with ambiguous lines, a drift of the policy, a
// role expected and never seen and one seen and not expected; or is one
// written past the counting caps only (capped).
func TestReportMatchesSchema(t *testing.T) {
	doc, err := schemadoc.Table("../../results/SCHEMA.md", "## shadow.json")
	if err != nil {
		t.Fatal(err)
	}
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
	schemadoc.Fields(v, []string{"coverage.roles", "coverage.resource_types", "coverage.actions"}, seen)
	// capped is written only past the counting caps.
	if d := schemadoc.Compare(doc, seen, "capped"); d.Any() {
		t.Errorf("SCHEMA.md and shadow.json disagree:\n%s", d)
	}
}
