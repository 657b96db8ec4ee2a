package results

// Options configure an Analysis.
type Options struct {
	Compare CompareOptions
	Perf    PerfOptions
	Gate    Gate
}

// Analysis turns a stream of records into a Summary: the pairing comparison and the
// step statistics in one pass. The live run and `cutover report` feed it the same
// way. It is not safe for concurrent use.
type Analysis struct {
	opt   Options
	cmp   *Comparer
	stats *Stats
}

// NewAnalysis returns an empty Analysis.
func NewAnalysis(opt Options) *Analysis {
	return &Analysis{opt: opt, cmp: NewComparer(opt.Compare), stats: NewStats()}
}

// Add accounts one record.
func (a *Analysis) Add(r *Record) {
	a.stats.Add(r)
	a.cmp.Add(r)
}

// Stats returns the step statistics gathered so far.
func (a *Analysis) Stats() *Stats { return a.stats }

// Summary judges everything added and returns the summary with its verdict. Call it
// once, after the last Add.
func (a *Analysis) Summary(meta Meta, acct Accounting) Summary {
	s := Summary{Schema: SummarySchema, Meta: meta, Generator: acct}
	s.Findings = append(a.cmp.Findings(), a.stats.PerfFindings(a.opt.Perf)...)
	SortFindings(s.Findings)
	if s.Findings == nil {
		s.Findings = []Finding{}
	}
	s.Compared, s.Uncomparable = a.cmp.Compared, a.cmp.Uncomparable
	perf := a.opt.Perf.withDefaults()
	for _, k := range a.stats.Keys() {
		ss := StepSummary{Journey: k.Journey, Step: k.Step,
			Legacy: sideSummary(a.stats.Side(k, Legacy)), Candidate: sideSummary(a.stats.Side(k, Candidate))}
		if r, ok := a.stats.P50Ratio(k, perf.MinSamples, perf.Seed); ok {
			ss.Ratio = &r
		}
		s.Steps = append(s.Steps, ss)
	}
	switch {
	case meta.Aborted != "":
		s.Verdict = VerdictAborted
	case len(s.Failing(a.opt.Gate)) > 0:
		s.Verdict = VerdictFail
	default:
		s.Verdict = VerdictPass
	}
	return s
}
