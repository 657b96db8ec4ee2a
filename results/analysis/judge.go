package analysis

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/cutover-dev/cutover/results/record"
)

// judgeDecision compares the record's decision with the expected one, or with
// legacy's; it reports false when there was nothing to compare it with.
//
// could holds the classes the decision could have raised: the class of an
// allow only where a deny was wanted, the class of a deny only where an allow
// was, and AUTHZ_ERROR. A legacy deny cannot show UNDER_PERMISSION: a run (or a
// shadow log of denials alone) that never saw an allow wanted has not judged it.
func (c *Comparer) judgeDecision(rule decisionRule, leg *record.Record, legOK bool, cand *record.Record) (judged bool, could uint64) {
	want := cand.Facts.Expected
	if want == "" || c.opt.AA {
		// In A/A mode the expected table is a one-sided policy check: both sides
		// are the same stack, and only their agreement measures the noise floor.
		if !legOK || leg.Facts.Decision == "" {
			c.Uncomparable++
			return false, 0
		}
		want = leg.Facts.Decision
	}
	could = classBit[AuthzError]
	switch want {
	case record.Deny:
		could |= classBit[rule.allowed]
	case record.Allow:
		could |= classBit[rule.denied]
	default:
		could |= classBit[rule.allowed] | classBit[rule.denied]
	}
	got := cand.Facts.Decision
	if got == want {
		return true, could
	}
	legVal := want + " (expected)"
	if legOK {
		legVal = leg.Facts.Decision
	}
	candVal := got
	if cand.Facts.Status != 0 {
		candVal = fmt.Sprintf("%s (HTTP %d)", got, cand.Facts.Status)
	}
	switch {
	case got != record.Allow && got != record.Deny:
		c.add(AuthzError, cand, legVal, candVal)
	case got == record.Allow && rule.allowed != "":
		c.add(rule.allowed, cand, legVal, candVal)
	case got == record.Deny && rule.denied != "":
		c.add(rule.denied, cand, legVal, candVal)
	}
	return true, could
}

func (c *Comparer) judgeLogin(leg *record.Record, legOK bool, cand *record.Record) {
	f := cand.Facts
	if f.Decision != record.Allow {
		return
	}
	if missing := f.MissingClaims; len(missing) > 0 {
		// A claim legacy's tokens lack too is the provider's, not the cutover's.
		legMissing := []string{}
		if legOK && leg.Facts.Decision == record.Allow {
			legMissing = leg.Facts.MissingClaims
		}
		if only := minus(missing, legMissing); len(only) > 0 {
			c.add(ClaimMissing, cand, "", "missing "+strings.Join(only, " "))
		} else if !c.opt.AA {
			c.policy(true, ClaimMissing, cand, "missing "+strings.Join(legMissing, " "), "missing "+strings.Join(missing, " "))
		}
	}
	if f.SubjectOf != "" {
		// Signed in as another persona's account: whatever that account
		// reaches, this persona reaches (OIDC Core s2: a subject is one
		// end-user's, never reassigned).
		legToo := legOK && leg.Facts.Decision == record.Allow && leg.Facts.SubjectOf != ""
		c.policy(legToo, OverPermission, cand, "own account", "signed in as "+f.SubjectOf+"'s account (same sub)")
	}
	if legOK && leg.Facts.Decision == record.Allow && !sameSet(leg.Facts.Roles, f.Roles) {
		c.add(RoleMappingDrift, cand, strings.Join(leg.Facts.Roles, " "), strings.Join(f.Roles, " "))
	}
	c.judgeTTL(TTLDrift, leg, legOK, cand)
}

func (c *Comparer) judgeServiceToken(leg *record.Record, legOK bool, cand *record.Record) {
	f := cand.Facts
	if f.Decision != record.Allow {
		return
	}
	if legOK && leg.Facts.Decision == record.Allow {
		if extra := minus(f.Scopes, leg.Facts.Scopes); len(extra) > 0 {
			c.add(ServiceAccountScopeWidened, cand, strings.Join(leg.Facts.Scopes, " "), "added "+strings.Join(extra, " "))
		}
		// Scopes legacy's credential carries (its permissions, mapped) that
		// the candidate's token lacks are access lost. A token that carries
		// no scope at all says nothing of them (a provider may authorise a
		// client by its identity): its probes judge it.
		if lost := minus(leg.Facts.Scopes, f.Scopes); len(f.Scopes) > 0 && len(lost) > 0 {
			c.add(ServiceAccountDenied, cand, strings.Join(leg.Facts.Scopes, " "), "lacks "+strings.Join(lost, " "))
		}
	}
	if c.opt.AA {
		return
	}
	legAllowed := legOK && leg.Facts.Decision == record.Allow
	if c.overPolicy(f.TTL) {
		c.policy(legAllowed && c.overPolicy(leg.Facts.TTL), ServiceAccountLongLivedToken, cand, fmt.Sprintf("<= %s", c.opt.MaxAccessTTL), ttlString(f.TTL))
	}
	if f.RefreshIssued {
		c.policy(legAllowed && leg.Facts.RefreshIssued, ServiceAccountRefreshIssued, cand, "no refresh token", "refresh token issued")
	}
}

// judgeTTL flags a lifetime over policy (not in A/A mode) or, with a tolerance, one
// that differs from legacy's.
func (c *Comparer) judgeTTL(class Class, leg *record.Record, legOK bool, cand *record.Record) {
	ttl := cand.Facts.TTL
	if ttl == 0 {
		return
	}
	if !c.opt.AA && c.overPolicy(ttl) {
		legToo := legOK && leg.Facts.Decision == record.Allow && c.overPolicy(leg.Facts.TTL)
		c.policy(legToo, class, cand, fmt.Sprintf("<= %s (policy)", c.opt.MaxAccessTTL), ttlString(ttl))
		return
	}
	if want := int64(c.opt.ExpectTTL / time.Second); want > 0 && ttl > 0 && class == TTLDrift && !c.opt.AA {
		tol := c.opt.TTLTolerance
		if tol == 0 {
			tol = 0.1
		}
		if d := math.Abs(float64(ttl-want)) / float64(want); d > tol {
			c.add(class, cand, ttlString(want)+" (expect_lifetime)", ttlString(ttl))
		}
		return
	}
	if c.opt.TTLTolerance > 0 && legOK && leg.Facts.TTL > 0 && ttl > 0 {
		if d := math.Abs(float64(ttl-leg.Facts.TTL)) / float64(leg.Facts.TTL); d > c.opt.TTLTolerance {
			c.add(class, cand, ttlString(leg.Facts.TTL), ttlString(ttl))
		}
	}
}

// overPolicy reports whether a lifetime in seconds (-1: no expiry) exceeds the
// access-token policy.
func (c *Comparer) overPolicy(ttl int64) bool {
	return ttl < 0 || time.Duration(ttl)*time.Second > c.opt.MaxAccessTTL
}

// policy files a one-sided policy finding: a regression when the candidate alone
// breaks the policy, "present on both stacks" when legacy does too.
func (c *Comparer) policy(legacyToo bool, class Class, cand *record.Record, legVal, candVal string) {
	if legacyToo {
		c.addShared(class, cand, legVal, candVal)
		return
	}
	c.add(class, cand, legVal, candVal)
}

// judgeInvalid files a candidate token that failed validation as TOKEN_INVALID,
// or as present on both stacks when legacy's failed the same check.
func (c *Comparer) judgeInvalid(leg, cand *record.Record) {
	legVal := "valid"
	switch {
	case leg == nil:
		legVal = "did not run"
	case leg.Outcome == record.Invalid:
		legVal = "invalid: " + leg.Facts.Check
	case leg.Outcome != record.OK:
		legVal = string(leg.Outcome)
	}
	candVal := cand.Error
	if leg != nil && leg.Outcome == record.Invalid && leg.Facts.Check == cand.Facts.Check {
		c.addShared(TokenInvalid, cand, legVal, candVal)
		return
	}
	c.add(TokenInvalid, cand, legVal, candVal)
}

func ttlString(s int64) string {
	if s < 0 {
		return "no expiry"
	}
	return (time.Duration(s) * time.Second).String()
}
