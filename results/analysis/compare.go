package analysis

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/cutover-dev/cutover/results/record"
)

// CompareOptions tune the comparison.
type CompareOptions struct {
	// AA marks an A/A run (legacy against itself): only parity between the two sides
	// counts, policy checks that judge one side alone are off, so the run measures
	// the noise floor of the harness.
	AA bool `json:"aa"`
	// MaxAccessTTL is the policy ceiling on access-token and service-token lifetimes
	// (DOMAIN.md: 1h).
	MaxAccessTTL time.Duration `json:"max_access_ttl_ns"`
	// TTLTolerance, when > 0, also flags a candidate lifetime that differs from the
	// legacy one by more than this fraction.
	TTLTolerance float64 `json:"ttl_tolerance"`
	// ExpectTTL, when > 0, is the lifetime the candidate's sessions or access
	// tokens are meant to have: one that differs from it by more than
	// TTLTolerance (10% when that is 0) is TTL_DRIFT.
	ExpectTTL time.Duration `json:"expect_ttl_ns"`
	// Examples is how many examples a finding keeps.
	Examples int `json:"examples"`
}

func (o CompareOptions) withDefaults() CompareOptions {
	if o.MaxAccessTTL == 0 {
		o.MaxAccessTTL = time.Hour
	}
	if o.Examples == 0 {
		o.Examples = 5
	}
	return o
}

// Example is one occurrence of a finding.
type Example struct {
	Persona   string `json:"persona"`
	Iteration uint64 `json:"iter"`
	Target    string `json:"target,omitempty"`
	Legacy    string `json:"legacy"`
	Candidate string `json:"candidate"`
	// Evidence lists the candidate record's evidence files (see record.Record.Evidence).
	Evidence []string `json:"evidence,omitempty"`
}

// Finding is a regression class observed on one step for one persona kind.
type Finding struct {
	Class       Class     `json:"class"`
	Severity    Severity  `json:"severity"`
	Journey     string    `json:"journey"`
	Step        string    `json:"step"`
	PersonaKind string    `json:"persona_kind"`
	Count       int       `json:"count"`
	Examples    []Example `json:"examples"`
	// Detail explains findings that are not about single records (error rates,
	// latency), in one sentence.
	Detail string `json:"detail,omitempty"`
	// Fails reports whether the finding fails the run under the thresholds.
	Fails bool `json:"fails"`
	// Check names the validation the tokens of a TOKEN_INVALID finding failed
	// ("id_token.nonce"); one finding per check.
	Check string `json:"check,omitempty"`
}

// Text renders the example on one line, as the reports show it.
func (e Example) Text() string {
	t := ""
	if e.Target != "" {
		t = " " + e.Target
	}
	line := fmt.Sprintf("%s%s: legacy %s, candidate %s", e.Persona, t, e.Legacy, e.Candidate)
	if len(e.Evidence) > 0 {
		line += " (evidence: " + strings.Join(e.Evidence, " ") + ")"
	}
	return line
}

// ExampleText returns what the reports show beside f: its detail, or else its
// first example (Example.Text).
func (f Finding) ExampleText() string {
	if f.Detail != "" {
		return f.Detail
	}
	if len(f.Examples) == 0 {
		return ""
	}
	return f.Examples[0].Text()
}

// Ref returns the reference a cause folds f by.
func (f Finding) Ref() FindingRef {
	return FindingRef{f.Class, f.Journey, f.Step, f.PersonaKind, f.Check}
}

type findingKey struct {
	class                      Class
	journey, step, kind, check string
}

// Comparer pairs legacy and candidate records as they stream in and turns every
// disagreement into findings. It is not safe for concurrent use: feed it from one
// goroutine.
type Comparer struct {
	opt      CompareOptions
	pending  map[record.Key]*record.Record
	findings map[findingKey]*Finding
	order    []findingKey
	// shared holds the one-sided policy findings legacy shows too ("present on
	// both stacks"): reported, not regressions.
	shared      map[findingKey]*Finding
	sharedOrder []findingKey
	// findingIndex is each finding's place in order.
	findingIndex map[findingKey]int
	// Compared counts candidate records judged; Uncomparable those that could not be
	// (the legacy side errored or never ran).
	Compared, Uncomparable int
	// apart groups the decision steps not compared because their sides ran
	// under different state the run created (see StateGroup).
	apart      map[stateKey]*StateGroup
	apartOrder []stateKey
	// apartSteps counts them per step name, for the coverage's reasons.
	apartSteps map[string]int64
	// scopeless counts the candidate's service tokens that named no scope
	// where legacy's credential carried permissions, for the coverage's
	// reasons.
	scopeless int64

	// The personas judged, for root-cause grouping: which classes each could have
	// shown, which it showed, which steps it ran (see Causes).
	units     map[string]*unit
	unitOrder []string
	unitList  []*unit // unitList[i] is units[unitOrder[i]]
	// last and lastUnit cache the latest lookup: a journey's records come in a row.
	last      string
	lastUnit  *unit
	steps     map[StepKey]int
	stepOrder []StepKey
	// noUnits switches the tracking off (benchmarks measure what it costs).
	noUnits bool
}

// unit is one persona as the comparison saw it on the candidate side.
type unit struct {
	// idx is the unit's place in Comparer.unitOrder.
	idx          int
	kind, cohort string
	// exercised and affected hold a bit per class (classBit): the classes a
	// judged step of the persona could raise, and those it raised.
	exercised, affected uint64
	// hits counts the occurrences of each class raised; findings indexes, in
	// Comparer.order, the findings the persona contributed to.
	hits     map[Class]int
	findings []int
	// steps is a bitset over Comparer.stepOrder: the steps the persona ran.
	steps []uint64
}

// NewComparer returns a Comparer with the given options.
func NewComparer(opt CompareOptions) *Comparer {
	return &Comparer{opt: opt.withDefaults(), pending: make(map[record.Key]*record.Record), findings: make(map[findingKey]*Finding),
		shared: make(map[findingKey]*Finding), findingIndex: make(map[findingKey]int), units: make(map[string]*unit), steps: make(map[StepKey]int),
		apart: make(map[stateKey]*StateGroup), apartSteps: make(map[string]int64)}
}

// unitOf returns the unit of r's persona, creating it; nil for records of no
// persona (raw attacks) or with tracking off.
func (c *Comparer) unitOf(r *record.Record) *unit {
	if c.noUnits || r.Persona == "" {
		return nil
	}
	if c.lastUnit != nil && c.last == r.Persona {
		return c.lastUnit
	}
	u, ok := c.units[r.Persona]
	if !ok {
		u = &unit{idx: len(c.unitOrder), kind: r.Kind, cohort: r.Cohort}
		c.units[r.Persona] = u
		c.unitOrder = append(c.unitOrder, r.Persona)
		c.unitList = append(c.unitList, u)
	}
	c.last, c.lastUnit = r.Persona, u
	return u
}

// ran marks r's step as run by u.
func (c *Comparer) ran(u *unit, r *record.Record) {
	k := StepKey{r.Journey, r.Step}
	i, ok := c.steps[k]
	if !ok {
		i = len(c.stepOrder)
		c.steps[k] = i
		c.stepOrder = append(c.stepOrder, k)
	}
	if w := i / 64; w >= len(u.steps) {
		u.steps = append(u.steps, make([]uint64, w+1-len(u.steps))...)
	}
	u.steps[i/64] |= 1 << (i % 64)
}

// Add feeds one record. Records of the two sides may arrive in any order.
func (c *Comparer) Add(r *record.Record) {
	k := r.Key()
	other, ok := c.pending[k]
	if !ok {
		cp := *r
		c.pending[k] = &cp
		return
	}
	delete(c.pending, k)
	if other.Side == r.Side {
		// The same step twice on one side: a journey bug, not a regression. Keep the
		// newer and go on waiting for the other side.
		cp := *r
		c.pending[k] = &cp
		return
	}
	if r.Side == record.Candidate {
		c.judge(other, r)
	} else {
		c.judge(r, other)
	}
}

// Findings judges what is still unpaired (a candidate step whose legacy twin never
// ran is judged on its own facts) and returns every finding, most severe first.
func (c *Comparer) Findings() []Finding {
	keys := make([]record.Key, 0, len(c.pending))
	for k, r := range c.pending {
		if r.Side == record.Candidate {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool { return keyLess(keys[i], keys[j]) })
	for _, k := range keys {
		c.judge(nil, c.pending[k])
		delete(c.pending, k)
	}
	out := make([]Finding, 0, len(c.order))
	for _, k := range c.order {
		out = append(out, *c.findings[k])
	}
	SortFindings(out)
	return out
}

// Shared returns the one-sided policy findings that legacy shows as well:
// present on both stacks, so not something the cutover introduces. Call it after
// Findings.
func (c *Comparer) Shared() []Finding {
	out := make([]Finding, 0, len(c.sharedOrder))
	for _, k := range c.sharedOrder {
		out = append(out, *c.shared[k])
	}
	SortFindings(out)
	return out
}

// SortFindings orders findings by severity, then class, journey, step and kind.
func SortFindings(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		return findingLess(a.Severity, b.Severity, findingKey{a.Class, a.Journey, a.Step, a.PersonaKind, a.Check}, findingKey{b.Class, b.Journey, b.Step, b.PersonaKind, b.Check})
	})
}

var severityRank = map[Severity]int{Critical: 0, High: 1, Medium: 2, Low: 3, Info: 4}

func findingLess(sa, sb Severity, a, b findingKey) bool {
	if severityRank[sa] != severityRank[sb] {
		return severityRank[sa] < severityRank[sb]
	}
	return strings.Join([]string{string(a.class), a.journey, a.step, a.kind, a.check}, "\x00") <
		strings.Join([]string{string(b.class), b.journey, b.step, b.kind, b.check}, "\x00")
}

func keyLess(a, b record.Key) bool {
	if a.Persona != b.Persona {
		return a.Persona < b.Persona
	}
	if a.Iteration != b.Iteration {
		return a.Iteration < b.Iteration
	}
	return a.Step+a.Target < b.Step+b.Target
}

// judge compares one candidate record with its legacy twin (nil when it never ran).
func (c *Comparer) judge(leg, cand *record.Record) {
	// Every candidate step counts as run by its persona, errors included: a
	// cohort whose personas only met errors is touched by the error-rate cause.
	u := c.unitOf(cand)
	if u != nil {
		c.ran(u, cand)
	}
	if cand.Outcome == record.Invalid {
		c.Compared++
		c.judgeInvalid(leg, cand)
		if u != nil {
			u.exercised |= classBit[TokenInvalid]
		}
		return
	}
	if cand.Outcome != record.OK {
		// Availability errors go to ERROR_RATE_REGRESSION through the step
		// statistics; unsupported and skipped steps decide nothing.
		return
	}
	legOK := leg != nil && leg.Outcome == record.OK
	if _, decision := decisionRules[cand.Step]; decision && c.stateApart(leg, legOK, cand) {
		return
	}
	c.Compared++
	// could holds the classes this record could have raised, for grouping.
	var could uint64
	if rule, ok := decisionRules[cand.Step]; ok {
		// A decision that is neither allow nor deny is an AUTHZ_ERROR on any
		// decision step.
		if judged, cls := c.judgeDecision(rule, leg, legOK, cand); judged {
			could |= cls
		}
	}
	candAllowed, legAllowed := cand.Facts.Decision == record.Allow, legOK && leg.Facts.Decision == record.Allow
	if candAllowed && slices.Contains(TokenInvalid.Info().Steps, cand.Step) {
		// The tokens the step was given were validated and passed.
		could |= classBit[TokenInvalid]
	}
	switch cand.Step {
	case record.StepLogin:
		c.judgeLogin(leg, legOK, cand)
		if candAllowed {
			could |= classBit[ClaimMissing] | classBit[TTLDrift]
			if legAllowed {
				could |= classBit[RoleMappingDrift]
			}
		}
	case record.StepRefresh:
		// A public client's refresh token must rotate (RFC 9700 s2.2.2); a
		// confidential client's is bound to its authentication instead
		// (s4.14.2), so keeping it is no finding. "rotated" is the policy, not
		// what legacy did: legacy may renew in place.
		if !c.opt.AA && cand.Facts.Rotated != nil && !*cand.Facts.Rotated && !cand.Facts.ClientBound {
			legToo := legOK && leg.Facts.Rotated != nil && !*leg.Facts.Rotated
			c.policy(legToo, RefreshNotRotated, cand, "rotated (policy: public client)", "not rotated")
		}
		if len(cand.Facts.Widened) > 0 {
			c.add(ScopeWidenedOnRefresh, cand, "", "added "+strings.Join(cand.Facts.Widened, " "))
		}
		if candAllowed {
			could |= classBit[ScopeWidenedOnRefresh]
		}
		if cand.Facts.Rotated != nil {
			could |= classBit[RefreshNotRotated]
		}
	case record.StepServiceToken:
		c.judgeServiceToken(leg, legOK, cand)
		if candAllowed {
			could |= classBit[ServiceAccountLongLivedToken] | classBit[ServiceAccountRefreshIssued]
			if legAllowed {
				could |= classBit[ServiceAccountScopeWidened]
			}
			if legAllowed && len(cand.Facts.Scopes) == 0 && len(leg.Facts.Scopes) > 0 {
				// A token naming no scope says nothing of the permissions
				// legacy's carries: only the service's probes can show them
				// kept (a token granted is not access kept).
				could &^= classBit[ServiceAccountDenied]
				c.scopeless++
			}
		}
	}
	if u != nil {
		u.exercised |= could
	}
}

// addShared files a finding present on both stacks.
func (c *Comparer) addShared(class Class, cand *record.Record, legVal, candVal string) {
	k := findingKey{class: class, journey: cand.Journey, step: cand.Step, kind: cand.Kind, check: checkOf(class, cand)}
	f, ok := c.shared[k]
	if !ok {
		f = &Finding{Class: class, Severity: class.Severity(), Journey: cand.Journey, Step: cand.Step, PersonaKind: cand.Kind, Check: k.check}
		c.shared[k] = f
		c.sharedOrder = append(c.sharedOrder, k)
	}
	f.Count++
	if len(f.Examples) < c.opt.Examples {
		f.Examples = append(f.Examples, Example{Persona: cand.Persona, Iteration: cand.Iteration, Target: cand.Target, Legacy: legVal, Candidate: candVal})
	}
}

// checkOf is the check of a TOKEN_INVALID record ("" for other classes).
func checkOf(class Class, r *record.Record) string {
	if class == TokenInvalid {
		return r.Facts.Check
	}
	return ""
}

func (c *Comparer) add(class Class, cand *record.Record, legVal, candVal string) {
	k := findingKey{class: class, journey: cand.Journey, step: cand.Step, kind: cand.Kind, check: checkOf(class, cand)}
	f, ok := c.findings[k]
	if !ok {
		f = &Finding{Class: class, Severity: class.Severity(), Journey: cand.Journey, Step: cand.Step, PersonaKind: cand.Kind, Check: k.check}
		c.findings[k] = f
		c.findingIndex[k] = len(c.order)
		c.order = append(c.order, k)
	}
	f.Count++
	if u := c.unitOf(cand); u != nil {
		u.affected |= classBit[class]
		if u.hits == nil {
			u.hits = map[Class]int{}
		}
		u.hits[class]++
		if i := c.findingIndex[k]; !slices.Contains(u.findings, i) {
			u.findings = append(u.findings, i)
		}
	}
	if len(f.Examples) < c.opt.Examples {
		f.Examples = append(f.Examples, Example{Persona: cand.Persona, Iteration: cand.Iteration, Target: cand.Target, Legacy: legVal, Candidate: candVal, Evidence: cand.Evidence})
	}
}

func sameSet(a, b []string) bool { return len(minus(a, b)) == 0 && len(minus(b, a)) == 0 }

// minus returns the members of a that are not in b, sorted.
func minus(a, b []string) []string {
	var out []string
	for _, s := range a {
		if !slices.Contains(b, s) && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out
}
