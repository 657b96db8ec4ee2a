package stacks

import (
	"fmt"
	"slices"
	"strings"
	"time"

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
	{"logout-confirm", "end_session asks the user to confirm with a form (an anti-forgery field, a logout=yes button)"},
	{"logout-script", "end_session answers a page whose script confirms the logout; without script nothing is logged out"},
	{"login-script", "a script renders the login form: the page's HTML has no form"},
	{"empty-refusals", "the token endpoint refuses with its status (400, 401) and an empty body"},
	{"omit-grants", "discovery lists only authorization_code, although client_credentials, refresh_token and token exchange are served"},
	{"consent-for-refresh", "a refresh token only for offline_access asked with prompt=consent"},
	{"email-login", "the login form takes the e-mail address, not the username"},
	{"joined-roles", `the roles claim is one comma-joined string ("clinician,breakglass")`},
	{"introspect-own-client", "a client may introspect only the tokens issued to it; the harness client is confidential"},
	{"secret-post-only", "confidential clients authenticate with client_secret_post only; the harness client is confidential"},
	{"private-key-jwt-only", "the harness and service clients authenticate with private_key_jwt only (RFC 7523)"},
	{"reuse-window", "a rotated refresh token stays usable for 3s; a replay after that revokes the family"},
}

// ReuseWindow is the reuse window of the reuse-window dialect.
const ReuseWindow = 3 * time.Second

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
	c := candidate.Dialect{
		NoRevocation:          d.Has("no-revocation"),
		OpaqueAccessTokens:    d.Has("opaque-access-tokens"),
		IntrospectionInactive: d.Has("introspection-inactive"),
		NoJTI:                 d.Has("no-jti"),
		LogoutConfirm:         d.Has("logout-confirm"),
		LogoutScript:          d.Has("logout-script"),
		EmptyRefusals:         d.Has("empty-refusals"),
		LoginScript:           d.Has("login-script"),
		OmitGrants:            d.Has("omit-grants"),
		ConsentForRefresh:     d.Has("consent-for-refresh"),
		EmailLogin:            d.Has("email-login"),
		JoinedRoles:           d.Has("joined-roles"),
		IntrospectOwnClient:   d.Has("introspect-own-client"),
		SecretPostOnly:        d.Has("secret-post-only"),
		PrivateKeyJWTOnly:     d.Has("private-key-jwt-only"),
	}
	if d.Has("reuse-window") {
		c.ReuseWindow = ReuseWindow
	}
	return c
}
