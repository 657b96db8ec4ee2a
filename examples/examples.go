// Package examples holds the rehearsal files shipped with cutover; the demo's is
// embedded so `cutover demo` works from any folder.
//
// It imports only stacks, for the demo's addresses and secrets.
package examples

import (
	_ "embed"

	"github.com/cutover-dev/cutover/stacks"
)

// Demo is examples/demo.yaml, the rehearsal `cutover demo` runs.
//
//go:embed demo.yaml
var Demo []byte

// The environment variables through which demo.yaml gets the embedded stacks'
// addresses and the secrets of the clients it uses, as a user's CI would.
const (
	EnvLegacyURL            = "CUTOVER_LEGACY_URL"
	EnvCandidateURL         = "CUTOVER_CANDIDATE_URL"
	EnvIntrospectionSecret  = "CUTOVER_INTROSPECTION_SECRET"
	EnvProvisionerSecret    = "CUTOVER_PROVISIONER_SECRET"
	placeholderURL          = "http://127.0.0.1"
	placeholderClientSecret = "placeholder"
)

// DemoEnv resolves demo.yaml's variables for the running pair p, and any other
// variable through fallback (nil: unset). With a nil p it gives placeholders, for
// reading the file before the stacks (and so their addresses) exist.
func DemoEnv(p *stacks.Pair, fallback func(string) string) func(string) string {
	return func(k string) string {
		switch k {
		case EnvLegacyURL:
			if p == nil {
				return placeholderURL
			}
			return p.LegacyURL
		case EnvCandidateURL:
			if p == nil {
				return placeholderURL
			}
			return p.CandidateURL
		case EnvIntrospectionSecret:
			if p == nil {
				return placeholderClientSecret
			}
			return p.IntrospectionClientSecret.Reveal()
		case EnvProvisionerSecret:
			if p == nil {
				return placeholderClientSecret
			}
			return p.ProvisionerClientSecret.Reveal()
		}
		if fallback == nil {
			return ""
		}
		return fallback(k)
	}
}
