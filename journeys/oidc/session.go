package oidc

import (
	"context"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/cutover-dev/cutover/journeys/adapter"
)

// session builds a session from a token answer: the credential, and the facts
// from the verified access token (or introspection of an opaque one). prev, on a
// refresh, lends what the answer may omit: the refresh token, the ID token, the
// single sign-on cookies. human sessions look roles up; service sessions do not.
func (o *Adapter) session(ctx context.Context, tok *tokenResponse, prev *adapter.Session, human bool) (*adapter.Session, error) {
	return o.sessionVia(ctx, tok, prev, human, o.introAuth)
}

// sessionVia is session, an opaque access token introspected by the client via.
func (o *Adapter) sessionVia(ctx context.Context, tok *tokenResponse, prev *adapter.Session, human bool, via adapter.ClientAuth) (*adapter.Session, error) {
	s := &adapter.Session{Cred: adapter.Credential{
		Header: "Authorization", Value: "Bearer " + tok.AccessToken, Access: tok.AccessToken,
		Refresh: tok.RefreshToken, IDToken: tok.IDToken,
	}}
	if prev != nil {
		if s.Cred.Refresh == "" {
			s.Cred.Refresh = prev.Cred.Refresh
		}
		if s.Cred.IDToken == "" {
			s.Cred.IDToken = prev.Cred.IDToken
		}
		s.Cred.Jar, s.Cred.Who = prev.Cred.Jar, prev.Cred.Who
	}
	named := tok.Scope != nil
	if named {
		s.Scopes = strings.Fields(*tok.Scope)
	}
	if tok.ExpiresIn > 0 {
		s.TTL = time.Duration(tok.ExpiresIn) * time.Second
	}
	facts, err := o.accessFacts(ctx, tok.AccessToken, via)
	if err != nil {
		return nil, err
	}
	if facts.id, err = o.idToken(ctx, tok, prev); err != nil {
		return nil, err
	}
	if facts.claims != nil {
		if facts.jwt {
			for _, c := range o.cfg.RequiredClaims {
				if c == o.cfg.RolesClaim && !human {
					continue
				}
				if _, err := adapter.Lookup(facts.claims, c); err != nil {
					s.MissingClaims = append(s.MissingClaims, c)
				}
			}
		}
		s.Subject, _ = facts.claims["sub"].(string)
		_, inScope := facts.claims["scope"]
		_, inScp := facts.claims["scp"]
		named = named || inScope || inScp
		if sc, err := adapter.StringsAt(facts.claims, "scope"); err == nil && len(sc) > 0 {
			s.Scopes = sc
		} else if sc, err := adapter.StringsAt(facts.claims, "scp"); err == nil && len(sc) > 0 {
			s.Scopes = sc
		}
		if ttl, ok := lifetime(facts.claims); ok {
			s.TTL = ttl
		}
	} else if tok.ExpiresIn == 0 {
		s.TTL = -1 // neither the answer nor the token says when it ends
	}
	if s.Subject == "" && facts.id != nil {
		// An opaque access token nobody introspects: the ID token says who
		// signed in (OIDC Core s2), the same subject the token was issued for.
		s.Subject, _ = facts.id["sub"].(string)
	}
	if !named {
		// Neither the answer nor the token names a scope: the grant is what
		// was asked for (RFC 6749 s5.1: scope may be left out when it is
		// identical to the request's).
		s.Scopes = slices.Clone(tok.requested)
	}
	slices.Sort(s.Scopes)
	s.Scopes = slices.Compact(s.Scopes)
	if human {
		if s.Roles, err = o.roles(ctx, s, facts); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// lifetime is exp - iat of a token or introspection answer.
func lifetime(claims map[string]any) (time.Duration, bool) {
	exp, ok1 := claims["exp"].(float64)
	iat, ok2 := claims["iat"].(float64)
	if !ok1 || !ok2 {
		return 0, false
	}
	return time.Duration(exp-iat) * time.Second, true
}

// accessFacts are the claims of an access token: verified from a JWT, or the
// introspection answer for an opaque token (nil when the provider cannot be asked).
type accessFacts struct {
	claims map[string]any
	jwt    bool
	// introspected reports that claims came from introspection.
	introspected bool
	// id holds the claims of the session's ID token: validated when the answer
	// brought one, carried over from the sign-in on a refresh that did not.
	id map[string]any
}

func (o *Adapter) accessFacts(ctx context.Context, access string, via adapter.ClientAuth) (accessFacts, error) {
	if strings.Count(access, ".") == 2 {
		claims, err := o.validate(ctx, access, expected{kind: adapter.TokenAccess, audience: o.cfg.Audience})
		if err != nil {
			return accessFacts{}, err
		}
		return accessFacts{claims: claims, jwt: true}, nil
	}
	if o.cfg.Introspection == nil || o.meta.IntrospectionEndpoint == "" {
		return accessFacts{}, nil
	}
	doc, err := o.introspectAs(ctx, access, "access_token", via)
	if err != nil {
		return accessFacts{}, err
	}
	if active, _ := doc["active"].(bool); !active {
		return accessFacts{}, adapter.ProtocolErr("oidc introspection", "a token just issued is not active to client %s: a provider may let a client introspect only the tokens issued to it or to its audience (introspect with the harness client: introspection.client_id = client_id; service tokens: introspection.service_tokens: own_client)", via.ID)
	}
	return accessFacts{claims: doc, introspected: true}, nil
}

// idToken validates the ID token of a token answer (OIDC Core s3.1.3.7; on a
// refresh, s12.2: the same subject as the sign-in's) and returns its claims. A
// refresh answer without one keeps the sign-in's, validated then.
func (o *Adapter) idToken(ctx context.Context, tok *tokenResponse, prev *adapter.Session) (map[string]any, error) {
	if tok.IDToken == "" {
		if prev == nil || prev.Cred.IDToken == "" {
			return nil, nil
		}
		return unverifiedClaims(prev.Cred.IDToken), nil
	}
	want := expected{kind: adapter.TokenID, nonce: tok.nonce, access: tok.AccessToken, code: tok.code}
	if prev != nil && prev.Cred.IDToken != "" {
		first := unverifiedClaims(prev.Cred.IDToken)
		want.subject, _ = first["sub"].(string)
		if n, ok := first["nonce"].(string); ok {
			// A refreshed ID token should carry no nonce; one that does carries the
			// sign-in's (OIDC Core s12.2). The absent case is checked only where a
			// nonce was sent.
			if _, has := unverifiedClaims(tok.IDToken)["nonce"]; has {
				want.nonce = n
			}
		}
	}
	claims, err := o.validate(ctx, tok.IDToken, want)
	if err != nil {
		return nil, err
	}
	return claims, nil
}

// roles looks the session's roles up in the configured sources, in order; the
// first source that holds the roles claim wins.
func (o *Adapter) roles(ctx context.Context, s *adapter.Session, facts accessFacts) ([]string, error) {
	for _, src := range o.cfg.RolesFrom {
		var doc map[string]any
		switch src {
		case RolesFromAccessToken:
			if facts.jwt {
				doc = facts.claims
			}
		case RolesFromIntrospection:
			if facts.introspected {
				doc = facts.claims
			}
		case RolesFromIDToken:
			doc = facts.id
		case RolesFromUserinfo:
			if o.meta.UserinfoEndpoint != "" {
				var err error
				if doc, err = o.userinfo(ctx, s); err != nil {
					return nil, err
				}
			}
		}
		if doc == nil {
			continue
		}
		if roles, ok := o.rolesIn(doc); ok {
			return adapter.MapRoles(roles, nil), nil
		}
	}
	return []string{}, nil
}

// rolesIn reads the roles claim of doc in the configured format: a JSON array
// of names, one string split at commas and/or whitespace (roles_format), or an
// object whose keys are the roles.
func (o *Adapter) rolesIn(doc map[string]any) ([]string, bool) {
	nodes, err := adapter.ValuesAt(doc, o.cfg.RolesClaim)
	if err != nil || len(nodes) == 0 {
		return nil, false
	}
	out := []string{}
	add := func(s string) {
		var parts []string
		switch o.cfg.RolesFormat {
		case RolesFormatList:
			parts = []string{s}
		case RolesFormatSpace:
			parts = strings.Fields(s)
		case RolesFormatComma:
			parts = strings.Split(s, ",")
		default:
			parts = strings.FieldsFunc(s, func(r rune) bool { return r == ',' || unicode.IsSpace(r) })
		}
		for _, p := range parts {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	for _, v := range nodes {
		switch t := v.(type) {
		case string:
			add(t)
		case []any:
			for _, e := range t {
				if s, ok := e.(string); ok && strings.TrimSpace(s) != "" {
					out = append(out, strings.TrimSpace(s)) // an array's names are kept whole
				}
			}
		case map[string]any:
			// Roles as the keys of an object, each naming where the role holds
			// (Zitadel's urn:zitadel:iam:org:project:roles) or true. An object
			// of anything else is not a role list (roles_claim: realm_access
			// rather than realm_access.roles).
			for k, v := range t {
				switch v := v.(type) {
				case map[string]any:
					out = append(out, k)
				case bool:
					if v {
						out = append(out, k)
					}
				default:
					return nil, false
				}
			}
		case nil:
		default:
			return nil, false
		}
	}
	if len(out) == 0 && slices.ContainsFunc(nodes, func(v any) bool { return v == nil }) {
		return nil, false // "roles": null is no claim
	}
	return out, true
}

func (o *Adapter) userinfo(ctx context.Context, s *adapter.Session) (map[string]any, error) {
	var doc map[string]any
	if err := adapter.GetJSON(ctx, o.tr, o.meta.UserinfoEndpoint, s, "oidc userinfo", &doc); err != nil {
		return nil, err
	}
	return doc, nil
}
