package journeys

import (
	"context"
	"time"

	"github.com/cutover-dev/cutover/journeys/adapter"
	"github.com/cutover-dev/cutover/results/record"
)

func (x *run) login(ctx context.Context) bool {
	if !x.p.Human() {
		return x.service(ctx)
	}
	return x.signIn(ctx, "")
}

// signIn logs the persona in and records the login step under target.
func (x *run) signIn(ctx context.Context, target string) bool {
	err := x.step(ctx, record.StepLogin, target, func(ctx context.Context, f *record.Facts) error {
		f.Expected = record.Allow
		s, err := x.st.Login(ctx, x.p)
		if err != nil {
			return err
		}
		x.sess = s
		f.Decision = record.Allow
		f.Roles, f.Scopes, f.MissingClaims = s.Roles, s.Scopes, s.MissingClaims
		f.TTL = ttlSeconds(s.TTL)
		return nil
	})
	if err == nil {
		x.note(adapter.AuditLogin)
	}
	return err == nil
}

func ttlSeconds(d time.Duration) int64 {
	if d < 0 {
		return -1
	}
	return int64(d / time.Second)
}

func (x *run) service(ctx context.Context) bool {
	sa, ok := x.st.(ServiceAuthenticator)
	if !ok {
		x.skip(record.StepServiceToken, "", record.Unsupported, adapter.ErrUnsupported.Error())
		return false
	}
	err := x.step(ctx, record.StepServiceToken, "", func(ctx context.Context, f *record.Facts) error {
		f.Expected = record.Allow
		s, err := sa.ServiceLogin(ctx, x.p)
		if err != nil {
			return err
		}
		x.sess = s
		f.Decision = record.Allow
		f.Scopes, f.TTL, f.RefreshIssued, f.MissingClaims = s.Scopes, ttlSeconds(s.TTL), s.RefreshIssued(), s.MissingClaims
		return nil
	})
	return err == nil
}
