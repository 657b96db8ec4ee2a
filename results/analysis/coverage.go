package analysis

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/cutover-dev/cutover/results/record"
)

// A verdict never passes on what the run did not see. Coverage says, for every
// regression class, on how many units it was judged, and when it was not (or not
// for every persona kind that ran its steps), why: the stack does not offer the
// step, the step was skipped because an earlier one failed, every attempt
// failed with the same error (a precondition), the journeys never reached it, or
// too few samples. A class the configured journeys should judge that was judged
// too thinly makes the run inconclusive, never a pass.

// Coverage statuses of a class.
const (
	// CoverageJudged: judged on at least CoverageOptions.MinPerKind units of
	// every persona kind that ran its steps (performance classes: on at least one
	// step, and no step lost to an unhealthy generator).
	CoverageJudged = "judged"
	// CoveragePartial: judged, but not for every kind that ran its steps.
	CoveragePartial = "partial"
	// CoverageNotJudged: the journeys should judge it, and did not.
	CoverageNotJudged = "not judged"
	// CoverageNotPlanned: no configured journey runs a step that could raise it.
	CoverageNotPlanned = "not in any journey"
	// CoverageOneSided: the run drove one stack alone, and the class compares
	// the two.
	CoverageOneSided = "not comparable in a one-sided run"
)

// CoverageOptions set how much of a class a run must judge before it may pass.
type CoverageOptions struct {
	// MinPerKind is the judged units a class needs of every persona kind that ran
	// its steps (default 1).
	MinPerKind int `json:"min_per_kind"`
	// Optional lists classes whose gaps are reported without making the run
	// inconclusive (a break-glass time box longer than the run waits, say).
	Optional []Class `json:"optional,omitempty"`
	// Planned lists the steps the configured journeys record (record step
	// names), to tell a class no journey runs from one the journeys never
	// reached; empty: judged from the records alone.
	Planned []string `json:"planned,omitempty"`
	// OneSided, in a run that drove one stack alone, names it: a class judged
	// on nothing there is not comparable, not a gap.
	OneSided string `json:"one_sided,omitempty"`
}

func (o CoverageOptions) withDefaults() CoverageOptions {
	if o.MinPerKind <= 0 {
		o.MinPerKind = 1
	}
	return o
}

// ClassCoverage is how well one class was judged.
type ClassCoverage struct {
	Class  Class  `json:"class"`
	Status string `json:"status"`
	// Level is the unit: persona, or step for the performance classes.
	Level string `json:"level"`
	// Units counts the units it was judged on.
	Units int `json:"units"`
	// Gaps lists the persona kinds that ran its steps and were judged on fewer
	// than MinPerKind units, with what the step's records say.
	Gaps []CoverageGap `json:"gaps,omitempty"`
	// Reason says why a class was not judged, or what the gaps have in common.
	Reason string `json:"reason,omitempty"`
	// Optional marks a class whose gaps do not make the run inconclusive.
	Optional bool `json:"optional,omitempty"`
}

// CoverageGap is one persona kind (or step, for the performance classes) a
// class was not judged for.
type CoverageGap struct {
	Kind   string `json:"kind,omitempty"`
	Step   string `json:"step,omitempty"`
	Ran    int    `json:"ran,omitempty"`
	Judged int    `json:"judged"`
	Reason string `json:"reason"`
}

// Blocking reports whether the class's coverage makes a run inconclusive: a
// parity class judged too thinly, or a performance class whose verdict would
// rest on samples from an unhealthy generator (a short run whose steps have
// too few samples for a latency verdict is reported, and does not block).
func (c ClassCoverage) Blocking() bool {
	if c.Optional || c.Status != CoverageNotJudged && c.Status != CoveragePartial {
		return false
	}
	return c.Level != LevelStep || len(c.Gaps) > 0
}

// Text is the class's coverage in one line, for reports.
func (c ClassCoverage) Text() string {
	unit := "persona"
	if c.Level == LevelStep {
		unit = "step"
	}
	switch c.Status {
	case CoverageJudged:
		return fmt.Sprintf("judged on %d %s", c.Units, plural(c.Units, unit))
	case CoverageNotPlanned:
		return c.Status
	case CoverageOneSided:
		return c.Status + ": " + c.Reason
	}
	// Gaps with one reason are told once: "admin 0 of 60, billing 0 of 60:
	// unsupported: ...".
	var gaps, reasons []string
	byReason := map[string][]string{}
	for _, g := range c.Gaps {
		who := g.Kind
		if who == "" {
			who = g.Step
		}
		if g.Ran > 0 {
			who = fmt.Sprintf("%s %d of %d", who, g.Judged, g.Ran)
		}
		if _, ok := byReason[g.Reason]; !ok {
			reasons = append(reasons, g.Reason)
		}
		byReason[g.Reason] = append(byReason[g.Reason], who)
	}
	for _, r := range reasons {
		gaps = append(gaps, strings.Join(byReason[r], ", ")+": "+r)
	}
	head := c.Status
	if c.Units > 0 {
		head = fmt.Sprintf("%s (judged on %d %s)", c.Status, c.Units, plural(c.Units, unit))
	}
	if c.Reason != "" && len(gaps) == 0 {
		return head + ": " + c.Reason
	}
	return head + ": " + strings.Join(gaps, "; ")
}

// Precondition is a step that failed on (nearly) every attempt on one side with
// the same error: whatever stood behind it could not be measured, and the
// report says so first.
type Precondition struct {
	Side     record.Side `json:"side"`
	Journey  string      `json:"journey"`
	Step     string      `json:"step"`
	Failed   int64       `json:"failed"`
	Attempts int64       `json:"attempts"`
	Error    string      `json:"error"`
	// Hint suggests what to check, when the error says enough to guess.
	Hint string `json:"hint,omitempty"`
	// Refused marks a sign-in refused on nearly every attempt (Kind names the
	// persona kind): the credentials do not reach the stack as it expects, or
	// the stack refuses the whole kind.
	Refused bool   `json:"refused,omitempty"`
	Kind    string `json:"kind,omitempty"`
}

// Text is the precondition in one sentence.
func (p Precondition) Text() string {
	t := fmt.Sprintf("%s %s/%s failed on %d of %d attempts with the same error: %s", p.Side, p.Journey, p.Step, p.Failed, p.Attempts, p.Error)
	if p.Refused {
		t = fmt.Sprintf("%s %s/%s refused (nearly) every %s (%d of %d sign-ins that should be allowed): %s", p.Side, p.Journey, p.Step, p.Kind, p.Failed, p.Attempts, p.Error)
	}
	if p.Hint != "" {
		t += " (" + p.Hint + ")"
	}
	return t
}

// precondition thresholds: a step is a failing precondition when at least
// preconditionMin attempts were made and preconditionShare of them failed with
// one error.
const (
	preconditionMin   = 5
	preconditionShare = 0.95
)

// preconditions finds the steps that failed on nearly every attempt.
func (st *Stats) preconditions() []Precondition {
	var out []Precondition
	for _, k := range st.Keys() {
		for _, side := range []record.Side{record.Legacy, record.Candidate} {
			s := st.Side(k, side)
			text, n := s.Failures.Top()
			if s.Count < preconditionMin || float64(n) < preconditionShare*float64(s.Count) {
				continue
			}
			out = append(out, Precondition{Side: side, Journey: k.Journey, Step: k.Step, Failed: n, Attempts: s.Count, Error: text, Hint: hint(k.Step, text)})
		}
	}
	return append(out, st.refusedSignIns()...)
}

// refusedSignIns finds the persona kinds whose sign-ins a side refused on
// nearly every attempt where they should have been allowed: a silent 401 on
// every service key is a credential sent the wrong way, not a pile of
// findings.
func (st *Stats) refusedSignIns() []Precondition {
	keys := slices.SortedFunc(maps.Keys(st.signIns), func(a, b signInKey) int {
		return cmp.Or(cmp.Compare(a.side, b.side), cmp.Compare(a.journey, b.journey), cmp.Compare(a.step, b.step), cmp.Compare(a.kind, b.kind))
	})
	var out []Precondition
	for _, k := range keys {
		c := st.signIns[k]
		if c.attempts < preconditionMin || float64(c.refused) < preconditionShare*float64(c.attempts) {
			continue
		}
		text, _ := c.reasons.Top()
		side := record.Legacy
		if k.side == 1 {
			side = record.Candidate
		}
		out = append(out, Precondition{Side: side, Journey: k.journey, Step: k.step, Kind: k.kind, Failed: c.refused, Attempts: c.attempts,
			Error: text, Hint: refusalHint(k.step), Refused: true})
	}
	return out
}

// refusalHint says what to check when a side refuses every sign-in of a kind.
func refusalHint(step string) string {
	if step == record.StepServiceToken {
		return "is the key or client secret sent as the stack expects? legacy: service.header and service.scheme (Authorization: ApiKey <key>); oidc: service.auth_method; a candidate that holds other secrets than legacy: the accounts file's candidate_password"
	}
	return "are the accounts' credentials right on this side, and sent as it expects? (the accounts file, login_identifier, the login form's fields)"
}

// hint guesses what a precondition's error points at.
func hint(step, text string) string {
	t := strings.ToLower(text)
	switch {
	case strings.Contains(t, "introspection") && strings.Contains(t, "not active"):
		return "is the introspection client allowed to see the tokens of the harness client? (stacks.<side>.oidc.introspection)"
	case strings.Contains(t, "introspection"):
		return "is the introspection client right? (stacks.<side>.oidc.introspection)"
	case strings.Contains(t, "timeout"):
		return "is the stack reachable from here, and is load.step_timeout long enough?"
	case strings.Contains(t, "connection refused"), strings.Contains(t, "no such host"):
		return "is the stack's address right, and is it up?"
	case strings.Contains(t, "refused to send to host"):
		return "add the host to stacks.allow_hosts if it is meant to be reached"
	case strings.Contains(t, "login page"), strings.Contains(t, "no form"):
		return "does the login page need script? set the form id, or log in through the browser"
	case strings.Contains(t, "config:"):
		return "the rehearsal file's request templates do not fit this step"
	case strings.Contains(t, "http 401"), strings.Contains(t, "http 403"):
		if strings.HasPrefix(step, "service") {
			return "are the service credentials and their scheme right? (stacks.<side>.<adapter>.service)"
		}
		return "is the credential that reads it right?"
	}
	return ""
}

// coverage judges how well the run covered every class. units are the
// comparison's personas; perf the performance options.
func (in *causeInput) coverage(opt CoverageOptions, preconds []Precondition) []ClassCoverage {
	opt = opt.withDefaults()
	var out []ClassCoverage
	for _, cls := range Classes {
		if cls.Severity() == Info {
			continue // notices, not classes a run judges
		}
		var c ClassCoverage
		if cls.Performance() {
			c = in.perfCoverage(cls)
		} else {
			c = in.personaCoverage(cls, opt, preconds)
		}
		c.Optional = slices.Contains(opt.Optional, cls)
		if opt.OneSided != "" && c.Units == 0 && (c.Status == CoverageNotJudged || c.Status == CoveragePartial) {
			c.Status, c.Gaps = CoverageOneSided, nil
			c.Reason = "only the " + opt.OneSided + " stack was driven"
		}
		out = append(out, c)
	}
	return out
}

// personaCoverage judges a parity class: its units are the personas that ran a
// step that could raise it and got a judged answer.
func (in *causeInput) personaCoverage(cls Class, opt CoverageOptions, preconds []Precondition) ClassCoverage {
	c := ClassCoverage{Class: cls, Level: LevelPersona}
	steps := cls.Info().Steps
	// The step slots of the class's steps, and the kinds that ran them.
	var slots []int
	for k, i := range in.cmp.steps {
		if slices.Contains(steps, k.Step) {
			slots = append(slots, i)
		}
	}
	ran, judged := map[string]int{}, map[string]int{}
	bit := classBit[cls]
	for _, u := range in.cmp.unitList {
		ranIt := false
		for _, i := range slots {
			if i/64 < len(u.steps) && u.steps[i/64]&(1<<(i%64)) != 0 {
				ranIt = true
				break
			}
		}
		if !ranIt {
			continue
		}
		ran[u.kind]++
		if u.exercised&bit != 0 {
			judged[u.kind]++
			c.Units++
		}
	}
	if len(ran) == 0 {
		planned := slices.ContainsFunc(steps, func(s string) bool { return slices.Contains(opt.Planned, s) })
		switch {
		case planned:
			c.Status, c.Reason = CoverageNotJudged, "no persona reached its steps ("+strings.Join(plannedOf(steps, opt.Planned), ", ")+"): "
			if p := gatingPrecondition(preconds); p != nil {
				c.Reason += "an earlier step of the journeys failed (" + string(p.Side) + " " + p.Journey + "/" + p.Step + " failed on every attempt)"
			} else {
				c.Reason += in.notReachedWhy(plannedOf(steps, opt.Planned))
			}
		default:
			c.Status = CoverageNotPlanned
		}
		return c
	}
	why := in.notJudgedWhy(steps)
	if n := in.cmp.scopeless; cls == ServiceAccountDenied && n > 0 {
		why = fmt.Sprintf("%d candidate service %s named no scope where legacy's credential carries permissions (a token granted is not access kept): "+
			"map them with stacks.candidate.oidc.service.permission_scopes, or probe the services' access (probes for kind service)", n, plural(int(n), "token"))
	}
	kinds := make([]string, 0, len(ran))
	for k := range ran {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		if judged[k] < opt.MinPerKind {
			c.Gaps = append(c.Gaps, CoverageGap{Kind: k, Ran: ran[k], Judged: judged[k], Reason: why})
		}
	}
	switch {
	case len(c.Gaps) == 0:
		c.Status = CoverageJudged
	case c.Units == 0:
		c.Status, c.Reason = CoverageNotJudged, why
	default:
		c.Status = CoveragePartial
	}
	return c
}

// plannedOf returns the class's steps the journeys plan.
func plannedOf(steps, planned []string) []string {
	var out []string
	for _, s := range steps {
		if slices.Contains(planned, s) {
			out = append(out, s)
		}
	}
	return out
}

// gatingPrecondition returns the precondition that can stop a journey short: a
// sign-in (login, service token) failing on every attempt; nil when none is.
func gatingPrecondition(ps []Precondition) *Precondition {
	for _, side := range []record.Side{record.Candidate, record.Legacy} {
		for i := range ps {
			if p := &ps[i]; p.Side == side && (p.Step == record.StepLogin || p.Step == record.StepServiceToken) {
				return p
			}
		}
	}
	return nil
}

// perfCoverage judges a performance class: its units are the steps that got a
// verdict on samples from a healthy generator.
func (in *causeInput) perfCoverage(cls Class) ClassCoverage {
	c := ClassCoverage{Class: cls, Level: LevelStep}
	anySamples := false
	for _, k := range in.stats.Keys() {
		leg, cand := in.stats.Side(k, record.Legacy), in.stats.Side(k, record.Candidate)
		if leg.Count == 0 && cand.Count == 0 {
			continue
		}
		anySamples = true
		var judged, untrusted bool
		var reason string
		if cls == LatencyRegression {
			judged, reason, untrusted = in.stats.perfJudgement(k, in.perf)
		} else {
			_, ln, _ := leg.judged()
			_, cn, _ := cand.judged()
			judged = ln > 0 && cn > 0
			if !judged {
				if leg.Count > 0 && cand.Count > 0 {
					reason, untrusted = "no step of one side ran on a healthy generator", true
				} else {
					reason = "performed on one side only"
				}
			}
		}
		switch {
		case judged:
			c.Units++
		case untrusted:
			c.Gaps = append(c.Gaps, CoverageGap{Step: k.String(), Reason: reason})
		}
	}
	switch {
	case !anySamples:
		c.Status = CoverageNotPlanned
	case len(c.Gaps) > 0:
		c.Status = CoveragePartial
		if c.Units == 0 {
			c.Status = CoverageNotJudged
		}
	case c.Units == 0:
		c.Status, c.Reason = CoverageNotJudged, "no step had enough answers on both sides (thresholds.min_samples)"
	default:
		c.Status = CoverageJudged
	}
	return c
}
