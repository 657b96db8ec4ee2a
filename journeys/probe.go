package journeys

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

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
}

// Target is the probe's name in records: "read record:{panel}".
func (p Probe) Target() string { return p.Action + " " + p.Resource }

// Type is the resource type of the probe: "record" of "record:panel".
func (p Probe) Type() string {
	typ, _, _ := strings.Cut(p.Resource, ":")
	return typ
}

// Resources maps a resource type and an action to a request template for one
// side: "METHOD /path/{id}", or a mapping with a body.
type Resources map[string]map[string]RequestTemplate

// request resolves the probe against the side's templates for resource id.
func (rs Resources) request(p Probe, id string) (Request, error) {
	tmpl, ok := rs[p.Type()][p.Action]
	if !ok {
		return Request{}, fmt.Errorf("no request template for %s %s", p.Action, p.Type())
	}
	return tmpl.Expand(map[string]string{"id": id})
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

// AuthZEN evaluates probes at an OpenID AuthZEN policy decision point
// (Authorization API 1.0, POST /access/v1/evaluation) instead of requesting the
// resources. A deny is HTTP 200 with "decision": false; a 4xx or 5xx is an error,
// never a decision.
type AuthZEN struct {
	// URL is the evaluation endpoint.
	URL string `yaml:"url"`
	// Token, when set, is sent as a bearer token (the PEP's credential); otherwise
	// the persona's own credential is sent.
	Token *SecretRef `yaml:"token"`
	// SubjectType is the AuthZEN subject type of human personas (default "user");
	// service personas are "service".
	SubjectType string `yaml:"subject_type"`
}

const opPDP = "authzen evaluation"

// evaluate asks the PDP whether subject may do action on the resource.
func (a *AuthZEN) evaluate(ctx context.Context, tr http.RoundTripper, s *Session, kind personas.Kind, action, typ, id string) (string, int, error) {
	if s.Subject == "" {
		return "", 0, protocolErr(opPDP, "the session has no subject to evaluate (configure the subject path)")
	}
	subjectType := valueOr(a.SubjectType, "user")
	if kind == personas.Service {
		subjectType = "service"
	}
	body, _ := json.Marshal(map[string]any{ // only strings: always marshals
		"subject":  map[string]string{"type": subjectType, "id": s.Subject},
		"action":   map[string]string{"name": action},
		"resource": map[string]string{"type": typ, "id": id},
		"context":  map[string]string{},
	})
	cred := s
	if a.Token != nil {
		tok := a.Token.Secret().Reveal()
		cred = &Session{cred: credential{header: "Authorization", value: "Bearer " + tok}}
	}
	resp, err := call(ctx, tr, a.URL, cred, Request{Method: http.MethodPost, Path: "/access/v1/evaluation", Body: body, ContentType: "application/json"})
	if err != nil {
		return "", 0, err
	}
	if resp.StatusCode != http.StatusOK {
		drain(resp)
		return "", resp.StatusCode, protocolErr(opPDP, "HTTP %d is an error, not a decision", resp.StatusCode)
	}
	var ans struct {
		Decision *bool `json:"decision"`
	}
	if err := decodeJSON(resp, opPDP, &ans); err != nil {
		return "", resp.StatusCode, err
	}
	if ans.Decision == nil {
		return "", resp.StatusCode, protocolErr(opPDP, "HTTP 200 without a boolean decision")
	}
	if *ans.Decision {
		return record.Allow, resp.StatusCode, nil
	}
	return record.Deny, resp.StatusCode, nil
}

// Targets resolves probe selectors against a population, deterministically.
type Targets struct {
	patients   []string
	unassigned []string
	panel      map[string]map[string]bool
}

// NewTargets indexes pop for selector resolution.
func NewTargets(pop personas.Population) *Targets {
	t := &Targets{panel: make(map[string]map[string]bool)}
	assigned := make(map[string]bool)
	for _, p := range pop.Personas {
		if p.Kind == personas.Clinician {
			set := make(map[string]bool, len(p.Panel))
			for _, id := range p.Panel {
				set[id] = true
				assigned[id] = true
			}
			t.panel[p.ID] = set
		}
	}
	for _, p := range pop.Personas {
		if p.Kind == personas.Patient {
			t.patients = append(t.patients, p.ID)
			if !assigned[p.ID] {
				t.unassigned = append(t.unassigned, p.ID)
			}
		}
	}
	return t
}

// Resolve returns the resource id a selector names for persona p at iteration n,
// or false when it names nobody (a clinician without a panel).
func (t *Targets) Resolve(selector string, p personas.Persona, n uint64) (string, bool) {
	switch selector {
	case "self":
		return p.ID, true
	case "panel":
		if len(p.Panel) == 0 {
			return "", false
		}
		return p.Panel[n%uint64(len(p.Panel))], true
	case "unassigned":
		for i := range t.unassigned {
			id := t.unassigned[(n+uint64(i))%uint64(len(t.unassigned))]
			if !t.panel[p.ID][id] {
				return id, true
			}
		}
		return "", false
	case "other":
		for i := range t.patients {
			id := t.patients[(n+uint64(i))%uint64(len(t.patients))]
			if id != p.ID && !t.panel[p.ID][id] {
				return id, true
			}
		}
		return "", false
	default:
		return selector, selector != ""
	}
}
