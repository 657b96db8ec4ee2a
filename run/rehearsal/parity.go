package rehearsal

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cutover-dev/cutover/journeys"
	"github.com/cutover-dev/cutover/journeys/adapter"
	"github.com/cutover-dev/cutover/personas"
	"github.com/cutover-dev/cutover/results/analysis"
	"github.com/cutover-dev/cutover/run/config"
)

// directory is a stack that can list the users it knows, for the pre-run parity
// check (PROVISIONING_DRIFT): both stacks must know every persona before any load.
type directory interface {
	// Users lists the stack's users with their roles as the stack names them.
	Users(ctx context.Context) ([]personas.StackUser, error)
}

// ErrProvisioningDrift marks a run stopped before load because the stacks do not
// hold the same personas (PROVISIONING_DRIFT): comparing them would compare
// provisioning, not the cutover.
var ErrProvisioningDrift = errors.New(string(analysis.ProvisioningDrift))

// parity compares what both stacks' directories say about the population. A
// persona missing, duplicated or under another id on a side stops the run; role
// differences stop it only with parity.roles: abort, else they become a notice, and
// the journeys measure what they lead to (OVER_PERMISSION, ROLE_MAPPING_DRIFT...),
// which is what a cutover is signed off on. Stacks without a directory skip the
// check, with a notice saying so.
func parity(ctx context.Context, cfg *config.File, pop personas.Population, legacy, candidate journeys.Stack) ([]analysis.Notice, error) {
	ld, lok := legacy.(directory)
	cd, cok := candidate.(directory)
	skipped := []analysis.Notice{{Class: analysis.ProvisioningDrift, Detail: "not checked: a stack lists no directory (stacks.<side>.<adapter>.directory)"}}
	if !lok || !cok {
		return skipped, nil
	}
	lu, err := listUsers(ctx, ld)
	if errors.Is(err, adapter.ErrUnsupported) {
		return skipped, nil
	}
	if err != nil {
		return nil, fmt.Errorf("legacy directory: %w", err)
	}
	cu, err := listUsers(ctx, cd)
	if errors.Is(err, adapter.ErrUnsupported) {
		return skipped, nil
	}
	if err != nil {
		return nil, fmt.Errorf("candidate directory: %w", err)
	}
	var roleMap personas.RoleMap
	if l := cfg.Stacks.Legacy.Legacy; l != nil && l.RoleMap != nil && cfg.Mode == config.ModeParity {
		roleMap = func(r string) []string {
			if m, ok := l.RoleMap[r]; ok {
				return m
			}
			return []string{r}
		}
	}
	var fatal, roles []string
	ids := cfg.Parity.IDs["candidate"]
	if cfg.Mode == config.ModeAA {
		ids = cfg.Parity.IDs["legacy"] // legacy on both sides
	}
	for _, d := range personas.ParityByID(pop, lu, cu, roleMap, idOf(cfg.Parity.IDs["legacy"]), idOf(ids)) {
		if d.Kind == personas.DriftRoles && cfg.Parity.Roles != config.ParityAbort {
			roles = append(roles, d.String())
			continue
		}
		fatal = append(fatal, d.String())
	}
	if len(fatal) > 0 {
		return nil, fmt.Errorf("%w: %d persona(s) differ between the stacks before any load:\n  %s", ErrProvisioningDrift, len(fatal), strings.Join(first(fatal, 20), "\n  "))
	}
	if len(roles) == 0 {
		return nil, nil
	}
	return []analysis.Notice{{Class: analysis.ProvisioningDrift, Detail: fmt.Sprintf(
		"%d persona(s) hold other roles in the candidate's directory than their legacy roles map to; the run went on to measure the effect (parity.roles: abort stops it): %s",
		len(roles), strings.Join(first(roles, 5), "; "))}}, nil
}

// listUsers reads a directory, trying again (3 tries in all) when a read fails: a
// stack that drops the odd request under load must not abort a run before it
// starts; one that keeps failing does, with its last error.
func listUsers(ctx context.Context, d directory) ([]personas.StackUser, error) {
	var err error
	for try := range 3 {
		if try > 0 {
			select {
			case <-ctx.Done():
				return nil, errors.Join(err, ctx.Err())
			case <-time.After(time.Duration(try) * 250 * time.Millisecond):
			}
		}
		var users []personas.StackUser
		if users, err = d.Users(ctx); err == nil || errors.Is(err, adapter.ErrUnsupported) {
			return users, err
		}
	}
	return nil, err
}

func first(s []string, n int) []string {
	if len(s) > n {
		return append(s[:n:n], fmt.Sprintf("... and %d more", len(s)-n))
	}
	return s
}

// idOf reads a parity.ids value: the persona id (""/persona), an attribute of
// the accounts file (attribute:NAME), or nothing to check (none).
func idOf(spec string) personas.IDOf {
	switch {
	case spec == "none":
		return func(personas.Persona) string { return "" }
	case strings.HasPrefix(spec, "attribute:"):
		name := strings.TrimPrefix(spec, "attribute:")
		return func(p personas.Persona) string { return p.Attributes[name] }
	}
	return nil
}
