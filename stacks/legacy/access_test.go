package legacy_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/cutover-dev/cutover/stacks/legacy"
)

// TestAccessLog: every decision on a protected resource, allow and deny, is
// one line of the access log with the user's legacy roles; a break-glass
// permit says so; a request without a credential or for an unknown patient is
// no decision.
func TestAccessLog(t *testing.T) {
	s := newStack(t, legacy.Config{})
	var buf bytes.Buffer
	s.SetAccessLog(&buf)
	doc, _ := s.login(t, "doc2")
	pat, _ := s.login(t, "pat1")
	eligible, _ := s.login(t, "doc1")
	steps := []struct {
		status int
		do     func() int
	}{
		{200, func() int { return doc.Get("/api/patients/patient-00001/notes").Status }},
		{403, func() int { return doc.Get("/api/patients/patient-00002/record").Status }},
		{403, func() int { return pat.Get("/api/billing/claims").Status }},
		{404, func() int { return pat.Get("/api/patients/nobody/record").Status }},
		{201, func() int {
			return eligible.PostJSON("/api/breakglass", map[string]string{"patient_id": "patient-00002", "reason": "ed"}).Status
		}},
		{200, func() int { return eligible.Get("/api/patients/patient-00002/record").Status }},
		{200, func() int { return doc.Get("/api/lab-results", legacy.APIKeyHeader, labKey).Status }},
	}
	for i, st := range steps {
		if got := st.do(); got != st.status {
			t.Fatalf("step %d: HTTP %d; want %d", i, got, st.status)
		}
	}
	if r := doc.Get("/api/patients/patient-00001/record", legacy.APIKeyHeader, "wrong"); r.Status != http.StatusUnauthorized {
		t.Fatalf("wrong API key: HTTP %d; want 401", r.Status)
	}
	var got []legacy.AccessEntry
	dec := json.NewDecoder(&buf)
	for dec.More() {
		var e legacy.AccessEntry
		if err := dec.Decode(&e); err != nil {
			t.Fatal(err)
		}
		if e.Time.IsZero() {
			t.Errorf("entry %+v has no time", e)
		}
		got = append(got, e)
	}
	want := []struct{ user, acct, roles, op, object, result, via string }{
		{"clinician-00002", "user", "clinician", "read", "patient:patient-00001/notes", "PERMIT", ""},
		{"clinician-00002", "user", "clinician", "read", "patient:patient-00002/record", "DENY", ""},
		{"patient-00001", "user", "patient", "read", "claims", "DENY", ""},
		{"clinician-00001", "user", "clinician breakglass-eligible", "read", "patient:patient-00002/record", "PERMIT", "breakglass"},
		{"service-00001", "api-key", "", "read", "lab-results", "PERMIT", ""},
	}
	if len(got) != len(want) {
		t.Fatalf("access log has %d entries; want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		e := got[i]
		roles := ""
		for j, r := range e.Roles {
			if j > 0 {
				roles += " "
			}
			roles += r
		}
		if e.User != w.user || e.Account != w.acct || roles != w.roles || e.Op != w.op || e.Object != w.object || e.Result != w.result || e.Via != w.via {
			t.Errorf("entry %d = %+v; want %+v", i, e, w)
		}
	}
	if got[4].Perms == nil {
		t.Errorf("service entry %+v lacks its permissions", got[4])
	}
	if err := s.AccessLogErr(); err != nil {
		t.Errorf("AccessLogErr = %v", err)
	}
}
