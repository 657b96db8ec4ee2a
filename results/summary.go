package results

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"time"
)

// SummarySchema names the version of summary.json; it changes when a field changes
// meaning or goes away.
const SummarySchema = "cutover.summary/v1"

// Verdicts of a run.
const (
	VerdictPass    = "pass"
	VerdictFail    = "fail"
	VerdictAborted = "aborted"
)

// Meta describes the run.
type Meta struct {
	Name       string        `json:"name"`
	Version    string        `json:"version"`
	Seed       uint64        `json:"seed"`
	ConfigHash string        `json:"config_hash"`
	Start      time.Time     `json:"start"`
	Duration   time.Duration `json:"duration_ns"`
	AA         bool          `json:"aa,omitempty"`
	// Drifts names the embedded-candidate drifts switched on (demo runs only).
	Drifts []string `json:"drifts,omitempty"`
	// Aborted says why the run stopped early, if it did.
	Aborted string `json:"aborted,omitempty"`
}

// Accounting is the load generator's honesty: what it meant to do and what it did.
type Accounting struct {
	Scheduled int64 `json:"scheduled"`
	Started   int64 `json:"started"`
	// Late counts journeys started more than the lateness threshold after their
	// intended start; their latency runs from the intended start.
	Late int64 `json:"late"`
	// Dropped counts journeys never started: too many in flight, or no idle persona.
	Dropped int64 `json:"dropped"`
	// Saturated lists the windows where the generator could not keep the schedule:
	// latency verdicts from them are not trustworthy.
	Saturated []Window `json:"saturated,omitempty"`
}

// Window is a span of a run, as offsets from its start.
type Window struct {
	From time.Duration `json:"from_ns"`
	To   time.Duration `json:"to_ns"`
}

// SideSummary holds one side's figures for one step.
type SideSummary struct {
	Count  int64   `json:"count"`
	Errors int64   `json:"errors"`
	P50    float64 `json:"p50_ms"`
	P90    float64 `json:"p90_ms"`
	P95    float64 `json:"p95_ms"`
	P99    float64 `json:"p99_ms"`
	Max    float64 `json:"max_ms"`
}

// StepSummary holds both sides' figures for one step.
type StepSummary struct {
	Journey   string      `json:"journey"`
	Step      string      `json:"step"`
	Legacy    SideSummary `json:"legacy"`
	Candidate SideSummary `json:"candidate"`
	// Ratio is candidate p50 over legacy p50 with its 95% interval, when both sides
	// have enough samples.
	Ratio *Ratio `json:"p50_ratio,omitempty"`
}

// Summary is the content of summary.json.
type Summary struct {
	Schema    string        `json:"schema"`
	Verdict   string        `json:"verdict"`
	Meta      Meta          `json:"run"`
	Generator Accounting    `json:"generator"`
	Findings  []Finding     `json:"findings"`
	Steps     []StepSummary `json:"steps"`
	// Compared and Uncomparable count the candidate steps judged against legacy or the
	// expected table, and those that could not be (the legacy twin errored).
	Compared     int `json:"compared"`
	Uncomparable int `json:"uncomparable"`
}

// Gate decides the verdict from findings.
type Gate struct {
	// FailOn lists the severities that fail a run.
	FailOn []Severity
}

// Fails reports whether f fails the run.
func (g Gate) Fails(f Finding) bool { return slices.Contains(g.FailOn, f.Severity) }

// Failing returns the findings that fail the run.
func (s *Summary) Failing(g Gate) []Finding {
	var out []Finding
	for _, f := range s.Findings {
		if g.Fails(f) {
			out = append(out, f)
		}
	}
	return out
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func sideSummary(s *SideStats) SideSummary {
	return SideSummary{
		Count: s.Count, Errors: s.Errors,
		P50: ms(s.Quantile(50)), P90: ms(s.Quantile(90)), P95: ms(s.Quantile(95)), P99: ms(s.Quantile(99)),
		Max: ms(time.Duration(s.Hist.Max())),
	}
}

// WriteJSON writes the summary to path, indented.
func (s *Summary) WriteJSON(path string) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("encode summary: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write summary: %w", err)
	}
	return nil
}
