package journeys

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cutover-dev/cutover/journeys/adapter"
	"github.com/cutover-dev/cutover/personas"
	"github.com/cutover-dev/cutover/results/record"
)

// Probe is one row of the expected-decision table, in the shape of an AuthZEN
// evaluation: {persona kind, action, resource} -> expected decision.
type Probe struct {
	Kind   personas.Kind `yaml:"kind"`
	Action string        `yaml:"action"`
	// Resource is "type:selector"; the selector is self, panel, other, unassigned or
	// a literal id.
	Resource string `yaml:"resource"`
	// Expect is allow or deny; empty means "whatever legacy decides".
	Expect string `yaml:"expect"`
	// When narrows the row to the personas of Kind that have these facts:
	// permission (a legacy permission held), role (a legacy role held),
	// username, wave, hash_scheme, cohort (wave/hash_scheme), break_glass
	// (true or false), or any attribute of the accounts file. A value
	// starting with "!" asks for its absence. Two service accounts of one kind
	// with opposite rights get a row each.
	When map[string]string `yaml:"when"`
}

// Applies reports whether the row is about persona p: its kind, and every fact
// of When.
func (p Probe) Applies(q personas.Persona) bool {
	if p.Kind != q.Kind {
		return false
	}
	for k, v := range p.When {
		want, negate := strings.CutPrefix(v, "!")
		if PersonaHas(q, k, want) == negate {
			return false
		}
	}
	return true
}

// PersonaHas reports whether persona p has fact key with value v: a permission
// or a role it holds, its username, cohort or break-glass eligibility, or an
// attribute of the accounts file.
func PersonaHas(p personas.Persona, key, v string) bool {
	switch key {
	case "permission":
		return slices.Contains(p.Permissions, v)
	case "role":
		return slices.Contains(p.Roles, v)
	case "username":
		return p.Username == v
	case "wave":
		return p.Cohort.Wave == v
	case "hash_scheme":
		return p.Cohort.HashScheme == v
	case "cohort":
		return p.Cohort.String() == v
	case "break_glass":
		b, err := strconv.ParseBool(v)
		return err == nil && b == p.BreakGlass
	}
	return p.Attributes[key] == v
}

// Target is the probe's name in records: "read record:{panel}", with the facts
// of When for a narrowed row ("read lab:any when permission=labs:read"), so that
// two rows about one resource never share a record key.
func (p Probe) Target() string {
	t := p.Action + " " + p.Resource
	if len(p.When) == 0 {
		return t
	}
	facts := make([]string, 0, len(p.When))
	for _, k := range slices.Sorted(maps.Keys(p.When)) {
		facts = append(facts, k+"="+p.When[k])
	}
	return t + " when " + strings.Join(facts, ",")
}

// WhenFacts are the facts a probe row's When may name besides the attributes
// of an accounts file.
var WhenFacts = []string{"permission", "role", "username", "wave", "hash_scheme", "cohort", "break_glass"}

// Type is the resource type of the probe: "record" of "record:panel".
func (p Probe) Type() string {
	typ, _, _ := strings.Cut(p.Resource, ":")
	return typ
}

// Resources maps a resource type and an action to a request template for one
// side: "METHOD /path/{id}", or a mapping with a body.
type Resources map[string]map[string]adapter.RequestTemplate

// request resolves the probe against the side's templates for resource id: {id}
// is the id, {attr.NAME} an attribute of the persona the id names (its record
// number, {attr.mrn}, where a stack keys records by it).
func (rs Resources) request(p Probe, id string, t *Targets) (adapter.Request, error) {
	tmpl, ok := rs[p.Type()][p.Action]
	if !ok {
		return adapter.Request{}, fmt.Errorf("no request template for %s %s", p.Action, p.Type())
	}
	vars := map[string]string{"id": id}
	maps.Copy(vars, t.attrs(id))
	return tmpl.Expand(vars)
}

// Decide turns a probe's HTTP status into a decision: 2xx allow, 401/403 deny,
// anything else (a 4xx other than those, a stray redirect) an error instead of a
// decision. 5xx never gets here: it is an availability error.
func Decide(status int) string {
	switch {
	case status >= 200 && status < 300:
		return record.Allow
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return record.Deny
	default:
		return "error"
	}
}

func (x *run) probes(ctx context.Context) bool {
	name := record.StepProbe
	if !x.p.Human() {
		name = record.StepServiceProbe
	}
	pdp := x.r.PDP[x.side]
	for _, pr := range x.r.Probes {
		if !pr.Applies(x.p) {
			continue
		}
		_, sel, _ := strings.Cut(pr.Resource, ":")
		id, ok := x.r.Targets.Resolve(sel, x.p, x.it.N)
		if !ok {
			continue
		}
		req, err := x.r.Resources[x.side].request(pr, id, x.r.Targets)
		if err != nil {
			x.emit(x.configError(name, pr.Target(), err))
			continue
		}
		_ = x.step(ctx, name, pr.Target(), func(ctx context.Context, f *record.Facts) error {
			want, st := x.expect(pr, id)
			f.Expected = want
			st.set(f)
			if pdp != nil {
				allow, status, err := pdp.Evaluate(ctx, x.r.Transport, x.sess, x.p.Kind, pr.Action, pr.Type(), id)
				if err != nil {
					return err
				}
				f.Status, f.Decision = status, record.Deny
				if allow {
					f.Decision = record.Allow
				}
			} else {
				status, err := x.st.Do(ctx, x.sess, req)
				if err != nil {
					return err
				}
				f.Status, f.Decision = status, Decide(status)
				if f.Decision == record.Deny {
					x.note(adapter.AuditDeny)
				}
			}
			if f.Decision == record.Allow && x.allowed == nil {
				x.allowed, x.aTarget = &req, pr.Target()
			}
			return nil
		})
	}
	return true
}

// expect returns the decision the probe's row expects of resource id on this
// side, and the state the run left there that bears on it. A live break-glass
// grant for the patient that opens the session the probe uses allows what the
// grant is for ("read record"), whatever the row says; what else it opens of
// that patient (the notes too?) is the side's policy, which the table does not
// say: legacy decides those, under like state.
func (x *run) expect(pr Probe, id string) (string, state) {
	st := x.grantState(id, x.sess)
	if pr.Expect == "" || st.kind != record.StateGrantCovers {
		return pr.Expect, st
	}
	plan := Probe{Action: cmp.Or(x.r.BreakGlass.Action, "read"), Resource: x.r.BreakGlass.Resource}
	if pr.Action == plan.Action && pr.Type() == plan.Type() {
		return record.Allow, st
	}
	return "", st
}

// configError records a step that could not be built from the configuration.
func (x *run) configError(step, target string, err error) *record.Record {
	rec := x.record(step, target, time.Now())
	rec.Outcome, rec.Error = record.Error, "config: "+err.Error()
	return rec
}

// request sends req with s as step name, records its decision against expected
// and returns the decision ("" when the step got no answer).
func (x *run) request(ctx context.Context, name, target, expected string, s *adapter.Session, req adapter.Request) string {
	var decision string
	_ = x.step(ctx, name, target, func(ctx context.Context, f *record.Facts) error {
		f.Expected = expected
		status, err := x.st.Do(ctx, s, req)
		if err != nil {
			return err
		}
		f.Status, f.Decision = status, Decide(status)
		decision = f.Decision
		return nil
	})
	return decision
}
