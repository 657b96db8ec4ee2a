package config

import (
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cutover-dev/cutover/journeys"
	"github.com/cutover-dev/cutover/journeys/adapter"
	"github.com/cutover-dev/cutover/journeys/legacy"
	"github.com/cutover-dev/cutover/journeys/oidc"
	"github.com/cutover-dev/cutover/personas"
)

// checkPaths checks JSONPath queries; empty ones are skipped.
func (p *problems) checkPaths(at func(...string) []string, paths map[string]string) {
	keys := make([]string, 0, len(paths))
	for k := range paths {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if v := paths[k]; v != "" {
			if err := adapter.CheckPath(v); err != nil {
				p.add(at(strings.Split(k, ".")...), "%v", err)
			}
		}
	}
}

// checkFields checks fields (paths with normalisers) by their YAML keys.
func (p *problems) checkFields(at func(...string) []string, fields map[string]adapter.Field) {
	keys := slices.Sorted(maps.Keys(fields))
	for _, k := range keys {
		f := fields[k]
		if !f.IsZero() || f.StripPrefix != "" || f.StripSuffix != "" || f.Match != "" || f.Lower || len(f.Map) > 0 {
			if err := f.Check(); err != nil {
				p.add(at(strings.Split(k, ".")...), "%v", err)
			}
		}
	}
}

func (p *problems) checkTemplate(path []string, t adapter.RequestTemplate, allowed ...string) {
	if err := t.Check(); err != nil {
		p.add(path, "%v", err)
		return
	}
	for _, ph := range t.Placeholders() {
		prefix, _, dotted := strings.Cut(ph, ".")
		if !slices.Contains(allowed, ph) && !(dotted && slices.Contains(allowed, prefix+".*")) {
			p.add(path, "placeholder {%s} is not known here (known: %s)", ph, braces(allowed))
		}
	}
}

func braces(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = "{" + n + "}"
	}
	return strings.Join(out, ", ")
}

func (f *File) validateLegacy(p *problems, side func(...string) []string, l *legacy.Config) {
	at := func(k ...string) []string { return side(append([]string{"legacy"}, k...)...) }
	f.checkURL(p, at("base_url"), l.BaseURL)
	switch l.Login.Mode {
	case "form", "request":
	case "json":
		if x := l.Login.CSRF; x != nil {
			if (x.Cookie == "") == (x.JSON == "") {
				p.add(at("login", "csrf"), "name one source of the token: cookie or json")
			}
			if x.Header == "" && x.Field == "" {
				p.add(at("login", "csrf"), "name where the token goes: header, field or both")
			}
		}
	default:
		p.add(at("login", "mode"), "is %q; want form, json or request", l.Login.Mode)
	}
	if l.Login.Path == "" && l.Login.Mode != "request" {
		p.add(at("login", "path"), "is empty")
	}
	s := l.Session
	switch {
	case s.Cookie == "" && s.Header == "" && !s.Bearer:
		p.add(at("session"), "names neither a cookie, a header nor bearer")
	case (s.Header != "" || s.Bearer) && l.Login.Mode == "json" && l.Login.SessionPath == "" && s.Cookie == "":
		p.add(at("login", "session_path"), "is empty: a header or bearer session needs the path of the session id in the login answer")
	}
	if l.Me.Path == "" || l.Me.Roles.IsZero() {
		p.add(at("me"), "needs path and roles")
	}
	p.checkFields(at, map[string]adapter.Field{"me.subject": l.Me.Subject, "me.roles": l.Me.Roles})
	paths := map[string]string{
		"me.ttl":             l.Me.TTL,
		"login.session_path": l.Login.SessionPath,
		"login.ttl":          l.Login.TTL,
	}
	if l.Login.TTL != "" && l.Login.Mode != "json" && l.Login.Mode != "request" {
		p.add(at("login", "ttl"), "is read from the sign-in answer: it needs login.mode json or request")
	}
	if l.Login.Mode == "request" {
		if l.Login.Request == nil {
			p.add(at("login", "request"), "is missing: login.mode request sends it")
		} else {
			p.checkTemplate(at("login", "request"), *l.Login.Request, "username", "password")
		}
	}
	if l.Login.CSRF != nil {
		paths["login.csrf.json"] = l.Login.CSRF.JSON
	}
	if l.Renew != nil {
		if l.Renew.Path == "" {
			p.add(at("renew", "path"), "is empty")
		}
		paths["renew.ttl"] = l.Renew.TTL
	}
	if sv := l.Service; sv != nil {
		if sv.Whoami == "" {
			p.add(at("service", "whoami"), "is empty: the API key is checked and described there")
		}
		p.checkFields(at, map[string]adapter.Field{"service.subject": sv.Subject, "service.permissions": sv.Permissions})
	}
	if bg := l.BreakGlass; bg != nil {
		f.validateHTTPBreakGlass(p, func(k ...string) []string { return at(append([]string{"breakglass"}, k...)...) }, bg)
	}
	p.checkPaths(at, paths)
	if l.Directory != nil {
		validateHTTPDirectory(p, func(k ...string) []string { return at(append([]string{"directory"}, k...)...) }, l.Directory)
	}
	if l.Audit != nil {
		f.validateAudit(p, func(k ...string) []string { return at(append([]string{"audit"}, k...)...) }, l.Audit, false)
	}
}

func (f *File) validateHTTPBreakGlass(p *problems, at func(...string) []string, bg *adapter.HTTPBreakGlass) {
	p.checkTemplate(at("request"), bg.Request, "patient", "reason")
	if bg.End != nil {
		p.checkTemplate(at("end"), *bg.End, "grant_id")
		if bg.GrantID == "" {
			p.add(at("grant_id"), "is empty: ending a grant needs its id")
		}
	}
	p.checkPaths(at, map[string]string{"grant_id": bg.GrantID, "expires_in": bg.ExpiresIn, "token": bg.Token})
}

func (f *File) validateAudit(p *problems, at func(...string) []string, a *adapter.AuditConfig, oidc bool) {
	p.checkTemplate(at("feed"), a.Feed, "actor", "since")
	p.checkPaths(at, map[string]string{"events": a.Events})
	p.checkFields(at, map[string]adapter.Field{"kind": a.Kind, "actor": a.Actor, "subject": a.Subject})
	canonical := []string{adapter.AuditLogin, adapter.AuditLogout, adapter.AuditDeny,
		adapter.AuditBreakglassStart, adapter.AuditBreakglassAccess, adapter.AuditBreakglassEnd}
	for k := range a.Kinds {
		if !slices.Contains(canonical, k) {
			p.add(at("kinds", k), "%q is not an audit event kind (%s)", k, strings.Join(canonical, ", "))
		}
	}
	au := a.Auditor
	if oidc && (au.APIKey != nil || au.Header != "" || au.Scheme != "") {
		p.add(at("auditor", "api_key"), "is for legacy stacks: an oidc auditor is a persona kind or a client_id with client_secret")
	}
	switch {
	case au.Persona != "":
		if !au.Persona.Valid() {
			p.add(at("auditor", "persona"), "%q is not a persona kind (%v)", au.Persona, personas.Kinds)
		}
	case oidc && au.ClientID != "" && au.ClientSecret != nil:
	case !oidc && au.APIKey != nil:
	case oidc:
		p.add(at("auditor"), "names neither a persona kind nor a client_id with client_secret")
	default:
		p.add(at("auditor"), "names neither a persona kind nor an api_key")
	}
}

func (f *File) validateOIDC(p *problems, side func(...string) []string, o *oidc.Config) {
	at := func(k ...string) []string { return side(append([]string{"oidc"}, k...)...) }
	f.checkURL(p, at("issuer"), o.Issuer)
	if o.ClientID == "" {
		p.add(at("client_id"), "is empty")
	}
	if o.Login != "" && o.Login != "code" && o.Login != "password" {
		p.add(at("login"), "is %q; want code or password", o.Login)
	}
	if o.Login != "password" && o.RedirectURI == "" {
		p.add(at("redirect_uri"), "is empty: the code flow needs the registered redirect URI")
	}
	if o.APIBaseURL != "" {
		f.checkURL(p, at("api_base_url"), o.APIBaseURL)
	}
	for i, a := range o.Algorithms {
		if a == "none" || strings.HasPrefix(a, "HS") {
			p.add(at("algorithms", strconv.Itoa(i)), "%q is refused: tokens must be signed with the provider's private key", a)
		}
	}
	for i, m := range o.Logout {
		if m != oidc.LogoutRevoke && m != oidc.LogoutEndSession {
			p.add(at("logout", strconv.Itoa(i)), "is %q; want revoke or end_session", m)
		}
	}
	sources := []string{oidc.RolesFromAccessToken, oidc.RolesFromIntrospection, oidc.RolesFromIDToken, oidc.RolesFromUserinfo}
	for i, r := range o.RolesFrom {
		if !slices.Contains(sources, r) {
			p.add(at("roles_from", strconv.Itoa(i)), "is %q; want one of %s", r, strings.Join(sources, ", "))
		}
	}
	p.checkPaths(at, map[string]string{"roles_claim": o.RolesClaim})
	formats := []string{"", oidc.RolesFormatAuto, oidc.RolesFormatSpace, oidc.RolesFormatComma, oidc.RolesFormatList}
	if !slices.Contains(formats, o.RolesFormat) {
		p.add(at("roles_format"), "is %q; want auto, space, comma or list", o.RolesFormat)
	}
	switch li := o.LoginIdentifier; {
	case li == "", li == oidc.IdentifierUsername, li == oidc.IdentifierEmail:
	case strings.HasPrefix(li, oidc.IdentifierAttribute) && len(li) > len(oidc.IdentifierAttribute):
	default:
		p.add(at("login_identifier"), "is %q; want username, email or attribute:NAME (an attribute of the accounts file)", li)
	}
	checkClientAuth(p, at, o.ClientAuth, o.ClientSecret != nil, true)
	// The flow's own parameters are the harness's: set here they would break
	// PKCE, the state check or the client's authentication.
	reserved := []string{"response_type", "client_id", "redirect_uri", "state", "nonce", "code_challenge", "code_challenge_method",
		"response_mode", "grant_type", "code", "code_verifier", "refresh_token", "client_secret", "client_assertion", "client_assertion_type", "username", "password"}
	for _, params := range []struct {
		key string
		m   map[string]string
	}{{"authorization_params", o.AuthorizationParams}, {"token_params", o.TokenParams}} {
		for k := range params.m {
			if slices.Contains(reserved, k) {
				p.add(at(params.key, k), "is a parameter the harness sets itself; it cannot be configured")
			}
		}
	}
	if in := o.Introspection; in != nil {
		if in.ClientID == "" {
			p.add(at("introspection", "client_id"), "is empty")
		}
		checkClientAuth(p, func(k ...string) []string { return at(append([]string{"introspection"}, k...)...) }, in.ClientAuth, in.ClientSecret != nil, false)
		if st := in.ServiceTokens; st != "" && st != oidc.ServiceTokensIntrospectionClient && st != oidc.ServiceTokensOwnClient {
			p.add(at("introspection", "service_tokens"), "is %q; want introspection_client or own_client", st)
		}
		if in.Endpoint != "" {
			f.checkURL(p, at("introspection", "endpoint"), in.Endpoint)
		}
	}
	if sv := o.Service; sv != nil {
		sat := func(k ...string) []string { return at(append([]string{"service"}, k...)...) }
		checkClientAuth(p, sat, sv.ClientAuth, true, false)
		for id, k := range sv.PrivateKeys {
			checkClientAuth(p, func(kk ...string) []string { return sat(append([]string{"private_keys", id}, kk[1:]...)...) }, oidc.ClientAuth{AuthMethod: oidc.AuthPrivateKeyJWT, PrivateKey: k}, false, false)
		}
	}
	if bg := o.BreakGlass; bg != nil {
		switch bg.Method {
		case "token_exchange", "step_up":
		case "http":
			if bg.HTTP == nil {
				p.add(at("breakglass", "http"), "missing: method http needs the call")
			} else {
				f.validateHTTPBreakGlass(p, func(k ...string) []string { return at(append([]string{"breakglass", "http"}, k...)...) }, bg.HTTP)
			}
		default:
			p.add(at("breakglass", "method"), "is %q; want token_exchange, step_up or http", bg.Method)
		}
	}
	if o.Audit != nil {
		f.validateAudit(p, func(k ...string) []string { return at(append([]string{"audit"}, k...)...) }, o.Audit, true)
	}
	if d := o.Directory; d != nil && d.HTTP != nil {
		validateHTTPDirectory(p, func(k ...string) []string { return at(append([]string{"directory", "http"}, k...)...) }, d.HTTP)
	}
}

// checkClientAuth checks a client's auth_method against what it holds: a
// secret for the client_secret methods (unless public may be), a private key
// that parses for private_key_jwt.
func checkClientAuth(p *problems, at func(...string) []string, c oidc.ClientAuth, hasSecret, public bool) {
	switch c.AuthMethod {
	case "":
		if !hasSecret && c.PrivateKey == nil && !public {
			p.add(at("client_secret"), "is missing: the client authenticates with a secret (or auth_method private_key_jwt with private_key)")
		}
	case oidc.AuthNone:
	case oidc.AuthClientSecretBasic, oidc.AuthClientSecretPost:
		if !hasSecret {
			p.add(at("client_secret"), "is missing: auth_method %s sends it", c.AuthMethod)
		}
	case oidc.AuthPrivateKeyJWT:
		if c.PrivateKey == nil {
			p.add(at("private_key"), "is missing: auth_method private_key_jwt signs with it (a PEM-encoded RSA, EC or Ed25519 key)")
		}
	default:
		p.add(at("auth_method"), "is %q; want one of %s", c.AuthMethod, strings.Join(oidc.AuthMethods, ", "))
	}
	if a := c.AssertionAudience; a != "" && a != oidc.AudienceTokenEndpoint && a != oidc.AudienceIssuer {
		p.add(at("assertion_audience"), "is %q; want token_endpoint or issuer", a)
	}
	if c.PrivateKey != nil && c.PrivateKey.Secret().Reveal() != "" {
		if _, err := oidc.NewAssertionSigner("x", "x", "", []byte(c.PrivateKey.Secret().Reveal())); err != nil {
			p.add(at("private_key"), "%v", err)
		}
	}
}

func (f *File) validateSide(p *problems, name string, s Side) {
	at := func(k ...string) []string { return append([]string{"stacks", name}, k...) }
	if l := s.State.Lockout; l != nil && (l.Attempts < 1 || l.Duration <= 0) {
		p.add(at("lockout"), "attempts %d, duration %s: want attempts >= 1 and a duration > 0 (leave lockout out if the stack has none, or it is not known)", l.Attempts, l.Duration)
	}
	if s.ExpectLifetime < 0 {
		p.add(at("expect_lifetime"), "is %s; want a positive duration such as 600s", s.ExpectLifetime)
	}
	if s.PatientID != "" {
		p.checkTemplate(at("patient_id"), adapter.RequestTemplate{Path: "/" + s.PatientID}, "id", "attr.*")
	}
	if w := s.Waits; w.BeforeRefresh < 0 || w.BeforeReplay < 0 || w.BeforeRefresh+w.BeforeReplay > 10*time.Minute {
		p.add(at("waits"), "before_refresh %s, before_replay %s: want durations from 0 to a few minutes", w.BeforeRefresh, w.BeforeReplay)
	}
	if c := s.State.BreakGlassCovers; c != "" && !slices.Contains(journeys.GrantCovers, c) {
		p.add(at("breakglass_covers"), "is %q; want %s (what a live grant opens: every session of the persona, or only the credential it rides on)", c, strings.Join(journeys.GrantCovers, " or "))
	}
	switch s.Adapter {
	case "legacy":
		if s.Legacy == nil {
			p.add(at("legacy"), "missing: the legacy adapter needs its description")
			return
		}
		f.validateLegacy(p, at, s.Legacy)
	case "oidc":
		if s.OIDC == nil {
			p.add(at("oidc"), "missing: the oidc adapter needs its description")
			return
		}
		f.validateOIDC(p, at, s.OIDC)
	default:
		p.add(at("adapter"), "is %q; want legacy or oidc", s.Adapter)
	}
	if s.AuthZEN != nil {
		f.checkURL(p, at("authzen", "url"), s.AuthZEN.URL)
	}
}

// validateHTTPDirectory checks a plain HTTP directory.
func validateHTTPDirectory(p *problems, at func(...string) []string, d *adapter.HTTPDirectory) {
	p.checkTemplate(at("request"), d.Request)
	p.checkPaths(at, map[string]string{"users": d.Users})
	p.checkFields(at, map[string]adapter.Field{"id": d.ID, "username": d.Username, "roles": d.Roles})
	if d.As != "" && !d.As.Valid() {
		p.add(at("as"), "%q is not a persona kind (%v)", d.As, personas.Kinds)
	}
}
