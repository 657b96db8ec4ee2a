// Package examples holds the rehearsal files shipped with cutover; the demo's is
// embedded so `cutover demo` works from any folder.
package examples

import _ "embed"

// Demo is examples/demo.yaml, the rehearsal `cutover demo` runs.
//
//go:embed demo.yaml
var Demo []byte
