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
// the run itself (its verdict, each failed precondition, the generator). A
// check the run did not judge is skipped with the reason, never passed.
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
		case checkNotJudged, checkNotExercised:
			status := ch.Status
			if ch.Coverage != nil && ch.Coverage.Status != analysis.CoverageJudged {
				status = ch.Coverage.Status
			}
			c.Skipped = &junitMessage{Message: status + ": " + ch.Why()}
		}
		if len(ch.Shared) > 0 {
			c.SystemOut = strings.TrimLeft(c.SystemOut+"\npresent on both stacks (legacy shows it too: not a regression):\n"+findingsText(ch.Shared), "\n")
		}
		if ch.Coverage != nil && ch.Coverage.Status == analysis.CoveragePartial {
			c.SystemOut = strings.TrimLeft(c.SystemOut+"\njudged in part: "+ch.Why(), "\n")
		}
		parity.add(c)
	}
	perf := junitSuite{Name: "cutover.performance", Timestamp: ts}
	gaps := perfGaps(s)
	for _, st := range s.Steps {
		where := st.Journey + "/" + st.Step
		for _, pc := range []struct {
			class analysis.Class
			name  string
			ok    string
		}{
			{analysis.LatencyRegression, "latency " + where, fmt.Sprintf("p50 %s vs %s, ratio %s", junitP50(st.Candidate), junitP50(st.Legacy), ratioText(st.Ratio))},
			{analysis.ErrorRateRegression, "error rate " + where, fmt.Sprintf("errors %s vs %s", junitErrors(st.Candidate), junitErrors(st.Legacy))},
		} {
			c := junitCase{Name: pc.name, Classname: "cutover.performance", SystemOut: "candidate vs legacy: " + pc.ok}
			if f, ok := finding(s, pc.class, st); ok {
				if f.Fails {
					c.Failure = &junitMessage{Message: string(pc.class) + ": " + f.Detail, Type: string(pc.class), Text: findingsText([]analysis.Finding{f})}
				} else {
					c.SystemOut += "\nfound, below the failing thresholds: " + f.Detail
				}
			} else if why := perfNotJudged(st, pc.class, gaps); why != "" {
				c.Skipped = &junitMessage{Message: "not judged: " + why}
			}
			if st.UnhealthyShare > 0 {
				c.SystemOut += "\n" + unhealthyText(st.UnhealthyShare) + ": those samples are not judged"
			}
			if notes := sideNotes(st); notes != "" {
				c.SystemOut += "\n" + notes
			}
			perf.add(c)
		}
	}
	run := junitSuite{Name: "cutover.run", Timestamp: ts}
	verdict := junitCase{Name: "run verdict", Classname: "cutover.run", SystemOut: "verdict: " + s.Verdict}
	switch {
	case s.Meta.Aborted != "":
		verdict.Error = &junitMessage{Message: "aborted: " + s.Meta.Aborted, Type: "aborted"}
	case s.Verdict == analysis.VerdictInconclusive:
		verdict.Failure = &junitMessage{Message: fmt.Sprintf("inconclusive: the run did not see enough to pass it (%d %s)", len(s.Inconclusive), plural(len(s.Inconclusive), "reason", "reasons")),
			Type: analysis.VerdictInconclusive, Text: strings.Join(s.Inconclusive, "\n") + "\n"}
	}
	if count := coverageCount(s); count != "" {
		verdict.SystemOut += "\ncoverage: " + count
	}
	run.add(verdict)
	for _, p := range s.Preconditions {
		run.add(junitCase{Name: fmt.Sprintf("precondition: %s %s/%s", p.Side, p.Journey, p.Step), Classname: "cutover.run",
			Failure: &junitMessage{Message: fmt.Sprintf("failed on %d of %d attempts with the same error: %s", p.Failed, p.Attempts, p.Error), Type: "precondition", Text: p.Text() + "\n"}})
	}
	g := s.Generator
	gen := junitCase{Name: string(analysis.GeneratorSaturated), Classname: "cutover.run",
		SystemOut: fmt.Sprintf("scheduled %d, started %d, late %d, dropped %d", g.Scheduled, g.Started, g.Late, g.Dropped)}
	if h := g.Health; h != nil {
		gen.SystemOut += "\nhealth: " + healthText(h)
	}
	for _, sf := range g.Shortfall {
		gen.SystemOut += "\npool shortfall (not the generator): " + shortfallText(sf)
	}
	for _, n := range s.Notices {
		// Not a regression: it never fails the run, but the report says so.
		gen.SystemOut += "\n" + n.Detail
	}
	run.add(gen)
	if len(s.Shared) > 0 {
		run.add(junitCase{Name: "present on both stacks", Classname: "cutover.run",
			SystemOut: "legacy shows these too: reported, not regressions, never failing:\n" + findingsText(s.Shared)})
	}
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

// perfGaps maps each performance class to its coverage gaps by step
// ("journey/step"): the steps whose verdict an unhealthy generator took away.
func perfGaps(s *analysis.Summary) map[analysis.Class]map[string]string {
	out := map[analysis.Class]map[string]string{}
	for _, c := range s.Coverage {
		for _, g := range c.Gaps {
			if g.Step == "" {
				continue
			}
			if out[c.Class] == nil {
				out[c.Class] = map[string]string{}
			}
			out[c.Class][g.Step] = g.Reason
		}
	}
	return out
}

// perfNotJudged says why step st got no verdict of class c, "" when it got one.
func perfNotJudged(st analysis.StepSummary, c analysis.Class, gaps map[analysis.Class]map[string]string) string {
	if why := gaps[c][st.Journey+"/"+st.Step]; why != "" {
		return why
	}
	for _, sd := range []struct {
		side string
		s    analysis.SideSummary
	}{{"legacy", st.Legacy}, {"candidate", st.Candidate}} {
		if sd.s.Count == 0 {
			return "performed on one side only: " + sd.side + " " + dash(sd.s.NotRun)
		}
	}
	if c == analysis.LatencyRegression && st.Ratio == nil {
		return dash(st.NotJudged)
	}
	return ""
}

// junitP50 is a side's median, or why it has none.
func junitP50(sd analysis.SideSummary) string {
	switch {
	case sd.Count == 0:
		return dash(sd.NotRun)
	case !answered(sd):
		return "no answer"
	}
	return fmt.Sprintf("%.2fms", sd.P50)
}

// junitErrors is a side's error rate, or why it has none.
func junitErrors(sd analysis.SideSummary) string {
	if sd.Count == 0 {
		return dash(sd.NotRun)
	}
	return pct(sd.ErrorRate())
}

// sideNotes says what the sides did not perform of a step, for a test case's
// output.
func sideNotes(st analysis.StepSummary) string {
	var out []string
	for _, sd := range []struct {
		side string
		s    analysis.SideSummary
	}{{"legacy", st.Legacy}, {"candidate", st.Candidate}} {
		if np := notPerformed(sd.s); np != "" && sd.s.Count > 0 {
			out = append(out, sd.side+" "+np)
		}
	}
	return strings.Join(out, "\n")
}

// findingsText lists findings with their examples, one per line.
func findingsText(fs []analysis.Finding) string {
	var b strings.Builder
	for _, f := range fs {
		fmt.Fprintf(&b, "%s %s %s/%s kind=%s count=%d", f.Severity, classCheck(f), f.Journey, f.Step, dash(f.PersonaKind), f.Count)
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
