// Package zitadel_test runs the example OpenID Provider of zitadel/oidc
// (github.com/zitadel/oidc/v3, Apache-2.0), a certified OP library this project
// did not write, as the candidate stack, inside the test binary: its example
// server packages (exampleop, storage) with this file's storage for the
// personas, their roles and the service clients. What it does differently from
// the embedded candidate is written down in examples/zitadel/rehearsal.yaml.
package zitadel_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"

	"github.com/cutover-dev/cutover/personas"
)

// Version is the zitadel/oidc release these tests run.
const Version = "v3.52.0"

// users is the example storage's UserStore over the personas.
type users struct {
	byID, byName map[string]*storage.User
}

func (u users) GetUserByID(id string) *storage.User         { return u.byID[id] }
func (u users) GetUserByUsername(name string) *storage.User { return u.byName[name] }
func (u users) ExampleClientID() string                     { return "" }

// serviceClient is a service persona's client: the example storage's web
// client, allowed client_credentials.
type serviceClient struct {
	*storage.Client
	secret  string
	subject string
}

func (c serviceClient) GrantTypes() []oidc.GrantType {
	return []oidc.GrantType{oidc.GrantTypeClientCredentials}
}

// store is the example storage with this test's personas: human users with
// their roles (in the candidate's vocabulary) put in introspection answers and
// userinfo as "roles", and one confidential client per service persona.
type store struct {
	*storage.Storage
	roles    map[string][]string
	services map[string]serviceClient
}

// OP is the example provider on loopback.
type OP struct {
	Issuer string
	// HarnessSecret is the harness client's secret: the example provider
	// lets a client introspect only the tokens whose audience it is, so the
	// harness introspects its own tokens.
	HarnessSecret personas.Secret
}

// startOP starts the example provider with the human personas (roles already
// mapped to the candidate's names by roles), the service personas as
// client_credentials clients, and the harness client harnessID (confidential,
// redirect URI redirect).
func startOP(t *testing.T, pop personas.Population, roles func(personas.Persona) []string, harnessID, harnessSecret, redirect string) *OP {
	t.Helper()
	u := users{byID: map[string]*storage.User{}, byName: map[string]*storage.User{}}
	s := &store{roles: map[string][]string{}, services: map[string]serviceClient{}}
	clients := map[string]*storage.Client{harnessID: storage.WebClient(harnessID, harnessSecret, redirect)}
	for _, p := range pop.Personas {
		if !p.Human() {
			// A web client so that it may introspect the tokens issued to it.
			c := storage.WebClient(p.Username, p.Secret.Reveal(), "http://localhost/unused")
			clients[p.Username] = c
			s.services[p.Username] = serviceClient{Client: c, secret: p.Secret.Reveal(), subject: p.ID}
			// A subject the example's introspection can describe; it signs
			// in by no username.
			u.byID[p.ID] = &storage.User{ID: p.ID, PreferredLanguage: language.English}
			continue
		}
		user := &storage.User{ID: p.ID, Username: p.Username, Password: p.Secret.Reveal(), Email: p.Email, EmailVerified: true, PreferredLanguage: language.English}
		u.byID[p.ID], u.byName[p.Username] = user, user
		s.roles[p.ID] = roles(p)
	}
	s.Storage = storage.NewStorageWithClients(u, clients)
	srv := httptest.NewUnstartedServer(nil)
	issuer := "http://" + srv.Listener.Addr().String()
	router := exampleop.SetupServer(issuer, s, slog.New(slog.DiscardHandler), false)
	srv.Config.Handler = serialised(router)
	srv.Start()
	t.Cleanup(srv.Close)
	return &OP{Issuer: issuer, HarnessSecret: personas.NewSecret(harnessSecret)}
}

// serialised serves one request at a time: the example storage reads some of
// its maps without its lock (GetRefreshTokenInfo), which the race detector
// would report under concurrent journeys. The provider's speed is not what
// these tests measure.
func serialised(h http.Handler) http.Handler {
	var mu sync.Mutex
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

// SetIntrospectionFromToken adds the user's roles to the example's answer.
func (s *store) SetIntrospectionFromToken(ctx context.Context, in *oidc.IntrospectionResponse, tokenID, subject, clientID string) error {
	if err := s.Storage.SetIntrospectionFromToken(ctx, in, tokenID, subject, clientID); err != nil {
		return err
	}
	if roles, ok := s.roles[subject]; ok {
		if in.Claims == nil {
			in.Claims = map[string]any{}
		}
		in.Claims["roles"] = slices.Clone(roles)
	}
	return nil
}

// SetUserinfoFromToken adds the user's roles to userinfo.
func (s *store) SetUserinfoFromToken(ctx context.Context, info *oidc.UserInfo, tokenID, subject, origin string) error {
	if err := s.Storage.SetUserinfoFromToken(ctx, info, tokenID, subject, origin); err != nil {
		return err
	}
	if roles, ok := s.roles[subject]; ok {
		info.AppendClaims("roles", slices.Clone(roles))
	}
	return nil
}

var errWrongClient = errors.New("wrong service client or secret")

// ClientCredentials authenticates a service persona's client.
func (s *store) ClientCredentials(_ context.Context, clientID, clientSecret string) (op.Client, error) {
	c, ok := s.services[clientID]
	if !ok || c.secret != clientSecret {
		return nil, errWrongClient
	}
	return c, nil
}

// ClientCredentialsTokenRequest issues a service persona's token for the
// scopes it asks: its subject is the persona, its audience its client.
func (s *store) ClientCredentialsTokenRequest(_ context.Context, clientID string, scopes []string) (op.TokenRequest, error) {
	c, ok := s.services[clientID]
	if !ok {
		return nil, errWrongClient
	}
	return &oidc.JWTTokenRequest{Subject: c.subject, Audience: []string{clientID}, Scopes: scopes}, nil
}
