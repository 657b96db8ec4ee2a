package personas_test

import (
	"bytes"
	"crypto/pbkdf2"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"

	"github.com/cutover-dev/cutover/personas"
)

// exportPop is a small population with a candidate secret beside a legacy one.
func exportPop(t *testing.T, n int) personas.Population {
	t.Helper()
	pop, err := personas.Generate(5, personas.GenerateOptions{Count: n, LegacySHA256Share: 0.5, UnassignedShare: 0.2})
	if err != nil {
		t.Fatal(err)
	}
	pop.Personas[0].CandidateSecret = personas.NewSecret("candidate-only-password-0")
	return pop
}

// verifyPHC checks a PHC string of PBKDF2-SHA-256 or Argon2id against password,
// parsed here apart from the exporter.
func verifyPHC(t *testing.T, phc, password string) bool {
	t.Helper()
	f := strings.Split(phc, "$")
	b64 := base64.RawStdEncoding
	params := map[string]int{}
	var salt, sum []byte
	var err1, err2 error
	switch {
	case len(f) == 5 && f[1] == "pbkdf2-sha256":
		salt, err1 = b64.DecodeString(f[3])
		sum, err2 = b64.DecodeString(f[4])
	case len(f) == 6 && f[1] == "argon2id" && f[2] == "v=19":
		salt, err1 = b64.DecodeString(f[4])
		sum, err2 = b64.DecodeString(f[5])
		f = append(f[:2], f[3:]...)
	default:
		t.Fatalf("not a PHC string of pbkdf2-sha256 or argon2id: %d fields", len(f))
	}
	if err1 != nil || err2 != nil {
		t.Fatalf("PHC salt or hash not in base64 without padding: %v %v", err1, err2)
	}
	for kv := range strings.SplitSeq(f[2], ",") {
		k, v, _ := strings.Cut(kv, "=")
		params[k], _ = strconv.Atoi(v)
	}
	var got []byte
	if f[1] == "pbkdf2-sha256" {
		if params["l"] != len(sum) {
			t.Errorf("PHC l=%d; the hash has %d bytes", params["l"], len(sum))
		}
		got, _ = pbkdf2.Key(sha256.New, password, salt, params["i"], len(sum))
	} else {
		got = argon2.IDKey([]byte(password), salt, uint32(params["t"]), uint32(params["m"]), uint8(params["p"]), uint32(len(sum)))
	}
	return subtle.ConstantTimeCompare(got, sum) == 1
}

// auth0Verify reports whether the password of an Auth0 import user is password.
func auth0Verify(t *testing.T, u map[string]any, password string) (scheme string, ok bool) {
	t.Helper()
	if h, found := u["password_hash"].(string); found {
		return "bcrypt", bcrypt.CompareHashAndPassword([]byte(h), []byte(password)) == nil
	}
	c, _ := u["custom_password_hash"].(map[string]any)
	hash, _ := c["hash"].(map[string]any)
	value, _ := hash["value"].(string)
	switch c["algorithm"] {
	case "pbkdf2", "argon2":
		if hash["encoding"] != "utf8" {
			t.Errorf("%s hash encoding %v; want utf8", c["algorithm"], hash["encoding"])
		}
		return c["algorithm"].(string), verifyPHC(t, value, password)
	case "sha256":
		salt, _ := c["salt"].(map[string]any)
		sum := sha256.Sum256([]byte(salt["value"].(string) + password))
		return "sha256", salt["position"] == "prefix" && hash["encoding"] == "hex" && value == hex.EncodeToString(sum[:])
	}
	t.Fatalf("user %v has no password hash", u["user_id"])
	return "", false
}

// keycloakVerify reports whether the password credential of a Keycloak import
// user is password.
func keycloakVerify(t *testing.T, u map[string]any, password string) (scheme string, ok bool) {
	t.Helper()
	creds, _ := u["credentials"].([]any)
	if len(creds) != 1 {
		t.Fatalf("%d credentials; want 1", len(creds))
	}
	c := creds[0].(map[string]any)
	if c["type"] != "password" {
		t.Errorf("credential type %v; want password", c["type"])
	}
	if v, plain := c["value"].(string); plain {
		return "plaintext", v == password
	}
	var secret struct{ Value, Salt string }
	var cred struct {
		HashIterations int    `json:"hashIterations"`
		Algorithm      string `json:"algorithm"`
	}
	if err := json.Unmarshal([]byte(c["secretData"].(string)), &secret); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(c["credentialData"].(string)), &cred); err != nil {
		t.Fatal(err)
	}
	sum, err1 := base64.StdEncoding.DecodeString(secret.Value)
	salt, err2 := base64.StdEncoding.DecodeString(secret.Salt)
	if err1 != nil || err2 != nil {
		t.Fatalf("secretData not in base64: %v %v", err1, err2)
	}
	got, _ := pbkdf2.Key(sha256.New, password, salt, cred.HashIterations, len(sum))
	return cred.Algorithm, bytes.Equal(got, sum)
}

var demoRoleMap = personas.RoleMap(func(r string) []string {
	return map[string][]string{"patient": {"patient"}, "clinician": {"clinician"}, "breakglass-eligible": {"breakglass"},
		"admin": {"admin"}, "billing-clerk": {"billing"}, "auditor": {"auditor"}}[r]
})

// TestExportRoundTrip exports a population in every format and hash, and
// checks each user against its persona with hashes verified apart from the
// exporter: the password the candidate knows verifies, another does not; the
// persona id is the external id; roles are mapped or left as they are;
// service accounts are left out.
func TestExportRoundTrip(t *testing.T) {
	pop := exportPop(t, 24)
	humans := 0
	for _, p := range pop.Personas {
		if p.Human() {
			humans++
		}
	}
	for _, tt := range []struct {
		opt     personas.ExportOptions
		schemes []string // what the users' hashes may be
	}{
		{personas.ExportOptions{BcryptCost: bcrypt.MinCost}, []string{"bcrypt"}},
		{personas.ExportOptions{Hash: personas.HashPBKDF2SHA256, PBKDF2Iterations: 1000, MapRoles: demoRoleMap}, []string{"pbkdf2"}},
		{personas.ExportOptions{Hash: personas.HashArgon2id}, []string{"argon2"}},
		{personas.ExportOptions{Hash: personas.HashCohort, BcryptCost: bcrypt.MinCost}, []string{"bcrypt", "sha256"}},
		{personas.ExportOptions{Format: personas.ExportKeycloak, PBKDF2Iterations: 1000, MapRoles: demoRoleMap}, []string{personas.HashPBKDF2SHA256}},
		{personas.ExportOptions{Format: personas.ExportKeycloak, Plaintext: true}, []string{"plaintext"}},
	} {
		name := fmt.Sprintf("%s/%s/plaintext=%t", tt.opt.Format, tt.opt.Hash, tt.opt.Plaintext)
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			res, err := personas.Export(&buf, pop, tt.opt)
			if err != nil {
				t.Fatal(err)
			}
			if res.Users != humans || res.Skipped != len(pop.Personas)-humans {
				t.Errorf("Export = %+v; want %d users, %d skipped", res, humans, len(pop.Personas)-humans)
			}
			var users []map[string]any
			if tt.opt.Format == personas.ExportKeycloak {
				var doc struct {
					IfResourceExists string           `json:"ifResourceExists"`
					Users            []map[string]any `json:"users"`
				}
				if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
					t.Fatalf("not a partial import file: %v", err)
				}
				if doc.IfResourceExists != "FAIL" {
					t.Errorf("ifResourceExists %q; want FAIL", doc.IfResourceExists)
				}
				users = doc.Users
			} else if err := json.Unmarshal(buf.Bytes(), &users); err != nil {
				t.Fatalf("not a JSON array of users: %v", err)
			}
			if len(users) != humans {
				t.Fatalf("%d users; want %d", len(users), humans)
			}
			seen := map[string]bool{}
			for _, u := range users {
				id, roles := exportedIdentity(t, tt.opt.Format, u)
				p, ok := pop.Lookup(id)
				if !ok || !p.Human() || seen[id] {
					t.Fatalf("user %q: not a human persona of the population, or twice", id)
				}
				seen[id] = true
				password := p.ForCandidate().Secret.Reveal()
				verify := auth0Verify
				if tt.opt.Format == personas.ExportKeycloak {
					verify = keycloakVerify
				}
				scheme, ok := verify(t, u, password)
				if !ok || !slices.Contains(tt.schemes, scheme) {
					t.Errorf("%s: password verifies %t under %s; want true under %v", id, ok, scheme, tt.schemes)
				}
				if tt.opt.Hash == personas.HashCohort && (scheme == "sha256") != (p.Cohort.HashScheme == personas.HashSaltedSHA256) {
					t.Errorf("%s of cohort %s exported under %s", id, p.Cohort.HashScheme, scheme)
				}
				if _, ok := verify(t, u, password+"-wrong"); ok {
					t.Errorf("%s: a wrong password verifies", id)
				}
				if id == pop.Personas[0].ID && strings.Contains(buf.String(), pop.Personas[0].Secret.Reveal()) {
					t.Errorf("%s: the legacy password is in the file, not only the candidate's", id)
				}
				want := p.Roles
				if tt.opt.MapRoles != nil {
					want = tt.opt.MapRoles.Map(p.Roles)
				}
				if !slices.Equal(roles, want) {
					t.Errorf("%s roles %v; want %v", id, roles, want)
				}
			}
		})
	}
}

// exportedIdentity returns the persona id and the (candidate, else legacy)
// roles of an exported user.
func exportedIdentity(t *testing.T, f personas.ExportFormat, u map[string]any) (string, []string) {
	t.Helper()
	strs := func(v any) []string {
		var out []string
		for _, s := range v.([]any) {
			out = append(out, s.(string))
		}
		return out
	}
	if f == personas.ExportKeycloak {
		attrs := u["attributes"].(map[string]any)
		roles := []string{}
		if r, ok := u["realmRoles"]; ok {
			roles = strs(r)
		}
		return strs(attrs["persona_id"])[0], roles
	}
	md := u["app_metadata"].(map[string]any)
	if md["persona_id"] != u["user_id"] || u["email_verified"] != true {
		t.Errorf("user %v: app_metadata.persona_id %v, email_verified %v; want the user_id, true", u["user_id"], md["persona_id"], u["email_verified"])
	}
	if r, ok := md["roles"]; ok {
		return u["user_id"].(string), strs(r)
	}
	return u["user_id"].(string), strs(md["legacy_roles"])
}

// TestExportRefusals: options that do not go together are option errors,
// naming what is accepted; a population a provider would refuse is refused
// with every problem at once; no message quotes a secret.
func TestExportRefusals(t *testing.T) {
	pop := exportPop(t, 12)
	for _, tt := range []struct {
		opt  personas.ExportOptions
		want string
	}{
		{personas.ExportOptions{Format: "okta"}, `export: format "okta"; want one of auth0, keycloak`},
		{personas.ExportOptions{Hash: "md5"}, `export: auth0 imports bcrypt, pbkdf2-sha256, argon2id, cohort hashes, not "md5"`},
		{personas.ExportOptions{Format: personas.ExportKeycloak, Hash: personas.HashBcrypt}, `export: keycloak imports pbkdf2-sha256 hashes or plaintext passwords, not "bcrypt"`},
		{personas.ExportOptions{Plaintext: true}, "export: auth0 imports no plaintext password: want bcrypt, pbkdf2-sha256, argon2id, cohort hashes, or format keycloak"},
		{personas.ExportOptions{Format: personas.ExportKeycloak, Plaintext: true, Hash: personas.HashPBKDF2SHA256}, "export: plaintext passwords or pbkdf2-sha256 hashes: not both"},
		{personas.ExportOptions{BcryptCost: 3}, "export: bcrypt cost 3; want 4 to 31"},
		{personas.ExportOptions{PBKDF2Iterations: -1, Hash: personas.HashPBKDF2SHA256}, "export: PBKDF2 iterations -1; want at least 1"},
	} {
		_, err := personas.Export(&bytes.Buffer{}, pop, tt.opt)
		if err == nil || err.Error() != tt.want || !errors.Is(err, personas.ErrExportOption) {
			t.Errorf("Export(%+v) = %v; want the option error %q", tt.opt, err, tt.want)
		}
	}

	noEmail := exportPop(t, 12)
	noEmail.Personas[1].Email, noEmail.Personas[2].Email = "", ""
	var buf bytes.Buffer
	_, err := personas.Export(&buf, noEmail, personas.ExportOptions{})
	if n := strings.Count(fmt.Sprint(err), "no email; Auth0 requires one"); n != 2 || errors.Is(err, personas.ErrExportOption) || buf.Len() != 0 {
		t.Errorf("auth0 export of 2 personas without email = %v, %d bytes written; want both named, nothing written", err, buf.Len())
	}
	if _, err := personas.Export(&bytes.Buffer{}, noEmail, personas.ExportOptions{Format: personas.ExportKeycloak, PBKDF2Iterations: 1}); err != nil {
		t.Errorf("keycloak export without email = %v; want it written (Keycloak does not require one)", err)
	}

	clash := exportPop(t, 12)
	clash.Personas[1].Attributes = map[string]string{"persona_id": "other"}
	if _, err := personas.Export(&bytes.Buffer{}, clash, personas.ExportOptions{Format: personas.ExportKeycloak, PBKDF2Iterations: 1}); err == nil || !strings.Contains(err.Error(), `attribute "persona_id" has the name of a built-in attribute`) {
		t.Errorf("keycloak export of an attribute persona_id = %v; want refused", err)
	}

	bad := exportPop(t, 12)
	bad.Personas[3].Email = bad.Personas[3].Secret.Reveal() // a secret pasted into the wrong field
	bad.Personas[4].Kind = "nurse"
	_, err = personas.Export(&bytes.Buffer{}, bad, personas.ExportOptions{})
	if err == nil || !strings.Contains(err.Error(), `unknown kind "nurse"`) || strings.Contains(err.Error(), bad.Personas[3].Secret.Reveal()) {
		t.Errorf("export of an invalid population = %v; want its problems, no secret", err)
	}
}
