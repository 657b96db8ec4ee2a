package homegrown_test

import (
	"bytes"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cutover-dev/cutover/integration/homegrown"
	"github.com/cutover-dev/cutover/integration/internal/itest"
	"github.com/cutover-dev/cutover/results/analysis"
	"github.com/cutover-dev/cutover/results/record"
	"github.com/cutover-dev/cutover/run/config"
	"github.com/cutover-dev/cutover/run/rehearsal"
	"github.com/cutover-dev/cutover/stacks"
)

// rehearsalFile is the sample rehearsal file these tests run.
const rehearsalFile = "../../examples/homegrown/rehearsal.yaml"

// setup says how a run differs from the sample file.
type setup struct {
	drifts  string        // the embedded candidate's
	slowAPI time.Duration // added to every answer of the candidate's resource server
	edit    func(*config.File)
	// api, when set, is told the URL the candidate's resources were reached at.
	api *string
}

// rehearse starts Meridian and the embedded candidate with the file's personas
// and runs the file against them.
func rehearse(t *testing.T, s setup) (*analysis.Summary, string) {
	t.Helper()
	draft, _, err := config.ReadOffline(rehearsalFile, itest.Env(nil))
	if err != nil {
		t.Fatalf("config.ReadOffline(%s): %v", rehearsalFile, err)
	}
	pop, err := rehearsal.Population(draft)
	if err != nil {
		t.Fatal(err)
	}
	drifts, err := stacks.ParseDrifts(s.drifts)
	if err != nil {
		t.Fatal(err)
	}
	const box = 4 * time.Second // short time boxes, so the end of emergency access is checked too
	pair, err := stacks.Start(t.Context(), stacks.Options{Population: pop, Drifts: drifts, BreakGlassTTL: box})
	if err != nil {
		t.Fatalf("stacks.Start: %v", err)
	}
	t.Cleanup(func() { _ = pair.Close() })
	key := itest.Secret(t)
	meridian := httptest.NewServer(homegrown.New(pop, key, homegrown.Options{EmergencyTTL: box}))
	t.Cleanup(meridian.Close)
	api := pair.CandidateURL
	if s.slowAPI > 0 {
		api = slowProxy(t, pair.CandidateURL, s.slowAPI)
	}
	if s.api != nil {
		*s.api = api
	}
	env := map[string]string{
		"MERIDIAN_URL": meridian.URL, "MERIDIAN_COMPLIANCE_KEY": key,
		"CUTOVER_CANDIDATE_URL": pair.CandidateURL, "CUTOVER_CANDIDATE_API": api,
		"CUTOVER_INTROSPECTION_SECRET": pair.IntrospectionClientSecret.Reveal(),
		"CUTOVER_PROVISIONER_SECRET":   pair.ProvisionerClientSecret.Reveal(),
	}
	cfg, err := config.Read(rehearsalFile, itest.Env(env))
	if err != nil {
		t.Fatalf("config.Read(%s): %v", rehearsalFile, err)
	}
	if s.edit != nil {
		s.edit(cfg)
		if err := cfg.Validate(); err != nil {
			t.Fatal(err)
		}
	}
	out := t.TempDir()
	var log bytes.Buffer
	sum, err := rehearsal.Run(t.Context(), cfg, rehearsal.Options{Out: out, Log: &log, Version: "test"})
	if err != nil {
		t.Fatalf("rehearsal.Run: %v\n%s", err, log.String())
	}
	if sum.Meta.Aborted != "" {
		t.Fatalf("run aborted: %s", sum.Meta.Aborted)
	}
	secrets := []string{key, pair.IntrospectionClientSecret.Reveal(), pair.ProvisionerClientSecret.Reveal()}
	for _, p := range pop.Personas {
		secrets = append(secrets, p.Secret.Reveal())
	}
	itest.NoSecrets(t, out, secrets)
	return sum, out
}

// slowProxy fronts target with a proxy that answers every request d late: a
// resource server on a host of its own, and a slow one.
func slowProxy(t *testing.T, target string, d time.Duration) string {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func describe(s *analysis.Summary) string {
	var b strings.Builder
	b.WriteString("verdict " + string(s.Verdict))
	for _, r := range s.Inconclusive {
		b.WriteString("\n  inconclusive: " + r)
	}
	for _, p := range s.Preconditions {
		b.WriteString("\n  precondition: " + string(p.Side) + " " + p.Step + ": " + p.Error)
	}
	for _, f := range s.Findings {
		ex := f.Detail
		if len(f.Examples) > 0 {
			ex = f.Examples[0].Text()
		}
		b.WriteString("\n  finding " + string(f.Class) + " " + f.Journey + "/" + f.Step + " " + f.PersonaKind + ": " + ex)
	}
	for _, c := range s.Causes {
		b.WriteString("\n  cause " + c.ID + " " + c.Title)
	}
	for _, n := range s.Notices {
		b.WriteString("\n  notice " + n.Detail)
	}
	return b.String()
}

// parityClasses are the findings of a run that are not about speed: on
// stacks that share the test's two cores with the harness, latency measures
// the machine as much as the stacks (the slow resource server case judges it
// with a signal far above that noise).
func parityClasses(s *analysis.Summary) []string {
	var out []string
	for _, f := range s.Findings {
		if !f.Class.Performance() {
			out = append(out, string(f.Class))
		}
	}
	return out
}

// personaCauses are the causes about personas, as "factor classes".
func personaCauses(s *analysis.Summary) []string {
	var out []string
	for _, c := range s.Causes {
		if c.Level != analysis.LevelStep {
			out = append(out, causeLine(c))
		}
	}
	return out
}

func causeLine(c analysis.Cause) string {
	f := c.ExplainedBy
	if len(c.Factors) > 0 {
		f = c.FactorText()
	}
	return f + " " + strings.Join(c.ClassNames(), "+")
}

func stepOf(s *analysis.Summary, journey, step string) analysis.StepSummary {
	for _, st := range s.Steps {
		if st.Journey == journey && st.Step == step {
			return st
		}
	}
	return analysis.StepSummary{}
}

// TestMeridianIsSilentAgainstItself: the homegrown stack on both sides (mode
// aa) and against a clean candidate gives no parity finding: every shape of
// it (SOAP sign-in and fault, ticket header, XML who-am-I, record numbers,
// epoch-millisecond audit with prefixed subjects, API keys after a scheme,
// two machine accounts with opposite rights) is read as configured.
func TestMeridianIsSilentAgainstItself(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two rehearsals")
	}
	for _, tt := range []struct {
		name string
		edit func(*config.File)
	}{
		{"aa", func(cfg *config.File) { cfg.Mode = config.ModeAA }},
		{"clean candidate", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sum, _ := rehearse(t, setup{edit: tt.edit})
			if got := parityClasses(sum); len(got) > 0 {
				t.Errorf("findings %q; want none\n%s", got, describe(sum))
			}
			if len(sum.Notices) > 0 || len(sum.Preconditions) > 0 {
				t.Errorf("notices or preconditions; want none\n%s", describe(sum))
			}
			// Every step group ran on both sides and was answered: nothing
			// passed unseen.
			for _, st := range [][2]string{
				{"session", record.StepLogin}, {"session", record.StepProbe}, {"session", record.StepRefresh},
				{"session", record.StepLogout}, {"session", record.StepAudit}, {"service", record.StepServiceToken},
				{"service", record.StepServiceProbe}, {"breakglass", record.StepBreakglass}, {"breakglass", record.StepBreakglassAudit},
				{"typo", record.StepLoginWrongPassword},
			} {
				ss := stepOf(sum, st[0], st[1])
				if ss.Legacy.Count == 0 || ss.Candidate.Count == 0 || ss.Legacy.Errors > 0 || ss.Candidate.Errors > 0 {
					t.Errorf("%s/%s: legacy %d (%d errors), candidate %d (%d errors); want both run without errors", st[0], st[1], ss.Legacy.Count, ss.Legacy.Errors, ss.Candidate.Count, ss.Candidate.Errors)
				}
			}
			if sum.Verdict == analysis.VerdictFail && len(parityClasses(sum)) > 0 {
				t.Errorf("verdict fail\n%s", describe(sum))
			}
		})
	}
}

// TestMeridianDrifts: the candidate's regressions, each found with its class
// and as one cause on the right factor; a slow resource server is a cause on
// its host.
func TestMeridianDrifts(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a rehearsal per drift")
	}
	for _, tt := range []struct {
		drifts string
		want   string // the one persona cause
	}{
		{"role-map-billing-admin", "kind=billing OVER_PERMISSION+ROLE_MAPPING_DRIFT"},
		{"clinician-notes-denied", "kind=clinician UNDER_PERMISSION"},
		{"patient-sees-others", "kind=patient OVER_PERMISSION"},
		{"breakglass-not-audited", "uniform BREAKGLASS_NOT_AUDITED"},
		{"access-ttl-long", "uniform TTL_DRIFT"},
	} {
		t.Run(tt.drifts, func(t *testing.T) {
			sum, _ := rehearse(t, setup{drifts: tt.drifts})
			if got := personaCauses(sum); len(got) != 1 || got[0] != tt.want {
				t.Errorf("causes %q; want [%q]\n%s", got, tt.want, describe(sum))
			}
			if sum.Verdict != analysis.VerdictFail {
				t.Errorf("verdict %s; want fail", sum.Verdict)
			}
		})
	}
	t.Run("service-scope-widened", func(t *testing.T) {
		// Every machine key now gets every scope: the scope widening of the
		// token, and the over-permissions of the rows (by permission) that
		// expect each kind of account denied what the other may do.
		sum, _ := rehearse(t, setup{drifts: "service-scope-widened"})
		want := []string{"uniform SERVICE_ACCOUNT_SCOPE_WIDENED", "kind=service OVER_PERMISSION"}
		if got := personaCauses(sum); !slices.Equal(got, want) {
			t.Errorf("causes %q; want %q\n%s", got, want, describe(sum))
		}
		over := map[string]bool{}
		for _, f := range sum.Findings {
			for _, e := range f.Examples {
				if f.Class == analysis.OverPermission {
					over[e.Target] = true
				}
			}
		}
		for _, want := range []string{"export analytics:all when permission=lab-results:read", "read lab-results:all when permission=analytics:export"} {
			if !over[want] {
				t.Errorf("over-permissions %v; want %q among them", slices.Collect(maps.Keys(over)), want)
			}
		}
	})
	t.Run("slow resource server", func(t *testing.T) {
		var api string
		sum, _ := rehearse(t, setup{slowAPI: 600 * time.Millisecond, api: &api})
		u, err := url.Parse(api)
		if err != nil {
			t.Fatal(err)
		}
		host := ""
		for _, c := range sum.Causes {
			for _, f := range c.Factors {
				if f.Name == analysis.FactHost {
					host = f.Value
				}
			}
		}
		if host != u.Host || len(parityClasses(sum)) > 0 {
			t.Errorf("causes %q; want one on the resource server's host %s, and no parity finding\n%s", causeLinesAll(sum), u.Host, describe(sum))
		}
		if sum.Verdict == analysis.VerdictPass {
			t.Errorf("verdict pass with a resource server 600ms slower")
		}
	})
}

func causeLinesAll(s *analysis.Summary) []string {
	var out []string
	for _, c := range s.Causes {
		out = append(out, c.Level+" "+causeLine(c))
	}
	return out
}
