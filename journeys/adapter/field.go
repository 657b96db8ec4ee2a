package adapter

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
)

// Field is where an answer holds a value, and how to bring the value to the
// shape the other side writes it in: the same patient is "Patient/123" in one
// stack's audit and "123" in the other's. In YAML it is a path ("subject"), or a
// mapping with the path and its normalisers, applied in this order:
//
//	subject: {path: entity.reference, strip_prefix: "Patient/"}
//	actor: {path: who, match: "^user:(.+)$"}
//	kind: {path: type, map: {LOGON: login}}
type Field struct {
	Path string `yaml:"path"`
	// StripPrefix and StripSuffix are removed when the value has them.
	StripPrefix string `yaml:"strip_prefix"`
	StripSuffix string `yaml:"strip_suffix"`
	// Match is a regular expression (RE2): the value becomes its first group,
	// or the whole match without a group; a value it does not match is kept.
	Match string `yaml:"match"`
	// Map replaces a whole value by another (after the others).
	Map map[string]string `yaml:"map"`
	// Lower folds the value to lower case (before Map).
	Lower bool `yaml:"lower"`
}

// F returns the Field of a plain path.
func F(path string) Field { return Field{Path: path} }

// UnmarshalYAML reads a path, or the mapping with its normalisers.
func (f *Field) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*f = Field{Path: n.Value}
		return nil
	}
	type plain Field
	return n.Decode((*plain)(f))
}

// IsZero reports whether the field names no path.
func (f Field) IsZero() bool { return f.Path == "" }

// Check reports what is wrong with the field itself: its path and expression.
func (f Field) Check() error {
	if f.Path == "" {
		return errors.New("path is empty: a field with normalisers still says where the value is")
	}
	if err := CheckPath(f.Path); err != nil {
		return err
	}
	if f.Match != "" {
		re, err := compileMatch(f.Match)
		if err != nil {
			return fmt.Errorf("match %q: %w", f.Match, err)
		}
		if re.NumSubexp() > 1 {
			return fmt.Errorf("match %q: %d groups; want at most one (the value)", f.Match, re.NumSubexp())
		}
	}
	return nil
}

var matches sync.Map // pattern -> *regexp.Regexp

func compileMatch(p string) (*regexp.Regexp, error) {
	if re, ok := matches.Load(p); ok {
		return re.(*regexp.Regexp), nil
	}
	re, err := regexp.Compile(p)
	if err != nil {
		return nil, err
	}
	matches.Store(p, re)
	return re, nil
}

// Normalize brings one value to the common shape.
func (f Field) Normalize(v string) string {
	if f.StripPrefix != "" {
		v = strings.TrimPrefix(v, f.StripPrefix)
	}
	if f.StripSuffix != "" {
		v = strings.TrimSuffix(v, f.StripSuffix)
	}
	if f.Match != "" {
		if re, err := compileMatch(f.Match); err == nil {
			// The group, or the whole match; a group that took no part
			// leaves the value as it was.
			if m := re.FindStringSubmatchIndex(v); m != nil {
				if g := len(m) - 2; m[g] >= 0 {
					v = v[m[g]:m[g+1]]
				}
			}
		}
	}
	if f.Lower {
		v = strings.ToLower(v)
	}
	if m, ok := f.Map[v]; ok {
		v = m
	}
	return v
}

// StringAt is StringAt of the field's path, normalised.
func (f Field) StringAt(doc any) (string, error) {
	v, err := StringAt(doc, f.Path)
	if err != nil {
		return "", err
	}
	return f.Normalize(v), nil
}

// StringsAt is StringsAt of the field's path, each value normalised.
func (f Field) StringsAt(doc any) ([]string, error) {
	vs, err := StringsAt(doc, f.Path)
	if err != nil {
		return nil, err
	}
	for i, v := range vs {
		vs[i] = f.Normalize(v)
	}
	return vs, nil
}
