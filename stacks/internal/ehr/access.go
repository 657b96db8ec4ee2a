package ehr

import (
	"strings"
	"time"
)

// Decision is one access decision the resources made, allow or deny, for a
// stack's access log: who asked (the principal, in the policy's roles), what
// for, on what, and whether a break-glass grant decided it.
type Decision struct {
	Time      time.Time
	Principal Principal
	// Action is read, write or export; Type the resource type (record, notes,
	// appointments, bills, claims, users, audit, lab-results, analytics); ID
	// the patient a patient resource belongs to, "all" for the others.
	Action, Type, ID string
	Allow            bool
	// BreakGlass reports that a live break-glass grant allowed it.
	BreakGlass bool
}

// actionOf splits a resource name of Register ("notes.write", "analytics")
// into the action and the resource type.
func actionOf(what string) (action, typ string) {
	if t, ok := strings.CutSuffix(what, ".write"); ok {
		return "write", t
	}
	if what == "analytics" {
		return "export", what
	}
	return "read", what
}

// decided hands a decision to OnDecision, when set.
func (rs *Resources) decided(p Principal, what, id string, allow, viaGrant bool) {
	if rs.OnDecision == nil {
		return
	}
	action, typ := actionOf(what)
	rs.OnDecision(Decision{Time: rs.Now(), Principal: p, Action: action, Type: typ, ID: id, Allow: allow, BreakGlass: viaGrant})
}
