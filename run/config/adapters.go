package config

import (
	"cmp"
	"errors"
	"path/filepath"
	"reflect"
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

// The adapter, journey and probe parts of the rehearsal file: defaults, checks,
// and the resolution of secret references.

func (f *File) adapterDefaults() {
	bg := &f.BreakGlass
	if bg.Action == "" {
		bg.Action = "read"
	}
	a := &f.Audit
	if a.Within == 0 {
		a.Within = 2 * time.Second
	}
	if a.Poll == 0 {
		a.Poll = 100 * time.Millisecond
	}
	if a.Skew == 0 {
		a.Skew = time.Second
	}
}

// secretRef is one secret reference of the file and the key path it sits at.
type secretRef struct {
	path []string
	ref  *adapter.SecretRef
}

// secretRefs lists every secret reference of the file.
func (f *File) secretRefs() []secretRef {
	var out []secretRef
	walkSecrets(reflect.ValueOf(&f.Stacks).Elem(), []string{"stacks"}, &out)
	return out
}

var secretRefType = reflect.TypeFor[adapter.SecretRef]()

// walkSecrets finds every secret reference under v, wherever a section holds one,
// with its YAML path, so that no reference added to a config type can be missed.
func walkSecrets(v reflect.Value, path []string, out *[]secretRef) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			walkSecrets(v.Elem(), path, out)
		}
	case reflect.Struct:
		if v.Type() == secretRefType {
			if r := v.Addr().Interface().(*adapter.SecretRef); r.Env != "" || r.File != "" {
				*out = append(*out, secretRef{slices.Clone(path), r})
			}
			return
		}
		for i := range v.NumField() {
			sf := v.Type().Field(i)
			name, _, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
			if !sf.IsExported() || name == "-" {
				continue
			}
			walkSecrets(v.Field(i), append(path, cmp.Or(name, strings.ToLower(sf.Name))), out)
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			walkSecrets(v.Index(i), append(path, strconv.Itoa(i)), out)
		}
	case reflect.Map:
		// Map values are not addressable: secret references live in structs only.
	}
}

// resolveSecrets resolves every secret reference through env (relative files from
// the folder of the rehearsal file) and reports every failure with its line.
func (f *File) resolveSecrets(env func(string) string) error {
	p := &problems{f: f}
	dir := filepath.Dir(f.Path)
	for _, r := range f.secretRefs() {
		if err := r.ref.Resolve(env, dir); err != nil {
			p.add(r.path, "%v", err)
		}
	}
	return errors.Join(p.errs...)
}

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

func (p *problems) checkTemplate(path []string, t adapter.RequestTemplate, allowed ...string) {
	if err := t.Check(); err != nil {
		p.add(path, "%v", err)
		return
	}
	for _, ph := range t.Placeholders() {
		if !slices.Contains(allowed, ph) {
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
	case "form":
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
		p.add(at("login", "mode"), "is %q; want form or json", l.Login.Mode)
	}
	if l.Login.Path == "" {
		p.add(at("login", "path"), "is empty")
	}
	s := l.Session
	switch {
	case s.Cookie == "" && s.Header == "" && !s.Bearer:
		p.add(at("session"), "names neither a cookie, a header nor bearer")
	case (s.Header != "" || s.Bearer) && l.Login.Mode == "json" && l.Login.SessionPath == "" && s.Cookie == "":
		p.add(at("login", "session_path"), "is empty: a header or bearer session needs the path of the session id in the login answer")
	}
	if l.Me.Path == "" || l.Me.Roles == "" {
		p.add(at("me"), "needs path and roles")
	}
	paths := map[string]string{
		"me.subject": l.Me.Subject, "me.roles": l.Me.Roles, "me.ttl": l.Me.TTL,
		"login.session_path": l.Login.SessionPath,
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
		paths["service.subject"], paths["service.permissions"] = sv.Subject, sv.Permissions
	}
	if bg := l.BreakGlass; bg != nil {
		f.validateHTTPBreakGlass(p, func(k ...string) []string { return at(append([]string{"breakglass"}, k...)...) }, bg)
	}
	p.checkPaths(at, paths)
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
	p.checkPaths(at, map[string]string{"events": a.Events, "kind": a.Kind, "actor": a.Actor, "subject": a.Subject})
	canonical := []string{adapter.AuditLogin, adapter.AuditLogout, adapter.AuditDeny,
		adapter.AuditBreakglassStart, adapter.AuditBreakglassAccess, adapter.AuditBreakglassEnd}
	for k := range a.Kinds {
		if !slices.Contains(canonical, k) {
			p.add(at("kinds", k), "%q is not an audit event kind (%s)", k, strings.Join(canonical, ", "))
		}
	}
	au := a.Auditor
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
	if in := o.Introspection; in != nil {
		if in.ClientID == "" {
			p.add(at("introspection", "client_id"), "is empty")
		}
		if in.Endpoint != "" {
			f.checkURL(p, at("introspection", "endpoint"), in.Endpoint)
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
}

// validateSteps checks a journey's step groups: known names, a session before
// the groups that need one, and the plans the groups rely on.
func (f *File) validateSteps(p *problems, at func(...string) []string, j journeys.Journey) {
	signedIn := false
	for k, s := range j.Steps {
		path := at("steps", strconv.Itoa(k))
		if !slices.Contains(journeys.StepGroups, s) {
			p.add(path, "%q is not a step (%s)", s, strings.Join(journeys.StepGroups, ", "))
			continue
		}
		if journeys.NeedsSession(s) && !signedIn {
			p.add(path, "%q needs a login or service step before it", s)
		}
		if s == journeys.StepsLogin || s == journeys.StepsService {
			signedIn = true
		}
		switch s {
		case journeys.StepsBreakglass:
			f.validateBreakGlassPlan(p)
		case journeys.StepsService:
			for i, kind := range j.Kinds {
				if kind != personas.Service {
					p.add(at("kinds", strconv.Itoa(i)), "%q runs the service step, which is for service personas", kind)
				}
			}
		}
	}
}

func (f *File) validateBreakGlassPlan(p *problems) {
	bg := f.BreakGlass
	at := func(k ...string) []string { return append([]string{"breakglass"}, k...) }
	if bg.Reason == "" {
		p.add(at("reason"), "is empty: the break-glass step needs the reason it gives")
	}
	typ, sel, ok := strings.Cut(bg.Resource, ":")
	if !ok || sel == "" {
		p.add(at("resource"), "is %q; want type:selector, e.g. record:unassigned", bg.Resource)
		return
	}
	for _, side := range []string{"legacy", "candidate"} {
		if _, ok := f.SideResources(side)[typ][bg.Action]; !ok {
			p.add(at("action"), "no %s request template for %s %s (resources.%s.%s)", side, bg.Action, typ, typ, bg.Action)
		}
	}
	if bg.MaxWait < 0 {
		p.add(at("max_wait"), "is %s; want >= 0", bg.MaxWait)
	}
}

// validatePlans checks the audit bounds and the request templates.
func (f *File) validatePlans(p *problems) {
	a := f.Audit
	if a.Within < 0 || a.Poll <= 0 || a.Skew < 0 {
		p.add([]string{"audit"}, "within %s, poll %s, skew %s: want within >= 0, poll > 0, skew >= 0", a.Within, a.Poll, a.Skew)
	}
	if f.Load.StepTimeout > 0 && a.Within >= f.Load.StepTimeout {
		p.add([]string{"audit", "within"}, "is %s; want less than load.step_timeout %s, or the step times out first", a.Within, f.Load.StepTimeout)
	}
	check := func(at []string, rs journeys.Resources) {
		for typ, actions := range rs {
			for action, t := range actions {
				p.checkTemplate(append(slices.Clone(at), typ, action), t, "id")
			}
		}
	}
	check([]string{"resources"}, f.Resources)
	check([]string{"stacks", "legacy", "resources"}, f.Stacks.Legacy.Resources)
	check([]string{"stacks", "candidate", "resources"}, f.Stacks.Candidate.Resources)
}
