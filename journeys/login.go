package journeys

import (
	"context"
	"fmt"
	"time"

	"github.com/cutover-dev/cutover/journeys/adapter"
	"github.com/cutover-dev/cutover/personas"
	"github.com/cutover-dev/cutover/results/record"
)

func (x *run) login(ctx context.Context) bool {
	if !x.p.Human() {
		return x.service(ctx)
	}
	return x.signIn(ctx, "")
}

// signIn logs the persona in and records the login step under target. A
// lockout the run's refused sign-ins set off (configured) makes the expected
// answer a refusal; a refusal that looks like a lockout nobody configured
// leaves the step unjudged (see signedIn).
func (x *run) signIn(ctx context.Context, target string) bool {
	err := x.step(ctx, record.StepLogin, target, func(ctx context.Context, f *record.Facts) error {
		f.Expected = record.Allow
		pre := x.lockState()
		if pre.kind != "" {
			f.Expected = record.Deny
			pre.set(f)
		}
		s, err := x.st.Login(ctx, x.p)
		if post := x.signedIn(err, true, x.j.Name+"/"+record.StepLogin); pre.kind == "" && post.kind != "" {
			post.set(f)
		}
		if err != nil {
			return err
		}
		x.sess = s
		f.Decision = record.Allow
		f.Roles, f.Scopes, f.MissingClaims = s.Roles, s.Scopes, s.MissingClaims
		f.TTL = ttlSeconds(s.TTL)
		f.SubjectOf = x.r.claimSubject(x.side, s.Subject, x.p.ID)
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

// wrongPassword signs in with a wrong password WrongPassword.Attempts times:
// each must be refused (an accepted one is signed out at once). Service
// personas have no password to get wrong.
func (x *run) wrongPassword(ctx context.Context) bool {
	if !x.p.Human() {
		return true
	}
	wrong := x.p
	// Never the right one, and nothing of it shows: a hash of it, prefixed.
	wrong.Secret = personas.NewSecret("wrong-" + x.p.Secret.Hash())
	for i := range max(1, x.r.WrongPassword.Attempts) {
		_ = x.step(ctx, record.StepLoginWrongPassword, fmt.Sprintf("attempt %d", i+1), func(ctx context.Context, f *record.Facts) error {
			f.Expected = record.Deny
			x.lockState().set(f)
			s, err := x.st.Login(ctx, wrong)
			x.signedIn(err, false, x.j.Name+"/"+record.StepLoginWrongPassword)
			if err == nil {
				_ = x.st.Logout(ctx, s)
			}
			return decided(f, err)
		})
	}
	return true
}
