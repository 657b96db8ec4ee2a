package journeys

import (
	"fmt"
	"strconv"
	"strings"
)

// lookupPath extracts a value from decoded JSON by a dotted path: "$.user.roles",
// "roles", "data.items[0].id". It is the subset of JSONPath (RFC 9535) that
// who-am-I answers need: member names and array indexes.
func lookupPath(doc any, path string) (any, error) {
	p := strings.TrimPrefix(strings.TrimPrefix(path, "$"), ".")
	if p == "" {
		return doc, nil
	}
	cur := doc
	for _, seg := range strings.Split(p, ".") {
		name, idx := seg, -1
		if i := strings.IndexByte(seg, '['); i >= 0 && strings.HasSuffix(seg, "]") {
			n, err := strconv.Atoi(seg[i+1 : len(seg)-1])
			if err != nil || n < 0 {
				return nil, fmt.Errorf("path %q: bad index in %q", path, seg)
			}
			name, idx = seg[:i], n
		}
		if name != "" {
			m, ok := cur.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("path %q: %q is not an object", path, name)
			}
			if cur, ok = m[name]; !ok {
				return nil, fmt.Errorf("path %q: no member %q", path, name)
			}
		}
		if idx >= 0 {
			a, ok := cur.([]any)
			if !ok || idx >= len(a) {
				return nil, fmt.Errorf("path %q: no element %d", path, idx)
			}
			cur = a[idx]
		}
	}
	return cur, nil
}

// stringsAt extracts a string or a list of strings (or a space-separated string,
// as OAuth scopes are) at path.
func stringsAt(doc any, path string) ([]string, error) {
	v, err := lookupPath(doc, path)
	if err != nil {
		return nil, err
	}
	switch t := v.(type) {
	case string:
		return strings.Fields(t), nil
	case []any:
		out := make([]string, 0, len(t))
		for i, e := range t {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("path %q: element %d is %T, not a string", path, i, e)
			}
			out = append(out, s)
		}
		return out, nil
	case nil:
		return nil, nil
	default:
		return nil, fmt.Errorf("path %q: %T, not a string or list", path, v)
	}
}
