package candidate_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cutover-dev/cutover/stacks/candidate"
	"github.com/cutover-dev/cutover/stacks/internal/driver"
	"github.com/cutover-dev/cutover/stacks/internal/passhash"
)

func TestClientCredentials(t *testing.T) {
	s := newStack(t, candidate.Config{})
	c := s.client(t)
	cc := func(secret, scope string) driver.Response {
		return c.PostForm("/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {labClient}, "client_secret": {secret}, "scope": {scope}})
	}
	tok := cc(labSecret, "").Tokens(t)
	if tok.Scope != "lab-results.read lab-results.write" || tok.RefreshToken != "" || tok.ExpiresIn != 300 {
		t.Errorf("client_credentials = scope %q, refresh %t, expires_in %d; want the mapped scopes, no refresh token, 300", tok.Scope, tok.RefreshToken != "", tok.ExpiresIn)
	}
	_, claims := driver.Claims(t, tok.AccessToken)
	if claims["sub"] != "service-00001" || claims["client_id"] != labClient {
		t.Errorf("sub, client_id = %v, %v; want service-00001, %s", claims["sub"], claims["client_id"], labClient)
	}
	if r := c.Get("/api/lab-results", driver.Bearer(tok.AccessToken)...); r.Status != http.StatusOK {
		t.Errorf("lab-results with the service token = %d; want 200", r.Status)
	}
	if r := c.Get("/api/analytics/export", driver.Bearer(tok.AccessToken)...); r.Status != http.StatusForbidden {
		t.Errorf("analytics with the lab token = %d; want 403", r.Status)
	}
	if r := cc(labSecret, "analytics.export"); r.Status != http.StatusBadRequest || r.Str("error") != "invalid_scope" {
		t.Errorf("asking for a scope beyond the permissions = %d %s; want 400 invalid_scope", r.Status, r.Body)
	}
	narrow := cc(labSecret, "lab-results.read").Tokens(t)
	if r := c.PostJSON("/api/lab-results", map[string]string{"patient_id": "patient-00001", "test": "hb"}, driver.Bearer(narrow.AccessToken)...); r.Status != http.StatusForbidden {
		t.Errorf("write with a read-only token = %d; want 403", r.Status)
	}
	if r := cc("wrong", ""); r.Status != http.StatusUnauthorized || strings.Contains(string(r.Body), "wrong") {
		t.Errorf("wrong secret = %d %s; want 401 without echoing it", r.Status, r.Body)
	}
}

func TestBreakGlass(t *testing.T) {
	s := newStack(t, candidate.Config{BreakGlassTTL: 10 * time.Minute})
	c, doc := s.login(t, "doc1")
	record := "/api/patients/patient-00002/record"
	if r := c.Get(record, driver.Bearer(doc.AccessToken)...); r.Status != http.StatusForbidden {
		t.Fatalf("unassigned patient before break-glass = %d; want 403", r.Status)
	}
	if r := exchange(c, doc.AccessToken, "patient-00002", ""); r.Status != http.StatusBadRequest || r.Str("error_description") != "reason_required" {
		t.Errorf("break-glass without reason = %d %s; want 400 reason_required", r.Status, r.Body)
	}
	_, doc2 := s.login(t, "doc2")
	if r := exchange(c, doc2.AccessToken, "patient-00002", "emergency"); r.Status != http.StatusForbidden || r.Str("error_description") != "not_eligible" {
		t.Errorf("break-glass by an ineligible clinician = %d %s; want 403 not_eligible", r.Status, r.Body)
	}
	bg := exchange(c, doc.AccessToken, "patient-00002", "unconscious in ED")
	tok := bg.Tokens(t)
	if got := bg.JSON()["issued_token_type"]; got != "urn:ietf:params:oauth:token-type:access_token" || tok.ExpiresIn != 600 {
		t.Errorf("exchange answer: issued_token_type %v, expires_in %d; want access_token, 600", got, tok.ExpiresIn)
	}
	if r := c.Get(record, driver.Bearer(tok.AccessToken)...); r.Status != http.StatusOK {
		t.Errorf("record with the break-glass token = %d; want 200", r.Status)
	}
	if r := c.Get("/api/patients/patient-00003/record", driver.Bearer(tok.AccessToken)...); r.Status != http.StatusNotFound {
		t.Errorf("unknown patient = %d; want 404", r.Status)
	}
	if r := c.Get("/api/patients/patient-00001/record", driver.Bearer(tok.AccessToken)...); r.Status != http.StatusOK {
		t.Errorf("own panel with the break-glass token = %d; want 200", r.Status)
	}
	s.clock.Advance(10 * time.Minute)
	if r := c.Get(record, driver.Bearer(tok.AccessToken)...); r.Status != http.StatusUnauthorized {
		t.Errorf("break-glass token after its time box = %d; want 401", r.Status)
	}
	_, aud := s.login(t, "aud1")
	kinds := auditKinds(t, c, aud.AccessToken, "clinician-00001")
	for _, k := range []string{"breakglass_start", "breakglass_access"} {
		if !slices.Contains(kinds, k) {
			t.Errorf("audit kinds %v; want %s", kinds, k)
		}
	}
	// Ending early through revocation audits the end.
	s.clock.Advance(time.Minute)
	_, doc = s.login(t, "doc1")
	tok = exchange(c, doc.AccessToken, "patient-00002", "second look").Tokens(t)
	c.PostForm("/revoke", url.Values{"token": {tok.AccessToken}, "client_id": {harness}})
	if r := c.Get(record, driver.Bearer(tok.AccessToken)...); r.Status != http.StatusUnauthorized {
		t.Errorf("revoked break-glass token = %d; want 401", r.Status)
	}
	if r := c.Get("/api/patients/patient-00001/record", driver.Bearer(doc.AccessToken)...); r.Status != http.StatusOK {
		t.Errorf("clinician's own token after ending break-glass = %d; want 200", r.Status)
	}
	if kinds := auditKinds(t, c, aud.AccessToken, "clinician-00001"); !slices.Contains(kinds, "breakglass_end") {
		t.Errorf("audit kinds %v; want breakglass_end", kinds)
	}
}

func TestLazyMigration(t *testing.T) {
	s := newStack(t, candidate.Config{})
	if got := s.HashScheme("patient-00002"); got != passhash.SaltedSHA256 {
		t.Fatalf("imported scheme = %s; want %s", got, passhash.SaltedSHA256)
	}
	s.login(t, "pat2")
	if got := s.HashScheme("patient-00002"); got != passhash.Bcrypt {
		t.Errorf("scheme after first login = %s; want %s", got, passhash.Bcrypt)
	}
	s.login(t, "pat2") // the rehashed password still verifies
	c := s.client(t)
	if r := c.SubmitLogin(c.Authorize(harness, harnessRedir, "openid"), "pat2", "not-it"); r.Status != http.StatusUnauthorized {
		t.Errorf("wrong password after migration = %d; want 401", r.Status)
	}
}

func TestLazyMigrationBrokenDrift(t *testing.T) {
	s := newStack(t, candidate.Config{Drifts: candidate.Drifts{LazyMigrationBroken: true}})
	c := s.client(t)
	if r := c.SubmitLogin(c.Authorize(harness, harnessRedir, "openid"), "pat2", "pw-pat2-long"); r.Status != http.StatusUnauthorized {
		t.Errorf("salted SHA-256 user under lazy-migration-broken = %d; want 401", r.Status)
	}
	s.login(t, "pat1") // bcrypt users are unaffected
}

func TestLockout(t *testing.T) {
	s := newStack(t, candidate.Config{LockoutThreshold: 3, LockoutDuration: time.Minute})
	c := s.client(t)
	try := func(pw string) int {
		return c.SubmitLogin(c.Authorize(harness, harnessRedir, "openid"), "doc1", pw).Status
	}
	for i, want := range []int{401, 401, 423, 423} {
		if got := try("bad-password"); got != want {
			t.Errorf("failure %d = %d; want %d", i+1, got, want)
		}
	}
	if got := try("pw-doc1-long"); got != http.StatusLocked {
		t.Errorf("right password while locked = %d; want 423", got)
	}
	s.clock.Advance(time.Minute)
	if got := try("pw-doc1-long"); got != http.StatusSeeOther {
		t.Errorf("right password after the lock = %d; want 303", got)
	}
}

func TestAuditFeed(t *testing.T) {
	s := newStack(t, candidate.Config{})
	c, doc := s.login(t, "doc1")
	start := s.clock.Now()
	s.clock.Advance(time.Second)
	other := s.client(t)
	other.SubmitLogin(other.Authorize(harness, harnessRedir, "openid"), "doc1", "bad-password")
	c.Get("/api/billing/claims", driver.Bearer(doc.AccessToken)...)
	c.Get("/end_session?" + url.Values{"id_token_hint": {doc.IDToken}}.Encode())
	_, aud := s.login(t, "aud1")
	r := c.Get("/api/audit?actor=clinician-00001&since="+url.QueryEscape(start.Add(time.Second).Format(time.RFC3339Nano)), driver.Bearer(aud.AccessToken)...)
	var got []string
	for _, e := range r.JSON()["events"].([]any) {
		got = append(got, e.(map[string]any)["kind"].(string))
	}
	if want := []string{"login_failed", "deny", "logout"}; !slices.Equal(got, want) {
		t.Errorf("audit since the first login = %v; want %v", got, want)
	}
	if r := c.Get("/api/audit", driver.Bearer(doc.AccessToken)...); r.Status != http.StatusUnauthorized {
		t.Errorf("audit with a logged-out token = %d; want 401", r.Status)
	}
	_, pat := s.login(t, "pat1")
	if r := c.Get("/api/audit", driver.Bearer(pat.AccessToken)...); r.Status != http.StatusForbidden {
		t.Errorf("audit as a patient = %d; want 403", r.Status)
	}
}
