package analysis

import (
	"fmt"
	"slices"
	"strings"

	"github.com/cutover-dev/cutover/results/record"
)

// A decision can depend on state the run itself created: a break-glass grant
// one side holds and the other does not (its request got a 503 there), an
// account one side locked after refused sign-ins. Two sides that ran a step
// under different state are not compared: the difference is the state's, and
// its cause is the step that made it (an availability error, a refused grant),
// which carries it as a consequence. A step whose state is unsure on its side
// (a grant request that got no answer, a grant about to end) is never judged.

// StateGroup counts the decision steps of one journey step and persona kind
// that were not compared for one reason of state.
type StateGroup struct {
	Journey     string `json:"journey"`
	Step        string `json:"step"`
	PersonaKind string `json:"persona_kind"`
	// Side is the side whose state set the steps apart: the one whose state is
	// unsure, or the one that holds what the other does not.
	Side record.Side `json:"side"`
	// State is its state kind (record.State*), From the step that made it and
	// how that step ended: "breakglass/breakglass.request error".
	State string `json:"state"`
	From  string `json:"from,omitempty"`
	Count int    `json:"count"`
	// Examples give each side's state in words ("-": none).
	Examples []Example `json:"examples"`
}

type stateKey struct {
	journey, step, kind string
	side                record.Side
	state, from         string
}

// Origin returns the journey, step and outcome of From.
func (g StateGroup) Origin() (journey, step, outcome string) {
	where, outcome, _ := strings.Cut(g.From, " ")
	journey, step, _ = strings.Cut(where, "/")
	return journey, step, outcome
}

// Text is the group in one sentence, as the reports show it.
func (g StateGroup) Text() string {
	t := fmt.Sprintf("%d %s/%s %s not compared: %s state %s", g.Count, g.Journey, g.Step, plural(g.Count, "step"), g.Side, g.State)
	if g.From != "" {
		t += ", from " + g.From
	}
	if len(g.Examples) > 0 {
		t += " (" + g.Examples[0].Text() + ")"
	}
	return t
}

// stateApart reports whether cand and its legacy twin ran under state that
// keeps them apart, and files them under their StateGroup if so. The
// candidate's own state must be sure; where the expected table decides (the
// runner has made the expectation follow the candidate's state), that is all;
// where legacy decides, both sides' states must be sure and the same.
func (c *Comparer) stateApart(leg *record.Record, legOK bool, cand *record.Record) bool {
	cs := cand.Facts.State
	var side record.Side
	switch {
	case !record.StateSure(cs):
		side = record.Candidate
	case cand.Facts.Expected != "" && !c.opt.AA, !legOK:
		return false
	case !record.StateSure(leg.Facts.State):
		side = record.Legacy
	case leg.Facts.State == cs:
		return false
	case cs != "":
		side = record.Candidate
	default:
		side = record.Legacy
	}
	by := cand
	if side == record.Legacy {
		by = leg
	}
	k := stateKey{cand.Journey, cand.Step, cand.Kind, side, by.Facts.State, by.Facts.StateFrom}
	g, ok := c.apart[k]
	if !ok {
		g = &StateGroup{Journey: cand.Journey, Step: cand.Step, PersonaKind: cand.Kind, Side: side, State: by.Facts.State, From: by.Facts.StateFrom}
		c.apart[k] = g
		c.apartOrder = append(c.apartOrder, k)
	}
	g.Count++
	c.apartSteps[cand.Step]++
	if len(g.Examples) < c.opt.Examples {
		legNote := "did not run"
		if leg != nil {
			legNote = stateWords(leg)
		}
		g.Examples = append(g.Examples, Example{Persona: cand.Persona, Iteration: cand.Iteration, Target: cand.Target, Legacy: legNote, Candidate: stateWords(cand)})
	}
	return true
}

// stateWords is a record's state and decision in words.
func stateWords(r *record.Record) string {
	d := r.Facts.Decision
	if r.Outcome != record.OK {
		d = string(r.Outcome)
	}
	if r.Facts.State == "" {
		return d + ", no state"
	}
	return d + ", " + r.Facts.StateNote
}

// StateApart returns the groups of steps not compared for their state, most
// steps first. Call it after Findings.
func (c *Comparer) StateApart() []StateGroup {
	out := make([]StateGroup, 0, len(c.apartOrder))
	for _, k := range c.apartOrder {
		out = append(out, *c.apart[k])
	}
	slices.SortStableFunc(out, func(a, b StateGroup) int { return b.Count - a.Count })
	return out
}

// Consequence is a group of steps not compared because of state a cause's
// step made: a grant request the candidate answered with 503 leaves the later
// probes of that patient without a verdict.
type Consequence struct {
	Journey string `json:"journey"`
	Step    string `json:"step"`
	State   string `json:"state"`
	Count   int    `json:"count"`
}

// Text is the consequence in one line.
func (q Consequence) Text() string {
	return fmt.Sprintf("%d %s/%s %s not compared (candidate %s)", q.Count, q.Journey, q.Step, plural(q.Count, "step"), q.State)
}

// consequences hangs each group whose candidate state a step made on the
// causes with a finding of that step that its outcome raises: the availability
// error (ERROR_RATE_REGRESSION) or the refusal (LOGIN_FAILED, BREAKGLASS_DENIED)
// that left the candidate without what legacy holds, or the wrong allow
// (BREAKGLASS_NO_REASON_ACCEPTED) that left it with more.
func consequences(causes []Cause, groups []StateGroup) {
	for _, g := range groups {
		if g.Side != record.Candidate || g.From == "" {
			continue
		}
		journey, step, outcome := g.Origin()
		var class Class
		switch rule := decisionRules[step]; outcome {
		case string(record.Error):
			class = ErrorRateRegression
		case record.Deny:
			class = rule.denied
		case record.Allow:
			class = rule.allowed
		}
		if class == "" {
			continue
		}
		for i := range causes {
			c := &causes[i]
			if !slices.ContainsFunc(c.Findings, func(f FindingRef) bool { return f.Class == class && f.Journey == journey && f.Step == step }) {
				continue
			}
			j := slices.IndexFunc(c.Consequences, func(q Consequence) bool {
				return q.Journey == g.Journey && q.Step == g.Step && q.State == g.State
			})
			if j < 0 {
				c.Consequences = append(c.Consequences, Consequence{Journey: g.Journey, Step: g.Step, State: g.State})
				j = len(c.Consequences) - 1
			}
			c.Consequences[j].Count += g.Count
		}
	}
}
