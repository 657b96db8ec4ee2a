package results

import "slices"

// Control is a clause of a standard or regulation that a class gives evidence
// for.
type Control struct {
	ID    string
	Title string
	// Source names the document.
	Source string
}

// The controls the evidence section maps classes to.
var (
	CSFPRAA05      = Control{"PR.AA-05", "Access permissions, entitlements and authorizations are defined, managed, enforced and reviewed, incorporating least privilege and separation of duties", "NIST CSF 2.0"}
	HIPAAAccess    = Control{"164.312(a)(1)", "Access control: allow access only to persons or software programs granted access rights", "HIPAA Security Rule"}
	HIPAAEmergency = Control{"164.312(a)(2)(ii)", "Emergency access procedure: obtain necessary ePHI during an emergency", "HIPAA Security Rule"}
	HIPAAAudit     = Control{"164.312(b)", "Audit controls: record and examine activity in systems that contain ePHI", "HIPAA Security Rule"}
	NHI1           = Control{"NHI1:2025", "Improper offboarding", "OWASP Non-Human Identities Top 10"}
	NHI5           = Control{"NHI5:2025", "Overprivileged NHI", "OWASP Non-Human Identities Top 10"}
	NHI7           = Control{"NHI7:2025", "Long-lived secrets", "OWASP Non-Human Identities Top 10"}
)

// Controls lists the controls in the order the evidence section shows them.
var Controls = []Control{CSFPRAA05, HIPAAAccess, HIPAAEmergency, HIPAAAudit, NHI1, NHI5, NHI7}

// ClassInfo is what DOMAIN.md says about a class, for reports.
type ClassInfo struct {
	Meaning string
	// BackedBy names the standards behind the class.
	BackedBy string
	// Controls are the controls a finding of the class (or its absence) evidences.
	Controls []Control
	// Steps are the steps whose records can raise the class; a run without any of
	// them did not exercise it.
	Steps []string
}

// Info returns what DOMAIN.md says about c.
func (c Class) Info() ClassInfo { return classInfo[c] }

// Exercised reports whether a run whose steps are given could raise c.
func (c Class) Exercised(steps []string) bool {
	info := classInfo[c]
	if info.Steps == nil { // performance classes: every step
		return len(steps) > 0
	}
	for _, s := range info.Steps {
		if slices.Contains(steps, s) {
			return true
		}
	}
	return false
}

var classInfo = map[Class]ClassInfo{
	LoginFailed:                  {"candidate login fails where legacy succeeds (credential continuity, hash migration)", "seed: preserve hashes, staged migration", nil, []string{StepLogin}},
	ClaimMissing:                 {"a required token claim is absent (iss, sub, aud, exp, iat, jti, client_id; roles/scope when expected)", "RFC 9068 s2.2; OIDC Core s2", nil, []string{StepLogin}},
	RoleMappingDrift:             {"candidate roles differ from legacy roles mapped through the configured mapping", "NIST CSF 2.0 PR.AA-05", []Control{CSFPRAA05}, []string{StepLogin}},
	TTLDrift:                     {"session or access-token lifetime differs beyond tolerance, or exceeds policy (access token <= 1h)", "RFC 6750 s5.3; SP 800-63B-4 s2.2.3", nil, []string{StepLogin}},
	RefreshFailed:                {"candidate refresh fails where legacy renew works", "", nil, []string{StepRefresh}},
	RefreshNotRotated:            {"refresh returned the same refresh token (public clients must rotate)", "RFC 9700 s2.2.2", nil, []string{StepRefresh}},
	RefreshReuseAccepted:         {"an already-rotated refresh token was accepted again", "RFC 9700 s4.14.2", nil, []string{StepRefreshReplay}},
	RefreshFamilyNotRevoked:      {"after reuse was refused, the newest refresh token of that grant still works", "RFC 9700 s4.14.2", nil, []string{StepRefreshFamily}},
	ScopeWidenedOnRefresh:        {"a refreshed token carries more scope than the original grant", "RFC 6749 s6", []Control{CSFPRAA05}, []string{StepRefresh}},
	LogoutSessionStillActive:     {"after logout, the old session or access token still passes a probe", "ASVS 5.0 7.4.1", []Control{HIPAAAccess}, []string{StepLogoutProbe}},
	LogoutTokenStillActive:       {"after logout or revocation, refresh still works or introspection says active", "RFC 7009 s2.1; RFC 7662 s2.2", []Control{HIPAAAccess, NHI1}, []string{StepLogoutRefresh, StepLogoutIntrospect}},
	OverPermission:               {"allowed where the expected table (or legacy) denies", "NIST CSF 2.0 PR.AA-05; HIPAA 164.312(a)(1)", []Control{CSFPRAA05, HIPAAAccess}, []string{StepProbe, StepBreakglassAccess, StepServiceProbe}},
	UnderPermission:              {"denied where the expected table (or legacy) allows", "NIST CSF 2.0 PR.AA-05; HIPAA 164.312(a)(1)", []Control{CSFPRAA05, HIPAAAccess}, []string{StepProbe}},
	AuthzError:                   {"a probe got an error instead of a decision", "AuthZEN error responses", nil, []string{StepProbe, StepLogoutProbe, StepBreakglassAccess, StepServiceProbe}},
	BreakglassDenied:             {"an eligible clinician with a reason is refused emergency access", "HIPAA 164.312(a)(2)(ii)", []Control{HIPAAEmergency}, []string{StepBreakglass, StepBreakglassAccess}},
	BreakglassNoReasonAccepted:   {"emergency access granted without a reason", "HL7 ActReason BTG", []Control{HIPAAEmergency, HIPAAAudit}, []string{StepBreakglassNoReason}},
	BreakglassOverPermission:     {"an ineligible persona obtains emergency access", "NIST CSF 2.0 PR.AA-05", []Control{CSFPRAA05, HIPAAEmergency}, []string{StepBreakglassInelig}},
	BreakglassNotExpired:         {"emergency access still works after its time box", "policy", []Control{HIPAAEmergency, CSFPRAA05}, []string{StepBreakglassExpired}},
	BreakglassNotAudited:         {"no audit event for break-glass start or use", "HIPAA 164.312(b)", []Control{HIPAAAudit, HIPAAEmergency}, []string{StepBreakglassAudit}},
	ServiceAccountDenied:         {"a service account loses access it had on legacy", "", []Control{CSFPRAA05}, []string{StepServiceToken, StepServiceProbe}},
	ServiceAccountScopeWidened:   {"a service token grants more than the legacy permissions mapped", "RFC 6749 s3.3; OWASP NHI5:2025", []Control{NHI5, CSFPRAA05}, []string{StepServiceToken}},
	ServiceAccountLongLivedToken: {"a service token lives longer than 1h or never expires", "OWASP NHI7:2025", []Control{NHI7}, []string{StepServiceToken}},
	ServiceAccountRefreshIssued:  {"client_credentials returned a refresh token", "RFC 6749 s4.4.3", []Control{NHI7}, []string{StepServiceToken}},
	AuditEventMissing:            {"an auditable action left no event on candidate where legacy has one", "HIPAA 164.312(b); ASVS 5.0 16.3", []Control{HIPAAAudit}, []string{StepAudit}},
	LatencyRegression:            {"a step is slower on candidate beyond tolerance, with statistical confidence", "", nil, nil},
	ErrorRateRegression:          {"candidate availability errors (5xx, timeouts, refused) exceed legacy beyond tolerance", "", nil, nil},
	GeneratorSaturated:           {"not a regression: the harness could not keep the schedule; latency verdicts of that window are not trustworthy", "k6 dropped_iterations", nil, nil},
	ProvisioningDrift:            {"not a regression: the personas differ between stacks before the run; abort", "SCIM RFC 7644", nil, nil},
}
