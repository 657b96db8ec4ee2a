// Package oidc is the stack adapter for any OpenID Connect / OAuth 2 provider:
// discovery, sign-in (authorization code with PKCE S256 through the login form, or
// the password grant), tokens and their verification, refresh, logout (RFC 7009
// revocation, RP-initiated logout), RFC 7662 introspection, break-glass (token
// exchange, step-up or a custom call), client_credentials for service accounts, the
// SCIM directory and the audit feed. One flow per file.
//
// It implements the journeys' Stack interfaces without importing package journeys:
// it imports journeys/adapter and personas only, never the runner, loadgen or
// results.
package oidc
