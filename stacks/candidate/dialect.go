package candidate

import "time"

// Dialect switches the candidate into behaviours real providers have that are
// not the embedded default and not regressions either, so the harness's
// reading of them can be tested; the zero value is the embedded default.
type Dialect struct {
	// NoRevocation: discovery lists no revocation_endpoint, and there is none.
	NoRevocation bool
	// OpaqueAccessTokens: access tokens are random handles, known to clients
	// only through introspection.
	OpaqueAccessTokens bool
	// IntrospectionInactive: introspection answers active:false for every
	// access token, as a provider does to an introspection client it restricts
	// to other audiences.
	IntrospectionInactive bool
	// NoJTI: access tokens carry neither jti nor client_id.
	NoJTI bool
	// LogoutConfirm: end_session asks the user to confirm with a form (an
	// anti-forgery field and a logout=yes button) and logs out only when it
	// is posted back.
	LogoutConfirm bool
	// LogoutScript: end_session answers a page whose script would post the
	// confirmation; without script nothing is logged out.
	LogoutScript bool
	// LoginScript: a script renders the login form; the page's HTML has none.
	LoginScript bool
	// EmptyRefusals: the token endpoint refuses with its status and an empty
	// body.
	EmptyRefusals bool
	// OmitGrants: discovery lists only authorization_code, although the
	// other grants are served.
	OmitGrants bool
	// ConsentForRefresh: a refresh token is issued only to an authorization
	// request that asked for offline_access with prompt=consent.
	ConsentForRefresh bool
	// EmailLogin: the login form takes the e-mail address, not the username.
	EmailLogin bool
	// JoinedRoles: the roles claim is one comma-joined string.
	JoinedRoles bool
	// IntrospectOwnClient: any confidential client may introspect, and
	// learns only of the tokens issued to it; the harness client is
	// confidential (HarnessSecret).
	IntrospectOwnClient bool
	// SecretPostOnly: confidential clients authenticate with
	// client_secret_post only; the harness client is confidential.
	SecretPostOnly bool
	// PrivateKeyJWTOnly: the harness and service clients authenticate with
	// private_key_jwt only (RFC 7523), signed with ClientKey.
	PrivateKeyJWTOnly bool
	// ReuseWindow keeps a rotated refresh token usable for this long: a
	// replay within it is answered with fresh tokens, after it the family is
	// revoked.
	ReuseWindow time.Duration
}

// confidentialHarness reports whether the dialect makes the harness client
// confidential.
func (d Dialect) confidentialHarness() bool {
	return d.IntrospectOwnClient || d.SecretPostOnly || d.PrivateKeyJWTOnly
}
