package rehearsal

import (
	"cmp"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/cutover-dev/cutover/journeys/adapter"
	"github.com/cutover-dev/cutover/journeys/oidc"
	"github.com/cutover-dev/cutover/results/analysis"
	"github.com/cutover-dev/cutover/results/record"
	"github.com/cutover-dev/cutover/run/config"
	"github.com/cutover-dev/cutover/stacks"
)

// The dialects of real providers: the embedded candidate behaves as a
// third-party provider does where it is not a regression. Configured as the
// provider needs, a run gives no finding and compares the steps the dialect
// touches; configured as a first attempt would be, the run does not pass and
// says what to set.

// dialectCase is one dialect of the embedded candidate: the configuration it
// needs (fit), the steps that must then be compared on the candidate, and
// what a run configured without it (unfit, or the demo as it is) must say.
type dialectCase struct {
	dialects string
	fit      func(*config.File, *stacks.Pair)
	compared []string
	unfit    func(*config.File, *stacks.Pair)
	// say is what the unfit run's summary must contain; empty when the
	// dialect needs no configuration (the harness reads it as it is).
	say string
	// unfitClass, when set, is the parity class the unfit run finds instead
	// of failing to judge (a provider's window seen as the regression it
	// would be without the wait).
	unfitClass analysis.Class
	// rate is the journeys a second (default 20): a dialect that signs in
	// through Chromium runs fewer.
	rate float64
}

func candidateOIDC(cfg *config.File) *oidc.Config { return cfg.Stacks.Candidate.OIDC }

// endSession makes the candidate log out by RP-initiated logout only.
func endSession(cfg *config.File, _ *stacks.Pair) {
	o := candidateOIDC(cfg)
	o.Logout, o.PostLogoutRedirectURI = []string{oidc.LogoutEndSession}, "http://localhost/cutover/logged-out"
}

// harnessSecret makes the harness client confidential with the pair's secret.
func harnessSecret(cfg *config.File, pair *stacks.Pair) {
	candidateOIDC(cfg).ClientSecret = new(adapter.NewSecretRef(pair.HarnessClientSecret))
}

var logoutSteps = []string{record.StepLogout, record.StepLogoutProbe, record.StepLogoutIntrospect, record.StepLogoutRefresh}

var dialectCases = []dialectCase{
	{
		dialects: "logout-confirm",
		fit:      endSession,
		compared: logoutSteps,
		unfit: func(cfg *config.File, pair *stacks.Pair) {
			endSession(cfg, pair)
			candidateOIDC(cfg).LogoutConfirmation = &oidc.LogoutConfirmation{FormID: "confirm-logout"}
		},
		say: "logout_confirmation.form_id",
	},
	{
		// The page confirms by script: Chromium runs it and the logout is
		// done when it reaches the post-logout redirect URI. Without that URI
		// the end cannot be seen: the logout is unverified, never done.
		dialects: "logout-script",
		fit:      endSession,
		compared: logoutSteps,
		unfit: func(cfg *config.File, _ *stacks.Pair) {
			candidateOIDC(cfg).Logout = []string{oidc.LogoutEndSession}
		},
		say:  "set post_logout_redirect_uri",
		rate: 5,
	},
	{
		// A script renders the login form: Chromium signs in, and the
		// protocol journey goes on with the tokens.
		dialects: "login-script",
		fit:      func(cfg *config.File, _ *stacks.Pair) { candidateOIDC(cfg).BrowserLogin = &oidc.BrowserLogin{} },
		compared: []string{record.StepLogin, record.StepProbe, record.StepRefresh, record.StepLogout},
		unfit:    func(*config.File, *stacks.Pair) {},
		say:      "set browser_login",
		rate:     3,
	},
	{
		dialects: "empty-refusals",
		fit:      func(*config.File, *stacks.Pair) {},
		compared: []string{record.StepRefreshReplay, record.StepRefreshFamily, record.StepLogoutRefresh},
	},
	{
		dialects: "omit-grants",
		fit: func(cfg *config.File, _ *stacks.Pair) {
			candidateOIDC(cfg).Grants = []string{"client_credentials", "urn:ietf:params:oauth:grant-type:token-exchange"}
		},
		compared: []string{record.StepServiceToken, record.StepServiceProbe, record.StepBreakglass},
		unfit:    func(*config.File, *stacks.Pair) {},
		say:      "grants: [client_credentials]",
	},
	{
		dialects: "consent-for-refresh",
		fit: func(cfg *config.File, _ *stacks.Pair) {
			candidateOIDC(cfg).AuthorizationParams = map[string]string{"prompt": "consent"}
		},
		compared: []string{record.StepRefresh, record.StepRefreshReplay, record.StepRefreshFamily},
		unfit:    func(*config.File, *stacks.Pair) {},
		say:      "prompt=consent",
	},
	{
		dialects: "email-login",
		fit:      func(cfg *config.File, _ *stacks.Pair) { candidateOIDC(cfg).LoginIdentifier = oidc.IdentifierEmail },
		compared: []string{record.StepLogin, record.StepProbe},
		unfit:    func(*config.File, *stacks.Pair) {},
		say:      "login_identifier: email",
	},
	{
		dialects: "joined-roles",
		fit:      func(*config.File, *stacks.Pair) {},
		compared: []string{record.StepLogin, record.StepProbe},
	},
	{
		dialects: "introspect-own-client,opaque-access-tokens",
		fit: func(cfg *config.File, pair *stacks.Pair) {
			harnessSecret(cfg, pair)
			o := candidateOIDC(cfg)
			o.Introspection = &oidc.Client{
				ClientID: pair.HarnessClientID, ClientSecret: new(adapter.NewSecretRef(pair.HarnessClientSecret)),
				ServiceTokens: oidc.ServiceTokensOwnClient,
			}
		},
		compared: []string{record.StepLogin, record.StepProbe, record.StepServiceToken, record.StepLogoutIntrospect},
		unfit:    func(*config.File, *stacks.Pair) {},
		say:      "introspection.client_id = client_id",
	},
	{
		dialects: "secret-post-only",
		fit: func(cfg *config.File, pair *stacks.Pair) {
			harnessSecret(cfg, pair)
			o := candidateOIDC(cfg)
			o.AuthMethod = oidc.AuthClientSecretPost
			o.Introspection.AuthMethod = oidc.AuthClientSecretPost
			o.Directory.Client.AuthMethod = oidc.AuthClientSecretPost
			o.Service = &oidc.Service{ClientAuth: oidc.ClientAuth{AuthMethod: oidc.AuthClientSecretPost}}
		},
		compared: []string{record.StepLogin, record.StepRefresh, record.StepServiceToken},
		unfit: func(cfg *config.File, pair *stacks.Pair) {
			harnessSecret(cfg, pair)
			o := candidateOIDC(cfg)
			o.Introspection.AuthMethod = oidc.AuthClientSecretPost
			o.Directory.Client.AuthMethod = oidc.AuthClientSecretPost
		},
		say: "auth_method",
	},
	{
		dialects: "private-key-jwt-only",
		fit: func(cfg *config.File, pair *stacks.Pair) {
			key := new(adapter.NewSecretRef(pair.ClientKeyPEM))
			o := candidateOIDC(cfg)
			o.ClientAuth = oidc.ClientAuth{AuthMethod: oidc.AuthPrivateKeyJWT, PrivateKey: key}
			o.Service = &oidc.Service{ClientAuth: oidc.ClientAuth{AuthMethod: oidc.AuthPrivateKeyJWT, PrivateKey: key}}
		},
		compared: []string{record.StepLogin, record.StepRefresh, record.StepServiceToken, record.StepServiceProbe},
		unfit:    func(*config.File, *stacks.Pair) {},
		say:      "private_key_jwt",
	},
	{
		// Inside the window a replay is answered: without the wait the run
		// finds REFRESH_REUSE_ACCEPTED, which is what the provider does then.
		dialects: "reuse-window",
		fit: func(cfg *config.File, _ *stacks.Pair) {
			cfg.Stacks.Candidate.Waits.BeforeReplay = stacks.ReuseWindow + time.Second
		},
		compared:   []string{record.StepRefreshReplay, record.StepRefreshFamily},
		unfit:      func(*config.File, *stacks.Pair) {},
		unfitClass: analysis.RefreshReuseAccepted,
	},
}

// runDialect runs the demo's journeys at rate a second for 4s against the
// candidate with dialects, its configuration edited by edit.
func runDialect(t *testing.T, dialects string, rate float64, edit func(*config.File, *stacks.Pair)) *analysis.Summary {
	t.Helper()
	d, err := stacks.ParseDialects(dialects)
	if err != nil {
		t.Fatal(err)
	}
	cfg, pair := demoWith(t, stacks.Options{Dialects: d, BreakGlassTTL: 4 * time.Second}, nil, func(cfg *config.File) {
		constant(rate, 4*time.Second)(cfg)
		cfg.Load.Drain = 30 * time.Second
	})
	edit(cfg, pair)
	if err := cfg.Validate(); err != nil {
		t.Fatalf("dialect %s: configuration: %v", dialects, err)
	}
	sum, err := Run(t.Context(), cfg, Options{Out: t.TempDir()})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return sum
}

func TestProviderDialects(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the embedded stacks twice per dialect")
	}
	for _, tc := range dialectCases {
		t.Run(tc.dialects, func(t *testing.T) {
			sum := runDialect(t, tc.dialects, cmp.Or(tc.rate, 20), tc.fit)
			if got := parityClasses(sum); len(got) > 0 {
				t.Errorf("configured for the dialect: parity classes %v; want none\nfindings: %s", got, describe(sum))
			}
			if len(sum.Preconditions) > 0 {
				t.Errorf("configured for the dialect: preconditions %+v; want none", sum.Preconditions)
			}
			for _, step := range tc.compared {
				ok, failed := candidateAnswered(sum, step)
				if ok == 0 || failed*10 > ok+failed {
					t.Errorf("configured for the dialect: step %s answered %d times on the candidate, failed %d (%s)", step, ok, failed, notRun(sum, step))
				}
			}
			if tc.unfit == nil {
				return
			}
			sum = runDialect(t, tc.dialects, cmp.Or(tc.rate, 20), tc.unfit)
			if tc.unfitClass != "" {
				if !hasClass(sum, tc.unfitClass) {
					t.Errorf("without the configuration: no %s; findings: %s", tc.unfitClass, describe(sum))
				}
				return
			}
			if sum.Verdict == analysis.VerdictPass {
				t.Errorf("without the configuration the run passes")
			}
			for _, c := range []analysis.Class{analysis.LogoutTokenStillActive, analysis.RefreshReuseAccepted, analysis.OverPermission, analysis.UnderPermission} {
				if hasClass(sum, c) {
					t.Errorf("without the configuration: a false %s\nfindings: %s", c, describe(sum))
				}
			}
			b, err := json.Marshal(sum)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(b), tc.say) && !strings.Contains(string(b), jsonEscaped(tc.say)) {
				t.Errorf("without the configuration the summary never says %q (verdict %s, inconclusive %q, preconditions %+v)", tc.say, sum.Verdict, sum.Inconclusive, sum.Preconditions)
			}
		})
	}
}

// candidateAnswered counts the candidate's answered attempts of step, in any
// journey, and those that failed (errors, invalid tokens).
func candidateAnswered(s *analysis.Summary, step string) (ok, failed int64) {
	for _, st := range s.Steps {
		if st.Step == step {
			failed += st.Candidate.Errors + st.Candidate.Invalid
			ok += st.Candidate.Count - st.Candidate.Errors - st.Candidate.Invalid
		}
	}
	return ok, failed
}

// notRun says why the candidate never performed step.
func notRun(s *analysis.Summary, step string) string {
	var out []string
	for _, st := range s.Steps {
		if st.Step == step {
			out = append(out, st.Journey+": "+st.Candidate.NotRun)
		}
	}
	return strings.Join(out, "; ")
}

func jsonEscaped(s string) string {
	b, _ := json.Marshal(s)
	return strings.Trim(string(b), `"`)
}
