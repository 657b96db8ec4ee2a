package adapter

import (
	"cmp"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
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
	// Raw is a body written out whole with {placeholders} (a SOAP envelope),
	// sent as ContentType (default text/xml; charset=utf-8); a value put in an
	// XML body is escaped for XML.
	Raw         string `yaml:"raw"`
	ContentType string `yaml:"content_type"`
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

// placeholder is {name}, {name.sub} (a persona attribute: {attr.mrn}) or
// {name:format} (a time: {since:unixms}).
var placeholder = regexp.MustCompile(`\{([a-z_]+(?:\.[A-Za-z0-9_-]+)?)(?::([a-z0-9]+))?\}`)

// TimeFormats are the formats a time placeholder may ask for: unix (seconds),
// unixms (milliseconds) and rfc3339 (the default, with nanoseconds), all in
// UTC. A date alone is not one: a feed asked for a whole day would show an
// earlier journey's events as this one's.
var TimeFormats = []string{"unix", "unixms", "rfc3339"}

// formatValue applies format to a placeholder's value, which must then be an
// RFC 3339 time.
func formatValue(v, format string) (string, error) {
	if format == "" {
		return v, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return "", fmt.Errorf("format %s applies to a time", format)
	}
	t = t.UTC()
	switch format {
	case "unix":
		return strconv.FormatInt(t.Unix(), 10), nil
	case "unixms":
		return strconv.FormatInt(t.UnixMilli(), 10), nil
	case "rfc3339":
		return t.Format(time.RFC3339Nano), nil
	}
	return "", fmt.Errorf("unknown format %q (known: %s)", format, strings.Join(TimeFormats, ", "))
}

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
	add(t.Raw)
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
	case t.Raw != "" && len(t.Body) > 0:
		return fmt.Errorf("a request has a body or a raw body, not both")
	}
	if !slices.Contains([]string{"", "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"}, t.Method) {
		return fmt.Errorf("method %q is not an HTTP method", t.Method)
	}
	for _, s := range append([]string{t.Path, t.Raw}, slices.Collect(maps.Values(t.Body))...) {
		for _, m := range placeholder.FindAllStringSubmatch(s, -1) {
			switch {
			case m[2] != "" && !slices.Contains(TimeFormats, m[2]):
				return fmt.Errorf("placeholder %s: unknown format %q (known: %s)", m[0], m[2], strings.Join(TimeFormats, ", "))
			case m[2] != "" && !slices.Contains(TimePlaceholders, m[1]):
				return fmt.Errorf("placeholder %s: a format applies to a time ({%s:unixms})", m[0], strings.Join(TimePlaceholders, "}, {"))
			}
		}
		// Something in braces that is not a placeholder would be sent as it
		// is written: a misspelt one ({since:RFC3339}, {attr.first name}).
		if m := strayBraces.FindString(placeholder.ReplaceAllString(s, "")); m != "" {
			return fmt.Errorf("%s is not a placeholder ({name}, {attr.NAME}, {since:unixms})", m)
		}
	}
	return nil
}

// TimePlaceholders are the placeholders that hold a time.
var TimePlaceholders = []string{"since"}

// strayBraces is text in braces that starts like a placeholder.
var strayBraces = regexp.MustCompile(`\{[A-Za-z_][^{}"]*\}`)

// filler fills placeholders from vars, collecting the unknown and the
// malformed ones.
type filler struct {
	vars         map[string]string
	missing, bad []string
}

func (f *filler) fill(s string, esc func(string) string) string {
	return placeholder.ReplaceAllStringFunc(s, func(m string) string {
		sub := placeholder.FindStringSubmatch(m)
		v, ok := f.vars[sub[1]]
		if !ok {
			f.missing = append(f.missing, m)
			return m
		}
		v, err := formatValue(v, sub[2])
		if err != nil {
			f.bad = append(f.bad, m+": "+err.Error())
			return m
		}
		return esc(v)
	})
}

// err says what could not be filled in what.
func (f *filler) err(what string) error {
	if len(f.missing) > 0 {
		slices.Sort(f.missing)
		return fmt.Errorf("%s: unknown placeholder %s (or a persona without that attribute)", what, strings.Join(slices.Compact(f.missing), ", "))
	}
	if len(f.bad) > 0 {
		return fmt.Errorf("%s: %s", what, strings.Join(f.bad, "; "))
	}
	return nil
}

// ExpandText fills the placeholders of a name template (a stack's name for a
// patient: "{attr.mrn}", "Patient/{id}"), unescaped.
func ExpandText(s string, vars map[string]string) (string, error) {
	f := filler{vars: vars}
	out := f.fill(s, func(v string) string { return v })
	if err := f.err(fmt.Sprintf("template %q", s)); err != nil {
		return "", err
	}
	return out, nil
}

// Expand fills the placeholders from vars. An unknown placeholder is an error.
func (t RequestTemplate) Expand(vars map[string]string) (Request, error) {
	f := filler{vars: vars}
	fill := f.fill
	path, query, hasQuery := strings.Cut(t.Path, "?")
	p := fill(path, url.PathEscape)
	if hasQuery {
		p += "?" + fill(query, url.QueryEscape)
	}
	r := Request{Method: t.Method, Path: p}
	if r.Method == "" {
		r.Method = http.MethodGet
	}
	if t.Raw != "" {
		ct := cmp.Or(t.ContentType, "text/xml; charset=utf-8")
		esc := func(s string) string { return s }
		if strings.Contains(ct, "xml") {
			esc = xmlEscape
		}
		r.Body, r.ContentType = []byte(fill(t.Raw, esc)), ct
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
	if err := f.err("template " + t.Method + " " + t.Path); err != nil {
		return Request{}, err
	}
	return r, nil
}

// xmlEscape escapes a value for XML text and attributes.
func xmlEscape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s)) // a strings.Builder never fails
	return strings.ReplaceAll(b.String(), `"`, "&#34;")
}
