package adapter

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// RequestTemplate is a request with {placeholders}: "METHOD /path" in its short
// form, or a mapping with a body. Placeholders in the path are escaped for the path
// or the query they stand in; body members are plain strings, encoded as JSON (the
// default) or as a form, and a member whose value expands to "" is left out (a
// break-glass request "without a reason" drops the reason member).
type RequestTemplate struct {
	Method string `yaml:"method"`
	Path   string `yaml:"path"`
	// Body members, each a string template.
	Body map[string]string `yaml:"body"`
	// Encoding of the body: json (default) or form.
	Encoding string `yaml:"encoding"`
}

// UnmarshalYAML reads the short form "METHOD /path" or the full mapping.
func (t *RequestTemplate) UnmarshalYAML(unmarshal func(any) error) error {
	var short string
	if err := unmarshal(&short); err == nil {
		method, path, ok := strings.Cut(strings.TrimSpace(short), " ")
		if !ok {
			method, path = http.MethodGet, short
		}
		*t = RequestTemplate{Method: method, Path: strings.TrimSpace(path)}
		return nil
	}
	type plain RequestTemplate
	return unmarshal((*plain)(t))
}

var placeholder = regexp.MustCompile(`\{([a-z_]+)\}`)

// Placeholders lists the placeholders a template uses, for configuration checks.
func (t RequestTemplate) Placeholders() []string {
	var out []string
	add := func(s string) {
		for _, m := range placeholder.FindAllStringSubmatch(s, -1) {
			if !slices.Contains(out, m[1]) {
				out = append(out, m[1])
			}
		}
	}
	add(t.Path)
	for _, v := range t.Body {
		add(v)
	}
	slices.Sort(out)
	return out
}

// Check reports what is wrong with the template itself.
func (t RequestTemplate) Check() error {
	switch {
	case t.Path == "":
		return fmt.Errorf("path is empty")
	case !strings.HasPrefix(t.Path, "/") && !strings.HasPrefix(t.Path, "{"):
		return fmt.Errorf("path %q does not start with /", t.Path)
	case t.Encoding != "" && t.Encoding != "json" && t.Encoding != "form":
		return fmt.Errorf("encoding %q: want json or form", t.Encoding)
	}
	if !slices.Contains([]string{"", "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"}, t.Method) {
		return fmt.Errorf("method %q is not an HTTP method", t.Method)
	}
	return nil
}

// Expand fills the placeholders from vars. An unknown placeholder is an error.
func (t RequestTemplate) Expand(vars map[string]string) (Request, error) {
	var missing []string
	fill := func(s string, esc func(string) string) string {
		return placeholder.ReplaceAllStringFunc(s, func(m string) string {
			v, ok := vars[m[1:len(m)-1]]
			if !ok {
				missing = append(missing, m)
				return m
			}
			return esc(v)
		})
	}
	path, query, hasQuery := strings.Cut(t.Path, "?")
	p := fill(path, url.PathEscape)
	if hasQuery {
		p += "?" + fill(query, url.QueryEscape)
	}
	r := Request{Method: t.Method, Path: p}
	if r.Method == "" {
		r.Method = http.MethodGet
	}
	if len(t.Body) > 0 {
		members := make(map[string]string, len(t.Body))
		for k, v := range t.Body {
			if e := fill(v, func(s string) string { return s }); e != "" {
				members[k] = e
			}
		}
		if t.Encoding == "form" {
			form := url.Values{}
			for k, v := range members {
				form.Set(k, v)
			}
			r.Body, r.ContentType = []byte(form.Encode()), "application/x-www-form-urlencoded"
		} else {
			r.Body, _ = json.Marshal(members) // a map of strings always marshals
			r.ContentType = "application/json"
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return Request{}, fmt.Errorf("template %s %s: unknown placeholder %s", t.Method, t.Path, strings.Join(slices.Compact(missing), ", "))
	}
	return r, nil
}
