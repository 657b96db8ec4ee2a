package candidate_test

import (
	"bytes"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"

	"github.com/cutover-dev/cutover/stacks/candidate"
	"github.com/cutover-dev/cutover/stacks/internal/driver"
	"github.com/cutover-dev/cutover/stacks/internal/passhash"
)

// The hashes of the tests are made here, with the libraries, not with the
// exporter of package personas: the stack must verify what any tool writes.

var b64 = base64.RawStdEncoding

func phcPBKDF2(t *testing.T, password string, iter int) string {
	t.Helper()
	salt := []byte("pbkdf2-test-salt")
	k, err := pbkdf2.Key(sha256.New, password, salt, iter, 32)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("$pbkdf2-sha256$i=%d,l=32$%s$%s", iter, b64.EncodeToString(salt), b64.EncodeToString(k))
}

func phcArgon2id(password string) string {
	salt := []byte("argon2-test-salt")
	k := argon2.IDKey([]byte(password), salt, 1, 1024, 1, 32)
	return fmt.Sprintf("$argon2id$v=19$m=1024,t=1,p=1$%s$%s", b64.EncodeToString(salt), b64.EncodeToString(k))
}

func bcryptOf(t *testing.T, password string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

// auth0Import posts users as an Auth0 bulk import.
func auth0Import(t *testing.T, c *driver.Client, token string, users []map[string]any, upsert bool) driver.Response {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, err := mw.CreateFormFile("users", "users.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.NewEncoder(fw).Encode(users); err != nil {
		t.Fatal(err)
	}
	_ = mw.WriteField("connection_id", "con_test")
	_ = mw.WriteField("upsert", strconv.FormatBool(upsert))
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return c.Send(http.MethodPost, "/api/v2/jobs/users-imports", &body, mw.FormDataContentType(), driver.Bearer(token)...)
}

func custom(alg, value, encoding string) map[string]any {
	return map[string]any{"algorithm": alg, "hash": map[string]string{"value": value, "encoding": encoding}}
}

// signsIn reports whether username signs in with password through the login
// form of the code flow.
func signsIn(t *testing.T, s stack, username, password string) bool {
	t.Helper()
	c := s.client(t)
	page := c.SubmitLogin(c.Authorize(harness, harnessRedir, "openid"), username, password)
	return page.Status == http.StatusSeeOther && page.Location().Query().Get("code") != ""
}

// TestAuth0BulkImport imports users with every hash the stack verifies, the
// hashes made by the libraries: each signs in with its password and nothing
// else, holds the scopes of its roles (given, or mapped from legacy_roles), and
// is stored as bcrypt after its first sign-in. Bad users fail one by one,
// duplicates until upsert.
func TestAuth0BulkImport(t *testing.T) {
	s := newStack(t, candidate.Config{})
	c := s.client(t)
	token := s.provisionerToken(t, c)
	saltedSHA := sha256.Sum256([]byte("prefix-salt" + "pw-sha-long"))
	users := []map[string]any{
		{"user_id": "imp-bcrypt", "email": "b@example.org", "username": "imp.bcrypt", "password_hash": bcryptOf(t, "pw-bcrypt-long"),
			"app_metadata": map[string]any{"legacy_roles": []string{"clinician"}, "panel": []string{"patient-00001"}}},
		{"user_id": "imp-pbkdf2", "email": "p@example.org", "username": "imp.pbkdf2", "custom_password_hash": custom("pbkdf2", phcPBKDF2(t, "pw-pbkdf2-long", 1000), "utf8"),
			"app_metadata": map[string]any{"roles": []string{"billing"}, "legacy_roles": []string{"patient"}}},
		{"user_id": "imp-argon2", "email": "a@example.org", "username": "imp.argon2", "custom_password_hash": custom("argon2", phcArgon2id("pw-argon2-long"), "utf8"),
			"app_metadata": map[string]any{"legacy_roles": []string{"auditor"}}},
		{"user_id": "imp-sha", "email": "s@example.org", "username": "imp.sha", "custom_password_hash": map[string]any{
			"algorithm": "sha256", "hash": map[string]string{"value": hex.EncodeToString(saltedSHA[:]), "encoding": "hex"},
			"salt": map[string]string{"value": "prefix-salt", "position": "prefix"}}},
		{"user_id": "imp-nopw", "email": "n@example.org"},
		{"user_id": "imp-bad", "email": "x@example.org", "custom_password_hash": custom("pbkdf2", "$pbkdf2-sha256$i=1,l=32$c2VjcmV0LWhhc2g$AAAA", "utf8")},
		{"user_id": "imp-dup", "email": "d@example.org", "username": "doc1", "password_hash": bcryptOf(t, "pw-dup-long")},
		{"user_id": "imp-both", "email": "o@example.org", "password_hash": bcryptOf(t, "pw-both-long"), "custom_password_hash": custom("argon2", phcArgon2id("pw-both-long"), "utf8")},
	}
	r := auth0Import(t, c, token, users, false)
	job := r.JSON()
	sum, _ := job["summary"].(map[string]any)
	if r.Status != http.StatusOK || job["status"] != "completed" || sum["total"] != 8.0 || sum["inserted"] != 5.0 || sum["failed"] != 3.0 {
		t.Fatalf("import = %d %s; want a completed job, 5 inserted and 3 failed", r.Status, r.Body)
	}
	if strings.Contains(string(r.Body), "c2VjcmV0LWhhc2g") {
		t.Errorf("the job's errors quote a hash: %s", r.Body)
	}
	for _, code := range []string{`"DUPLICATED_USER"`, `"INVALID_FORMAT"`} {
		if !strings.Contains(string(r.Body), code) {
			t.Errorf("job errors %s; want a %s", r.Body, code)
		}
	}

	for _, tt := range []struct{ id, username, password, before, scope string }{
		{"imp-bcrypt", "imp.bcrypt", "pw-bcrypt-long", passhash.Bcrypt, "notes.read"},
		{"imp-pbkdf2", "imp.pbkdf2", "pw-pbkdf2-long", "pbkdf2-sha256", "claims.read"},
		{"imp-argon2", "imp.argon2", "pw-argon2-long", "argon2id", "audit.read"},
		{"imp-sha", "imp.sha", "pw-sha-long", passhash.SaltedSHA256, ""},
	} {
		if got := s.HashScheme(tt.id); got != tt.before {
			t.Errorf("%s stored under %q; want %q", tt.id, got, tt.before)
		}
		if signsIn(t, s, tt.username, tt.password+"x") {
			t.Errorf("%s signs in with a wrong password", tt.username)
		}
		tok := s.client(t).Login(harness, harnessRedir, tt.username, tt.password, "openid").Tokens(t)
		if !strings.Contains(tok.Scope, tt.scope) {
			t.Errorf("%s scope %q; want %s", tt.username, tok.Scope, tt.scope)
		}
		if got := s.HashScheme(tt.id); got != passhash.Bcrypt {
			t.Errorf("%s after its first sign-in stored under %q; want bcrypt", tt.id, got)
		}
		if !signsIn(t, s, tt.username, tt.password) {
			t.Errorf("%s does not sign in again once rehashed", tt.username)
		}
	}
	// The user without a password exists, signs in with none; its e-mail is
	// its username.
	if signsIn(t, s, "n@example.org", "") || signsIn(t, s, "n@example.org", "anything-at-all") {
		t.Error("a user imported without a password signs in")
	}

	// Upsert replaces what exists; without it, a second import fails each one.
	again := []map[string]any{{"user_id": "imp-pbkdf2", "email": "p@example.org", "username": "imp.pbkdf2", "custom_password_hash": custom("pbkdf2", phcPBKDF2(t, "pw-pbkdf2-new", 1000), "utf8")}}
	if sum := auth0Import(t, c, token, again, false).JSON()["summary"].(map[string]any); sum["failed"] != 1.0 {
		t.Errorf("import of an existing user without upsert: %v; want it failed", sum)
	}
	if sum := auth0Import(t, c, token, again, true).JSON()["summary"].(map[string]any); sum["updated"] != 1.0 {
		t.Errorf("import of an existing user with upsert: %v; want it updated", sum)
	}
	if !signsIn(t, s, "imp.pbkdf2", "pw-pbkdf2-new") || signsIn(t, s, "imp.pbkdf2", "pw-pbkdf2-long") {
		t.Error("after the upsert, the new password does not sign in, or the old one still does")
	}

	// The provisioner's token, and only it.
	_, doc := s.login(t, "doc1")
	for name, tok := range map[string]string{"no token": "", "a user's token": doc.AccessToken} {
		if r := auth0Import(t, c, tok, users[:1], false); r.Status != http.StatusUnauthorized && r.Status != http.StatusForbidden {
			t.Errorf("import with %s = %d; want 401 or 403", name, r.Status)
		}
	}
	if r := c.Send(http.MethodPost, "/api/v2/jobs/users-imports", strings.NewReader("{}"), "application/json", driver.Bearer(token)...); r.Status != http.StatusBadRequest {
		t.Errorf("import without a users file = %d; want 400", r.Status)
	}
}

// keycloakUser is a user of a partial import with one password credential.
func keycloakUser(id, username string, roles []string, cred map[string]any) map[string]any {
	return map[string]any{
		"username": username, "email": username + "@example.org", "enabled": true, "firstName": "Kay", "lastName": "Cloak",
		"attributes": map[string][]string{"persona_id": {id}}, "realmRoles": roles, "credentials": []map[string]any{cred},
	}
}

func pbkdf2Credential(t *testing.T, password string, iter int) map[string]any {
	t.Helper()
	salt := []byte("keycloak-salt-16")
	k, err := pbkdf2.Key(sha256.New, password, salt, iter, 32)
	if err != nil {
		t.Fatal(err)
	}
	std := base64.StdEncoding
	secret, _ := json.Marshal(map[string]any{"value": std.EncodeToString(k), "salt": std.EncodeToString(salt), "additionalParameters": map[string]any{}})
	cred, _ := json.Marshal(map[string]any{"hashIterations": iter, "algorithm": "pbkdf2-sha256", "additionalParameters": map[string]any{}})
	return map[string]any{"type": "password", "secretData": string(secret), "credentialData": string(cred)}
}

// TestKeycloakPartialImport imports users with Keycloak's pbkdf2-sha256
// credentials and with plaintext ones: each signs in, is known by its
// persona_id, holds its realm roles; a conflict or a bad user refuses the
// whole import, SKIP and OVERWRITE do what they say.
func TestKeycloakPartialImport(t *testing.T) {
	s := newStack(t, candidate.Config{})
	c := s.client(t)
	token := s.provisionerToken(t, c)
	post := func(policy string, users ...map[string]any) driver.Response {
		t.Helper()
		return c.PostJSON("/admin/realms/cutover/partialImport", map[string]any{"ifResourceExists": policy, "users": users}, driver.Bearer(token)...)
	}
	hashed := keycloakUser("kc-00001", "kc.hashed", []string{"auditor"}, pbkdf2Credential(t, "pw-kc-hashed", 1000))
	plain := keycloakUser("kc-00002", "kc.plain", []string{"clinician"}, map[string]any{"type": "password", "value": "pw-kc-plain", "temporary": false})
	r := post("FAIL", hashed, plain)
	if r.Status != http.StatusOK || r.JSON()["added"] != 2.0 {
		t.Fatalf("partial import = %d %s; want 200, 2 added", r.Status, r.Body)
	}
	if got := s.HashScheme("kc-00001"); got != "pbkdf2-sha256" {
		t.Errorf("kc-00001 stored under %q; want pbkdf2-sha256 (the persona_id is the user id)", got)
	}
	if tok := s.client(t).Login(harness, harnessRedir, "kc.hashed", "pw-kc-hashed", "openid").Tokens(t); !strings.Contains(tok.Scope, "audit.read") {
		t.Errorf("kc.hashed scope %q; want audit.read", tok.Scope)
	}
	if !signsIn(t, s, "kc.plain", "pw-kc-plain") || signsIn(t, s, "kc.plain", "pw-kc-hashed") {
		t.Error("kc.plain does not sign in with its password, or signs in with another")
	}

	fresh := keycloakUser("kc-00003", "kc.fresh", nil, map[string]any{"type": "password", "value": "pw-kc-fresh"})
	if r := post("FAIL", fresh, plain); r.Status != http.StatusConflict || signsIn(t, s, "kc.fresh", "pw-kc-fresh") {
		t.Errorf("FAIL with an existing user = %d %s; want 409 and nothing imported", r.Status, r.Body)
	}
	bad := keycloakUser("kc-00004", "kc.bad", nil, map[string]any{"type": "password", "secretData": `{"value":"AAAA","salt":"AAAA"}`, "credentialData": `{"hashIterations":1,"algorithm":"md5"}`})
	if r := post("OVERWRITE", fresh, bad); r.Status != http.StatusBadRequest || signsIn(t, s, "kc.fresh", "pw-kc-fresh") || strings.Contains(string(r.Body), "AAAA") {
		t.Errorf("a bad credential = %d %s; want 400, nothing imported, no hash quoted", r.Status, r.Body)
	}
	if r := post("SKIP", fresh, plain); r.JSON()["added"] != 1.0 || r.JSON()["skipped"] != 1.0 {
		t.Errorf("SKIP = %s; want 1 added, 1 skipped", r.Body)
	}
	renewed := keycloakUser("kc-00002", "kc.plain", []string{"clinician"}, map[string]any{"type": "password", "value": "pw-kc-renewed"})
	if r := post("OVERWRITE", renewed); r.JSON()["overwritten"] != 1.0 || !signsIn(t, s, "kc.plain", "pw-kc-renewed") || signsIn(t, s, "kc.plain", "pw-kc-plain") {
		t.Errorf("OVERWRITE = %s; want 1 overwritten, signing in with the new password only", r.Body)
	}
	first := keycloakUser("kc-00005", "kc.twin", nil, map[string]any{"type": "password", "value": "pw-kc-twin"})
	twin := keycloakUser("kc-00006", "kc.twin", nil, map[string]any{"type": "password", "value": "pw-kc-twin"})
	if r := post("OVERWRITE", first, twin); r.Status != http.StatusBadRequest || signsIn(t, s, "kc.twin", "pw-kc-twin") {
		t.Errorf("a file naming one username twice = %d %s; want 400, nothing imported", r.Status, r.Body)
	}
	if r := post("MERGE", fresh); r.Status != http.StatusBadRequest {
		t.Errorf("ifResourceExists MERGE = %d; want 400", r.Status)
	}
}
