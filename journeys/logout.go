package journeys

import (
	"context"

	"github.com/cutover-dev/cutover/journeys/adapter"
	"github.com/cutover-dev/cutover/results"
)

// logout logs out, then checks that the old credentials are dead: the first
// allowed probe replayed, each credential introspected, a refresh attempted.
func (x *run) logout(ctx context.Context) bool {
	err := x.step(ctx, results.StepLogout, "", func(ctx context.Context, f *results.Facts) error {
		return decided(f, x.st.Logout(ctx, x.sess))
	})
	if err != nil {
		// Not logged out (refused, unsupported or unavailable): checking that the
		// credentials died would only report noise.
		return false
	}
	x.note(adapter.AuditLogout)
	if x.allowed != nil {
		x.request(ctx, results.StepLogoutProbe, x.aTarget, results.Deny, x.sess, *x.allowed)
	}
	if in, ok := x.st.(Introspector); ok && len(in.Credentials(x.sess)) > 0 {
		for _, c := range in.Credentials(x.sess) {
			_ = x.step(ctx, results.StepLogoutIntrospect, c, func(ctx context.Context, f *results.Facts) error {
				f.Expected = results.Deny
				active, err := in.Active(ctx, x.sess, c)
				if err != nil {
					return err
				}
				f.Decision = results.Deny
				if active {
					f.Decision = results.Allow
				}
				return nil
			})
		}
	} else {
		x.skip(results.StepLogoutIntrospect, "", results.Unsupported, "no introspection configured or offered")
	}
	if r, ok := x.st.(Refresher); ok {
		x.refuseRefresh(ctx, r, results.StepLogoutRefresh, x.sess)
	} else {
		x.skip(results.StepLogoutRefresh, "", results.Unsupported, adapter.ErrUnsupported.Error())
	}
	return true
}
