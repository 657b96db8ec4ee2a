// Package legacy is the declarative adapter for homegrown identity stacks: how a
// persona signs in (an HTML form with its CSRF fields, or JSON), how the session
// travels (cookie, header, bearer), the who-am-I that tells its roles, renew,
// logout, API-key service accounts, break-glass, the audit feed and the user
// directory, all described in configuration. A typical homegrown stack needs no
// Go.
//
// It implements the journeys' Stack interfaces without importing package journeys:
// it imports journeys/adapter and personas only, never the runner, loadgen or
// results.
package legacy
