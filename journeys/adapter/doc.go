// Package adapter holds what every stack adapter is built from: the session a
// login yields and the errors a stack answers with (the contract between the
// journeys and an adapter), and the pieces adapters share to speak HTTP to a
// stack described in configuration: requests and templates, HTML forms, RFC 9535
// JSONPath, secret references, audit feeds and break-glass calls.
//
// The journeys (package journeys) and each adapter (journeys/oidc,
// journeys/legacy) import it; it imports no other package of this module than
// personas, and never journeys or an adapter.
package adapter
