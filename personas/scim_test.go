package personas_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/cutover-dev/cutover/personas"
)

// scimServer is a minimal SCIM 2.0 service provider (RFC 7644) for the /Users
// resource: server-assigned ids, 409 uniqueness on userName (case-insensitive),
// filter userName eq "...", pagination, PUT replace, DELETE, bearer auth. It
// follows the contract of the embedded candidate's /scim/v2/Users
// (stacks/README.md); the embedded candidate keeps no externalId, which
// dropExternalID reproduces.
type scimServer struct {
	token          string
	pageSize       int    // the most users a list answer holds; 0 means no limit
	failUser       string // userName whose create answers 500, echoing the request; "*" for all
	dropExternalID bool

	mu       sync.Mutex
	users    []*scimDoc // in creation order
	next     int
	requests []string // "METHOD path", in order
}

type scimDoc struct {
	Schemas    []string `json:"schemas"`
	ID         string   `json:"id,omitempty"`
	ExternalID string   `json:"externalId,omitempty"`
	UserName   string   `json:"userName"`
	Name       *struct {
		Formatted string `json:"formatted"`
	} `json:"name,omitempty"`
	DisplayName string `json:"displayName,omitempty"`
	Emails      []struct {
		Value   string `json:"value"`
		Primary bool   `json:"primary"`
	} `json:"emails,omitempty"`
	Active bool `json:"active"`
	Roles  []struct {
		Value string `json:"value"`
	} `json:"roles,omitempty"`
	Password string `json:"password,omitempty"` // write-only: never returned
}

const userSchema = "urn:ietf:params:scim:schemas:core:2.0:User"

func newSCIMServer(t *testing.T, s *scimServer) *httptest.Server {
	srv := httptest.NewServer(s.handler())
	t.Cleanup(srv.Close)
	return srv
}

// handler serves the SCIM API under /scim/v2.
func (s *scimServer) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /scim/v2/Users", s.write(s.create))
	mux.HandleFunc("GET /scim/v2/Users", s.list)
	mux.HandleFunc("GET /scim/v2/Users/{id}", s.get)
	mux.HandleFunc("PUT /scim/v2/Users/{id}", s.write(s.replace))
	mux.HandleFunc("DELETE /scim/v2/Users/{id}", s.remove)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests = append(s.requests, r.Method+" "+r.URL.Path)
		s.mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer "+s.token {
			scimFail(w, http.StatusUnauthorized, "", "a valid bearer token is required")
			return
		}
		if r.Method == http.MethodPost || r.Method == http.MethodPut {
			if ct := r.Header.Get("Content-Type"); ct != "application/scim+json" {
				scimFail(w, http.StatusUnsupportedMediaType, "", "content type "+ct)
				return
			}
		}
		mux.ServeHTTP(w, r)
	})
}

func scimFail(w http.ResponseWriter, status int, scimType, detail string) {
	w.Header().Set("Content-Type", "application/scim+json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{
		"schemas":  []string{"urn:ietf:params:scim:api:messages:2.0:Error"},
		"status":   strconv.Itoa(status),
		"scimType": scimType,
		"detail":   detail,
	})
}

func scimReply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/scim+json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// out is what the server returns of a stored user: never the password.
func (s *scimServer) out(u *scimDoc) scimDoc {
	c := *u
	c.Password = ""
	return c
}

func (s *scimServer) read(w http.ResponseWriter, r *http.Request) (*scimDoc, bool) {
	var in scimDoc
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.UserName == "" || !slices.Contains(in.Schemas, userSchema) {
		scimFail(w, http.StatusBadRequest, "invalidValue", "want a User with a userName")
		return nil, false
	}
	if s.dropExternalID {
		in.ExternalID = ""
	}
	return &in, true
}

// byName returns the index of the user named name, case-insensitively, or -1.
func (s *scimServer) byName(name string) int {
	return slices.IndexFunc(s.users, func(u *scimDoc) bool { return strings.EqualFold(u.UserName, name) })
}

func (s *scimServer) byID(id string) int {
	return slices.IndexFunc(s.users, func(u *scimDoc) bool { return u.ID == id })
}

// write decodes a User from the request and calls apply with it under the lock.
func (s *scimServer) write(apply func(w http.ResponseWriter, r *http.Request, in *scimDoc)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		in, ok := s.read(w, r)
		if !ok {
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		apply(w, r, in)
	}
}

func (s *scimServer) create(w http.ResponseWriter, _ *http.Request, in *scimDoc) {
	if s.failUser == "*" || in.UserName == s.failUser {
		body, _ := json.Marshal(in)
		scimFail(w, http.StatusInternalServerError, "", "cannot store "+string(body))
		return
	}
	if s.byName(in.UserName) >= 0 {
		scimFail(w, http.StatusConflict, "uniqueness", "userName is already taken")
		return
	}
	s.next++
	in.ID = fmt.Sprintf("u%04d", s.next) // the provider's id, not the persona's
	s.users = append(s.users, in)
	scimReply(w, http.StatusCreated, s.out(in))
}

var userNameEq = regexp.MustCompile(`^userName eq ("(?:[^"\\]|\\.)*")$`)

func (s *scimServer) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	all := s.users
	if f := q.Get("filter"); f != "" {
		m := userNameEq.FindStringSubmatch(f)
		var name string
		if m == nil || json.Unmarshal([]byte(m[1]), &name) != nil {
			scimFail(w, http.StatusBadRequest, "invalidFilter", "only userName eq \"...\" is supported")
			return
		}
		all = nil
		if i := s.byName(name); i >= 0 {
			all = s.users[i : i+1]
		}
	}
	start, err := strconv.Atoi(q.Get("startIndex"))
	if err != nil || start < 1 {
		start = 1
	}
	count, err := strconv.Atoi(q.Get("count"))
	if err != nil || count < 0 {
		count = len(all)
	}
	if s.pageSize > 0 {
		count = min(count, s.pageSize)
	}
	page := []scimDoc{}
	for i := start - 1; i < len(all) && len(page) < count; i++ {
		page = append(page, s.out(all[i]))
	}
	scimReply(w, http.StatusOK, map[string]any{
		"schemas":      []string{"urn:ietf:params:scim:api:messages:2.0:ListResponse"},
		"totalResults": len(all), "startIndex": start, "itemsPerPage": len(page), "Resources": page,
	})
}

// existing returns the index of the user the request path names, or answers 404.
func (s *scimServer) existing(w http.ResponseWriter, r *http.Request) (int, bool) {
	i := s.byID(r.PathValue("id"))
	if i < 0 {
		scimFail(w, http.StatusNotFound, "", "no such user")
	}
	return i, i >= 0
}

func (s *scimServer) get(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.existing(w, r)
	if !ok {
		return
	}
	scimReply(w, http.StatusOK, s.out(s.users[i]))
}

func (s *scimServer) replace(w http.ResponseWriter, r *http.Request, in *scimDoc) {
	i, ok := s.existing(w, r)
	if !ok {
		return
	}
	if j := s.byName(in.UserName); j >= 0 && j != i {
		scimFail(w, http.StatusConflict, "uniqueness", "userName is already taken")
		return
	}
	in.ID = s.users[i].ID
	s.users[i] = in
	scimReply(w, http.StatusOK, s.out(in))
}

func (s *scimServer) remove(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.existing(w, r)
	if !ok {
		return
	}
	s.users = slices.Delete(s.users, i, i+1)
	w.WriteHeader(http.StatusNoContent)
}

// setRoles changes a user's roles behind the client's back, as drift would.
func (s *scimServer) setRoles(username string, roles ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[s.byName(username)]
	u.Roles = u.Roles[:0]
	for _, r := range roles {
		u.Roles = append(u.Roles, struct {
			Value string `json:"value"`
		}{r})
	}
}

func (s *scimServer) countRequests(prefix string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.requests {
		if strings.HasPrefix(r, prefix) {
			n++
		}
	}
	return n
}

func humans(pop personas.Population) int {
	n := 0
	for _, p := range pop.Personas {
		if p.Human() {
			n++
		}
	}
	return n
}

func TestSCIMRoundTrip(t *testing.T) {
	for _, drop := range []bool{false, true} {
		t.Run(fmt.Sprintf("dropExternalID=%t", drop), func(t *testing.T) {
			ctx := context.Background()
			pop, err := personas.Generate(4, personas.GenerateOptions{Count: 120, UnassignedShare: 0.1})
			if err != nil {
				t.Fatal(err)
			}
			fake := &scimServer{token: "prov-token", pageSize: 25, dropExternalID: drop}
			srv := newSCIMServer(t, fake)
			c := &personas.SCIMClient{BaseURL: srv.URL + "/scim/v2/", Token: personas.NewSecret("prov-token"), HTTP: srv.Client(), MapRoles: candidateRoles}
			legacy := usersOf(pop, nil)
			n := humans(pop)

			parity := func(step string, want int) []personas.Drift {
				t.Helper()
				users, err := c.Users(ctx)
				if err != nil {
					t.Fatalf("%s: Users = %v", step, err)
				}
				d := personas.Parity(pop, legacy, users, candidateRoles)
				if len(d) != want {
					t.Fatalf("%s: Parity = %d drifts %v; want %d", step, len(d), d, want)
				}
				return d
			}

			res, err := c.Provision(ctx, pop)
			if want := (personas.ProvisionResult{Created: n, Skipped: len(pop.Personas) - n}); err != nil || res != want {
				t.Fatalf("first Provision = %+v, %v; want %+v, nil", res, err, want)
			}
			parity("after create", 0)

			res, err = c.Provision(ctx, pop)
			if want := (personas.ProvisionResult{Unchanged: n, Skipped: len(pop.Personas) - n}); err != nil || res != want {
				t.Errorf("second Provision = %+v, %v; want %+v, nil", res, err, want)
			}

			billing := pop.ByKind(personas.Billing)[0]
			fake.setRoles(billing.Username, "billing", "admin")
			d := parity("after drift", 1)
			if got, want := d[0].String(), fmt.Sprintf("candidate: %s: roles [admin billing]; want [billing]", billing.ID); got != want {
				t.Errorf("drift = %q; want %q", got, want)
			}
			res, err = c.Provision(ctx, pop)
			if want := (personas.ProvisionResult{Updated: 1, Unchanged: n - 1, Skipped: len(pop.Personas) - n}); err != nil || res != want {
				t.Errorf("Provision after drift = %+v, %v; want %+v, nil", res, err, want)
			}
			parity("after repair", 0)

			deleted, err := c.Deprovision(ctx, pop)
			if err != nil || deleted != n {
				t.Errorf("Deprovision = %d, %v; want %d, nil", deleted, err, n)
			}
			d = parity("after deprovision", n)
			for _, dr := range d {
				if dr.Side != personas.SideCandidate || dr.Kind != personas.DriftMissing {
					t.Errorf("drift %v; want candidate missing", dr)
				}
			}
			if deleted, err := c.Deprovision(ctx, pop); err != nil || deleted != 0 {
				t.Errorf("second Deprovision = %d, %v; want 0, nil", deleted, err)
			}
		})
	}
}

func TestSCIMRequests(t *testing.T) {
	pop, err := personas.ReadCSV(strings.NewReader(
		"id,kind,username,password,wave,hash_scheme,roles,name,email\n"+
			`c1,clinician,"doc""one",pw-doc-one,w1,bcrypt,clinician;breakglass-eligible,Dana One,dana@example.org`+"\n"), "users.csv", nil)
	if err != nil {
		t.Fatal(err)
	}
	var bodies []map[string]any
	var queries []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodPost:
			var b map[string]any
			json.NewDecoder(r.Body).Decode(&b)
			bodies = append(bodies, b)
			scimFail(w, http.StatusConflict, "uniqueness", "taken")
		case http.MethodGet:
			queries = append(queries, r.URL.Query().Get("filter"))
			scimReply(w, http.StatusOK, map[string]any{"totalResults": 1, "Resources": []any{
				map[string]any{"id": "x/1", "userName": `DOC"ONE`, "active": true, "roles": []any{map[string]any{"value": "clinician"}}},
			}})
		case http.MethodPut:
			if r.URL.EscapedPath() != "/Users/x%2F1" {
				t.Errorf("PUT %s; want /Users/x%%2F1", r.URL.EscapedPath())
			}
			var b map[string]any
			json.NewDecoder(r.Body).Decode(&b)
			bodies = append(bodies, b)
			scimReply(w, http.StatusOK, b)
		}
	}))
	defer srv.Close()
	c := &personas.SCIMClient{BaseURL: srv.URL, HTTP: srv.Client(), SendPassword: true}
	res, err := c.Provision(context.Background(), pop)
	if want := (personas.ProvisionResult{Updated: 1}); err != nil || res != want {
		t.Fatalf("Provision = %+v, %v; want %+v, nil", res, err, want)
	}
	if want := []string{`userName eq "doc\"one"`}; !slices.Equal(queries, want) {
		t.Errorf("filters = %q; want %q", queries, want)
	}
	want := map[string]any{
		"schemas":     []any{userSchema},
		"externalId":  "c1",
		"userName":    `doc"one`,
		"name":        map[string]any{"formatted": "Dana One"},
		"displayName": "Dana One",
		"emails":      []any{map[string]any{"value": "dana@example.org", "primary": true}},
		"active":      true,
		"roles":       []any{map[string]any{"value": "breakglass-eligible"}, map[string]any{"value": "clinician"}},
		"password":    "pw-doc-one",
	}
	for i, b := range bodies {
		delete(b, "id")
		if got, _ := json.Marshal(b); string(got) != mustJSON(want) {
			t.Errorf("request %d body = %s; want %s", i, got, mustJSON(want))
		}
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestSCIMErrors(t *testing.T) {
	ctx := context.Background()
	pop, err := personas.Generate(2, personas.GenerateOptions{Count: 30})
	if err != nil {
		t.Fatal(err)
	}
	n := humans(pop)

	t.Run("refused token stops at once", func(t *testing.T) {
		fake := &scimServer{token: "right"}
		srv := newSCIMServer(t, fake)
		c := &personas.SCIMClient{BaseURL: srv.URL + "/scim/v2", Token: personas.NewSecret("wrong-token-value"), HTTP: srv.Client()}
		_, err := c.Provision(ctx, pop)
		var se *personas.SCIMError
		if !errors.As(err, &se) || se.Status != http.StatusUnauthorized {
			t.Fatalf("Provision = %v; want a 401 SCIMError", err)
		}
		want := fmt.Sprintf("provision %s: scim: POST /Users: 401 Unauthorized: a valid bearer token is required", pop.Personas[0].ID)
		if err.Error() != want {
			t.Errorf("Provision = %q; want %q", err, want)
		}
		if got := fake.countRequests("POST"); got != 1 {
			t.Errorf("POST requests = %d; want 1", got)
		}
	})

	t.Run("one failure, the others still provisioned", func(t *testing.T) {
		bad := pop.Personas[3]
		fake := &scimServer{token: "prov-token-0123456789", failUser: bad.Username}
		srv := newSCIMServer(t, fake)
		c := &personas.SCIMClient{BaseURL: srv.URL + "/scim/v2", Token: personas.NewSecret("prov-token-0123456789"), HTTP: srv.Client(), SendPassword: true}
		res, err := c.Provision(ctx, pop)
		if res.Created != n-1 {
			t.Errorf("Created = %d; want %d", res.Created, n-1)
		}
		if err == nil || !strings.HasPrefix(err.Error(), "provision "+bad.ID+": scim: POST /Users: 500 Internal Server Error: cannot store {") {
			t.Fatalf("Provision = %v; want the 500 of %s", err, bad.ID)
		}
		if strings.Contains(err.Error(), bad.Secret.Reveal()) || !strings.Contains(err.Error(), `"password":"[redacted]"`) {
			t.Errorf("Provision error = %q; want the echoed password redacted", err)
		}
	})

	t.Run("unreachable", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		srv.Close()
		c := &personas.SCIMClient{BaseURL: srv.URL}
		if _, err := c.Users(ctx); err == nil || !strings.HasPrefix(err.Error(), "list users: scim: GET /Users: ") {
			t.Errorf("Users = %v; want a connection error", err)
		}
	})

	t.Run("canceled", func(t *testing.T) {
		fake := &scimServer{token: "t"}
		srv := newSCIMServer(t, fake)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		c := &personas.SCIMClient{BaseURL: srv.URL + "/scim/v2", Token: personas.NewSecret("t"), HTTP: srv.Client()}
		if _, err := c.Provision(cctx, pop); !errors.Is(err, context.Canceled) || strings.Count(err.Error(), "\n") != 0 {
			t.Errorf("Provision(canceled) = %v; want one context.Canceled error", err)
		}
	})
}
