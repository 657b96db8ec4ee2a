package stacks

import (
	"fmt"
	"slices"
	"strings"

	"github.com/cutover-dev/cutover/stacks/candidate"
)

// A dialect is a way real providers behave that the embedded candidate does not
// by default and that is not a regression: the harness must judge a run on it
// right, with the configuration that says so, and say what to set when the
// configuration does not. Unlike a drift, a dialect alone must give no finding.

// Dialect names one behaviour of the catalogue.
type Dialect struct {
	Name        string
	Description string
}

// Dialects lists every dialect of the embedded candidate.
var Dialects = []Dialect{
	{"no-revocation", "discovery lists no revocation_endpoint, and there is none (logout is end_session only)"},
	{"opaque-access-tokens", "access tokens are opaque handles, known to clients through introspection only"},
	{"introspection-inactive", "introspection answers active:false for every access token (a restricted introspection client)"},
	{"no-jti", "access tokens carry neither jti nor client_id"},
}

// DialectSet is a set of dialects switched on; the zero value has none.
type DialectSet struct{ on []string }

// Has reports whether dialect name is on.
func (d DialectSet) Has(name string) bool { return slices.Contains(d.on, name) }

// String returns the dialects as ParseDialects reads them.
func (d DialectSet) String() string {
	if len(d.on) == 0 {
		return "none"
	}
	return strings.Join(d.on, ",")
}

// ParseDialects reads a comma-separated list of dialect names ("" and "none":
// none); an unknown name is an error listing the valid ones.
func ParseDialects(s string) (DialectSet, error) {
	var d DialectSet
	s = strings.TrimSpace(s)
	if s == "" || s == "none" {
		return d, nil
	}
	for item := range strings.SplitSeq(s, ",") {
		name := strings.TrimSpace(item)
		if !slices.ContainsFunc(Dialects, func(x Dialect) bool { return x.Name == name }) {
			names := make([]string, len(Dialects))
			for i, x := range Dialects {
				names[i] = x.Name
			}
			return DialectSet{}, fmt.Errorf("dialects: unknown dialect %q; valid: %s", name, strings.Join(names, ", "))
		}
		if !slices.Contains(d.on, name) {
			d.on = append(d.on, name)
		}
	}
	return d, nil
}

// candidate turns the set into the candidate stack's switches.
func (d DialectSet) candidate() candidate.Dialect {
	return candidate.Dialect{
		NoRevocation:          d.Has("no-revocation"),
		OpaqueAccessTokens:    d.Has("opaque-access-tokens"),
		IntrospectionInactive: d.Has("introspection-inactive"),
		NoJTI:                 d.Has("no-jti"),
	}
}
