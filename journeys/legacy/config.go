package legacy

import "github.com/cutover-dev/cutover/journeys/adapter"

// Config describes a homegrown stack declaratively: how to log in, how the
// session travels, where the roles are, and the optional renew, service-account,
// break-glass and audit endpoints. A typical homegrown stack needs only this.
type Config struct {
	BaseURL string         `yaml:"base_url"`
	Login   Login          `yaml:"login"`
	Session SessionCarrier `yaml:"session"`
	Me      Me             `yaml:"me"`
	// Renew is the keep-alive that extends a session; TTL is the path of the new
	// remaining lifetime (seconds) in its answer.
	Renew  *Renew   `yaml:"renew"`
	Logout Endpoint `yaml:"logout"`
	// RoleMap maps each legacy role to its candidate roles, so recorded roles are in
	// the candidate vocabulary. A legacy role absent from the map is recorded as is.
	RoleMap map[string][]string `yaml:"role_map"`
	// PermissionMap maps each legacy service permission to the candidate scope it
	// becomes, so service scopes compare like with like.
	PermissionMap map[string]string `yaml:"permission_map"`
	// Service says how API-key service accounts authenticate.
	Service    *Service                `yaml:"service"`
	BreakGlass *adapter.HTTPBreakGlass `yaml:"breakglass"`
	Audit      *adapter.AuditConfig    `yaml:"audit"`
	// Directory lists the stack's users for the pre-run parity check.
	Directory *Directory `yaml:"directory"`
}

// Login says how a persona logs in.
type Login struct {
	// Mode is "form" (an HTML form, CSRF fields carried over), "json", or
	// "request" (Request, any body: a SOAP envelope).
	Mode string `yaml:"mode"`
	// Request, in request mode, is the sign-in request with {username} and
	// {password} (escaped for XML in an XML body); its answer is read as in
	// json mode, JSON or XML (session_path, ttl).
	Request       *adapter.RequestTemplate `yaml:"request"`
	Path          string                   `yaml:"path"`
	FormID        string                   `yaml:"form_id"`
	UsernameField string                   `yaml:"username_field"`
	PasswordField string                   `yaml:"password_field"`
	// SessionPath, in json mode, is the path of the session id in the answer, used
	// when the session travels in a header or as a bearer token.
	SessionPath string `yaml:"session_path"`
	// CSRF, in json mode, is where a CSRF token comes from and how it is sent.
	CSRF *CSRF `yaml:"csrf"`
	// TTL, in json mode, is the path of the session's lifetime in seconds in
	// the login answer ("expiresIn"), for stacks that say it nowhere else; the
	// who-am-I's me.ttl wins where both are set.
	TTL string `yaml:"ttl"`
}

// CSRF fetches a CSRF token before a JSON login and sends it along.
type CSRF struct {
	// Path is requested (GET) first; its answer sets the cookie or holds the token.
	Path string `yaml:"path"`
	// Cookie names the cookie holding the token, or JSON the path of the token in
	// the answer of Path.
	Cookie string `yaml:"cookie"`
	JSON   string `yaml:"json"`
	// Header and Field say where the token goes: a request header, a member of the
	// login body, or both.
	Header string `yaml:"header"`
	Field  string `yaml:"field"`
}

// SessionCarrier says how the session travels: a cookie, a header carrying the
// session id, or the id as a bearer token.
type SessionCarrier struct {
	Cookie string `yaml:"cookie"`
	Header string `yaml:"header"`
	Bearer bool   `yaml:"bearer"`
}

// Me is the who-am-I endpoint and where its answer holds the facts.
type Me struct {
	Path string `yaml:"path"`
	// Subject and Roles are paths, or paths with normalisers (adapter.Field).
	Subject adapter.Field `yaml:"subject"`
	Roles   adapter.Field `yaml:"roles"`
	// TTL is the path of the session's remaining lifetime in seconds, if any.
	TTL string `yaml:"ttl"`
}

// Renew is the keep-alive endpoint.
type Renew struct {
	Method string `yaml:"method"`
	Path   string `yaml:"path"`
	TTL    string `yaml:"ttl"`
}

// Service describes API-key service accounts: the header carrying the key and
// the who-am-I that lists the key's permissions.
type Service struct {
	Header string `yaml:"header"`
	// Scheme is the word before the key in the header, for stacks that want
	// "Authorization: ApiKey <key>" (header Authorization, scheme ApiKey).
	Scheme string `yaml:"scheme"`
	Whoami string `yaml:"whoami"`
	// Subject and Permissions are paths, or paths with normalisers.
	Subject     adapter.Field `yaml:"subject"`
	Permissions adapter.Field `yaml:"permissions"`
}

// Endpoint is a method and a path.
type Endpoint struct {
	Method string `yaml:"method"`
	Path   string `yaml:"path"`
}
