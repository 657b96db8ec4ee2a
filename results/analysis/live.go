package analysis

// FindingsSoFar returns how many findings (occurrences, every class) the
// comparison has made so far, for a live progress display. Steps still waiting for
// their twin are not judged yet. Like Add, it must not run concurrently with Add.
func (a *Analysis) FindingsSoFar() int {
	n := 0
	for _, f := range a.cmp.findings {
		n += f.Count
	}
	return n
}
