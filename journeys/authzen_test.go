package journeys_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cutover-dev/cutover/journeys"
	"github.com/cutover-dev/cutover/journeys/adapter"
	"github.com/cutover-dev/cutover/journeys/legacy"
	"github.com/cutover-dev/cutover/personas"
	"github.com/cutover-dev/cutover/results/record"
)

// TestAuthZENProbes evaluates probes at an AuthZEN PDP: a deny is HTTP 200 with
// decision false; 4xx and 5xx are errors, never decisions.
func TestAuthZENProbes(t *testing.T) {
	var seen []string
	pdp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/access/v1/evaluation" || r.Header.Get("Authorization") != "Bearer pep-token" {
			writeJSON(w, 401, map[string]string{"error": "who are you"})
			return
		}
		var in struct {
			Subject  struct{ Type, ID string }
			Action   struct{ Name string }
			Resource struct{ Type, ID string }
		}
		_ = json.NewDecoder(r.Body).Decode(&in)
		seen = append(seen, in.Subject.Type+":"+in.Subject.ID+" "+in.Action.Name+" "+in.Resource.Type+":"+in.Resource.ID)
		switch in.Resource.ID {
		case "p1":
			writeJSON(w, 200, map[string]bool{"decision": true})
		case "p2":
			writeJSON(w, 200, map[string]bool{"decision": false})
		case "bad":
			writeJSON(w, 400, map[string]string{"error": "unknown resource type"})
		case "down":
			w.WriteHeader(503)
		default:
			writeJSON(w, 200, map[string]string{"decision": "maybe"})
		}
	}))
	defer pdp.Close()
	login := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/login":
			writeJSON(w, 200, map[string]string{"sid": "s"})
		default:
			writeJSON(w, 200, map[string]any{"id": "p1", "roles": []string{"patient"}})
		}
	}))
	defer login.Close()
	st, err := legacy.New(legacy.Config{BaseURL: login.URL, Login: legacy.Login{Mode: "json", Path: "/login", SessionPath: "sid"},
		Session: legacy.SessionCarrier{Header: "X-Sid"}, Me: legacy.Me{Path: "/me", Subject: adapter.F("id"), Roles: adapter.F("roles")}}, http.DefaultTransport)
	if err != nil {
		t.Fatal(err)
	}
	var probes []journeys.Probe
	for _, id := range []string{"p1", "p2", "bad", "down", "odd"} {
		probes = append(probes, journeys.Probe{Kind: personas.Patient, Action: "read", Resource: "record:" + id})
	}
	r := &journeys.Runner{
		Probes: probes, Resources: map[record.Side]journeys.Resources{record.Candidate: {"record": {"read": {Method: "GET", Path: "/r/{id}"}}}},
		PDP:     map[record.Side]*adapter.AuthZEN{record.Candidate: {URL: pdp.URL + "/access/v1/evaluation", Token: ptr(adapter.NewSecretRef(personas.NewSecret("pep-token")))}},
		Targets: journeys.NewTargets(personas.Population{}), StepTimeout: 2 * time.Second, Transport: http.DefaultTransport,
	}
	rec := &recorder{}
	p := personas.Persona{ID: "p1", Kind: personas.Patient, Username: "u", Secret: personas.NewSecret("pw")}
	r.Run(t.Context(), journeys.Journey{Name: "j", Steps: []string{journeys.StepsLogin, journeys.StepsProbes}}, record.Candidate, st, p, journeys.Iteration{}, rec.emit)
	want := map[string]struct {
		outcome  record.Outcome
		decision string
		err      string
	}{
		"p1":   {record.OK, record.Allow, ""},
		"p2":   {record.OK, record.Deny, ""},
		"bad":  {record.Error, "", "authzen evaluation: HTTP 400 is an error, not a decision"},
		"down": {record.Error, "", "unavailable (HTTP 503)"},
		"odd":  {record.Error, "", "authzen evaluation: HTTP 200 with a body that is not the expected JSON"},
	}
	for id, w := range want {
		got := rec.one(t, record.Candidate, record.StepProbe, "read record:"+id)
		if got.Outcome != w.outcome || got.Facts.Decision != w.decision || !strings.Contains(got.Error, w.err) {
			t.Errorf("PDP probe %s: %s %q %q; want %s %q %q", id, got.Outcome, got.Facts.Decision, got.Error, w.outcome, w.decision, w.err)
		}
	}
	if !slices.Contains(seen, "user:p1 read record:p2") {
		t.Errorf("PDP saw %v; want the AuthZEN shape with the session's subject", seen)
	}
}

func ptr[T any](v T) *T { return &v }
