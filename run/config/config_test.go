package config

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/cutover-dev/cutover/personas"
)

func demoEnv(k string) string {
	return map[string]string{"CUTOVER_LEGACY_URL": "http://127.0.0.1:8001", "CUTOVER_CANDIDATE_URL": "http://127.0.0.1:8002", "CUTOVER_INTROSPECTION_SECRET": "s3cret", "CUTOVER_PROVISIONER_SECRET": "s3cret"}[k]
}

func readDemo(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("../../examples/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDemoConfigIsValid(t *testing.T) {
	f, err := Parse("demo.yaml", readDemo(t), demoEnv)
	if err != nil {
		t.Fatalf("Parse(demo.yaml) = %v", err)
	}
	if f.Stacks.Legacy.Legacy.BaseURL != "http://127.0.0.1:8001" {
		t.Errorf("base_url = %q; want the expanded variable", f.Stacks.Legacy.Legacy.BaseURL)
	}
	if f.Hash == "" || f.Mode != ModeParity || f.Load.MaxInFlight != 128 {
		t.Errorf("hash %q, mode %q, max_in_flight %d; want a hash, parity, 128", f.Hash, f.Mode, f.Load.MaxInFlight)
	}
}

// TestParseReportsEveryProblem breaks the demo file in several places at once and
// wants each problem reported, with its line, in one error.
func TestParseReportsEveryProblem(t *testing.T) {
	tests := []struct {
		name string
		edit func(string) string
		want []string
	}{
		{
			name: "unknown keys and wrong types",
			edit: func(s string) string {
				s = strings.Replace(s, "seed: 42", "seed: forty-two", 1)
				s = strings.Replace(s, "mode: parity", "mode: parity\ncolour: blue", 1)
				return s
			},
			want: []string{"demo.yaml:8: seed: the value is not a whole number", "demo.yaml:10: colour: unknown key"},
		},
		{
			name: "semantic problems, all at once",
			edit: func(s string) string {
				s = strings.Replace(s, "version: 1", "version: 2", 1)
				s = strings.Replace(s, "count: 120", "count: 0", 1)
				s = strings.Replace(s, "profile: {type: shift-change,", "profile: {type: constant, rate: 500} #", 1)
				s = strings.Replace(s, "steps: [login, probes, refresh, logout, audit]", "steps: [login, dance]", 1)
				s = strings.Replace(s, `resource: "record:self", expect: allow}`, `resource: "record:self", expect: maybe}`, 1)
				s = strings.Replace(s, "fail_on: [critical, high, medium]", "fail_on: [critical, severe]", 1)
				s = strings.Replace(s, "mode: form,", "mode: carrier-pigeon,", 1)
				s = strings.Replace(s, "personas:\n  generate:", "personas:\n  cohort_by: site\n  generate:", 1)
				return s
			},
			want: []string{
				"demo.yaml:6: version: is 2; want 1",
				"demo.yaml:@count: 0@: personas.generate.count: is 0; want > 0",
				"load.profile.rate: 500/s exceeds the safety ceiling",
				`journeys.0.steps.1: "dance" is not a step`,
				`probes.0.expect: is "maybe"`,
				`thresholds.fail_on.1: "severe" is not a severity`,
				`stacks.legacy.legacy.login.mode: is "carrier-pigeon"`,
				`demo.yaml:@cohort_by: site@: personas.cohort_by: is "site"; want one of wave, hash_scheme, cohort, kind, break_glass (generated personas have no other attribute)`,
			},
		},
		{
			name: "adapter and journey problems, all at once",
			edit: func(s string) string {
				s = strings.Replace(s, "steps: [service, probes]", "steps: [probes, service]", 1)
				s = strings.Replace(s, "subject: id, roles: roles, ttl", `subject: id, roles: "$.roles[?", ttl`, 1)
				s = strings.Replace(s, `reason: "{reason}"}}`, `reason: "{why}"}}`, 1)
				s = strings.Replace(s, "logout: [revoke]", "logout: [shred]", 1)
				s = strings.Replace(s, "breakglass: {method: token_exchange", "breakglass: {method: telepathy", 1)
				s = strings.Replace(s, "auditor: {persona: auditor}", "auditor: {persona: janitor}", 1)
				return s
			},
			want: []string{
				`journeys.2.steps.0: "probes" needs a login or service step before it`,
				`stacks.legacy.legacy.me.roles: path "$.roles[?": jsonpath`,
				"stacks.legacy.legacy.breakglass.request: placeholder {why} is not known here (known: {patient}, {reason})",
				`stacks.candidate.oidc.logout.0: is "shred"; want revoke or end_session`,
				`stacks.candidate.oidc.breakglass.method: is "telepathy"`,
				`stacks.legacy.legacy.audit.auditor.persona: "janitor" is not a persona kind`,
			},
		},
		{
			name: "secret reference that does not resolve",
			edit: func(s string) string {
				return strings.Replace(s, "{env: CUTOVER_INTROSPECTION_SECRET}", "{env: CUTOVER_NOT_SET}", 1)
			},
			want: []string{"stacks.candidate.oidc.introspection.client_secret: environment variable CUTOVER_NOT_SET is not set"},
		},
		{
			name: "unlisted host",
			edit: func(s string) string {
				return strings.Replace(s, "allow_hosts: [127.0.0.1, localhost]", "allow_hosts: [localhost]", 1)
			},
			want: []string{`demo.yaml:27: stacks.legacy.legacy.base_url: host "127.0.0.1" is not in stacks.allow_hosts`},
		},
		{
			name: "state rules that cannot be",
			edit: func(s string) string {
				s = strings.Replace(s, "lockout: {attempts: 5, duration: 15m}\n    breakglass_covers: persona", "lockout: {attempts: 0, duration: 15m}\n    breakglass_covers: everyone", 1)
				s = strings.Replace(s, "audit: {within: 2s", "wrong_password: {attempts: -1}\naudit: {within: 2s", 1)
				return s
			},
			want: []string{
				"demo.yaml:@attempts: 0@: stacks.legacy.lockout: attempts 0, duration 15m0s: want attempts >= 1",
				`demo.yaml:@everyone@: stacks.legacy.breakglass_covers: is "everyone"; want persona or credential`,
				"demo.yaml:@attempts: -1@: wrong_password.attempts: is -1; want 0 (one attempt) to 100",
			},
		},
		{
			name: "absolute latency limits that do not parse",
			edit: func(s string) string {
				return strings.Replace(s, "  latency_min_delta: 5ms", "  latency_min_delta: 5ms\n  latency: [\"p95 < 300\", \"p95 > 1s\"]\n  steps: {session/login: {latency: [\"p0 < 1s\"]}}", 1)
			},
			want: []string{
				`thresholds.latency.0: "p95 < 300": 300 has no unit; add one: 300ms`,
				`thresholds.latency.1: "p95 > 1s": want pNN < DURATION`,
				`thresholds.steps.session/login.latency.0: "p0 < 1s": percentile 0 is not in (0, 100]`,
			},
		},
		{
			name: "probe without a request template",
			edit: func(s string) string { return strings.Replace(s, `audit: {read: "GET /api/audit"}`, "", 1) },
			want: []string{"probes.21.action: no legacy request template for read audit", "no candidate request template for read audit"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := tt.edit(string(readDemo(t)))
			_, err := Parse("demo.yaml", []byte(doc), demoEnv)
			if err == nil {
				t.Fatal("Parse = nil; want errors")
			}
			for _, w := range tt.want {
				// "@text@" stands for the line where text is in the edited file.
				w = regexp.MustCompile(`@([^@]+)@`).ReplaceAllStringFunc(w, func(m string) string {
					return strconv.Itoa(lineOf(t, doc, m[1:len(m)-1]))
				})
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Parse error lacks %q; got:\n%v", w, err)
				}
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add(readDemoF(f))
	f.Add([]byte("version: 1\nname: x\n"))
	f.Add([]byte("stacks: {legacy: {adapter: [1, 2]}}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("fuzz.yaml", data, demoEnv)
		if err == nil && cfg.Validate() != nil {
			t.Errorf("Parse accepted a file that Validate rejects")
		}
	})
}

func readDemoF(f *testing.F) []byte {
	b, err := os.ReadFile("../../examples/demo.yaml")
	if err != nil {
		f.Fatal(err)
	}
	return b
}

// lineOf returns the line number of the first occurrence of text in doc.
func lineOf(t *testing.T, doc, text string) int {
	t.Helper()
	i := strings.Index(doc, text)
	if i < 0 {
		t.Fatalf("the file has no %q", text)
	}
	return strings.Count(doc[:i], "\n") + 1
}

// TestPersonasFile imports pre-provisioned accounts instead of generating them:
// secrets resolve through the injected environment, and every problem names the
// rehearsal file's line.
func TestPersonasFile(t *testing.T) {
	dir := t.TempDir()
	accounts := "id,kind,username,password,wave,hash_scheme,roles\n" +
		"patient-1,patient,pat.one,env:PW_ONE,wave-1,bcrypt,patient\n" +
		"patient-2,patient,pat.two,env:PW_TWO,wave-1,bcrypt,patient\n"
	if err := os.WriteFile(filepath.Join(dir, "accounts.csv"), []byte(accounts), 0o600); err != nil {
		t.Fatal(err)
	}
	doc := strings.Replace(string(readDemo(t)), "personas:\n  generate:", "personas:\n  file: accounts.csv\n  unused:", 1)
	doc = regexp.MustCompile(`(?m)^  unused:\n(    .*\n)+`).ReplaceAllString(doc, "")
	path := filepath.Join(dir, "rehearsal.yaml")
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	env := func(k string) string {
		return map[string]string{"PW_ONE": "correct horse 1", "PW_TWO": "correct horse 2"}[k] + demoEnv(k)
	}
	f, err := Read(path, env)
	if err != nil {
		t.Fatalf("Read = %v", err)
	}
	pop, ok := f.Personas.Accounts()
	if !ok || len(pop.Personas) != 2 || pop.Personas[1].Secret.Reveal() != "correct horse 2" {
		t.Fatalf("Accounts() = %d personas, %t; want the 2 of the file with their secrets", len(pop.Personas), ok)
	}
	// Without the variables, the import fails naming the rehearsal file's line and
	// the accounts file's rows, never a secret.
	_, err = Read(path, demoEnv)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("rehearsal.yaml:%d: personas.file", lineOf(t, doc, "file: accounts.csv"))) ||
		!strings.Contains(err.Error(), "accounts.csv:2") || !strings.Contains(err.Error(), "accounts.csv:3") {
		t.Errorf("Read without secrets = %v; want the personas.file line and both rows", err)
	}
	// Offline, the accounts are checked all the same, their secrets taken as
	// needed at run time.
	if _, _, err := ReadOffline(path, demoEnv); err != nil {
		t.Errorf("ReadOffline without the accounts' secrets = %v; want the file checked", err)
	}
	// A file: reference of the accounts file is relative to that file, not to
	// the working directory.
	if err := os.WriteFile(filepath.Join(dir, "secrets.json"), []byte(`{"one":"correct horse 1","two":"correct horse 2"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	byFile := strings.NewReplacer("env:PW_ONE", "file:secrets.json#one", "env:PW_TWO", "file:secrets.json#two").Replace(accounts)
	if err := os.WriteFile(filepath.Join(dir, "accounts.csv"), []byte(byFile), 0o600); err != nil {
		t.Fatal(err)
	}
	if f, err := Read(path, demoEnv); err != nil {
		t.Errorf("Read with file: references beside the accounts file = %v", err)
	} else if pop, _ := f.Personas.Accounts(); len(pop.Personas) != 2 || pop.Personas[0].Secret.Reveal() != "correct horse 1" {
		t.Errorf("secrets by file: reference not read")
	}
	// The cohort table may be cut by an attribute the accounts carry, and only
	// by one they carry.
	withSite := strings.Replace(accounts, "roles\n", "roles,attr.site\n", 1)
	withSite = strings.Replace(withSite, "bcrypt,patient\n", "bcrypt,patient,north\n", 2)
	if err := os.WriteFile(filepath.Join(dir, "accounts.csv"), []byte(withSite), 0o600); err != nil {
		t.Fatal(err)
	}
	bySite := strings.Replace(doc, "  file: accounts.csv", "  file: accounts.csv\n  cohort_by: site", 1)
	if f, err := Parse(path, []byte(bySite), env); err != nil || f.Personas.CohortBy != "site" {
		t.Errorf("cohort_by: site = %v; want accepted", err)
	}
	byFloor := strings.Replace(doc, "  file: accounts.csv", "  file: accounts.csv\n  cohort_by: floor", 1)
	if _, err := Parse(path, []byte(byFloor), env); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("rehearsal.yaml:%d: personas.cohort_by: is \"floor\": no account", lineOf(t, byFloor, "cohort_by: floor"))) {
		t.Errorf("cohort_by: floor = %v; want refused at its line", err)
	}
	both := strings.Replace(doc, "  file: accounts.csv", "  file: accounts.csv\n  generate: {count: 3}", 1)
	if _, err := Parse(path, []byte(both), env); err == nil || !strings.Contains(err.Error(), "names both generate and file") {
		t.Errorf("Parse with both = %v; want it refused", err)
	}
}

// TestLiteralSecretIsRefused: a secret written as its value is refused at its
// line with what to write instead, and the error repeats none of it.
func TestLiteralSecretIsRefused(t *testing.T) {
	const literal = "EGZJTK7QWERTYSECRETVALUE9"
	doc := strings.Replace(string(readDemo(t)), "client_secret: {env: CUTOVER_INTROSPECTION_SECRET}", "client_secret: "+literal, 1)
	_, err := Parse("demo.yaml", []byte(doc), demoEnv)
	line := lineOf(t, doc, "client_secret: "+literal)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("demo.yaml:%d: stacks.candidate.oidc.introspection.client_secret: a secret is written as a reference", line)) || !strings.Contains(err.Error(), "{env: VAR}") {
		t.Fatalf("Parse = %v; want the literal refused at line %d with what to write", err, line)
	}
	for k := 0; k+3 <= len(literal); k++ {
		if strings.Contains(err.Error(), literal[k:k+3]) && !strings.Contains("a secret is written as a reference", literal[k:k+3]) {
			t.Fatalf("Parse error repeats %q of the secret: %v", literal[k:k+3], err)
		}
	}
}

// TestFileSizeLimits: a rehearsal file over MaxFile is refused before it is
// parsed, with its size named; so is an accounts file over
// personas.MaxAccountsFile.
func TestFileSizeLimits(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(big, append(readDemo(t), bytes.Repeat([]byte("# padding\n"), MaxFile/10)...), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(big, demoEnv); err == nil || !strings.Contains(err.Error(), "larger than 1024 KiB") {
		t.Errorf("Read(a %d KiB file) = %v; want it refused by size", (MaxFile+len(readDemo(t)))>>10, err)
	}
	accounts := filepath.Join(dir, "accounts.csv")
	if err := os.WriteFile(accounts, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(accounts, personas.MaxAccountsFile+1); err != nil { // sparse: no disk used
		t.Fatal(err)
	}
	if _, err := personas.ReadFile(accounts, &personas.Resolver{}); err == nil || !strings.Contains(err.Error(), "larger than the 64 MiB") {
		t.Errorf("ReadFile(a 64 MiB accounts file) = %v; want it refused by size", err)
	}
}
