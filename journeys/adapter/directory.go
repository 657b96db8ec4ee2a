package adapter

import (
	"cmp"
	"context"
	"fmt"
	"net/http"

	"github.com/cutover-dev/cutover/personas"
)

// HTTPDirectory says where a stack lists its users over plain HTTP (an admin
// API, not SCIM): a request read with the session of a persona allowed to (an
// admin), and where the answer (JSON or XML) holds each user's id, username and
// roles.
type HTTPDirectory struct {
	Request RequestTemplate `yaml:"request"`
	// Users is the path of the list in the answer; each element is one user
	// (an object in JSON, an element in XML).
	Users string `yaml:"users"`
	// ID, Username and Roles are fields inside an element (default id,
	// username, roles), each a path or a path with normalisers.
	ID       Field `yaml:"id"`
	Username Field `yaml:"username"`
	Roles    Field `yaml:"roles"`
	// As is the persona kind whose session reads the list (default admin).
	As personas.Kind `yaml:"as"`
}

// Read lists the users: a persona of kind As signs in with login, and the
// request is sent at url(path) with its session.
func (d *HTTPDirectory) Read(ctx context.Context, pop personas.Population, login func(context.Context, personas.Persona) (*Session, error),
	url func(string) string, tr http.RoundTripper, op string) ([]personas.StackUser, error) {
	kind := cmp.Or(d.As, personas.Admin)
	reader, err := ReaderPersona(pop, kind, op)
	if err != nil {
		return nil, err
	}
	s, err := login(ctx, reader)
	if err != nil {
		return nil, fmt.Errorf("%s: sign-in of %s: %w", op, reader.ID, err)
	}
	req, err := d.Request.Expand(nil)
	if err != nil {
		return nil, err
	}
	resp, err := CallAs(ctx, tr, url(req.Path), s, req, op)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		Drain(resp)
		return nil, ProtocolErr(op, "HTTP %d: the %s persona cannot list the users", resp.StatusCode, kind)
	}
	doc, err := DecodeAnswer(resp, op)
	if err != nil {
		return nil, err
	}
	items, err := ValuesAt(doc, cmp.Or(d.Users, "$.users"))
	if err != nil {
		return nil, ProtocolErr(op, "%v", err)
	}
	if len(items) == 1 {
		if list, ok := items[0].([]any); ok {
			items = list // a JSON list, selected whole
		}
	}
	out := make([]personas.StackUser, 0, len(items))
	for i, it := range items {
		var u personas.StackUser
		for _, f := range []struct {
			dst   *string
			field Field
		}{{&u.ID, withPath(d.ID, "id")}, {&u.Username, withPath(d.Username, "username")}} {
			v, err := f.field.StringAt(it)
			if err != nil || v == "" {
				return nil, ProtocolErr(op, "user %d: no value at %s", i, f.field.Path)
			}
			*f.dst = v
		}
		if u.Roles, err = withPath(d.Roles, "roles").StringsAt(it); err != nil {
			return nil, ProtocolErr(op, "user %d: %v", i, err)
		}
		out = append(out, u)
	}
	return out, nil
}

// withPath is f with path def when it names none.
func withPath(f Field, def string) Field {
	if f.Path == "" {
		f.Path = def
	}
	return f
}
