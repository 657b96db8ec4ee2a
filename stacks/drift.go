package stacks

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cutover-dev/cutover/stacks/candidate"
)

// Drift is a deliberate regression the candidate stack can be switched into, named in
// DOMAIN.md's drift catalogue, with the regression class the harness must report for it.
type Drift struct {
	Name        string
	Class       string
	Description string
}

// Catalogue lists every drift, in DOMAIN.md order.
var Catalogue = []Drift{
	{"role-map-billing-admin", "OVER_PERMISSION", "billing clerks receive the admin role"},
	{"clinician-notes-denied", "UNDER_PERMISSION", "clinicians cannot read notes of assigned patients"},
	{"patient-sees-others", "OVER_PERMISSION", "a patient can read another patient's record"},
	{"roles-claim-dropped", "CLAIM_MISSING", "access tokens carry no roles claim"},
	{"access-ttl-long", "TTL_DRIFT", "access tokens live 24h"},
	{"lazy-migration-broken", "LOGIN_FAILED", "users whose legacy hash is salted SHA-256 cannot log in"},
	{"refresh-not-rotated", "REFRESH_NOT_ROTATED", "refresh returns the same refresh token"},
	{"refresh-reuse-accepted", "REFRESH_REUSE_ACCEPTED", "a rotated refresh token still works"},
	{"logout-keeps-refresh", "LOGOUT_TOKEN_STILL_ACTIVE", "revocation/logout leaves the refresh token usable"},
	{"breakglass-denied", "BREAKGLASS_DENIED", "emergency access refused"},
	{"breakglass-no-reason", "BREAKGLASS_NO_REASON_ACCEPTED", "emergency access granted without a reason"},
	{"breakglass-not-audited", "BREAKGLASS_NOT_AUDITED", "no audit event for emergency access"},
	{"service-scope-widened", "SERVICE_ACCOUNT_SCOPE_WIDENED", "service tokens get every scope"},
	{"slow-token", "LATENCY_REGRESSION", "token endpoint adds latency (default 40ms; slow-token=80ms)"},
	{"token-capacity", "LATENCY_REGRESSION", "token endpoint answers one request at a time, at most N a second (default 50; token-capacity=20): beyond, requests queue"},
	{"flaky-5xx", "ERROR_RATE_REGRESSION", "a share of candidate requests (default 5%; flaky-5xx=0.1) answer 503; flaky-5xx=0.3@breakglass fails only break-glass requests"},
}

// Defaults of the drift parameters.
const (
	DefaultSlowToken     = 40 * time.Millisecond
	DefaultTokenCapacity = 50.0
	DefaultFlaky5xx      = 0.05
)

// Scopes of flaky-5xx: every request (the default), or only the break-glass
// requests (token exchanges), so that legacy holds grants the candidate may not.
const (
	FlakyAll        = "all"
	FlakyBreakGlass = "breakglass"
)

// Drifts is a set of switched-on drifts with their parameters. The zero value has no
// drift.
type Drifts struct {
	on        map[string]bool
	slowToken time.Duration
	// tokenCapacity is token-capacity's requests per second.
	tokenCapacity float64
	flaky         float64
	// flakyScope is FlakyAll or FlakyBreakGlass.
	flakyScope string
}

// Has reports whether drift name is on.
func (d Drifts) Has(name string) bool { return d.on[name] }

// Names returns the names of the drifts that are on, in catalogue order.
func (d Drifts) Names() []string {
	var out []string
	for _, c := range Catalogue {
		if d.on[c.Name] {
			out = append(out, c.Name)
		}
	}
	return out
}

// SlowToken is the latency the slow-token drift adds; 0 when it is off.
func (d Drifts) SlowToken() time.Duration {
	if !d.on["slow-token"] {
		return 0
	}
	return d.slowToken
}

// TokenCapacity is the token endpoint's requests a second under the
// token-capacity drift; 0 when it is off.
func (d Drifts) TokenCapacity() float64 {
	if !d.on["token-capacity"] {
		return 0
	}
	return d.tokenCapacity
}

// Flaky5xx is the share of candidate requests the flaky-5xx drift fails; 0 when off.
func (d Drifts) Flaky5xx() float64 {
	if !d.on["flaky-5xx"] {
		return 0
	}
	return d.flaky
}

// Flaky5xxScope is what flaky-5xx fails: FlakyAll or FlakyBreakGlass.
func (d Drifts) Flaky5xxScope() string { return cmp.Or(d.flakyScope, FlakyAll) }

// String returns the drifts in the syntax ParseDrifts reads: "none", or names joined
// by commas with the parameters spelled out.
func (d Drifts) String() string {
	names := d.Names()
	if len(names) == 0 {
		return "none"
	}
	for i, n := range names {
		switch n {
		case "slow-token":
			names[i] = n + "=" + d.slowToken.String()
		case "token-capacity":
			names[i] = n + "=" + strconv.FormatFloat(d.tokenCapacity, 'g', -1, 64)
		case "flaky-5xx":
			names[i] = n + "=" + strconv.FormatFloat(d.flaky, 'g', -1, 64)
			if d.Flaky5xxScope() != FlakyAll {
				names[i] += "@" + d.flakyScope
			}
		}
	}
	return strings.Join(names, ",")
}

// ParseDrifts reads a comma-separated list of drift names ("" and "none" mean no
// drift). slow-token takes a duration (slow-token=80ms), token-capacity
// requests a second (token-capacity=20) and flaky-5xx a share in
// (0, 1], optionally scoped to the break-glass requests (flaky-5xx=0.1,
// flaky-5xx=0.3@breakglass). Unknown names are an error that lists the valid ones.
func ParseDrifts(s string) (Drifts, error) {
	d := Drifts{on: make(map[string]bool), slowToken: DefaultSlowToken, tokenCapacity: DefaultTokenCapacity, flaky: DefaultFlaky5xx}
	s = strings.TrimSpace(s)
	if s == "" || s == "none" {
		return d, nil
	}
	known := make(map[string]bool, len(Catalogue))
	for _, c := range Catalogue {
		known[c.Name] = true
	}
	for item := range strings.SplitSeq(s, ",") {
		name, param, hasParam := strings.Cut(strings.TrimSpace(item), "=")
		if !known[name] {
			return Drifts{}, fmt.Errorf("drifts: unknown drift %q; valid: %s", name, strings.Join(slices.Sorted(maps.Keys(known)), ", "))
		}
		d.on[name] = true
		if !hasParam {
			continue
		}
		switch name {
		case "slow-token":
			v, err := time.ParseDuration(param)
			if err != nil || v <= 0 {
				return Drifts{}, fmt.Errorf("drifts: slow-token=%q: want a positive duration such as 80ms", param)
			}
			d.slowToken = v
		case "token-capacity":
			v, err := strconv.ParseFloat(param, 64)
			if err != nil || !(v > 0 && v <= 1e6) {
				return Drifts{}, fmt.Errorf("drifts: token-capacity=%q: want requests a second such as 20", param)
			}
			d.tokenCapacity = v
		case "flaky-5xx":
			share, scope, scoped := strings.Cut(param, "@")
			if scoped && scope != FlakyAll && scope != FlakyBreakGlass {
				return Drifts{}, fmt.Errorf("drifts: flaky-5xx=%q: scope %q; want %s or %s", param, scope, FlakyAll, FlakyBreakGlass)
			}
			d.flakyScope = scope
			if share == "" && scoped {
				break
			}
			v, err := strconv.ParseFloat(share, 64)
			if err != nil || !(v > 0 && v <= 1) {
				return Drifts{}, fmt.Errorf("drifts: flaky-5xx=%q: want a share in (0, 1] such as 0.1, optionally scoped: 0.3@breakglass", param)
			}
			d.flaky = v
		default:
			return Drifts{}, fmt.Errorf("drifts: %s takes no parameter", name)
		}
	}
	return d, nil
}

// candidate turns the set into the candidate stack's switches.
func (d Drifts) candidate(seed uint64) candidate.Drifts {
	return candidate.Drifts{
		RoleMapBillingAdmin:  d.Has("role-map-billing-admin"),
		ClinicianNotesDenied: d.Has("clinician-notes-denied"),
		PatientSeesOthers:    d.Has("patient-sees-others"),
		RolesClaimDropped:    d.Has("roles-claim-dropped"),
		AccessTTLLong:        d.Has("access-ttl-long"),
		LazyMigrationBroken:  d.Has("lazy-migration-broken"),
		RefreshNotRotated:    d.Has("refresh-not-rotated"),
		RefreshReuseAccepted: d.Has("refresh-reuse-accepted"),
		LogoutKeepsRefresh:   d.Has("logout-keeps-refresh"),
		BreakGlassDenied:     d.Has("breakglass-denied"),
		BreakGlassNoReason:   d.Has("breakglass-no-reason"),
		BreakGlassNotAudited: d.Has("breakglass-not-audited"),
		ServiceScopeWidened:  d.Has("service-scope-widened"),
		SlowToken:            d.SlowToken(),
		TokenCapacity:        d.TokenCapacity(),
		Flaky5xx:             d.flakyOf(FlakyAll),
		FlakyBreakGlass:      d.flakyOf(FlakyBreakGlass),
		Seed:                 seed,
	}
}

// flakyOf is the share flaky-5xx fails of the requests of scope; 0 when it is
// off or scoped elsewhere.
func (d Drifts) flakyOf(scope string) float64 {
	if d.Flaky5xxScope() != scope {
		return 0
	}
	return d.Flaky5xx()
}
