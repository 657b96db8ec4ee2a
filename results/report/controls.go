package report

import "github.com/cutover-dev/cutover/results/analysis"

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
	HIPAAAuthn     = Control{"164.312(d)", "Person or entity authentication: verify that a person or entity seeking access to ePHI is the one claimed", "HIPAA Security Rule"}
	NHI1           = Control{"NHI1:2025", "Improper offboarding", "OWASP Non-Human Identities Top 10"}
	NHI5           = Control{"NHI5:2025", "Overprivileged NHI", "OWASP Non-Human Identities Top 10"}
	NHI7           = Control{"NHI7:2025", "Long-lived secrets", "OWASP Non-Human Identities Top 10"}
)

// Controls lists the controls in the order the evidence section shows them.
var Controls = []Control{CSFPRAA05, HIPAAAccess, HIPAAEmergency, HIPAAAudit, HIPAAAuthn, NHI1, NHI5, NHI7}

// classControls maps each class to the controls a finding of it (or its
// absence) evidences.
var classControls = map[analysis.Class][]Control{
	analysis.RoleMappingDrift:             {CSFPRAA05},
	analysis.ScopeWidenedOnRefresh:        {CSFPRAA05},
	analysis.LogoutSessionStillActive:     {HIPAAAccess},
	analysis.LogoutTokenStillActive:       {HIPAAAccess, NHI1},
	analysis.OverPermission:               {CSFPRAA05, HIPAAAccess},
	analysis.UnderPermission:              {CSFPRAA05, HIPAAAccess},
	analysis.BreakglassDenied:             {HIPAAEmergency},
	analysis.BreakglassNoReasonAccepted:   {HIPAAEmergency, HIPAAAudit},
	analysis.BreakglassOverPermission:     {CSFPRAA05, HIPAAEmergency},
	analysis.BreakglassNotExpired:         {HIPAAEmergency, CSFPRAA05},
	analysis.BreakglassNotAudited:         {HIPAAAudit, HIPAAEmergency},
	analysis.ServiceAccountDenied:         {CSFPRAA05},
	analysis.ServiceAccountScopeWidened:   {NHI5, CSFPRAA05},
	analysis.ServiceAccountLongLivedToken: {NHI7},
	analysis.ServiceAccountRefreshIssued:  {NHI7},
	analysis.TokenInvalid:                 {HIPAAAuthn, HIPAAAccess},
	analysis.AuditEventMissing:            {HIPAAAudit},
}
