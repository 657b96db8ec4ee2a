package analysis

import (
	"fmt"
	"slices"
	"strings"

	"github.com/cutover-dev/cutover/results/record"
)

// Why a class went unjudged, in the words of its coverage row.

// notReachedWhy says what the run shows about planned steps never reached,
// where no step failed on every attempt: how often the journeys that hold
// steps of their group (breakglass for breakglass.expired) ran, and which of
// those steps a stack does not support or failed at times. Facts, not a
// guess at the cause: a branch of a journey no persona took (too short a run,
// no persona of its kind) reads the same as one a stack cut off.
func (in *causeInput) notReachedWhy(steps []string) string {
	groups := map[string]bool{}
	for _, s := range steps {
		groups[StepGroup(s)] = true
	}
	runs := map[string]int64{}
	var journeys, notes []string
	for _, k := range in.stats.Keys() {
		if !groups[StepGroup(k.Step)] {
			continue
		}
		if !slices.Contains(journeys, k.Journey) {
			journeys = append(journeys, k.Journey)
		}
		for _, side := range []record.Side{record.Legacy, record.Candidate} {
			s := in.stats.Side(k, side)
			if s == nil {
				continue
			}
			runs[k.Journey] = max(runs[k.Journey], s.Count+s.Unsupported+s.Skipped)
			switch {
			case s.Unsupported > 0:
				notes = append(notes, string(side)+" "+k.Journey+"/"+k.Step+" is not supported")
			case s.Errors > 0:
				notes = append(notes, string(side)+" "+k.Journey+"/"+k.Step+" failed at times")
			}
		}
	}
	if len(journeys) == 0 {
		return "no journey that runs them started a step of their group (the run was too short, or no persona of the kinds that run them)"
	}
	var facts []string
	for _, j := range journeys {
		// A journey's sign-in counts its runs, where it has one (a step of the
		// group may come twice in a run: two credentials introspected).
		for _, signIn := range []string{record.StepLogin, record.StepServiceToken} {
			for _, side := range []record.Side{record.Legacy, record.Candidate} {
				// Count holds the errors and invalid answers too.
				if s := in.stats.Side(StepKey{j, signIn}, side); s != nil {
					runs[j] = max(runs[j], s.Count+s.Unsupported+s.Skipped)
				}
			}
		}
		facts = append(facts, fmt.Sprintf("journey %s ran %d %s", j, runs[j], plural(int(runs[j]), "time")))
	}
	return strings.Join(append(facts, notes...), "; ")
}

// notJudgedWhy says what the candidate records of steps say about why they did
// not judge: the commonest reason a step was not performed, or failed.
func (in *causeInput) notJudgedWhy(steps []string) string {
	var best string
	var most int64
	consider := func(text string, n int64) {
		if n > most {
			best, most = text, n
		}
	}
	var performed int64
	for _, k := range in.stats.Keys() {
		if !slices.Contains(steps, k.Step) {
			continue
		}
		s := in.stats.Side(k, record.Candidate)
		performed += s.Count - s.Errors - s.Invalid
		consider(s.NotRun.Top())
		if text, n := s.Failures.Top(); text != "" {
			consider("failed: "+text, n)
		}
		if s.Invalid > 0 {
			consider("the candidate's tokens failed validation (TOKEN_INVALID)", s.Invalid)
		}
	}
	for _, step := range steps {
		if n := in.cmp.apartSteps[step]; n > 0 {
			consider("not compared: the two sides ran under different state (a grant, a lockout; see state_apart)", n)
		}
	}
	if best != "" && most >= performed {
		return best
	}
	if best != "" {
		return "too few judged answers; most often " + best
	}
	return "too few judged answers"
}
