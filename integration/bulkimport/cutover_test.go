// Package bulkimport_test rehearses the demo against an embedded candidate
// provisioned the way a candidate without SCIM is: from the file `cutover
// personas export` writes, through the candidate's bulk import API (Auth0's
// users-imports job, Keycloak's partial import), the passwords as hashes it
// verifies at sign-in.
package bulkimport_test

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"slices"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/cutover-dev/cutover/examples"
	"github.com/cutover-dev/cutover/integration/internal/itest"
	"github.com/cutover-dev/cutover/personas"
	"github.com/cutover-dev/cutover/results/analysis"
	"github.com/cutover-dev/cutover/run/config"
	"github.com/cutover-dev/cutover/run/rehearsal"
	"github.com/cutover-dev/cutover/stacks"
)

// TestCleanRehearsalAfterBulkImport: the demo's population exported, imported
// into a candidate that holds none of its users, and the demo rehearsed on it:
// the directories agree (no PROVISIONING_DRIFT), every persona signs in, and
// no parity finding comes up, as against a candidate seeded from legacy.
func TestCleanRehearsalAfterBulkImport(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a rehearsal on the embedded stacks")
	}
	for _, tt := range []struct {
		name string
		opt  personas.ExportOptions
	}{
		// The legacy hashes as they are: bcrypt, and salted SHA-256 rehashed
		// at the first sign-in.
		{"auth0 cohort", personas.ExportOptions{Format: personas.ExportAuth0, Hash: personas.HashCohort, BcryptCost: bcrypt.MinCost}},
		{"keycloak pbkdf2", personas.ExportOptions{Format: personas.ExportKeycloak, PBKDF2Iterations: 1000}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sum := rehearseBulkImported(t, tt.opt)
			var parity []analysis.Class
			for _, f := range sum.Findings {
				if !f.Class.Performance() && !slices.Contains(parity, f.Class) {
					parity = append(parity, f.Class)
				}
			}
			if len(parity) > 0 {
				t.Errorf("parity findings %v against a candidate provisioned by bulk import; want none", parity)
			}
			for _, n := range sum.Notices {
				if n.Class == analysis.ProvisioningDrift {
					t.Errorf("PROVISIONING_DRIFT: %+v", n)
				}
			}
			if sum.Compared == 0 {
				t.Error("nothing compared")
			}
		})
	}
}

// rehearseBulkImported starts the embedded stacks with the demo's population,
// the candidate without its users, provisions them from an export made with
// opt, and runs the demo, shortened, on the pair.
func rehearseBulkImported(t *testing.T, opt personas.ExportOptions) *analysis.Summary {
	t.Helper()
	draft, err := config.Parse("examples/demo.yaml", examples.Demo, examples.DemoEnv(nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	pop, err := rehearsal.Population(draft)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := stacks.Start(t.Context(), stacks.Options{Population: pop, Seed: draft.Seed, CandidateWithoutUsers: true, BreakGlassTTL: 4 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pair.Close() })

	roles := draft.Stacks.Legacy.Legacy.RoleMap
	opt.MapRoles = func(legacy string) []string { return roles[legacy] }
	var file bytes.Buffer
	res, err := personas.Export(&file, pop, opt)
	if err != nil {
		t.Fatal(err)
	}
	if n := bulkImport(t, pair, opt.Format, file.Bytes()); n != res.Users {
		t.Fatalf("the candidate took %d users of %d", n, res.Users)
	}

	cfg, err := config.Parse("examples/demo.yaml", examples.Demo, examples.DemoEnv(pair, nil))
	if err != nil {
		t.Fatal(err)
	}
	// As the rehearsal package's tests run the demo: a constant rate (the
	// break-glass journeys need idle clinicians), room for a loaded machine.
	cfg.Load.Profile = config.Profile{Type: config.ProfileConstant, Rate: 30}
	cfg.Load.Duration = 3 * time.Second
	cfg.Load.Drain = 20 * time.Second
	cfg.Thresholds.LatencyMinDelta = 50 * time.Millisecond
	sum, out := itest.Rehearse(t, cfg, &pop)
	secrets := []string{pair.IntrospectionClientSecret.Reveal(), pair.ProvisionerClientSecret.Reveal()}
	for _, p := range pop.Personas {
		secrets = append(secrets, p.Secret.Reveal())
	}
	itest.NoSecrets(t, out, secrets)
	return sum
}

// bulkImport sends an export file to the candidate's import API of its
// format, as its provisioner, and returns how many users it added.
func bulkImport(t *testing.T, pair *stacks.Pair, f personas.ExportFormat, file []byte) int {
	t.Helper()
	tok, err := pair.ProvisionerToken(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	path, ctype := "/admin/realms/cutover/partialImport", "application/json"
	if f == personas.ExportKeycloak {
		body.Write(file)
	} else {
		mw := multipart.NewWriter(&body)
		fw, err := mw.CreateFormFile("users", "users.json")
		if err != nil {
			t.Fatal(err)
		}
		_, _ = fw.Write(file)
		_ = mw.Close()
		path, ctype = "/api/v2/jobs/users-imports", mw.FormDataContentType()
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, pair.CandidateURL+path, &body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("Authorization", "Bearer "+tok.Reveal())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var answer struct {
		Added   int `json:"added"`
		Summary struct {
			Inserted, Failed int
		} `json:"summary"`
	}
	if err := json.Unmarshal(b, &answer); err != nil || resp.StatusCode != http.StatusOK || answer.Summary.Failed > 0 {
		t.Fatalf("bulk import = %d %s", resp.StatusCode, b)
	}
	return answer.Added + answer.Summary.Inserted
}
