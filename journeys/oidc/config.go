package oidc

import "github.com/cutover-dev/cutover/journeys/adapter"

// Config describes a standards candidate: where it is, how the harness is
// registered with it, and which of its optional capabilities to use. Discovery
// supplies the endpoints; whatever the provider does not publish is reported as
// not supported by this stack.
type Config struct {
	Issuer   string `yaml:"issuer"`
	ClientID string `yaml:"client_id"`
	// ClientSecret makes the harness client confidential (client_secret_basic
	// unless AuthMethod says otherwise).
	ClientSecret *adapter.SecretRef `yaml:"client_secret"`
	// ClientAuth is how the harness client authenticates at the token,
	// revocation and token exchange endpoints (RFC 6749 s2.3, OIDC Core s9).
	ClientAuth `yaml:",inline"`
	// RedirectURI is registered for the harness client; it is never contacted: the
	// adapter captures the code from the redirect itself.
	RedirectURI string   `yaml:"redirect_uri"`
	Scopes      []string `yaml:"scopes"`
	// Login is "code" (authorization code with PKCE S256 through the login form,
	// the default) or "password" (the resource owner password grant, where the
	// provider still allows it).
	Login string `yaml:"login"`
	// FormID picks the login form by id; empty picks the first form with a password.
	FormID        string `yaml:"form_id"`
	UsernameField string `yaml:"username_field"`
	// BrowserLogin signs users in through a real browser, for a login page a
	// script renders (a single-page login app): the protocol journey goes on
	// with the tokens the redirect brings. It needs Chromium.
	BrowserLogin *BrowserLogin `yaml:"browser_login"`
	// LoginIdentifier is what a persona signs in with, in the login form and the
	// password grant: username (the default), email, or attribute:NAME (an
	// attribute of the accounts file).
	LoginIdentifier string `yaml:"login_identifier"`
	// AuthorizationParams are added to every authorization request: prompt
	// (some providers issue a refresh token for offline_access only with
	// prompt=consent), acr_values, max_age, resource (RFC 8707), audience, or
	// any other the provider wants.
	AuthorizationParams map[string]string `yaml:"authorization_params"`
	// TokenParams are added to every token request made for a person
	// (authorization code, password and refresh grants): resource (RFC 8707),
	// audience.
	TokenParams map[string]string `yaml:"token_params"`
	// Grants declares grant types the provider serves although its discovery
	// document does not list them (password, client_credentials, refresh_token,
	// urn:ietf:params:oauth:grant-type:token-exchange): they are used as if
	// listed.
	Grants []string `yaml:"grants"`
	// APIBaseURL is where the protected resources live; empty means the issuer.
	APIBaseURL string `yaml:"api_base_url"`
	// Audience the access tokens must carry; empty skips the check. When set it
	// is also sent as the audience parameter of the authorization and
	// client_credentials requests: providers such as Ory Hydra and Auth0 put an
	// audience in a token only when it is asked for.
	Audience string `yaml:"audience"`
	// Algorithms are the JWS algorithms accepted for tokens; default every
	// asymmetric one. "none" and HMAC algorithms are always refused.
	Algorithms []string `yaml:"algorithms"`
	// RolesClaim is the path of the roles in a token, an introspection answer or
	// userinfo; default "roles". An RFC 9535 JSONPath: a dotted path reaches
	// nested objects (realm_access.roles); a name with a hyphen, a dot or a slash
	// is quoted in brackets (resource_access['my-client'].roles,
	// ['https://example.com/roles']).
	RolesClaim string `yaml:"roles_claim"`
	// RolesFormat is how a roles claim that is one string is split: auto (the
	// default: at commas and whitespace), space, comma, or list (a string is
	// one role). A JSON array's names are taken whole, an object's keys are
	// its roles.
	RolesFormat string `yaml:"roles_format"`
	// RolesFrom lists where roles are looked up, the first that has them winning:
	// access_token, introspection, id_token, userinfo. Default: all four in that
	// order.
	RolesFrom []string `yaml:"roles_from"`
	// RequiredClaims must be present in every JWT access token; default the RFC 9068
	// set plus the roles claim.
	RequiredClaims []string `yaml:"required_claims"`
	// Logout lists how a user logs out: revoke (RFC 7009) and/or end_session
	// (RP-initiated logout). Default: revoke when the provider offers it, else
	// end_session.
	Logout []string `yaml:"logout"`
	// PostLogoutRedirectURI is sent with end_session; never contacted. When set,
	// a logout is done only when the provider redirects there.
	PostLogoutRedirectURI string `yaml:"post_logout_redirect_uri"`
	// LogoutConfirmation says how to answer a provider that asks the user to
	// confirm an RP-initiated logout (OpenID RP-Initiated Logout 1.0 s2).
	LogoutConfirmation *LogoutConfirmation `yaml:"logout_confirmation"`
	// Introspection is the confidential client that may call the introspection
	// endpoint (RFC 7662), and where that endpoint is when discovery does not say;
	// without it nothing is introspected.
	Introspection *Client `yaml:"introspection"`
	// Service tunes client_credentials for service personas (client id = the
	// persona's username, secret = its secret).
	Service    *Service             `yaml:"service"`
	BreakGlass *BreakGlass          `yaml:"breakglass"`
	Audit      *adapter.AuditConfig `yaml:"audit"`
	// Directory lists the provider's users (SCIM) for the pre-run parity check.
	Directory *Directory `yaml:"directory"`
}

// ClientAuth is how a client authenticates (RFC 6749 s2.3, OIDC Core s9).
type ClientAuth struct {
	// AuthMethod is none, client_secret_basic (the default with a secret),
	// client_secret_post or private_key_jwt (RFC 7523: a signed assertion, as
	// SMART on FHIR backend services require).
	AuthMethod string `yaml:"auth_method"`
	// PrivateKey signs the assertions of private_key_jwt: a PEM-encoded RSA,
	// EC or Ed25519 private key (PKCS#8, PKCS#1 or SEC 1).
	PrivateKey *adapter.SecretRef `yaml:"private_key"`
	// KeyID is the kid of the assertions' header, when the provider holds
	// several of the client's keys.
	KeyID string `yaml:"key_id"`
	// AssertionAudience is the aud of the assertions: token_endpoint (the
	// default) or issuer. The algorithm is the first the provider lists in
	// token_endpoint_auth_signing_alg_values_supported that the key can sign
	// with.
	AssertionAudience string `yaml:"assertion_audience"`
}

// Client is a confidential OAuth client and the endpoint it calls.
type Client struct {
	ClientID     string             `yaml:"client_id"`
	ClientSecret *adapter.SecretRef `yaml:"client_secret"`
	ClientAuth   `yaml:",inline"`
	// Endpoint is the URL the client calls, overriding discovery: a provider may
	// serve introspection without advertising it (Ory Hydra serves it on its
	// admin port only).
	Endpoint string `yaml:"endpoint"`
	// ServiceTokens is who introspects a service persona's tokens:
	// introspection_client (this client, the default) or own_client (the
	// service persona itself, for providers that let a client introspect only
	// the tokens issued to it).
	ServiceTokens string `yaml:"service_tokens"`
}

// Introspectors of service tokens.
const (
	ServiceTokensIntrospectionClient = "introspection_client"
	ServiceTokensOwnClient           = "own_client"
)

// BrowserLogin are the CSS selectors of a script-rendered login form. Username
// and Password have defaults that fit most pages; without Submit the form of the
// password field is submitted as Enter there would.
type BrowserLogin struct {
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	Submit   string `yaml:"submit"`
}

// Default selectors of a browser login.
const (
	DefaultUsernameSelector = `input[autocomplete="username"], input[name="username"], input[type="email"]`
	DefaultPasswordSelector = `input[type="password"]`
)

// LogoutConfirmation picks and fills the form a provider shows to confirm a
// logout. Without it, the one form of the page without a password field is
// submitted as a browser would, with its first submit control.
type LogoutConfirmation struct {
	// FormID picks the form by id.
	FormID string `yaml:"form_id"`
	// Fields are set in the form before it is submitted (logout: "yes").
	Fields map[string]string `yaml:"fields"`
}

// Service tunes the client_credentials grant of service personas.
type Service struct {
	// Scopes to request from every service persona; empty requests none (the
	// provider's default for the client).
	Scopes []string `yaml:"scopes"`
	// PermissionScopes, when set, adds to Scopes the scopes each persona's legacy
	// permissions map to (an unmapped permission is requested as it is), so each
	// client asks for what it held on legacy. Providers such as Ory Hydra and Okta
	// grant no scope unless asked, and refuse a scope the client was not given.
	PermissionScopes map[string]string `yaml:"permission_scopes"`
	// ClientAuth is how service personas authenticate: client_secret_basic (the
	// default) or client_secret_post with the persona's secret, or
	// private_key_jwt with PrivateKey (or PrivateKeys by client id).
	ClientAuth `yaml:",inline"`
	// PrivateKeys are the private_key_jwt keys of service personas by client id
	// (username), when they do not share PrivateKey.
	PrivateKeys map[string]*adapter.SecretRef `yaml:"private_keys"`
}

// BreakGlass says how a candidate grants emergency access.
type BreakGlass struct {
	// Method is token_exchange (RFC 8693), step_up (a new authorization request
	// asking for more, re-entering the password) or http (a custom API call).
	Method string `yaml:"method"`
	// Resource, Audience and Scope are sent with a token exchange (placeholder
	// {patient}); Resource defaults to "patient:{patient}".
	Resource string `yaml:"resource"`
	Audience string `yaml:"audience"`
	Scope    string `yaml:"scope"`
	// ReasonParam names the parameter carrying the reason (token exchange and step
	// up); default "reason".
	ReasonParam string `yaml:"reason_param"`
	// StepUpScopes and ACRValues are added to the step-up authorization request
	// (placeholder {patient}).
	StepUpScopes []string `yaml:"step_up_scopes"`
	ACRValues    string   `yaml:"acr_values"`
	// HTTP is the call of method http, made with the session's access token at
	// the API base URL.
	HTTP *adapter.HTTPBreakGlass `yaml:"http"`
}

// Logout methods.
const (
	LogoutRevoke     = "revoke"
	LogoutEndSession = "end_session"
)

// Formats of a roles claim that is one string.
const (
	RolesFormatAuto  = "auto"
	RolesFormatSpace = "space"
	RolesFormatComma = "comma"
	RolesFormatList  = "list"
)

// Client authentication methods.
const (
	AuthNone              = "none"
	AuthClientSecretBasic = "client_secret_basic"
	AuthClientSecretPost  = "client_secret_post"
	AuthPrivateKeyJWT     = "private_key_jwt"
)

// Sources of roles.
const (
	RolesFromAccessToken   = "access_token"
	RolesFromIntrospection = "introspection"
	RolesFromIDToken       = "id_token"
	RolesFromUserinfo      = "userinfo"
)

// DefaultAlgorithms are the JWS algorithms accepted when none are configured.
var DefaultAlgorithms = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
