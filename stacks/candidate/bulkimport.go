package candidate

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"

	"github.com/cutover-dev/cutover/stacks/internal/passhash"
	"github.com/cutover-dev/cutover/stacks/internal/respond"
)

// Bulk import: the candidate provisioned the way an IdP without SCIM is, from
// a file of users with their password hashes, through the two import APIs whose
// files `cutover personas export` writes:
//
//	POST /api/v2/jobs/users-imports           Auth0's bulk user import: multipart/form-data,
//	                                          the users file in part "users", "upsert" true or false
//	POST /admin/realms/{realm}/partialImport  Keycloak's partial import: a JSON body
//
// Both take the provisioner's bearer token (scope scim), answer at once (Auth0
// queues a job; the answer here is that job, completed), and key each user by
// the persona id the file carries (user_id; attribute persona_id), so its
// subjects are the persona ids as when it is seeded from legacy. Passwords are
// verified with the imported hash until the first sign-in stores them as bcrypt.

// maxImportBody bounds an import request (Auth0 takes 500 KB a file; this
// stack takes a whole rehearsal's population at once).
const maxImportBody = 32 << 20

// Argon2 and PBKDF2 parameters an imported hash may ask for: a file is outside
// input, and a hash asking for gigabytes would take the stack down at sign-in.
const (
	maxPBKDF2Iterations = 10_000_000
	maxArgon2Memory     = 256 * 1024 // KiB
	maxArgon2Time       = 16
)

func (s *Server) registerBulkImport() {
	s.mux.HandleFunc("POST /api/v2/jobs/users-imports", s.scimAuth(s.auth0Import))
	s.mux.HandleFunc("POST /admin/realms/{realm}/partialImport", s.scimAuth(s.keycloakImport))
}

// importedHash is a password hash imported in a scheme the legacy store never
// held: PBKDF2-HMAC-SHA-256 or Argon2id. It verifies a password until the
// first sign-in stores it as bcrypt, as Auth0 rehashes imported hashes.
type importedHash struct {
	scheme    string // "pbkdf2-sha256" or "argon2id"
	iter      uint32 // PBKDF2 iterations, Argon2 passes
	memory    uint32 // Argon2, KiB
	threads   uint8  // Argon2
	salt, sum []byte
}

func (h *importedHash) verify(password string) bool {
	var got []byte
	switch h.scheme {
	case "pbkdf2-sha256":
		k, err := pbkdf2.Key(sha256.New, password, h.salt, int(h.iter), len(h.sum))
		if err != nil {
			return false
		}
		got = k
	case "argon2id":
		got = argon2.IDKey([]byte(password), h.salt, h.iter, h.memory, h.threads, uint32(len(h.sum)))
	default:
		return false
	}
	return subtle.ConstantTimeCompare(got, h.sum) == 1
}

// parsePHC reads a PHC string (github.com/P-H-C/phc-string-format) of
// PBKDF2-SHA-256 ($pbkdf2-sha256$i=N[,l=L]$SALT$HASH) or Argon2id
// ($argon2id$v=19$m=M,t=T,p=P$SALT$HASH), salt and hash in standard base64
// without padding. Errors never quote the string.
func parsePHC(phc string) (*importedHash, error) {
	parts := strings.Split(phc, "$")
	if len(parts) < 5 || parts[0] != "" {
		return nil, errors.New("not a PHC string ($id$params$salt$hash)")
	}
	h := &importedHash{scheme: parts[1]}
	switch {
	case h.scheme == "pbkdf2-sha256" && len(parts) == 5:
	case h.scheme == "argon2id" && len(parts) == 6:
		if parts[2] != "v="+strconv.Itoa(argon2.Version) {
			return nil, fmt.Errorf("argon2id version: want v=%d", argon2.Version)
		}
		parts = append(parts[:2], parts[3:]...)
	case h.scheme == "pbkdf2-sha256" || h.scheme == "argon2id":
		return nil, fmt.Errorf("%s: wrong number of fields", h.scheme)
	default:
		return nil, errors.New("unsupported PHC algorithm; want pbkdf2-sha256 or argon2id")
	}
	params := map[string]uint64{}
	for kv := range strings.SplitSeq(parts[2], ",") {
		k, v, ok := strings.Cut(kv, "=")
		n, err := strconv.ParseUint(v, 10, 32)
		if !ok || err != nil {
			return nil, fmt.Errorf("%s: parameters: want name=decimal, separated by commas", h.scheme)
		}
		params[k] = n
	}
	var err error
	b64 := base64.RawStdEncoding
	if h.salt, err = b64.DecodeString(parts[3]); err != nil || len(h.salt) < 8 {
		return nil, fmt.Errorf("%s: salt: want at least 8 bytes in base64 without padding", h.scheme)
	}
	if h.sum, err = b64.DecodeString(parts[4]); err != nil || len(h.sum) < 16 || len(h.sum) > 64 {
		return nil, fmt.Errorf("%s: hash: want 16 to 64 bytes in base64 without padding", h.scheme)
	}
	if l, ok := params["l"]; ok && int(l) != len(h.sum) {
		return nil, fmt.Errorf("%s: l=%d but the hash has %d bytes", h.scheme, l, len(h.sum))
	}
	if h.scheme == "pbkdf2-sha256" {
		h.iter = uint32(params["i"])
		if h.iter < 1 || h.iter > maxPBKDF2Iterations {
			return nil, fmt.Errorf("%s: i: want 1 to %d iterations", h.scheme, maxPBKDF2Iterations)
		}
		return h, nil
	}
	m, t, p := params["m"], params["t"], params["p"]
	if m < 8*p || m > maxArgon2Memory || t < 1 || t > maxArgon2Time || p < 1 || p > 255 {
		return nil, fmt.Errorf("%s: want m up to %d KiB, t 1 to %d, p 1 to 255", h.scheme, maxArgon2Memory, maxArgon2Time)
	}
	h.memory, h.iter, h.threads = uint32(m), uint32(t), uint8(p)
	return h, nil
}

// bcryptHash takes a bcrypt modular crypt string ($2a$, $2b$ or $2y$).
func bcryptHash(mcf string) (passhash.Hash, error) {
	if _, err := bcrypt.Cost([]byte(mcf)); err != nil || !slices.Contains([]string{"$2a$", "$2b$", "$2y$"}, mcf[:min(4, len(mcf))]) {
		return passhash.Hash{}, errors.New("not a bcrypt hash ($2a$, $2b$ or $2y$)")
	}
	return passhash.Hash{Scheme: passhash.Bcrypt, Sum: []byte(mcf)}, nil
}

// importUser is a user read from an import file, with its credential.
type importUser struct {
	User
	imported *importedHash
}

// store adds iu, or with replace replaces the user of the same id (else of
// the same username); it returns "inserted", "updated", or an error. Callers
// hold s.mu.
func (s *Server) store(iu importUser, replace bool) (string, error) {
	u := iu.User
	u.imported = iu.imported
	u.Roles, u.Scopes, u.Panel = slices.Clone(u.Roles), slices.Clone(u.Scopes), slices.Clone(u.Panel)
	old, byID := s.users[u.ID]
	if !byID {
		old = s.byName[u.Username]
	}
	if other, taken := s.byName[u.Username]; taken && other != old {
		return "", fmt.Errorf("username %q is taken by another user", u.Username)
	}
	if old == nil {
		s.users[u.ID], s.byName[u.Username] = &u, &u
		s.index(&u)
		return "inserted", nil
	}
	if !replace {
		return "", errDuplicate
	}
	delete(s.byName, old.Username)
	u.ID = old.ID
	*old = u
	s.byName[old.Username] = old
	s.index(old)
	return "updated", nil
}

var errDuplicate = errors.New("the user already exists")

// auth0User is a user of an Auth0 bulk import file.
type auth0User struct {
	UserID             string `json:"user_id"`
	Email              string `json:"email"`
	Username           string `json:"username"`
	Name               string `json:"name"`
	GivenName          string `json:"given_name"`
	FamilyName         string `json:"family_name"`
	Blocked            bool   `json:"blocked"`
	PasswordHash       string `json:"password_hash"`
	CustomPasswordHash *struct {
		Algorithm string `json:"algorithm"`
		Hash      struct {
			Value    string `json:"value"`
			Encoding string `json:"encoding"`
		} `json:"hash"`
		Salt *struct {
			Value    string `json:"value"`
			Encoding string `json:"encoding"`
			Position string `json:"position"`
		} `json:"salt"`
	} `json:"custom_password_hash"`
	AppMetadata struct {
		// Roles are candidate roles; absent, LegacyRoles go through the role map.
		Roles       *[]string `json:"roles"`
		LegacyRoles []string  `json:"legacy_roles"`
		Panel       []string  `json:"panel"`
	} `json:"app_metadata"`
}

// auth0Error is one failed user of an import job, as Auth0's job errors list it.
type auth0Error struct {
	User   map[string]string   `json:"user"`
	Errors []map[string]string `json:"errors"`
}

// auth0Import takes an Auth0 bulk user import and answers its job, completed.
func (s *Server) auth0Import(w http.ResponseWriter, r *http.Request) {
	fail := func(status int, msg string) {
		respond.JSON(w, status, map[string]any{"statusCode": status, "error": http.StatusText(status), "message": msg})
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxImportBody)
	f, _, err := r.FormFile("users")
	if err != nil {
		fail(http.StatusBadRequest, "want multipart/form-data with the users file in part users")
		return
	}
	defer f.Close()
	var users []json.RawMessage
	if err := json.NewDecoder(f).Decode(&users); err != nil {
		fail(http.StatusBadRequest, "the users file is not a JSON array")
		return
	}
	upsert := r.FormValue("upsert") == "true"
	summary := map[string]int{"total": len(users), "inserted": 0, "updated": 0, "failed": 0}
	errs := []auth0Error{}
	for i, raw := range users {
		var in auth0User
		iu, err := func() (importUser, error) {
			if err := json.Unmarshal(raw, &in); err != nil {
				return importUser{}, errors.New("not a user object")
			}
			return s.fromAuth0(in)
		}()
		var outcome string
		if err == nil {
			s.mu.Lock()
			outcome, err = s.store(iu, upsert)
			s.mu.Unlock()
		}
		if err != nil {
			code := "INVALID_FORMAT"
			if errors.Is(err, errDuplicate) {
				code = "DUPLICATED_USER"
			}
			summary["failed"]++
			errs = append(errs, auth0Error{
				User:   map[string]string{"index": strconv.Itoa(i), "user_id": in.UserID, "email": in.Email},
				Errors: []map[string]string{{"code": code, "message": err.Error()}},
			})
			continue
		}
		summary[outcome]++
	}
	respond.JSON(w, http.StatusOK, map[string]any{
		"type": "users_import", "status": "completed", "id": "job_" + strings.ToLower(respond.ID()[:16]),
		"connection_id": r.FormValue("connection_id"), "summary": summary, "errors": errs,
	})
}

// fromAuth0 turns a user of an Auth0 file into a candidate user.
func (s *Server) fromAuth0(in auth0User) (importUser, error) {
	iu := importUser{User: User{ID: in.UserID, Username: in.Username, Name: in.Name, Email: in.Email, Active: !in.Blocked, Panel: in.AppMetadata.Panel}}
	if iu.Username == "" {
		iu.Username = in.Email // a connection without usernames signs in by e-mail
	}
	if iu.Username == "" {
		return importUser{}, errors.New("want an email or a username")
	}
	if iu.ID == "" {
		iu.ID = strings.ToLower(respond.ID())
	}
	if iu.Name == "" {
		iu.Name = strings.TrimSpace(in.GivenName + " " + in.FamilyName)
	}
	if md := in.AppMetadata; md.Roles != nil {
		iu.Roles = sortedSet(*md.Roles)
		iu.Scopes = s.cfg.RoleMap.scopesOf(iu.Roles)
	} else {
		iu.Roles, iu.Scopes = s.cfg.RoleMap.Apply(md.LegacyRoles)
	}
	c := in.CustomPasswordHash
	switch {
	case in.PasswordHash != "" && c != nil:
		return importUser{}, errors.New("password_hash and custom_password_hash are mutually exclusive")
	case in.PasswordHash != "":
		h, err := bcryptHash(in.PasswordHash)
		if err != nil {
			return importUser{}, fmt.Errorf("password_hash: %w", err)
		}
		iu.Hash = h
	case c != nil:
		if err := iu.auth0Custom(c.Algorithm, c.Hash.Value, c.Hash.Encoding, c.Salt); err != nil {
			return importUser{}, fmt.Errorf("custom_password_hash: %w", err)
		}
	}
	return iu, nil
}

// auth0Custom reads a custom_password_hash of the algorithms this stack
// verifies: bcrypt, pbkdf2 and argon2 (PHC strings), sha256 with a prefix salt.
func (iu *importUser) auth0Custom(alg, value, encoding string, salt *struct {
	Value    string `json:"value"`
	Encoding string `json:"encoding"`
	Position string `json:"position"`
}) error {
	var err error
	switch alg {
	case "bcrypt":
		iu.Hash, err = bcryptHash(value)
		return err
	case "pbkdf2", "argon2":
		h, err := parsePHC(value)
		if err != nil {
			return err
		}
		if want := map[string]string{"pbkdf2": "pbkdf2-sha256", "argon2": "argon2id"}[alg]; h.scheme != want {
			return fmt.Errorf("algorithm %s takes a %s PHC string here", alg, want)
		}
		iu.imported = h
		return nil
	case "sha256":
		sum, err := decode(value, encoding)
		if err != nil || len(sum) != sha256.Size {
			return errors.New("hash: want a SHA-256 digest in hex or base64")
		}
		if salt == nil || salt.Position != "prefix" {
			return errors.New("salt: want a salt in position prefix (the one this stack verifies)")
		}
		s, err := decode(salt.Value, salt.Encoding)
		if err != nil {
			return fmt.Errorf("salt: %w", err)
		}
		iu.Hash = passhash.Hash{Scheme: passhash.SaltedSHA256, Salt: s, Sum: sum}
		return nil
	}
	return fmt.Errorf("algorithm %q: this stack verifies bcrypt, pbkdf2, argon2 and sha256", alg)
}

// decode reads a value in an Auth0 encoding: utf8 (the default), hex or base64.
func decode(v, encoding string) ([]byte, error) {
	switch encoding {
	case "", "utf8":
		return []byte(v), nil
	case "hex":
		return hex.DecodeString(v)
	case "base64":
		return base64.StdEncoding.DecodeString(v)
	}
	return nil, errors.New("want encoding utf8, hex or base64")
}
