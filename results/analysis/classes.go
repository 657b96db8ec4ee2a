package analysis

import (
	"strings"

	"github.com/cutover-dev/cutover/results/record"
)

// Class is a regression class of DOMAIN.md. Its string is the stable name used in
// reports, summary.json and tests.
type Class string

// Severity ranks a class; Info marks the classes that are not regressions.
type Severity string

// Severities, most severe first.
const (
	Critical Severity = "critical"
	High     Severity = "high"
	Medium   Severity = "medium"
	Low      Severity = "low"
	Info     Severity = "-"
)

// The regression classes of DOMAIN.md, exactly as named there.
const (
	LoginFailed                  Class = "LOGIN_FAILED"
	ClaimMissing                 Class = "CLAIM_MISSING"
	RoleMappingDrift             Class = "ROLE_MAPPING_DRIFT"
	TTLDrift                     Class = "TTL_DRIFT"
	RefreshFailed                Class = "REFRESH_FAILED"
	RefreshNotRotated            Class = "REFRESH_NOT_ROTATED"
	RefreshReuseAccepted         Class = "REFRESH_REUSE_ACCEPTED"
	RefreshFamilyNotRevoked      Class = "REFRESH_FAMILY_NOT_REVOKED"
	ScopeWidenedOnRefresh        Class = "SCOPE_WIDENED_ON_REFRESH"
	LogoutSessionStillActive     Class = "LOGOUT_SESSION_STILL_ACTIVE"
	LogoutTokenStillActive       Class = "LOGOUT_TOKEN_STILL_ACTIVE"
	OverPermission               Class = "OVER_PERMISSION"
	UnderPermission              Class = "UNDER_PERMISSION"
	AuthzError                   Class = "AUTHZ_ERROR"
	BreakglassDenied             Class = "BREAKGLASS_DENIED"
	BreakglassNoReasonAccepted   Class = "BREAKGLASS_NO_REASON_ACCEPTED"
	BreakglassOverPermission     Class = "BREAKGLASS_OVER_PERMISSION"
	BreakglassNotExpired         Class = "BREAKGLASS_NOT_EXPIRED"
	BreakglassNotAudited         Class = "BREAKGLASS_NOT_AUDITED"
	ServiceAccountDenied         Class = "SERVICE_ACCOUNT_DENIED"
	ServiceAccountScopeWidened   Class = "SERVICE_ACCOUNT_SCOPE_WIDENED"
	ServiceAccountLongLivedToken Class = "SERVICE_ACCOUNT_LONG_LIVED_TOKEN"
	ServiceAccountRefreshIssued  Class = "SERVICE_ACCOUNT_REFRESH_ISSUED"
	TokenInvalid                 Class = "TOKEN_INVALID"
	AuditEventMissing            Class = "AUDIT_EVENT_MISSING"
	LatencyRegression            Class = "LATENCY_REGRESSION"
	ErrorRateRegression          Class = "ERROR_RATE_REGRESSION"
	GeneratorSaturated           Class = "GENERATOR_SATURATED"
	ProvisioningDrift            Class = "PROVISIONING_DRIFT"
)

// Severity returns the severity DOMAIN.md gives c.
func (c Class) Severity() Severity {
	if s, ok := severities[c]; ok {
		return s
	}
	return Info
}

// Performance reports whether c is about speed or availability rather than parity.
func (c Class) Performance() bool { return c == LatencyRegression || c == ErrorRateRegression }

// Classes lists every class in the order of DOMAIN.md.
var Classes = []Class{
	LoginFailed, ClaimMissing, RoleMappingDrift, TTLDrift, RefreshFailed, RefreshNotRotated,
	RefreshReuseAccepted, RefreshFamilyNotRevoked, ScopeWidenedOnRefresh, LogoutSessionStillActive,
	LogoutTokenStillActive, OverPermission, UnderPermission, AuthzError, BreakglassDenied,
	BreakglassNoReasonAccepted, BreakglassOverPermission, BreakglassNotExpired, BreakglassNotAudited,
	ServiceAccountDenied, ServiceAccountScopeWidened, ServiceAccountLongLivedToken,
	ServiceAccountRefreshIssued, TokenInvalid, AuditEventMissing, LatencyRegression, ErrorRateRegression,
	GeneratorSaturated, ProvisioningDrift,
}

var severities = map[Class]Severity{
	LoginFailed: High, ClaimMissing: High, RoleMappingDrift: High, TTLDrift: Medium,
	RefreshFailed: High, RefreshNotRotated: High, RefreshReuseAccepted: Critical,
	RefreshFamilyNotRevoked: High, ScopeWidenedOnRefresh: Critical,
	LogoutSessionStillActive: Critical, LogoutTokenStillActive: Critical,
	OverPermission: Critical, UnderPermission: High, AuthzError: Medium,
	BreakglassDenied: Critical, BreakglassNoReasonAccepted: High, BreakglassOverPermission: Critical,
	BreakglassNotExpired: Critical, BreakglassNotAudited: Critical,
	ServiceAccountDenied: High, ServiceAccountScopeWidened: Critical,
	ServiceAccountLongLivedToken: High, ServiceAccountRefreshIssued: Medium, TokenInvalid: Critical,
	AuditEventMissing: High, LatencyRegression: Medium, ErrorRateRegression: High,
}

// decisionRule says which class a decision that disagrees with the expected one
// raises: allowed names the class when the step allowed what must be denied, denied
// the class when it denied what must be allowed. An empty class means the direction
// cannot be a regression.
type decisionRule struct{ allowed, denied Class }

// decisionRules gives each decision step its rule: which class a wrongly allowed
// and a wrongly denied decision raise.
var decisionRules = map[string]decisionRule{
	record.StepLogin:              {denied: LoginFailed},
	record.StepLoginWrongPassword: {allowed: OverPermission},
	record.StepProbe:              {allowed: OverPermission, denied: UnderPermission},
	record.StepRefresh:            {denied: RefreshFailed},
	record.StepRefreshReplay:      {allowed: RefreshReuseAccepted},
	record.StepRefreshFamily:      {allowed: RefreshFamilyNotRevoked},
	record.StepLogoutProbe:        {allowed: LogoutSessionStillActive},
	record.StepLogoutRefresh:      {allowed: LogoutTokenStillActive},
	record.StepLogoutIntrospect:   {allowed: LogoutTokenStillActive},
	record.StepBreakglass:         {denied: BreakglassDenied},
	record.StepBreakglassNoReason: {allowed: BreakglassNoReasonAccepted},
	record.StepBreakglassAccess:   {allowed: OverPermission, denied: BreakglassDenied},
	record.StepBreakglassExpired:  {allowed: BreakglassNotExpired},
	record.StepBreakglassInelig:   {allowed: BreakglassOverPermission},
	record.StepBreakglassAudit:    {denied: BreakglassNotAudited},
	record.StepServiceToken:       {denied: ServiceAccountDenied},
	record.StepServiceProbe:       {allowed: OverPermission, denied: ServiceAccountDenied},
	record.StepAudit:              {denied: AuditEventMissing},
	record.StepBrowserLogin:       {denied: LoginFailed},
	record.StepBrowserLogoutProbe: {allowed: LogoutSessionStillActive},
}

// classBit gives each class of Classes a bit, for the sets of classes the
// comparison keeps per persona.
var classBit = func() map[Class]uint64 {
	m := make(map[Class]uint64, len(Classes))
	for i, c := range Classes {
		m[c] = 1 << i
	}
	return m
}()

// StepGroup returns the step group a step name belongs to: the part before its
// first dot, "probes" for "probe" ("refresh.replay" is in "refresh").
func StepGroup(step string) string {
	g, _, _ := strings.Cut(step, ".")
	if g == record.StepProbe {
		return "probes"
	}
	return g
}
