package results

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Report files in a results folder, beside summary.json and the records.
const (
	SummaryFile    = "summary.json"
	HistogramsFile = "histograms.json"
	MarkdownFile   = "report.md"
	JUnitFile      = "junit.xml"
	HTMLFile       = "report.html"
)

// WriteReports writes report.md, junit.xml and report.html of s into dir. Every
// report is rendered from the summary alone; each file is attempted even when
// another fails.
func WriteReports(dir string, s *Summary) error {
	var errs []error
	for _, r := range []struct {
		name   string
		render func(io.Writer, *Summary) error
	}{{MarkdownFile, WriteMarkdown}, {JUnitFile, WriteJUnit}, {HTMLFile, WriteHTML}} {
		if err := writeFile(filepath.Join(dir, r.name), func(w io.Writer) error { return r.render(w, s) }); err != nil {
			errs = append(errs, fmt.Errorf("write %s: %w", r.name, err))
		}
	}
	return errors.Join(errs...)
}

func writeFile(path string, render func(io.Writer) error) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, f.Close()) }()
	return render(f)
}

// Check states, as every report shows them.
const (
	checkFail         = "fail"
	checkFound        = "found"
	checkPass         = "pass"
	checkNotExercised = "not exercised"
)

// check is one regression class judged over a run.
type check struct {
	Class    Class
	Status   string
	Findings []Finding
	Count    int
}

// parityChecks judges every parity class of DOMAIN.md over the summary: failed,
// found without failing the thresholds, passed, or not exercised by the run's
// steps.
func parityChecks(s *Summary) []check {
	steps := s.stepNames()
	var out []check
	for _, c := range Classes {
		if c.Performance() || c.Severity() == Info {
			continue
		}
		ch := check{Class: c, Status: checkPass}
		for _, f := range s.Findings {
			if f.Class == c {
				ch.Findings = append(ch.Findings, f)
				ch.Count += f.Count
			}
		}
		switch {
		case slices.ContainsFunc(ch.Findings, func(f Finding) bool { return f.Fails }):
			ch.Status = checkFail
		case len(ch.Findings) > 0:
			ch.Status = checkFound
		case !c.Exercised(steps):
			ch.Status = checkNotExercised
		}
		out = append(out, ch)
	}
	return out
}

// stepNames lists the distinct steps the run recorded.
func (s *Summary) stepNames() []string {
	var out []string
	for _, st := range s.Steps {
		if !slices.Contains(out, st.Step) {
			out = append(out, st.Step)
		}
	}
	return out
}

// finding returns the finding of class c on step st, if any.
func (s *Summary) finding(c Class, st StepSummary) (Finding, bool) {
	for _, f := range s.Findings {
		if f.Class == c && f.Journey == st.Journey && f.Step == st.Step {
			return f, true
		}
	}
	return Finding{}, false
}

// failingCount counts the findings that fail the run.
func (s *Summary) failingCount() int {
	n := 0
	for _, f := range s.Findings {
		if f.Fails {
			n++
		}
	}
	return n
}

// severityList renders the severities that fail the run.
func (s *Summary) severityList() string {
	if len(s.Options.Gate.FailOn) == 0 {
		return "none"
	}
	out := make([]string, len(s.Options.Gate.FailOn))
	for i, sv := range s.Options.Gate.FailOn {
		out[i] = string(sv)
	}
	return strings.Join(out, ", ")
}

// exampleText renders one example.
func exampleText(e Example) string {
	t := ""
	if e.Target != "" {
		t = " " + e.Target
	}
	line := fmt.Sprintf("%s%s: legacy %s, candidate %s", e.Persona, t, e.Legacy, e.Candidate)
	if len(e.Evidence) > 0 {
		line += " (evidence: " + strings.Join(e.Evidence, " ") + ")"
	}
	return line
}

// ratioText renders a p50 ratio with its interval.
func ratioText(r *Ratio) string {
	if r == nil {
		return "-"
	}
	return fmt.Sprintf("%.2fx [%.2f, %.2f]", r.Value, r.Low, r.High)
}

func pct(v float64) string { return fmt.Sprintf("%.2f%%", 100*v) }
