package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/cutover-dev/cutover/internal/exitcode"
	"github.com/cutover-dev/cutover/personas"
	"github.com/cutover-dev/cutover/stacks"
	"github.com/cutover-dev/cutover/stacks/candidate"
)

// TestPersonasCommands generates a population with env references, imports it back
// with the secrets in the environment, provisions it into the embedded candidate by
// SCIM, and scans every output for the secrets.
func TestPersonasCommands(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "accounts.jsonl")
	code, out, errs := cli(t, nil, "personas", "generate", "--count", "30", "--seed", "9", "--secret-ref", "env:PW_", "--out", file)
	if code != exitcode.Pass {
		t.Fatalf("generate = %d: %s %s", code, out, errs)
	}
	pop, err := personas.Generate(9, personas.GenerateOptions{Count: 30, LegacySHA256Share: 0.25, UnassignedShare: 0.2})
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	var environ []string
	for _, p := range pop.Personas {
		k := "PW_" + strings.ToUpper(strings.ReplaceAll(p.ID, "-", "_"))
		env[k] = p.Secret.Reveal()
		environ = append(environ, k+"="+p.Secret.Reveal())
	}
	outputs := []string{out, errs}

	// Import: without the variables every row fails, all reported at once.
	code, _, errs = cli(t, nil, "personas", "import", file)
	if code != exitcode.Usage || strings.Count(errs, "variable is not set") != 30 {
		t.Errorf("import without secrets = %d and %d unresolved rows; want 2 and 30:\n%s", code, strings.Count(errs, "variable is not set"), errs)
	}
	outputs = append(outputs, errs)
	var stdout, stderr strings.Builder
	st := &state{args: []string{"personas", "import", file}, stdout: &stdout, stderr: &stderr,
		getenv: func(k string) string { return env[k] }, environ: func() []string { return environ }}
	if code := run(context.Background(), st); code != exitcode.Pass || !strings.Contains(stdout.String(), "30 personas ok") {
		t.Errorf("import with secrets = %d, %q %q; want 0 and 30 ok", code, stdout.String(), stderr.String())
	}
	outputs = append(outputs, stdout.String(), stderr.String())

	// Provision into a candidate that does not know these personas yet.
	pair, err := stacks.Start(t.Context(), stacks.Options{Population: mustGenerate(t, 1, 12)})
	if err != nil {
		t.Fatal(err)
	}
	defer pair.Close()
	token := provisionerToken(t, pair)
	env["CUTOVER_SCIM_TOKEN"] = token
	stdout.Reset()
	stderr.Reset()
	st.args = []string{"personas", "provision", file, "--scim", pair.CandidateURL + "/scim/v2"}
	if code := run(context.Background(), st); code != exitcode.Pass || !strings.Contains(stdout.String(), "created ") {
		t.Fatalf("provision = %d, %q %q", code, stdout.String(), stderr.String())
	}
	outputs = append(outputs, stdout.String(), stderr.String())
	b, _ := os.ReadFile(file)
	outputs = append(outputs, string(b))
	for _, o := range outputs {
		for _, p := range pop.Personas {
			if strings.Contains(o, p.Secret.Reveal()) {
				t.Fatalf("an output of cutover personas contains the secret of %s", p.ID)
			}
		}
		if strings.Contains(o, token) {
			t.Fatal("an output of cutover personas contains the SCIM token")
		}
	}
}

func mustGenerate(t *testing.T, seed uint64, n int) personas.Population {
	t.Helper()
	pop, err := personas.Generate(seed, personas.GenerateOptions{Count: n})
	if err != nil {
		t.Fatal(err)
	}
	return pop
}

func provisionerToken(t *testing.T, pair *stacks.Pair) string {
	t.Helper()
	tok, err := pair.ProvisionerToken(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return tok.Reveal()
}

// TestPersonasGenerateSecrets: a population generated with file: references
// comes with the secrets file they point at (mode 0600, beside the accounts
// file) and imports as it is; with env: references the command names the
// variables and how to produce them, and --secrets-out writes them (mode
// 0600). No secret is ever printed.
func TestPersonasGenerateSecrets(t *testing.T) {
	dir := t.TempDir()
	pop := mustGenerate(t, 3, 20)
	var printed []string

	file := filepath.Join(dir, "sub", "accounts.csv")
	if err := os.Mkdir(filepath.Dir(file), 0o755); err != nil {
		t.Fatal(err)
	}
	code, out, errs := cli(t, nil, "personas", "generate", "--count", "20", "--seed", "3", "--sha256-share", "0", "--secret-ref", "file:secrets.json", "--out", file)
	if code != exitcode.Pass || !strings.Contains(errs, "secrets are in "+filepath.Join(dir, "sub", "secrets.json")+" (mode 0600)") {
		t.Fatalf("generate --secret-ref file: = %d: %s %s; want the secrets file named", code, out, errs)
	}
	checkMode(t, filepath.Join(dir, "sub", "secrets.json"))
	printed = append(printed, out, errs)
	code, out, errs = cli(t, nil, "personas", "import", file)
	if code != exitcode.Pass || !strings.Contains(out, "20 personas ok") {
		t.Errorf("import of the generated file = %d, %q %q; want its secrets read from the file beside it", code, out, errs)
	}
	printed = append(printed, out, errs)

	file = filepath.Join(dir, "accounts.jsonl")
	code, out, errs = cli(t, nil, "personas", "generate", "--count", "20", "--seed", "3", "--secret-ref", "env:PW_", "--out", file)
	if code != exitcode.Pass || !strings.Contains(errs, "references 20 environment variables (PW_ADMIN_00001 ... PW_SERVICE_00001)") || !strings.Contains(errs, "--secrets-out FILE") {
		t.Errorf("generate --secret-ref env: = %d, %q; want the variables named, and how to produce them", code, errs)
	}
	printed = append(printed, out, errs)
	envFile := filepath.Join(dir, "pw.env")
	code, out, errs = cli(t, nil, "personas", "generate", "--count", "20", "--seed", "3", "--secret-ref", "env:PW_", "--secrets-out", envFile, "--out", file)
	if code != exitcode.Pass || !strings.Contains(errs, "the 20 variables are in "+envFile) {
		t.Errorf("generate --secrets-out = %d, %q; want the file named", code, errs)
	}
	checkMode(t, envFile)
	printed = append(printed, out, errs)
	b, err := os.ReadFile(envFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pop.Personas {
		if !strings.Contains(string(b), p.Secret.Reveal()) {
			t.Errorf("%s holds no secret of %s", envFile, p.ID)
		}
	}

	for _, args := range [][]string{
		{"--secrets-out", envFile, "--out", file},
		{"--secret-ref", "file:secrets.json", "--secrets-out", envFile, "--out", file},
		{"--secret-ref", "vault:x", "--out", file},
		{"--secret-ref", "file:accounts.jsonl", "--out", file},
	} {
		code, _, errs := cli(t, nil, append([]string{"personas", "generate", "--count", "5"}, args...)...)
		if code != exitcode.Usage {
			t.Errorf("generate %v = %d, %q; want 2", args, code, errs)
		}
	}
	for _, o := range printed {
		for _, p := range pop.Personas {
			if strings.Contains(o, p.Secret.Reveal()) {
				t.Fatalf("an output of personas generate or import holds the secret of %s", p.ID)
			}
		}
	}
}

func checkMode(t *testing.T, path string) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v; want 0600", filepath.Base(path), fi.Mode().Perm())
	}
}

// TestPersonasImportPlaintext: a plaintext password in an accounts file is a
// warning naming its line and column (never the value), refused with
// --strict, by import and by export alike.
func TestPersonasImportPlaintext(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "accounts.csv")
	const secret = "hunter2-plaintext-password"
	accounts := "id,kind,username,password,wave,hash_scheme,roles,email\n" +
		"p1,patient,pat.one,env:PW_P1,wave-1,bcrypt,patient,pat.one@example.org\n" +
		"p2,patient,pat.two," + secret + ",wave-1,bcrypt,patient,pat.two@example.org\n"
	if err := os.WriteFile(file, []byte(accounts), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"PW_P1=env-secret-of-p1"}
	runWith := func(args ...string) (exitcode.Code, string, string) {
		var stdout, stderr strings.Builder
		st := &state{args: args, stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }, environ: func() []string { return env }}
		return run(context.Background(), st), stdout.String(), stderr.String()
	}
	code, out, errs := runWith("personas", "import", file)
	want := file + ":3: p2: password holds a plaintext secret"
	if code != exitcode.Pass || !strings.Contains(errs, "warning: "+want) || !strings.Contains(out, "2 personas ok") || !strings.Contains(out, "1 with a plaintext secret") {
		t.Errorf("import = %d, %q %q; want ok with a warning %q", code, out, errs, want)
	}
	for _, args := range [][]string{
		{"personas", "import", "--strict", file},
		{"personas", "export", "--strict", file, "--out", filepath.Join(dir, "users.json")},
	} {
		code, out, errs := runWith(args...)
		if code != exitcode.Usage || !strings.Contains(errs, "--strict: 1 plaintext secrets in") || !strings.Contains(errs, want) {
			t.Errorf("%v = %d, %q %q; want 2, the row named", args[1:], code, out, errs)
		}
		if strings.Contains(out+errs, secret) {
			t.Errorf("%v prints the plaintext password", args[1:])
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "users.json")); err == nil {
		t.Error("export --strict wrote its file")
	}
	if strings.Contains(out+errs, secret) {
		t.Error("import prints the plaintext password")
	}
}

// TestPersonasFlags: --mix shares must add up to 1 and name known kinds;
// --out takes the extensions of what is written, naming them otherwise.
func TestPersonasFlags(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		args []string
		code exitcode.Code
		want string
	}{
		{[]string{"generate", "--mix", "patient=0.7,clinician=0.7"}, exitcode.Usage, "--mix: the shares add up to 1.4; want 1 (within 1e-09)"},
		{[]string{"generate", "--mix", "patient=0.5,clinician=0.3"}, exitcode.Usage, "--mix: the shares add up to 0.8; want 1"},
		{[]string{"generate", "--mix", "patient=0.5,nurse=0.5"}, exitcode.Usage, `--mix: unknown kind "nurse"`},
		{[]string{"generate", "--mix", "patient=0.5,patient=0.5"}, exitcode.Usage, "--mix: patient given twice"},
		{[]string{"generate", "--mix", "patient"}, exitcode.Usage, `--mix: "patient" is not kind=share`},
		{[]string{"generate", "--mix", "patient=0.1,clinician=0.2,admin=0.7", "--out", filepath.Join(dir, "a.csv")}, exitcode.Pass, "personas: 100 generated"},
		{[]string{"generate", "--out", filepath.Join(dir, "p.txt")}, exitcode.Usage, "p.txt: want a file ending in .csv or .jsonl (or - for JSON lines on stdout)"},
		{[]string{"generate", "--out", filepath.Join(dir, "p.json")}, exitcode.Usage, "want a file ending in .csv or .jsonl"},
		{[]string{"generate", "--out", filepath.Join(dir, "P.JSONL")}, exitcode.Pass, "personas: 100 generated"},
		{[]string{"import", filepath.Join(dir, "a.csv"), "--out", filepath.Join(dir, "b.yaml")}, exitcode.Usage, "b.yaml: want a file ending in .csv or .jsonl"},
		{[]string{"export", "--count", "5"}, exitcode.Usage, "--out FILE is required, a file ending in .json"},
		{[]string{"export", "--count", "5", "--out", "-"}, exitcode.Usage, "--out FILE is required"},
		{[]string{"export", "--count", "5", "--out", filepath.Join(dir, "u.jsonl")}, exitcode.Usage, "u.jsonl: want a file ending in .json"},
		{[]string{"export", "--count", "5", "--format", "okta", "--out", filepath.Join(dir, "u.json")}, exitcode.Usage, `format "okta"; want one of auth0, keycloak`},
		{[]string{"export", "--count", "5", "--plaintext", "--out", filepath.Join(dir, "u.json")}, exitcode.Usage, "auth0 imports no plaintext password"},
		{[]string{"export", "--count", "5", "--mix", "patient=2", "--out", filepath.Join(dir, "u.json")}, exitcode.Usage, "--mix: the shares add up to 2"},
		{[]string{"export", filepath.Join(dir, "a.csv"), "--seed", "2", "--out", filepath.Join(dir, "u.json")}, exitcode.Usage, "--seed generate a population: not with FILE"},
		{[]string{"export", "--count", "5", "--role-map", filepath.Join(dir, "a.csv"), "--out", filepath.Join(dir, "u.json")}, exitcode.Usage, "--role-map"},
		{[]string{"publish"}, exitcode.Usage, `unknown subcommand "publish" (want generate, import, export or provision)`},
		{[]string{"generte"}, exitcode.Usage, `unknown subcommand "generte"; did you mean generate?`},
		{nil, exitcode.Usage, "personas: want generate, import, export or provision"},
	} {
		code, out, errs := cli(t, nil, append([]string{"personas"}, tt.args...)...)
		if code != tt.code || !strings.Contains(out+errs, tt.want) {
			t.Errorf("personas %v = %d, %q %q; want %d and %q", tt.args, code, out, errs, tt.code, tt.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "u.json")); err == nil {
		t.Error("a refused export wrote its file")
	}
}

// TestPersonasExportProvisionsACandidate is the round trip of a candidate
// without SCIM: personas generate, personas export in every format and hash,
// the file imported into the embedded candidate through its bulk import API
// (Auth0's, Keycloak's), and every human persona signs in there with its
// password: the candidate verifies the exported hashes.
func TestPersonasExportProvisionsACandidate(t *testing.T) {
	dir := t.TempDir()
	accounts := filepath.Join(dir, "accounts.jsonl")
	code, out, errs := cli(t, nil, "personas", "generate", "--count", "16", "--seed", "4", "--sha256-share", "0.5", "--secret-ref", "file:secrets.json", "--out", accounts)
	if code != exitcode.Pass {
		t.Fatalf("generate = %d: %s %s", code, out, errs)
	}
	pop, err := personas.ReadFile(accounts, &personas.Resolver{ReadFile: personas.FilesBeside(dir)})
	if err != nil {
		t.Fatal(err)
	}
	roleMap := filepath.Join(dir, "roles.yaml")
	if err := os.WriteFile(roleMap, []byte("patient: [patient]\nclinician: [clinician]\nbreakglass-eligible: [breakglass]\nadmin: [admin]\nbilling-clerk: [billing]\nauditor: [auditor]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		args []string
		hash string // what the candidate stores before the first sign-in ("cohort": the persona's legacy scheme)
	}{
		{"auth0 bcrypt", []string{"--bcrypt-cost", "4"}, "bcrypt"},
		{"auth0 pbkdf2 mapped", []string{"--hash", "pbkdf2-sha256", "--pbkdf2-iterations", "1000", "--role-map", roleMap}, "pbkdf2-sha256"},
		{"auth0 argon2id", []string{"--hash", "argon2id"}, "argon2id"},
		{"auth0 cohort mapped by the demo", []string{"--hash", "cohort", "--bcrypt-cost", "4", "--role-map", "../../examples/demo.yaml"}, "cohort"},
		{"keycloak pbkdf2", []string{"--format", "keycloak", "--pbkdf2-iterations", "1000", "--role-map", roleMap}, "pbkdf2-sha256"},
		{"keycloak plaintext", []string{"--format", "keycloak", "--plaintext", "--role-map", roleMap}, "bcrypt"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			users := filepath.Join(t.TempDir(), "users.json")
			code, out, errs := cli(t, nil, append([]string{"personas", "export", accounts, "--out", users}, tt.args...)...)
			if code != exitcode.Pass || !strings.Contains(out, "15 users with") || !strings.Contains(out, "1 service account left out") {
				t.Fatalf("export = %d: %q %q; want 15 users, 1 service account left out", code, out, errs)
			}
			checkMode(t, users)
			file, err := os.ReadFile(users)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range pop.Personas {
				if strings.Contains(out+errs, p.Secret.Reveal()) || !slices.Contains(tt.args, "--plaintext") && bytes.Contains(file, []byte(p.Secret.Reveal())) {
					t.Fatalf("the output or the hashed export holds the password of %s", p.ID)
				}
			}

			pair, err := stacks.Start(t.Context(), stacks.Options{Population: pop, CandidateWithoutUsers: true})
			if err != nil {
				t.Fatal(err)
			}
			defer pair.Close()
			human := pop.ByKind(personas.Clinician)[0]
			if signIn(t, pair.CandidateURL, human.Username, human.Secret.Reveal()) {
				t.Fatal("a persona signs in on the candidate before it is provisioned")
			}
			bulkImport(t, pair, file, slices.Contains(tt.args, "keycloak"))
			for _, p := range pop.Personas {
				if !p.Human() {
					continue
				}
				want := tt.hash
				if want == "cohort" {
					want = p.Cohort.HashScheme
				}
				if got := pair.Candidate.HashScheme(p.ID); got != want {
					t.Errorf("%s stored under %q before its first sign-in; want %q", p.ID, got, want)
				}
				if !signIn(t, pair.CandidateURL, p.Username, p.Secret.Reveal()) {
					t.Errorf("%s does not sign in on the candidate with its password", p.ID)
				}
			}
			if signIn(t, pair.CandidateURL, human.Username, human.Secret.Reveal()+"-wrong") {
				t.Errorf("%s signs in with a wrong password", human.ID)
			}
		})
	}
}

// bulkImport sends an export file to the candidate's bulk import API of its
// format, as its provisioner, and wants every user added.
func bulkImport(t *testing.T, pair *stacks.Pair, file []byte, keycloak bool) {
	t.Helper()
	var body bytes.Buffer
	path, ctype := "/admin/realms/cutover/partialImport", "application/json"
	if keycloak {
		body.Write(file)
	} else {
		mw := multipart.NewWriter(&body)
		fw, err := mw.CreateFormFile("users", "users.json")
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(file)
		mw.Close()
		path, ctype = "/api/v2/jobs/users-imports", mw.FormDataContentType()
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, pair.CandidateURL+path, &body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("Authorization", "Bearer "+provisionerToken(t, pair))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var answer struct {
		Added   int `json:"added"`
		Summary struct {
			Inserted, Failed int
		} `json:"summary"`
	}
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &answer); err != nil || resp.StatusCode != http.StatusOK || answer.Summary.Failed > 0 || answer.Added+answer.Summary.Inserted != 15 {
		t.Fatalf("bulk import = %d %s; want 15 users added", resp.StatusCode, b)
	}
}

var authRequest = regexp.MustCompile(`name="auth_request" value="([^"]+)"`)

// signIn runs the authorization code flow with PKCE through the candidate's
// login form and reports whether it ends with an access token.
func signIn(t *testing.T, base, username, password string) bool {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	verifier := "cutover-cli-test-verifier-0123456789-abcdefghij"
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{
		"response_type": {"code"}, "client_id": {candidate.HarnessClientID}, "redirect_uri": {candidate.HarnessRedirectURI},
		"scope": {"openid"}, "state": {"s"}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
	}
	do := func(resp *http.Response, err error) (*http.Response, []byte) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	_, page := do(c.Get(base + "/authorize?" + q.Encode()))
	m := authRequest.FindSubmatch(page)
	if m == nil {
		t.Fatalf("no login form at %s/authorize", base)
	}
	resp, _ := do(c.PostForm(base+"/login", url.Values{"username": {username}, "password": {password}, "auth_request": {string(m[1])}}))
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusSeeOther || loc == nil || loc.Query().Get("code") == "" {
		return false
	}
	resp, b := do(c.PostForm(base+"/token", url.Values{
		"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")}, "redirect_uri": {candidate.HarnessRedirectURI},
		"client_id": {candidate.HarnessClientID}, "code_verifier": {verifier},
	}))
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.Unmarshal(b, &tok)
	if resp.StatusCode != http.StatusOK || tok.AccessToken == "" {
		t.Errorf("%s: token endpoint = %d after a good sign-in", username, resp.StatusCode)
		return false
	}
	return true
}
