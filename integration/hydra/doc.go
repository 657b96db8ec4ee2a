// Package hydra runs Ory Hydra (Version), a standards OAuth 2.0 / OpenID Connect
// provider this project did not write, as a candidate stack on loopback: Start
// launches the binary that build.sh builds, with throwaway SQLite storage and a generated
// configuration, plus the small login/consent/logout app that every Hydra deployment
// provides itself. Clients are registered and tokens introspected through Hydra's
// admin API over HTTP; the package imports nothing of Hydra, so the project's module
// does not inherit Hydra's dependencies (those live in the nested tools module).
//
// What Hydra does differently from the embedded candidate stack, and so what an OIDC
// adapter must handle, is written down in README.md beside this file.
//
// It imports only personas; its tests drive it through run/rehearsal like any
// candidate.
package hydra
