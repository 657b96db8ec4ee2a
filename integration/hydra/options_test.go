package hydra_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cutover-dev/cutover/integration/hydra"
	"github.com/cutover-dev/cutover/personas"
)

func TestOptionsValidate(t *testing.T) {
	pw := personas.NewSecret("pw")
	for _, tc := range []struct {
		name string
		opt  hydra.Options
		want []string // substrings of the error; none: valid
	}{
		{name: "zero value", opt: hydra.Options{}},
		{name: "full", opt: hydra.Options{AccessTokens: hydra.JWT, RotationGracePeriod: hydra.MaxRotationGracePeriod, Users: testUsers}},
		{name: "bad strategy", opt: hydra.Options{AccessTokens: "JWT"}, want: []string{`"JWT"`}},
		{name: "negative ttls", opt: hydra.Options{TTL: hydra.TTLs{AccessToken: -time.Second, AuthCode: -1}}, want: []string{"ttl.access_token", "ttl.auth_code"}},
		{name: "grace too long", opt: hydra.Options{RotationGracePeriod: 6 * time.Minute}, want: []string{"6m0s"}},
		{name: "negative grace", opt: hydra.Options{RotationGracePeriod: -time.Second}, want: []string{"grace"}},
		{
			name: "bad users",
			opt: hydra.Options{Users: []hydra.User{
				{ID: "u1", Username: "a", Password: pw},
				{ID: "u1", Username: "a", Password: pw},
				{Username: "c"},
			}},
			want: []string{`user 1: duplicate id "u1"`, `user 1: duplicate username "a"`, "user 2: empty id", "user 2 (c): empty password"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.opt.Validate()
			if len(tc.want) == 0 {
				if err != nil {
					t.Errorf("Validate() = %v; want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil; want an error mentioning %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %q; want it to mention %q", err, w)
				}
			}
		})
	}
}

// TestSecretsDoNotPrint checks that formatting clients and users never shows a
// password or client secret.
func TestSecretsDoNotPrint(t *testing.T) {
	const secret = "do-not-print-me"
	c := hydra.ConfidentialClient("rs", personas.NewSecret(secret), nil, "openid")
	u := hydra.User{ID: "u", Username: "n", Password: personas.NewSecret(secret)}
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		for name, v := range map[string]any{"client": c, "user": u} {
			if got := fmt.Sprintf(format, v); strings.Contains(got, secret) {
				t.Errorf("Sprintf(%q, %s) = %q; shows the secret", format, name, got)
			}
		}
	}
}
