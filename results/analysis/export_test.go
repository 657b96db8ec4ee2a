package analysis

// Internals the external tests (package analysis_test, which the shared fixture
// makes external) reach.
var (
	HypergeomTail       = hypergeomTail
	BinomialTailAtLeast = binomialTailAtLeast
	NewHist             = newHist
	ClampLatency        = clampLatency
	RatioCI             = ratioCI
	SideSummaryOf       = sideSummary
	StepEvidenceOf      = (*Stats).evidence
)

const MaxTimelinePoint = maxTimelinePoint

// SetGrouping switches root-cause grouping on or off (benchmarks measure what
// it costs).
func SetGrouping(a *Analysis, on bool) { a.cmp.noUnits = !on }
