package report

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/cutover-dev/cutover/results/analysis"
)

// WriteDiff writes the comparison as text tables.
func WriteDiff(w io.Writer, d analysis.Diff) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	p := func(format string, a ...any) { fmt.Fprintf(tw, format, a...) }
	p("baseline A: %s\t%s\tseed %d\tconfig %s\tverdict %s\n", d.A.Name, d.A.Start.UTC().Format("2006-01-02 15:04:05Z"), d.A.Seed, d.A.ConfigHash, strings.ToUpper(d.VerdictA))
	p("compared B: %s\t%s\tseed %d\tconfig %s\tverdict %s\n", d.B.Name, d.B.Start.UTC().Format("2006-01-02 15:04:05Z"), d.B.Seed, d.B.ConfigHash, strings.ToUpper(d.VerdictB))
	if d.NoCausesA {
		p("\ncauses: the baseline's summary predates root causes (schema v1): run `cutover report` on its folder to add them\n")
	}
	for _, g := range []struct {
		title string
		cs    []analysis.DiffCause
	}{{"causes new in B", d.NewCauses}, {"causes fixed since A", d.FixedCauses}, {"causes persisting", d.PersistingCauses}} {
		p("\n%s: %d\n", g.title, len(g.cs))
		if len(g.cs) == 0 {
			continue
		}
		p("A\tB\tSEVERITY\tUNITS A\tUNITS B\tCAUSE\n")
		for _, c := range g.cs {
			sev := string(c.Severity)
			if !c.Fails {
				sev += " (passes)"
			}
			title := c.Title
			if c.IDA != "" && c.IDB != "" && !slices.Equal(c.ClassesA, c.ClassesB) {
				title += " (classes in A: " + strings.Join(c.ClassesA, ", ") + ")"
			}
			p("%s\t%s\t%s\t%d\t%d\t%s\n", dash(c.IDA), dash(c.IDB), sev, c.UnitsA, c.UnitsB, title)
		}
	}
	if len(d.Cohorts) > 0 {
		by := d.CohortByB
		if d.CohortByA != d.CohortByB && !d.NoCausesA {
			by += " (A was cut by " + dash(d.CohortByA) + ": not compared)"
		}
		p("\ncohorts by %s\n", by)
		p("COHORT\tSTATUS A\tSTATUS B\tBLOCKED BY A\tBLOCKED BY B\n")
		for _, c := range d.Cohorts {
			p("%s\t%s\t%s\t%s\t%s\n", c.Name, dash(c.StatusA), dash(c.StatusB), dash(strings.Join(c.BlockedA, " ")), dash(strings.Join(c.BlockedB, " ")))
		}
	}
	for _, g := range []struct {
		title string
		fs    []analysis.DiffFinding
	}{{"finding rows new in B", d.New}, {"finding rows fixed since A", d.Fixed}, {"finding rows persisting", d.Persisting}} {
		p("\n%s: %d\n", g.title, len(g.fs))
		if len(g.fs) == 0 {
			continue
		}
		p("SEVERITY\tCLASS\tJOURNEY\tSTEP\tKIND\tCOUNT A\tCOUNT B\tEXAMPLE\n")
		for _, f := range g.fs {
			sev := string(f.Severity)
			if !f.Fails {
				sev += " (passes)"
			}
			p("%s\t%s\t%s\t%s\t%s\t%d\t%d\t%s\n", sev, f.Class, f.Journey, f.Step, dash(f.PersonaKind), f.CountA, f.CountB, f.Example)
		}
	}
	p("\nlatency (candidate side; ms)\n")
	p("JOURNEY\tSTEP\tp50 A\tp50 B\tΔp50\tp99 A\tp99 B\tΔp99\terrors A\terrors B\tB/A p50 [95%% CI]\n")
	for _, s := range d.Steps {
		ratio := ratioText(s.Ratio)
		if d.NoHistograms {
			ratio = "- (no histograms.json)"
		}
		p("%s\t%s\t%.2f\t%.2f\t%+.2f\t%.2f\t%.2f\t%+.2f\t%s\t%s\t%s\n", s.Journey, s.Step, s.A.P50, s.B.P50, s.B.P50-s.A.P50,
			s.A.P99, s.B.P99, s.B.P99-s.A.P99, pct(s.A.ErrorRate()), pct(s.B.ErrorRate()), ratio)
	}
	for _, k := range d.OnlyInA {
		p("only in A: %s\n", k)
	}
	for _, k := range d.OnlyInB {
		p("only in B: %s\n", k)
	}
	return tw.Flush()
}
