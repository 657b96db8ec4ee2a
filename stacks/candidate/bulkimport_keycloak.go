package candidate

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/cutover-dev/cutover/stacks/internal/passhash"
	"github.com/cutover-dev/cutover/stacks/internal/respond"
)

// keycloakUser is a user of a Keycloak partial import.
type keycloakUser struct {
	ID          string              `json:"id"`
	Username    string              `json:"username"`
	Email       string              `json:"email"`
	FirstName   string              `json:"firstName"`
	LastName    string              `json:"lastName"`
	Enabled     *bool               `json:"enabled"`
	Attributes  map[string][]string `json:"attributes"`
	RealmRoles  []string            `json:"realmRoles"`
	Credentials []struct {
		Type           string `json:"type"`
		Value          string `json:"value"`
		SecretData     string `json:"secretData"`
		CredentialData string `json:"credentialData"`
	} `json:"credentials"`
}

// keycloakImport takes a Keycloak partial import of users: all of them or, at
// the first bad one, none (Keycloak imports in one transaction).
func (s *Server) keycloakImport(w http.ResponseWriter, r *http.Request) {
	fail := func(status int, msg string) {
		respond.JSON(w, status, map[string]string{"errorMessage": msg})
	}
	var in struct {
		IfResourceExists string         `json:"ifResourceExists"`
		Users            []keycloakUser `json:"users"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxImportBody)).Decode(&in); err != nil {
		fail(http.StatusBadRequest, "want a JSON partial import representation")
		return
	}
	policy := in.IfResourceExists
	if !slices.Contains([]string{"FAIL", "SKIP", "OVERWRITE"}, policy) {
		fail(http.StatusBadRequest, "ifResourceExists: want FAIL, SKIP or OVERWRITE")
		return
	}
	users := make([]importUser, len(in.Users))
	seen := map[string]bool{}
	for i, ku := range in.Users {
		iu, err := s.fromKeycloak(ku)
		if err == nil && (seen["id:"+iu.ID] || seen["name:"+iu.Username]) {
			err = errors.New("a user of the same id or username comes earlier in the file")
		}
		if err != nil {
			fail(http.StatusBadRequest, fmt.Sprintf("users[%d] %s: %v", i, ku.Username, err))
			return
		}
		seen["id:"+iu.ID], seen["name:"+iu.Username] = true, true
		users[i] = iu
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	exists := func(iu importUser) bool {
		_, byID := s.users[iu.ID]
		_, byName := s.byName[iu.Username]
		return byID || byName
	}
	if policy == "FAIL" {
		for _, iu := range users {
			if exists(iu) {
				fail(http.StatusConflict, fmt.Sprintf("User '%s' already exists", iu.Username))
				return
			}
		}
	}
	var added, overwritten, skipped int
	results := []map[string]string{}
	for _, iu := range users {
		action := "SKIPPED"
		if !exists(iu) || policy != "SKIP" {
			outcome, err := s.store(iu, policy == "OVERWRITE")
			if err != nil {
				// Only a username taken by a user of another id gets here;
				// what was stored before it stays (no transaction here).
				fail(http.StatusConflict, fmt.Sprintf("User '%s': %v", iu.Username, err))
				return
			}
			action = map[string]string{"inserted": "ADDED", "updated": "OVERWRITTEN"}[outcome]
		}
		switch action {
		case "ADDED":
			added++
		case "OVERWRITTEN":
			overwritten++
		default:
			skipped++
		}
		results = append(results, map[string]string{"action": action, "resourceType": "USER", "resourceName": iu.Username, "id": iu.ID})
	}
	respond.JSON(w, http.StatusOK, map[string]any{"added": added, "overwritten": overwritten, "skipped": skipped, "results": results})
}

// fromKeycloak turns a user of a partial import into a candidate user: its id
// is its persona_id attribute (else its id), its roles are its realm roles.
func (s *Server) fromKeycloak(ku keycloakUser) (importUser, error) {
	if ku.Username == "" {
		return importUser{}, errors.New("want a username")
	}
	first := func(k string) string {
		if v := ku.Attributes[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	iu := importUser{User: User{
		ID: first("persona_id"), Username: ku.Username, Email: ku.Email, Name: strings.TrimSpace(ku.FirstName + " " + ku.LastName),
		Active: ku.Enabled != nil && *ku.Enabled, Roles: sortedSet(ku.RealmRoles), Panel: ku.Attributes["panel"],
	}}
	if iu.ID == "" {
		iu.ID = ku.ID
	}
	if iu.ID == "" {
		iu.ID = strings.ToLower(respond.ID())
	}
	iu.Scopes = s.cfg.RoleMap.scopesOf(iu.Roles)
	for _, c := range ku.Credentials {
		if c.Type != "password" {
			continue
		}
		if c.Value != "" {
			h, err := passhash.New(passhash.Bcrypt, c.Value, s.cfg.BcryptCost)
			if err != nil {
				return importUser{}, errors.New("credentials: cannot hash the password")
			}
			iu.Hash = h
			continue
		}
		h, err := keycloakPBKDF2(c.SecretData, c.CredentialData)
		if err != nil {
			return importUser{}, fmt.Errorf("credentials: %w", err)
		}
		iu.imported = h
	}
	return iu, nil
}

// keycloakPBKDF2 reads a pbkdf2-sha256 password credential in Keycloak's
// form: secretData {"value", "salt"} in base64, credentialData
// {"hashIterations", "algorithm"}.
func keycloakPBKDF2(secretData, credentialData string) (*importedHash, error) {
	var cred struct {
		HashIterations int    `json:"hashIterations"`
		Algorithm      string `json:"algorithm"`
	}
	var secret struct {
		Value string `json:"value"`
		Salt  string `json:"salt"`
	}
	if err := json.Unmarshal([]byte(credentialData), &cred); err != nil {
		return nil, errors.New("credentialData is not a JSON object")
	}
	if cred.Algorithm != "pbkdf2-sha256" {
		return nil, errors.New("algorithm: this stack verifies pbkdf2-sha256")
	}
	if cred.HashIterations < 1 || cred.HashIterations > maxPBKDF2Iterations {
		return nil, fmt.Errorf("hashIterations: want 1 to %d", maxPBKDF2Iterations)
	}
	if err := json.Unmarshal([]byte(secretData), &secret); err != nil {
		return nil, errors.New("secretData is not a JSON object")
	}
	sum, err1 := base64.StdEncoding.DecodeString(secret.Value)
	salt, err2 := base64.StdEncoding.DecodeString(secret.Salt)
	if err1 != nil || err2 != nil || len(sum) < 16 || len(sum) > 64 || len(salt) < 8 {
		return nil, errors.New("secretData: want a base64 value of 16 to 64 bytes and a base64 salt of 8 bytes or more")
	}
	return &importedHash{scheme: "pbkdf2-sha256", iter: uint32(cred.HashIterations), salt: salt, sum: sum}, nil
}
