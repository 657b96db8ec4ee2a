package journeys

import (
	"context"

	"github.com/cutover-dev/cutover/journeys/adapter"
	"github.com/cutover-dev/cutover/results/record"
)

// logout logs out, then checks that the old credentials are dead: the first
// allowed probe replayed, each credential introspected, a refresh attempted.
func (x *run) logout(ctx context.Context) bool {
	err := x.step(ctx, record.StepLogout, "", func(ctx context.Context, f *record.Facts) error {
		return decided(f, x.st.Logout(ctx, x.sess))
	})
	if err != nil {
		// Not logged out (refused, unsupported or unavailable): checking that the
		// credentials died would only report noise.
		return false
	}
	x.note(adapter.AuditLogout)
	if x.allowed != nil {
		x.request(ctx, record.StepLogoutProbe, x.aTarget, record.Deny, x.sess, *x.allowed)
	}
	if in, ok := x.st.(Introspector); ok && len(in.Credentials(x.sess)) > 0 {
		for _, c := range in.Credentials(x.sess) {
			_ = x.step(ctx, record.StepLogoutIntrospect, c, func(ctx context.Context, f *record.Facts) error {
				f.Expected = record.Deny
				active, err := in.Active(ctx, x.sess, c)
				if err != nil {
					return err
				}
				f.Decision = record.Deny
				if active {
					f.Decision = record.Allow
				}
				return nil
			})
		}
	} else {
		x.skip(record.StepLogoutIntrospect, "", record.Unsupported, "no introspection configured or offered")
	}
	if r, ok := x.st.(Refresher); ok {
		x.refuseRefresh(ctx, r, record.StepLogoutRefresh, x.sess)
	} else {
		x.skip(record.StepLogoutRefresh, "", record.Unsupported, adapter.ErrUnsupported.Error())
	}
	return true
}
