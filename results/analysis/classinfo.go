package analysis

import (
	"slices"

	"github.com/cutover-dev/cutover/results/record"
)

// ClassInfo is what DOMAIN.md says about a class, for reports.
type ClassInfo struct {
	Meaning string
	// BackedBy names the standards behind the class.
	BackedBy string
	// Steps are the steps whose records can raise the class; a run without any of
	// them did not exercise it.
	Steps []string
	// Check says what to look at before taking the class for a regression,
	// where a standard provider's documented behaviour or a setting of the run
	// commonly explains it (empty where nothing does).
	Check string
}

// Info returns what DOMAIN.md says about c, and what to check first.
func (c Class) Info() ClassInfo {
	d := classInfo[c]
	return ClassInfo{Meaning: d.meaning, BackedBy: d.backedBy, Steps: d.steps, Check: classCheck[c]}
}

// classDoc is a class's entry in classInfo: its meaning, the standards behind
// it, the steps that can raise it.
type classDoc struct {
	meaning, backedBy string
	steps             []string
}

// classCheck is ClassInfo.Check, for the classes a provider's documented
// behaviour or a setting of the run commonly explains.
var classCheck = map[Class]string{
	RefreshReuseAccepted: "some providers accept a rotated refresh token again for a grace period, for clients that refresh concurrently (Okta, Auth0 and Hydra can); " +
		"set stacks.candidate.waits.before_replay longer than that period and run again: refused then, the finding is the grace period, a policy to accept or shorten",
	LogoutSessionStillActive: "a self-contained (JWT) access token stays valid at a resource server that validates it locally until it expires, whatever the logout; " +
		"if the probed resource server does not introspect, the finding is that design: compare the access token's lifetime with legacy's session",
}

// Exercised reports whether a run whose steps are given could raise c.
func (c Class) Exercised(steps []string) bool {
	info := classInfo[c]
	if info.steps == nil { // performance classes: every step
		return len(steps) > 0
	}
	for _, s := range info.steps {
		if slices.Contains(steps, s) {
			return true
		}
	}
	return false
}

var classInfo = map[Class]classDoc{
	LoginFailed:                  {"candidate login fails where legacy succeeds (credential continuity, hash migration)", "seed: preserve hashes, staged migration", []string{record.StepLogin}},
	ClaimMissing:                 {"a required token claim is absent (iss, sub, aud, exp, iat, jti, client_id; roles/scope when expected)", "RFC 9068 s2.2; OIDC Core s2", []string{record.StepLogin}},
	RoleMappingDrift:             {"candidate roles differ from legacy roles mapped through the configured mapping", "NIST CSF 2.0 PR.AA-05", []string{record.StepLogin}},
	TTLDrift:                     {"session or access-token lifetime differs beyond tolerance, or exceeds policy (access token <= 1h)", "RFC 6750 s5.3; SP 800-63B-4 s2.2.3", []string{record.StepLogin}},
	RefreshFailed:                {"candidate refresh fails where legacy renew works", "", []string{record.StepRefresh}},
	RefreshNotRotated:            {"refresh returned the same refresh token (public clients must rotate)", "RFC 9700 s2.2.2", []string{record.StepRefresh}},
	RefreshReuseAccepted:         {"an already-rotated refresh token was accepted again", "RFC 9700 s4.14.2", []string{record.StepRefreshReplay}},
	RefreshFamilyNotRevoked:      {"after reuse was refused, the newest refresh token of that grant still works", "RFC 9700 s4.14.2", []string{record.StepRefreshFamily}},
	ScopeWidenedOnRefresh:        {"a refreshed token carries more scope than the original grant", "RFC 6749 s6", []string{record.StepRefresh}},
	LogoutSessionStillActive:     {"after logout, the old session or access token still passes a probe", "ASVS 5.0 7.4.1", []string{record.StepLogoutProbe}},
	LogoutTokenStillActive:       {"after logout or revocation, refresh still works or introspection says active", "RFC 7009 s2.1; RFC 7662 s2.2", []string{record.StepLogoutRefresh, record.StepLogoutIntrospect}},
	OverPermission:               {"allowed where the expected table (or legacy) denies, or signed in to another persona's account (one subject, sub, for two personas: OIDC Core s2)", "NIST CSF 2.0 PR.AA-05; HIPAA 164.312(a)(1)", []string{record.StepProbe, record.StepBreakglassAccess, record.StepServiceProbe, record.StepLoginWrongPassword}},
	UnderPermission:              {"denied where the expected table (or legacy) allows", "NIST CSF 2.0 PR.AA-05; HIPAA 164.312(a)(1)", []string{record.StepProbe}},
	AuthzError:                   {"a probe got an error instead of a decision", "AuthZEN error responses", []string{record.StepProbe, record.StepLogoutProbe, record.StepBreakglassAccess, record.StepServiceProbe}},
	BreakglassDenied:             {"an eligible clinician with a reason is refused emergency access", "HIPAA 164.312(a)(2)(ii)", []string{record.StepBreakglass, record.StepBreakglassAccess}},
	BreakglassNoReasonAccepted:   {"emergency access granted without a reason", "HL7 ActReason BTG", []string{record.StepBreakglassNoReason}},
	BreakglassOverPermission:     {"an ineligible persona obtains emergency access", "NIST CSF 2.0 PR.AA-05", []string{record.StepBreakglassInelig}},
	BreakglassNotExpired:         {"emergency access still works after its time box", "policy", []string{record.StepBreakglassExpired}},
	BreakglassNotAudited:         {"no audit event for break-glass start or use", "HIPAA 164.312(b)", []string{record.StepBreakglassAudit}},
	ServiceAccountDenied:         {"a service account loses access it had on legacy", "", []string{record.StepServiceToken, record.StepServiceProbe}},
	ServiceAccountScopeWidened:   {"a service token grants more than the legacy permissions mapped", "RFC 6749 s3.3; OWASP NHI5:2025", []string{record.StepServiceToken}},
	ServiceAccountLongLivedToken: {"a service token lives longer than 1h or never expires", "OWASP NHI7:2025", []string{record.StepServiceToken}},
	ServiceAccountRefreshIssued:  {"client_credentials returned a refresh token", "RFC 6749 s4.4.3", []string{record.StepServiceToken}},
	TokenInvalid:                 {"a token the candidate issued fails validation: signature, algorithm (none, HMAC, confusion), kid, iss, aud, azp, exp, nbf, iat, nonce, at_hash, typ", "OIDC Core s3.1.3.7; RFC 9068 s4; RFC 8725", []string{record.StepLogin, record.StepRefresh, record.StepRefreshFamily, record.StepServiceToken, record.StepBreakglass, record.StepBreakglassNoReason, record.StepBreakglassInelig}},
	AuditEventMissing:            {"an auditable action left no event on candidate where legacy has one", "HIPAA 164.312(b); ASVS 5.0 16.3", []string{record.StepAudit}},
	LatencyRegression:            {"a step is slower on candidate beyond tolerance, with statistical confidence", "", nil},
	ErrorRateRegression:          {"candidate availability errors (5xx, timeouts, refused) exceed legacy beyond tolerance", "", nil},
	GeneratorSaturated:           {"not a regression: the harness could not keep the schedule; latency verdicts of that window are not trustworthy", "k6 dropped_iterations", nil},
	ProvisioningDrift:            {"not a regression: the personas differ between stacks before the run; abort", "SCIM RFC 7644", nil},
}
