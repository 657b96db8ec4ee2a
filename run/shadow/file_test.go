package shadow_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/cutover-dev/cutover/internal/exitcode"
	"github.com/cutover-dev/cutover/run/shadow"
)

const goodFile = `version: 1
name: t
log:
  path: decisions.jsonl
  subject: user.id
  action: op
  resource_type: {path: object, match: "^([a-z]+):"}
  decision: {path: result, map: {PERMIT: allow}}
candidate: {url: "http://pdp.internal:8181", token: {env: PDP_TOKEN}}
allow_hosts: [pdp.internal]
`

// TestParseReportsEveryProblem: a file with many mistakes gets every one of
// them at once, each with its line and YAML path.
func TestParseReportsEveryProblem(t *testing.T) {
	src := `version: 2
name: ""
log:
  path: decisions.jsonl
  subjekt: user.id
  action: {path: op, lowr: true}
  resource_type: {path: "$[", match: "(a)(b)"}
  decision: result
  attributes: {roles: user.roles}
subjects: {match: username}
candidate:
  url: "http://elsewhere:8181/pdp?x=1"
  batch: 5000
  timeout: 30
  rate: -1
  properties: [tenant]
allow_hosts: [pdp.internal]
cache: {size: -1}
thresholds: {max_ambiguous: 2, fail_on: [severe]}
`
	_, err := shadow.Parse("t.yaml", []byte(src), func(string) string { return "" })
	if err == nil {
		t.Fatal("Parse accepted a file full of mistakes")
	}
	for _, want := range []string{
		"t.yaml:1: version: version 2; want 1",
		"t.yaml:2: name: name is empty",
		"t.yaml:5: log.subjekt: unknown key (did you mean subject?)",
		"t.yaml:6: log.action.lowr: unknown key (did you mean lower?)",
		"t.yaml:7: log.resource_type:",
		"t.yaml:3: log.subject: not set",
		"t.yaml:9: log.attributes.roles: \"roles\" is not an attribute name",
		"t.yaml:10: subjects.match: only with an accounts file",
		"t.yaml:12: candidate.url: a base URL has no query or fragment",
		"t.yaml:13: candidate.batch: batch 5000",
		"t.yaml:14: candidate.timeout: 30 has no unit",
		"t.yaml:15: candidate.rate: rate below 0",
		"t.yaml:16: candidate.properties.0: \"tenant\" is neither roles nor an attribute",
		"t.yaml:18: cache.size: size below 0",
		"t.yaml:19: thresholds.max_ambiguous: 2 is not a share",
		"t.yaml:19: thresholds.fail_on.0: \"severe\" is not a severity",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("errors lack %q:\n%v", want, err)
		}
	}
}

// TestParseHostAndSecret: the PDP must be on an allowed host, and its token
// is a reference, resolved once and never echoed; its URL carries no
// credential, which reports would show.
func TestParseHostAndSecret(t *testing.T) {
	env := map[string]string{"PDP_TOKEN": "s3cr3t-pdp-token"}
	f, err := shadow.Parse("t.yaml", []byte(goodFile), func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if f.Candidate.Token.Secret().Reveal() != "s3cr3t-pdp-token" || f.Candidate.Rate != shadow.DefaultRate || f.Cache.Size != shadow.DefaultCacheSize {
		t.Errorf("candidate %+v, cache %+v; want the token resolved and the defaults", f.Candidate, f.Cache)
	}
	tests := []struct{ name, from, to, want string }{
		{"host not allowed", "allow_hosts: [pdp.internal]", "allow_hosts: [other]", "t.yaml:9: candidate.url: host pdp.internal is not in allow_hosts"},
		{"token unset", "PDP_TOKEN", "PDP_TOKEN_UNSET", "t.yaml:9: candidate.token: environment variable PDP_TOKEN_UNSET is not set"},
		{"token as value", "token: {env: PDP_TOKEN}", "token: s3cr3t-pdp-token", "a secret is written as a reference"},
		{"rate as text", "token: {env: PDP_TOKEN}", "rate: fast", "t.yaml:9: candidate.rate: the value is not a number"},
		{"credential in the URL", "http://pdp.internal:8181", "http://pep:s3cr3t@pdp.internal:8181",
			"t.yaml:9: candidate.url: a URL with a user name or password: reports show the PDP's URL; a credential goes in candidate.token"},
	}
	for _, tt := range tests {
		_, err := shadow.Parse("t.yaml", []byte(strings.Replace(goodFile, tt.from, tt.to, 1)), func(k string) string { return env[k] })
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v; want %q", tt.name, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("%s: the error shows the secret: %v", tt.name, err)
		}
	}
}

// TestRateCeiling: a file asking the PDP faster than the ceiling is refused
// before anything is read or sent.
func TestRateCeiling(t *testing.T) {
	f, err := shadow.Parse("t.yaml", []byte(strings.Replace(goodFile, "token: {env: PDP_TOKEN}", "rate: 500", 1)), nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = shadow.Run(t.Context(), f, shadow.Options{Source: strings.NewReader("")})
	if !errors.Is(err, shadow.ErrRateCeiling) || exitcode.Of(err) != exitcode.Usage || !strings.Contains(err.Error(), "t.yaml:9: candidate.rate 500") {
		t.Errorf("err = %v (exit %d); want the rate ceiling, a usage error", err, exitcode.Of(err))
	}
}

// FuzzParse: no input makes Parse panic, and an accepted file validates.
func FuzzParse(f *testing.F) {
	f.Add([]byte(goodFile))
	f.Add([]byte("log: {subject: {path: [}}"))
	f.Add([]byte("version: 1\ncandidate: {timeout: 5}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		file, err := shadow.Parse("f.yaml", b, func(string) string { return "x" })
		if err == nil && file.Validate() != nil {
			t.Errorf("Parse accepted a file Validate refuses")
		}
	})
}
