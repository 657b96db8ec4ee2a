package candidate_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/cutover-dev/cutover/stacks/candidate"
	"github.com/cutover-dev/cutover/stacks/internal/driver"
)

func (s stack) provisionerToken(t *testing.T, c *driver.Client) string {
	t.Helper()
	_, _, id, secret := s.Clients()
	return c.PostForm("/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}}).Tokens(t).AccessToken
}

func TestSCIMUsers(t *testing.T) {
	s := newStack(t, candidate.Config{})
	c := s.client(t)
	auth := driver.Bearer(s.provisionerToken(t, c))
	send := func(method, path, body string) driver.Response {
		return c.Send(method, path, strings.NewReader(body), "application/scim+json", auth...)
	}
	create := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"nurse1","active":true,"password":"pw-nurse1-long","roles":[{"value":"clinician"}]}`
	r := send("POST", "/scim/v2/Users", create)
	id := r.Str("id")
	if r.Status != http.StatusCreated || id == "" || r.Header.Get("Location") == "" {
		t.Fatalf("create = %d %s; want 201 with an id and a Location", r.Status, r.Body)
	}
	if r := send("POST", "/scim/v2/Users", create); r.Status != http.StatusConflict || r.Str("scimType") != "uniqueness" {
		t.Errorf("duplicate userName = %d %s; want 409 uniqueness", r.Status, r.Body)
	}
	if r := send("GET", "/scim/v2/Users/"+id, ""); r.Status != http.StatusOK || r.Str("userName") != "nurse1" {
		t.Errorf("get = %d %s; want 200 nurse1", r.Status, r.Body)
	}
	list := send("GET", "/scim/v2/Users?filter="+url.QueryEscape(`userName eq "doc1"`), "").JSON()
	if list["totalResults"] != 1.0 || list["Resources"].([]any)[0].(map[string]any)["id"] != "clinician-00001" {
		t.Errorf("filter userName eq doc1 = %v; want the one seeded clinician", list)
	}
	if r := send("GET", "/scim/v2/Users?filter="+url.QueryEscape(`emails co "x"`), ""); r.Status != http.StatusBadRequest || r.Str("scimType") != "invalidFilter" {
		t.Errorf("unsupported filter = %d; want 400 invalidFilter", r.Status)
	}
	// The provisioned user logs in and holds the scopes of its role.
	u := s.client(t)
	if tok := u.Login(harness, harnessRedir, "nurse1", "pw-nurse1-long", "openid").Tokens(t); !strings.Contains(tok.Scope, "notes.read") {
		t.Errorf("provisioned clinician scope = %q; want notes.read", tok.Scope)
	}
	patch := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"roles","value":[{"value":"auditor"}]},{"op":"remove","path":"roles[value eq \"clinician\"]"}]}`
	if r := send("PATCH", "/scim/v2/Users/"+id, patch); r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"auditor"`) || strings.Contains(string(r.Body), `"clinician"`) {
		t.Errorf("patch roles = %d %s; want roles [auditor]", r.Status, r.Body)
	}
	put := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"nurse1","active":false,"roles":[{"value":"billing"}]}`
	if r := send("PUT", "/scim/v2/Users/"+id, put); r.Status != http.StatusOK || r.JSON()["active"] != false {
		t.Errorf("put = %d %s; want 200 inactive", r.Status, r.Body)
	}
	if r := u.SubmitLogin(s.client(t).Authorize(harness, harnessRedir, "openid"), "nurse1", "pw-nurse1-long"); r.Status != http.StatusUnauthorized {
		t.Errorf("login of a deactivated user = %d; want 401", r.Status)
	}
	if r := send("DELETE", "/scim/v2/Users/"+id, ""); r.Status != http.StatusNoContent {
		t.Errorf("delete = %d; want 204", r.Status)
	}
	if r := send("GET", "/scim/v2/Users/"+id, ""); r.Status != http.StatusNotFound {
		t.Errorf("get after delete = %d; want 404", r.Status)
	}
}

func TestSCIMRequiresProvisionerToken(t *testing.T) {
	s := newStack(t, candidate.Config{})
	c, doc := s.login(t, "doc1")
	for _, tt := range []struct {
		name string
		hdr  []string
		want int
	}{
		{"no token", nil, http.StatusUnauthorized},
		{"user token", driver.Bearer(doc.AccessToken), http.StatusForbidden},
	} {
		if r := c.Get("/scim/v2/Users", tt.hdr...); r.Status != tt.want {
			t.Errorf("%s: GET /scim/v2/Users = %d; want %d", tt.name, r.Status, tt.want)
		}
	}
}

func TestPortalBrowserJourney(t *testing.T) {
	s := newStack(t, candidate.Config{})
	b := s.client(t)
	r := b.Get("/portal/")
	if r.Status != http.StatusFound || r.Location().Path != "/authorize" {
		t.Fatalf("GET /portal/ signed out = %d to %s; want 302 to /authorize", r.Status, r.Location())
	}
	r = b.SubmitLogin(b.Get(r.Location().String()), "pat1", "pw-pat1-long")
	r = b.Get(r.Location().String()) // the portal callback
	if r.Status != http.StatusSeeOther || r.Location().Path != "/portal/" {
		t.Fatalf("callback = %d to %s; want 303 to /portal/", r.Status, r.Location())
	}
	r = b.Get("/portal/")
	if r.Status != http.StatusOK || !strings.Contains(string(r.Body), `<h1 id="welcome">Welcome, Name pat1</h1>`) {
		t.Fatalf("portal home = %d %s; want the welcome heading", r.Status, r.Body)
	}
	r = b.PostForm("/portal/logout", nil)
	if r.Location().Path != "/end_session" {
		t.Fatalf("portal logout = %d to %s; want end_session", r.Status, r.Location())
	}
	r = b.Get(r.Location().String())
	if r.Status != http.StatusFound || r.Location().Path != "/portal/signed-out" {
		t.Fatalf("end_session = %d to %s; want /portal/signed-out", r.Status, r.Location())
	}
	if r := b.Authorize(harness, harnessRedir, "openid"); r.Status != http.StatusOK {
		t.Errorf("authorize after portal logout = %d; want the login form (SSO ended)", r.Status)
	}
}
