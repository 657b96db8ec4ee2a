package legacy

import (
	"cmp"
	"context"
	"fmt"

	"github.com/cutover-dev/cutover/journeys/adapter"
	"github.com/cutover-dev/cutover/personas"
)

// Directory says where a homegrown stack lists its users: a request read with
// the session of a persona allowed to (an admin), and where the answer holds each
// user's id, username and roles.
type Directory struct {
	Request adapter.RequestTemplate `yaml:"request"`
	// Users is the JSONPath of the list in the answer; each element is an object.
	Users string `yaml:"users"`
	// ID, Username and Roles are paths inside an element (default id, username,
	// roles).
	ID       string `yaml:"id"`
	Username string `yaml:"username"`
	Roles    string `yaml:"roles"`
	// As is the persona kind whose session reads the list (default admin).
	As personas.Kind `yaml:"as"`
}

// Users implements Directory.
func (l *Adapter) Users(ctx context.Context) ([]personas.StackUser, error) {
	d := l.cfg.Directory
	if d == nil {
		return nil, adapter.ErrUnsupported
	}
	const op = "legacy directory"
	kind := d.As
	if kind == "" {
		kind = personas.Admin
	}
	reader, err := adapter.ReaderPersona(l.opt.Population, kind, op)
	if err != nil {
		return nil, err
	}
	s, err := l.Login(ctx, reader)
	if err != nil {
		return nil, fmt.Errorf("%s: sign-in of %s: %w", op, reader.ID, err)
	}
	req, err := d.Request.Expand(nil)
	if err != nil {
		return nil, err
	}
	var doc any
	if err := adapter.GetJSON(ctx, l.tr, l.url(req.Path), s, op, &doc); err != nil {
		return nil, err
	}
	list, err := adapter.Lookup(doc, cmp.Or(d.Users, "$.users"))
	if err != nil {
		return nil, adapter.ProtocolErr(op, "%v", err)
	}
	items, ok := list.([]any)
	if !ok {
		return nil, adapter.ProtocolErr(op, "%s is %s, not a list", d.Users, adapter.JSONType(list))
	}
	out := make([]personas.StackUser, 0, len(items))
	for i, it := range items {
		var u personas.StackUser
		for _, f := range []struct {
			dst  *string
			path string
		}{{&u.ID, cmp.Or(d.ID, "id")}, {&u.Username, cmp.Or(d.Username, "username")}} {
			v, err := adapter.Lookup(it, f.path)
			s, _ := v.(string)
			if err != nil || s == "" {
				return nil, adapter.ProtocolErr(op, "user %d: no string at %s", i, f.path)
			}
			*f.dst = s
		}
		if u.Roles, err = adapter.StringsAt(it, cmp.Or(d.Roles, "roles")); err != nil {
			return nil, adapter.ProtocolErr(op, "user %d: %v", i, err)
		}
		out = append(out, u)
	}
	return out, nil
}
