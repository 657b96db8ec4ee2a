package legacy

import (
	"context"

	"github.com/cutover-dev/cutover/journeys/adapter"
	"github.com/cutover-dev/cutover/personas"
)

// Directory says where a homegrown stack lists its users (adapter.HTTPDirectory).
type Directory = adapter.HTTPDirectory

// Users implements Directory.
func (l *Adapter) Users(ctx context.Context) ([]personas.StackUser, error) {
	d := l.cfg.Directory
	if d == nil {
		return nil, adapter.ErrUnsupported
	}
	return d.Read(ctx, l.opt.Population, l.Login, func(path string) string { return l.url(path) }, l.tr, "legacy directory")
}
