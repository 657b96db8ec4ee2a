package analysis

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/cutover-dev/cutover/results/record"
)

// SummarySchema names the version of summary.json (documented in results/SCHEMA.md); it
// changes when a field changes meaning or goes away, not when one is added.
const SummarySchema = "cutover.summary/v3"

// SummarySchemaV2 and SummarySchemaV1 are the previous versions, still read: v2
// has no coverage, preconditions or shared findings, and no inconclusive
// verdict; v1 has no causes and no cohorts either.
const (
	SummarySchemaV2 = "cutover.summary/v2"
	SummarySchemaV1 = "cutover.summary/v1"
)

// Verdicts of a run.
const (
	VerdictPass = "pass"
	VerdictFail = "fail"
	// VerdictInconclusive: no trustworthy finding fails the run, but the run did
	// not see enough to pass it (Summary.Inconclusive says what).
	VerdictInconclusive = "inconclusive"
	VerdictAborted      = "aborted"
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
	// Segment is "I/N" for one segment of a distributed run (`cutover run
	// --segment`); empty for a whole run.
	Segment string `json:"segment,omitempty"`
	// Merged lists the results folders a merged run was made of (`cutover merge`).
	Merged []string `json:"merged,omitempty"`
}

// SideSummary holds one side's figures for one step.
type SideSummary struct {
	// Count is the steps performed (answered, errored, invalid); Unsupported and
	// Skipped those not performed, NotRun the commonest reason.
	Count       int64   `json:"count"`
	Errors      int64   `json:"errors"`
	Invalid     int64   `json:"invalid,omitempty"`
	Unsupported int64   `json:"unsupported,omitempty"`
	Skipped     int64   `json:"skipped,omitempty"`
	NotRun      string  `json:"not_run,omitempty"`
	P50         float64 `json:"p50_ms"`
	P90         float64 `json:"p90_ms"`
	P95         float64 `json:"p95_ms"`
	P99         float64 `json:"p99_ms"`
	Max         float64 `json:"max_ms"`
}

// ErrorRate returns errors over count, 0 when nothing ran.
func (s SideSummary) ErrorRate() float64 {
	if s.Count == 0 {
		return 0
	}
	return float64(s.Errors) / float64(s.Count)
}

// StepSummary holds both sides' figures for one step.
type StepSummary struct {
	Journey string `json:"journey"`
	Step    string `json:"step"`
	// Endpoints are the requests the step makes on the candidate
	// ("POST /token"), in first-call order.
	Endpoints []string    `json:"endpoints,omitempty"`
	Legacy    SideSummary `json:"legacy"`
	Candidate SideSummary `json:"candidate"`
	// Ratio is candidate p50 over legacy p50 with its 95% interval, when both sides
	// have enough samples.
	Ratio *Ratio `json:"p50_ratio,omitempty"`
	// SaturatedShare is the share of the step's samples that started while the
	// generator was saturated (summaries before v3; see UnhealthyShare).
	SaturatedShare float64 `json:"saturated_share,omitempty"`
	// UnhealthyShare is the share of the step's samples taken while the
	// generator was unhealthy: they are set apart from its verdicts.
	UnhealthyShare float64 `json:"unhealthy_share,omitempty"`
	// NotJudged says why the step got no latency verdict, when it got none.
	NotJudged string `json:"not_judged,omitempty"`
	// Timeline is the step's own latency over time, both sides (summaries
	// before it have the run's timeline only).
	Timeline *Timeline `json:"timeline,omitempty"`
	// Evidence lists, per side, the first few records of the step that left
	// evidence files (a failed browser step's screenshot and DOM excerpt).
	Evidence []StepEvidence `json:"evidence,omitempty"`
}

// Notice is an observation that is not a regression but changes how the report
// must be read (GENERATOR_SATURATED).
type Notice struct {
	Class  Class  `json:"class"`
	Detail string `json:"detail"`
}

// NoiseFloor is what an A/A run (legacy against itself) measures: how many of
// the comparisons disagreed although both sides are the same stack. Ideally 0.
type NoiseFloor struct {
	Compared  int     `json:"compared"`
	Disagreed int     `json:"disagreed"`
	Rate      float64 `json:"rate"`
}

// Timeline is the latency over time of both sides.
type Timeline struct {
	// BucketMS is the width of a point: 1000, or wider for runs longer than 600s.
	BucketMS int64       `json:"bucket_ms"`
	Points   []TimePoint `json:"points"`
}

// TimePoint is one bucket of the timeline.
type TimePoint struct {
	// T is the bucket's start, in seconds from the run's start.
	T         float64  `json:"t_s"`
	Legacy    TimeSide `json:"legacy"`
	Candidate TimeSide `json:"candidate"`
}

// TimeSide is one side's figures in one bucket: all steps together in the
// run's timeline, the step's alone in a step's.
type TimeSide struct {
	Count  int64   `json:"count"`
	Errors int64   `json:"errors"`
	P50    float64 `json:"p50_ms"`
	P99    float64 `json:"p99_ms"`
}

// Summary is the content of summary.json.
type Summary struct {
	Schema    string            `json:"schema"`
	Verdict   string            `json:"verdict"`
	Meta      Meta              `json:"run"`
	Generator record.Accounting `json:"generator"`
	// Causes fold the findings into root causes, most severe first.
	Causes []Cause `json:"causes"`
	// CohortBy is the persona attribute the cohort table is cut by; Cohorts is
	// the readiness of each cohort.
	CohortBy string    `json:"cohort_by"`
	Cohorts  []Cohort  `json:"cohorts"`
	Findings []Finding `json:"findings"`
	// Shared are one-sided policy findings legacy shows too: present on both
	// stacks, reported, not regressions (unless thresholds.shared says fail).
	Shared []Finding `json:"shared"`
	// Coverage says, per class, what the run judged and what it did not, and why.
	Coverage []ClassCoverage `json:"coverage"`
	// Preconditions are the steps that failed on (nearly) every attempt on one
	// side: what stood behind them could not be measured.
	Preconditions []Precondition `json:"preconditions"`
	// Inconclusive says why an inconclusive run could not pass, one line each.
	Inconclusive []string      `json:"inconclusive,omitempty"`
	Notices      []Notice      `json:"notices"`
	Steps        []StepSummary `json:"steps"`
	// Compared and Uncomparable count the candidate steps judged against legacy or the
	// expected table, and those that could not be (the legacy twin errored).
	Compared     int `json:"compared"`
	Uncomparable int `json:"uncomparable"`
	// Disagreed counts the comparisons that raised a parity finding.
	Disagreed int `json:"disagreed"`
	// StateApart groups the decision steps not compared because their two
	// sides ran under different state the run created (a grant, a lockout);
	// NotComparable counts them.
	StateApart    []StateGroup `json:"state_apart"`
	NotComparable int          `json:"not_comparable"`
	// NoiseFloor is set in A/A runs.
	NoiseFloor *NoiseFloor `json:"noise_floor,omitempty"`
	Timeline   Timeline    `json:"timeline"`
	// Options are the thresholds and settings the run was judged with, defaults
	// filled in, so `cutover report` re-judges it the same way.
	Options Options `json:"options"`
}

// Failing returns the findings that fail the run under g.
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
	why, _ := s.NotRun.Top()
	return SideSummary{
		Count: s.Count, Errors: s.Errors, Invalid: s.Invalid, Unsupported: s.Unsupported, Skipped: s.Skipped, NotRun: why,
		P50: ms(s.Quantile(50)), P90: ms(s.Quantile(90)), P95: ms(s.Quantile(95)), P99: ms(s.Quantile(99)),
		Max: ms(time.Duration(s.Hist.Max())),
	}
}

// WriteSummary writes s to w as summary.json: indented JSON and a newline.
func WriteSummary(w io.Writer, s *Summary) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(s)
}

// ReadSummary decodes a summary.json; name is used in errors.
func ReadSummary(r io.Reader, name string) (*Summary, error) {
	var s Summary
	if err := json.NewDecoder(r).Decode(&s); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if s.Schema != SummarySchema && s.Schema != SummarySchemaV2 && s.Schema != SummarySchemaV1 {
		return nil, fmt.Errorf("%s: schema %q; want %q", name, s.Schema, SummarySchema)
	}
	return &s, nil
}
