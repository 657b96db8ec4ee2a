package journeys

import (
	"context"
	"errors"
	"slices"

	"github.com/cutover-dev/cutover/journeys/adapter"
	"github.com/cutover-dev/cutover/results/record"
)

// refresh renews the session, then checks rotation and reuse detection: the
// previous refresh token replayed must be refused, and after that refusal the
// newest one must be dead too (RFC 9700 s4.14.2). A stack that does revoke the
// family has ended the session, so the persona signs in again for the rest of
// the journey (recorded as a login with target "relogin").
func (x *run) refresh(ctx context.Context) bool {
	r, ok := x.st.(Refresher)
	if !ok {
		x.skip(record.StepRefresh, "", record.Unsupported, adapter.ErrUnsupported.Error())
		return true
	}
	waits := x.r.Waits[x.side]
	if waits.BeforeRefresh > 0 && x.r.wait(ctx, waits.BeforeRefresh) != nil {
		return false // the run is ending
	}
	prev := x.sess
	var rot *bool
	var bound bool
	err := x.step(ctx, record.StepRefresh, "", func(ctx context.Context, f *record.Facts) error {
		f.Expected = record.Allow
		next, err := r.Refresh(ctx, prev)
		if err != nil {
			return err
		}
		f.Decision = record.Allow
		rot = adapter.Rotated(prev, next)
		bound = next.ClientBound
		f.Rotated, f.Widened, f.ClientBound = rot, widened(prev, next), bound
		f.Scopes, f.TTL = next.Scopes, ttlSeconds(next.TTL)
		x.sess = next
		return nil
	})
	if err != nil {
		return true // the old session may still serve the rest of the journey
	}
	switch {
	case rot == nil:
		why := "the session is renewed in place: no refresh token to replay"
		x.skip(record.StepRefreshReplay, "", record.Unsupported, why)
		x.skip(record.StepRefreshFamily, "", record.Unsupported, why)
		return true
	case !*rot:
		why := "the refresh token was not rotated: there is no previous one to replay"
		if bound {
			why = "the refresh token was not rotated (a confidential client's, which RFC 9700 s4.14.2 does not ask to rotate; list REFRESH_REUSE_ACCEPTED and REFRESH_FAMILY_NOT_REVOKED under thresholds.coverage.optional if that is the policy): there is no previous one to replay"
		}
		x.skip(record.StepRefreshReplay, "", record.Skipped, why)
		x.skip(record.StepRefreshFamily, "", record.Skipped, why)
		return true
	}
	if waits.BeforeReplay > 0 && x.r.wait(ctx, waits.BeforeReplay) != nil {
		return false
	}
	if _, refused := x.refuseRefresh(ctx, r, record.StepRefreshReplay, prev); !refused {
		x.skip(record.StepRefreshFamily, "", record.Skipped, "the replayed refresh token was not refused")
		return true
	}
	if next, _ := x.refuseRefresh(ctx, r, record.StepRefreshFamily, x.sess); next != nil {
		x.sess = next // the family lives on: the journey goes on with it
		return true
	}
	return x.signIn(ctx, "relogin")
}

// refuseRefresh records as step name a refresh with the refresh token of s,
// which the stack must refuse. It returns the session a stack that accepted it
// handed out, and whether the stack refused (an error is neither).
func (x *run) refuseRefresh(ctx context.Context, r Refresher, name string, s *adapter.Session) (next *adapter.Session, refused bool) {
	_ = x.step(ctx, name, "", func(ctx context.Context, f *record.Facts) error {
		f.Expected = record.Deny
		var err error
		next, err = r.Refresh(ctx, s)
		var re *adapter.RefusedError
		refused = errors.As(err, &re)
		return decided(f, err)
	})
	return next, refused
}

// widened returns the scopes of next beyond those of prev, sorted; nil when prev's
// scopes are unknown.
func widened(prev, next *adapter.Session) []string {
	if len(prev.Scopes) == 0 {
		return nil // the original grant's scope is unknown: nothing to judge
	}
	var out []string
	for _, s := range next.Scopes {
		if !slices.Contains(prev.Scopes, s) && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out
}
