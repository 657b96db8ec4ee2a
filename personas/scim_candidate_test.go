// The SCIM round trip against the embedded candidate of stacks/; scim_test.go tests
// the same client against an in-test server of the same contract.

package personas_test

import (
	"context"
	"testing"

	"github.com/cutover-dev/cutover/personas"
	"github.com/cutover-dev/cutover/stacks"
)

// embeddedRoles is the legacy -> candidate role mapping of the embedded candidate
// (stacks/candidate/rolemap.json).
func embeddedRoles(legacy string) []string {
	return map[string][]string{
		"patient": {"patient"}, "clinician": {"clinician"}, "breakglass-eligible": {"breakglass"},
		"admin": {"admin"}, "billing-clerk": {"billing"}, "auditor": {"auditor"},
	}[legacy]
}

// startCandidate starts the embedded pair seeded with base and returns it with a
// SCIM client holding a provisioner token from client_credentials.
func startCandidate(t *testing.T, base personas.Population, drifts string) (*stacks.Pair, *personas.SCIMClient) {
	t.Helper()
	d, err := stacks.ParseDrifts(drifts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	pair, err := stacks.Start(ctx, stacks.Options{Population: base, Drifts: d})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := pair.ProvisionerToken(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return pair, &personas.SCIMClient{BaseURL: pair.CandidateURL + "/scim/v2", Token: tok, MapRoles: embeddedRoles}
}

func legacyUsers(pair *stacks.Pair) []personas.StackUser {
	var out []personas.StackUser
	for _, u := range pair.Legacy.Users() {
		out = append(out, personas.StackUser{ID: u.ID, Username: u.Username, Roles: u.Roles})
	}
	return out
}

func TestSCIMEmbeddedCandidate(t *testing.T) {
	ctx := context.Background()
	base, err := personas.Generate(1, personas.GenerateOptions{Count: 40, UnassignedShare: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	pair, c := startCandidate(t, base, "")
	n := humans(base)

	users, err := c.Users(ctx)
	if err != nil {
		t.Fatalf("Users = %v", err)
	}
	if d := personas.Parity(base, legacyUsers(pair), users, embeddedRoles); len(d) != 0 {
		t.Fatalf("Parity of the seeded pair = %v; want none", d)
	}
	// Seeded already: every create is a 409, looked up and found unchanged.
	res, err := c.Provision(ctx, base)
	if want := (personas.ProvisionResult{Unchanged: n, Skipped: len(base.Personas) - n}); err != nil || res != want {
		t.Fatalf("Provision(seeded) = %+v, %v; want %+v", res, err, want)
	}

	// New personas through SCIM: created, then known to the candidate with mapped roles.
	extra, err := personas.Generate(2, personas.GenerateOptions{Count: 30})
	if err != nil {
		t.Fatal(err)
	}
	res, err = c.Provision(ctx, extra)
	if want := (personas.ProvisionResult{Created: humans(extra), Skipped: len(extra.Personas) - humans(extra)}); err != nil || res != want {
		t.Fatalf("Provision(extra) = %+v, %v; want %+v", res, err, want)
	}
	users, err = c.Users(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d := personas.Parity(extra, usersOf(extra, nil), users, embeddedRoles); len(d) != 0 {
		t.Errorf("Parity(extra) after provisioning = %v; want none", d)
	}
	// Idempotent.
	if res, err = c.Provision(ctx, extra); err != nil || res.Unchanged != humans(extra) {
		t.Errorf("Provision(extra) again = %+v, %v; want all unchanged", res, err)
	}
	deleted, err := c.Deprovision(ctx, extra)
	if err != nil || deleted != humans(extra) {
		t.Errorf("Deprovision(extra) = %d, %v; want %d", deleted, err, humans(extra))
	}
	users, _ = c.Users(ctx)
	if d := personas.Parity(extra, usersOf(extra, nil), users, embeddedRoles); len(d) != humans(extra) {
		t.Errorf("Parity(extra) after deprovisioning = %d drifts; want %d missing", len(d), humans(extra))
	}
	if d := personas.Parity(base, legacyUsers(pair), users, embeddedRoles); len(d) != 0 {
		t.Errorf("Parity(base) after deprovisioning extra = %v; want none", d)
	}
}

func TestSCIMEmbeddedCandidateDrift(t *testing.T) {
	base, err := personas.Generate(1, personas.GenerateOptions{Count: 40})
	if err != nil {
		t.Fatal(err)
	}
	pair, c := startCandidate(t, base, "role-map-billing-admin")
	users, err := c.Users(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	d := personas.Parity(base, legacyUsers(pair), users, embeddedRoles)
	for _, x := range d {
		t.Logf("%v", x)
	}
	if len(d) != len(base.ByKind(personas.Billing)) {
		t.Errorf("Parity under role-map-billing-admin = %d drifts; want one per billing clerk (%d)", len(d), len(base.ByKind(personas.Billing)))
	}
}
