// Package docs holds the references generated from the code: config.md (from
// run/config's types, by run/config's TestConfigReference) and classes.md (from
// results/analysis's classes, by TestClassesReference here).
package docs

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/cutover-dev/cutover/results/analysis"
)

var update = flag.Bool("update", false, "rewrite docs/classes.md from results/analysis's classes")

const classesFile = "classes.md"

// classesReference renders classes.md: every regression class of
// analysis.Classes, in their order, with its severity, kind, meaning, the
// standards behind it and the steps whose records can raise it.
func classesReference() []byte {
	var b bytes.Buffer
	b.WriteString("# The regression classes\n\n")
	b.WriteString("Generated from `results/analysis` (`analysis.Classes`, each class's `Severity`, `Performance` and `Info`) by\n")
	b.WriteString("`go test ./docs -run TestClassesReference -update`; the same test fails when this file no longer matches the code.\n\n")
	b.WriteString("The names are stable: reports, `summary.json`, metrics and tests use exactly these. A finding fails a run when\n")
	b.WriteString("its severity is one of `thresholds.fail_on`, or as `thresholds.classes` decides for its class (see [config.md](config.md)).\n")
	b.WriteString("A failing **parity** finding exits 1; a failing **performance** finding exits 5 when nothing else fails. The classes\n")
	fmt.Fprintf(&b, "that are **not a regression** never fail a run: `%s` sets the latency and error-rate verdicts of the\n", analysis.GeneratorSaturated)
	fmt.Fprintf(&b, "unhealthy windows apart; `%s` (the stacks hold different personas before any load) stops the run, exit 4,\n", analysis.ProvisioningDrift)
	b.WriteString("unless only roles differ and `parity.roles` lets it go on to measure their effect.\n\n")
	b.WriteString("| class | kind | severity | meaning | backed by | raised by the steps |\n|---|---|---|---|---|---|\n")
	for _, c := range analysis.Classes {
		info := c.Info()
		kind, steps := "parity", "`"+strings.Join(info.Steps, "`, `")+"`"
		switch {
		case c.Severity() == analysis.Info:
			kind, steps = "not a regression", "the run as a whole"
		case c.Performance():
			kind, steps = "performance", "every step"
		}
		backed := info.BackedBy
		if backed == "" {
			backed = "-"
		}
		meaning := info.Meaning
		if info.Check != "" {
			meaning += ". Check: " + info.Check
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s | %s |\n", c, kind, c.Severity(), cell(meaning), cell(backed), steps)
	}
	return b.Bytes()
}

// cell escapes s for a Markdown table cell.
func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// TestClassesReference: docs/classes.md is what results/analysis says about
// every class today.
func TestClassesReference(t *testing.T) {
	want := classesReference()
	if *update {
		if err := os.WriteFile(classesFile, want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(classesFile)
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("docs/classes.md is not what results/analysis says (%v): go test ./docs -run TestClassesReference -update", err)
	}
	// A class added to the list but not described, or a regression left without
	// a severity (it would be listed as not a regression), is caught here.
	for _, c := range analysis.Classes {
		meaning := c.Info().Meaning
		if meaning == "" {
			t.Errorf("%s has no meaning in results/analysis/classinfo.go", c)
		}
		if notice := strings.HasPrefix(meaning, "not a regression"); notice != (c.Severity() == analysis.Info) {
			t.Errorf("%s: severity %q, meaning %q; a regression needs a severity, only a notice goes without", c, c.Severity(), meaning)
		}
	}
}
