package candidate

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/cutover-dev/cutover/stacks/internal/passhash"
	"github.com/cutover-dev/cutover/stacks/internal/respond"
)

// SCIM 2.0 schema URNs (RFC 7643, RFC 7644).
const (
	scimUser  = "urn:ietf:params:scim:schemas:core:2.0:User"
	scimList  = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	scimError = "urn:ietf:params:scim:api:messages:2.0:Error"
	scimPatch = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
)

func (s *Server) registerSCIM() {
	s.mux.HandleFunc("POST /scim/v2/Users", s.scimAuth(s.scimCreate))
	s.mux.HandleFunc("GET /scim/v2/Users", s.scimAuth(s.scimList))
	s.mux.HandleFunc("GET /scim/v2/Users/{id}", s.scimAuth(s.scimGet))
	s.mux.HandleFunc("PUT /scim/v2/Users/{id}", s.scimAuth(s.scimReplace))
	s.mux.HandleFunc("PATCH /scim/v2/Users/{id}", s.scimAuth(s.scimPatch))
	s.mux.HandleFunc("DELETE /scim/v2/Users/{id}", s.scimAuth(s.scimDelete))
}

// scimValue is a multi-valued attribute entry ({"value": ...}).
type scimValue struct {
	Value   string `json:"value"`
	Primary bool   `json:"primary,omitempty"`
}

// scimResource is a SCIM User as read and written.
type scimResource struct {
	Schemas  []string `json:"schemas"`
	ID       string   `json:"id,omitempty"`
	UserName string   `json:"userName"`
	Name     *struct {
		Formatted string `json:"formatted,omitempty"`
	} `json:"name,omitempty"`
	DisplayName string         `json:"displayName,omitempty"`
	Emails      []scimValue    `json:"emails,omitempty"`
	Active      *bool          `json:"active,omitempty"`
	Roles       []scimValue    `json:"roles"`
	Password    string         `json:"password,omitempty"`
	Meta        map[string]any `json:"meta,omitempty"`
}

func scimErr(w http.ResponseWriter, status int, scimType, detail string) {
	w.Header().Set("Content-Type", "application/scim+json")
	w.WriteHeader(status)
	body := map[string]any{"schemas": []string{scimError}, "status": strconv.Itoa(status), "detail": detail}
	if scimType != "" {
		body["scimType"] = scimType
	}
	_ = json.NewEncoder(w).Encode(body)
}

func scimJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/scim+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// scimAuth admits bearer tokens carrying the provisioner scope.
func (s *Server) scimAuth(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := s.parseAccess(bearer(r))
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			scimErr(w, http.StatusUnauthorized, "", "a valid bearer token is required")
			return
		}
		if !slices.Contains(strings.Fields(c.Scope), ProvisionerScope) {
			scimErr(w, http.StatusForbidden, "", "the token lacks the scim scope")
			return
		}
		next(w, r)
	}
}

// resource renders u; callers hold s.mu.
func (s *Server) resource(u *User) scimResource {
	active := u.Active
	res := scimResource{
		Schemas: []string{scimUser}, ID: u.ID, UserName: u.Username, DisplayName: u.Name,
		Active: &active, Roles: []scimValue{},
		Meta: map[string]any{"resourceType": "User", "location": s.cfg.Issuer + "/scim/v2/Users/" + u.ID},
	}
	if u.Name != "" {
		res.Name = &struct {
			Formatted string `json:"formatted,omitempty"`
		}{u.Name}
	}
	if u.Email != "" {
		res.Emails = []scimValue{{Value: u.Email, Primary: true}}
	}
	for _, r := range u.Roles {
		res.Roles = append(res.Roles, scimValue{Value: r})
	}
	return res
}

// scopesOf gives candidate roles the scopes the role map attaches to them.
func (m RoleMap) scopesOf(roles []string) []string {
	var out []string
	for _, mp := range m.Roles {
		for _, r := range mp.Roles {
			if slices.Contains(roles, r) {
				out = append(out, mp.Scopes...)
			}
		}
	}
	return sortedSet(out)
}

func roleValues(vs []scimValue) []string {
	var out []string
	for _, v := range vs {
		if v.Value != "" {
			out = append(out, v.Value)
		}
	}
	return sortedSet(out)
}

func readSCIM(r *http.Request, v any) error {
	return json.NewDecoder(io.LimitReader(r.Body, 256<<10)).Decode(v)
}

// apply writes the attributes of in onto u; callers hold s.mu.
func (s *Server) apply(u *User, in scimResource) error {
	u.Username = in.UserName
	if in.Name != nil {
		u.Name = in.Name.Formatted
	} else if in.DisplayName != "" {
		u.Name = in.DisplayName
	}
	if len(in.Emails) > 0 {
		u.Email = in.Emails[0].Value
	}
	if in.Active != nil {
		u.Active = *in.Active
	}
	u.Roles = roleValues(in.Roles)
	u.Scopes = s.cfg.RoleMap.scopesOf(u.Roles)
	if in.Password != "" {
		h, err := passhash.New(passhash.Bcrypt, in.Password, s.cfg.BcryptCost)
		if err != nil {
			return err
		}
		u.Hash, u.imported = h, nil
	}
	s.index(u)
	return nil
}

func (s *Server) scimCreate(w http.ResponseWriter, r *http.Request) {
	var in scimResource
	if err := readSCIM(r, &in); err != nil || in.UserName == "" {
		scimErr(w, http.StatusBadRequest, "invalidValue", "userName is required")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.byName[in.UserName]; dup {
		scimErr(w, http.StatusConflict, "uniqueness", "userName is already taken")
		return
	}
	u := &User{ID: strings.ToLower(respond.ID()), Active: true}
	if err := s.apply(u, in); err != nil {
		scimErr(w, http.StatusInternalServerError, "", "cannot store the password")
		return
	}
	s.users[u.ID], s.byName[u.Username] = u, u
	w.Header().Set("Location", s.cfg.Issuer+"/scim/v2/Users/"+u.ID)
	scimJSON(w, http.StatusCreated, s.resource(u))
}

// scimUser returns the user the path names, or answers 404; callers hold s.mu.
func (s *Server) scimUser(w http.ResponseWriter, r *http.Request) (*User, bool) {
	u, ok := s.users[r.PathValue("id")]
	if !ok {
		scimErr(w, http.StatusNotFound, "", "no such user")
	}
	return u, ok
}

func (s *Server) scimGet(w http.ResponseWriter, r *http.Request) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	u, ok := s.scimUser(w, r)
	if !ok {
		return
	}
	scimJSON(w, http.StatusOK, s.resource(u))
}

var userNameEq = regexp.MustCompile(`(?i)^\s*userName\s+eq\s+"((?:[^"\\]|\\.)*)"\s*$`)

func (s *Server) scimList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var want *string
	if f := q.Get("filter"); f != "" {
		m := userNameEq.FindStringSubmatch(f)
		if m == nil {
			scimErr(w, http.StatusBadRequest, "invalidFilter", `only userName eq "..." is supported`)
			return
		}
		v, err := strconv.Unquote(`"` + m[1] + `"`)
		if err != nil {
			scimErr(w, http.StatusBadRequest, "invalidFilter", "bad string in filter")
			return
		}
		want = &v
	}
	start, _ := strconv.Atoi(q.Get("startIndex"))
	start = max(start, 1)
	count, err := strconv.Atoi(q.Get("count"))
	if err != nil || count < 0 {
		count = 100
	}
	s.mu.RLock()
	var all []*User
	for _, u := range s.users {
		if want == nil || strings.EqualFold(u.Username, *want) {
			all = append(all, u)
		}
	}
	slices.SortFunc(all, func(a, b *User) int { return strings.Compare(a.ID, b.ID) })
	page := []scimResource{}
	for i := start - 1; i < len(all) && len(page) < count; i++ {
		page = append(page, s.resource(all[i]))
	}
	s.mu.RUnlock()
	scimJSON(w, http.StatusOK, map[string]any{
		"schemas": []string{scimList}, "totalResults": len(all), "startIndex": start,
		"itemsPerPage": len(page), "Resources": page,
	})
}

func (s *Server) scimReplace(w http.ResponseWriter, r *http.Request) {
	var in scimResource
	if err := readSCIM(r, &in); err != nil || in.UserName == "" {
		scimErr(w, http.StatusBadRequest, "invalidValue", "userName is required")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.scimUser(w, r)
	if !ok {
		return
	}
	if o, dup := s.byName[in.UserName]; dup && o != u {
		scimErr(w, http.StatusConflict, "uniqueness", "userName is already taken")
		return
	}
	delete(s.byName, u.Username)
	if err := s.apply(u, in); err != nil {
		scimErr(w, http.StatusInternalServerError, "", "cannot store the password")
		return
	}
	s.byName[u.Username] = u
	scimJSON(w, http.StatusOK, s.resource(u))
}

var roleValueEq = regexp.MustCompile(`(?i)^roles\[value eq "([^"]*)"\]$`)

// scimPatch supports the operations provisioning needs: add, replace and remove on
// roles (remove by path roles[value eq "x"] too) and replace on active.
func (s *Server) scimPatch(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Schemas    []string `json:"schemas"`
		Operations []struct {
			Op    string          `json:"op"`
			Path  string          `json:"path"`
			Value json.RawMessage `json:"value"`
		} `json:"Operations"`
	}
	if err := readSCIM(r, &in); err != nil || !slices.Contains(in.Schemas, scimPatch) {
		scimErr(w, http.StatusBadRequest, "invalidSyntax", "want a PatchOp message")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.scimUser(w, r)
	if !ok {
		return
	}
	roles, active := slices.Clone(u.Roles), u.Active
	for _, op := range in.Operations {
		path := op.Path
		var vals []scimValue
		switch {
		case strings.EqualFold(path, "roles") && !strings.EqualFold(op.Op, "remove"):
			if err := json.Unmarshal(op.Value, &vals); err != nil {
				scimErr(w, http.StatusBadRequest, "invalidValue", "roles must be a list of {value}")
				return
			}
		case strings.EqualFold(path, "active"):
			if err := json.Unmarshal(op.Value, &active); err != nil {
				scimErr(w, http.StatusBadRequest, "invalidValue", "active must be a boolean")
				return
			}
			continue
		case path == "":
			var attrs struct {
				Active *bool       `json:"active"`
				Roles  []scimValue `json:"roles"`
			}
			if err := json.Unmarshal(op.Value, &attrs); err != nil {
				scimErr(w, http.StatusBadRequest, "invalidValue", "value must be an object")
				return
			}
			if attrs.Active != nil {
				active = *attrs.Active
			}
			if attrs.Roles == nil {
				continue
			}
			vals = attrs.Roles
		case strings.EqualFold(op.Op, "remove") && roleValueEq.MatchString(path):
		default:
			scimErr(w, http.StatusBadRequest, "noTarget", "supported paths: roles, active, roles[value eq \"x\"]")
			return
		}
		switch strings.ToLower(op.Op) {
		case "replace":
			roles = roleValues(vals)
		case "add":
			roles = sortedSet(append(roles, roleValues(vals)...))
		case "remove":
			if strings.EqualFold(path, "roles") {
				roles = nil
			} else if m := roleValueEq.FindStringSubmatch(path); m != nil {
				roles = slices.DeleteFunc(roles, func(r string) bool { return r == m[1] })
			} else {
				scimErr(w, http.StatusBadRequest, "noTarget", "unsupported remove path")
				return
			}
		default:
			scimErr(w, http.StatusBadRequest, "invalidSyntax", "op must be add, replace or remove")
			return
		}
	}
	u.Roles, u.Active = roles, active
	u.Scopes = s.cfg.RoleMap.scopesOf(roles)
	s.index(u)
	scimJSON(w, http.StatusOK, s.resource(u))
}

func (s *Server) scimDelete(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.scimUser(w, r)
	if !ok {
		return
	}
	delete(s.users, u.ID)
	delete(s.byName, u.Username)
	for _, g := range s.tokens.grants {
		if g.user == u.ID {
			s.revokeFamily(g)
		}
	}
	w.WriteHeader(http.StatusNoContent)
}
