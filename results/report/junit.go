package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"

	"github.com/cutover-dev/cutover/results/analysis"
)

// The JUnit XML shape CI systems read (the Ant/Surefire schema): one test case per
// check, a failure carrying the finding's examples.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name      string      `xml:"name,attr"`
	Tests     int         `xml:"tests,attr"`
	Failures  int         `xml:"failures,attr"`
	Errors    int         `xml:"errors,attr"`
	Skipped   int         `xml:"skipped,attr"`
	Timestamp string      `xml:"timestamp,attr,omitempty"`
	Cases     []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Error     *junitMessage `xml:"error,omitempty"`
	Skipped   *junitMessage `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

func (s *junitSuite) add(c junitCase) {
	s.Tests++
	switch {
	case c.Failure != nil:
		s.Failures++
	case c.Error != nil:
		s.Errors++
	case c.Skipped != nil:
		s.Skipped++
	}
	s.Cases = append(s.Cases, c)
}

// WriteJUnit writes junit.xml: a suite of parity checks (one case per regression
// class), one of performance checks (latency and error rate per step) and one for
// the run itself (completed, generator kept the schedule).
func WriteJUnit(w io.Writer, s *analysis.Summary) error {
	ts := s.Meta.Start.UTC().Format("2006-01-02T15:04:05")
	parity := junitSuite{Name: "cutover.parity", Timestamp: ts}
	for _, ch := range parityChecks(s) {
		c := junitCase{Name: string(ch.Class), Classname: "cutover.parity"}
		switch ch.Status {
		case checkFail:
			c.Failure = &junitMessage{Message: fmt.Sprintf("%d occurrence(s): %s", ch.Count, ch.Class.Info().Meaning), Type: string(ch.Class), Text: findingsText(ch.Findings)}
		case checkFound:
			c.SystemOut = "found, below the failing thresholds:\n" + findingsText(ch.Findings)
		case checkNotExercised:
			c.Skipped = &junitMessage{Message: "not exercised: no step of this run can raise it"}
		}
		parity.add(c)
	}
	perf := junitSuite{Name: "cutover.performance", Timestamp: ts}
	for _, st := range s.Steps {
		where := st.Journey + "/" + st.Step
		for _, pc := range []struct {
			class analysis.Class
			name  string
			ok    string
		}{
			{analysis.LatencyRegression, "latency " + where, fmt.Sprintf("p50 %.2fms vs %.2fms, ratio %s", st.Candidate.P50, st.Legacy.P50, ratioText(st.Ratio))},
			{analysis.ErrorRateRegression, "error rate " + where, fmt.Sprintf("errors %s vs %s", pct(st.Candidate.ErrorRate()), pct(st.Legacy.ErrorRate()))},
		} {
			c := junitCase{Name: pc.name, Classname: "cutover.performance", SystemOut: "candidate vs legacy: " + pc.ok}
			if f, ok := finding(s, pc.class, st); ok {
				if f.Fails {
					c.Failure = &junitMessage{Message: string(pc.class) + ": " + f.Detail, Type: string(pc.class), Text: findingsText([]analysis.Finding{f})}
				} else {
					c.SystemOut += "\nfound, below the failing thresholds: " + f.Detail
				}
			}
			if pc.class == analysis.LatencyRegression && st.SaturatedShare > 0 {
				c.SystemOut += fmt.Sprintf("\n%s: %.0f%% of the samples ran while the generator was saturated; this latency verdict is not trustworthy", analysis.GeneratorSaturated, 100*st.SaturatedShare)
			}
			perf.add(c)
		}
	}
	run := junitSuite{Name: "cutover.run", Timestamp: ts}
	done := junitCase{Name: "run completed", Classname: "cutover.run"}
	if s.Meta.Aborted != "" {
		done.Error = &junitMessage{Message: "aborted: " + s.Meta.Aborted, Type: "aborted"}
	}
	run.add(done)
	g := s.Generator
	gen := junitCase{Name: string(analysis.GeneratorSaturated), Classname: "cutover.run",
		SystemOut: fmt.Sprintf("scheduled %d, started %d, late %d, dropped %d", g.Scheduled, g.Started, g.Late, g.Dropped)}
	for _, n := range s.Notices {
		// Not a regression: it never fails the run, but the report says so.
		gen.SystemOut += "\n" + n.Detail
	}
	run.add(gen)
	if nf := s.NoiseFloor; nf != nil {
		c := junitCase{Name: "A/A noise floor", Classname: "cutover.run", SystemOut: fmt.Sprintf("%d of %d comparisons disagreed (%s)", nf.Disagreed, nf.Compared, pct(nf.Rate))}
		run.add(c)
	}
	out := junitSuites{Name: "cutover " + s.Meta.Name, Time: fmt.Sprintf("%.3f", s.Meta.Duration.Seconds())}
	for _, su := range []junitSuite{parity, perf, run} {
		out.Tests += su.Tests
		out.Failures += su.Failures
		out.Errors += su.Errors
		out.Skipped += su.Skipped
		out.Suites = append(out.Suites, su)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// findingsText lists findings with their examples, one per line.
func findingsText(fs []analysis.Finding) string {
	var b strings.Builder
	for _, f := range fs {
		fmt.Fprintf(&b, "%s %s %s/%s kind=%s count=%d", f.Severity, f.Class, f.Journey, f.Step, dash(f.PersonaKind), f.Count)
		if f.Detail != "" {
			fmt.Fprintf(&b, ": %s", f.Detail)
		}
		b.WriteString("\n")
		for _, e := range f.Examples {
			fmt.Fprintf(&b, "  %s\n", e.Text())
		}
	}
	return b.String()
}
