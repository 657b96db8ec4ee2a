// Package yamlkeys walks a YAML document as the Go type it decodes into, the
// way the decoder will, and names in the user's words, with their YAML paths,
// what a strict reading refuses: keys no field takes (with the nearest key of
// their section), durations written without a unit (YAML reads "15" as 15
// nanoseconds), values of the wrong kind. Rehearsal files (run/config) and
// shadow files (run/shadow) are read with it.
//
// It imports nothing of this module.
package yamlkeys

import (
	"cmp"
	"fmt"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Problem is a problem the walk finds: at Line, the key at Path.
type Problem struct {
	Line int
	Path string
	Msg  string
}

// Check walks the document node n as type t, the way the decoder will read
// it, and returns the keys t has no field for (with the nearest key of the
// same section) and the durations written without a unit, each with its YAML
// path, and paths, the YAML path of the deepest key on each line (for the
// decoder's own messages, which name only a line).
func Check(n *yaml.Node, t reflect.Type) (problems []Problem, paths map[int]string) {
	paths = map[int]string{}
	walk(n, t, "", &problems, paths)
	return problems, paths
}

func walk(n *yaml.Node, t reflect.Type, path string, out *[]Problem, lines map[int]string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n == nil {
		return
	}
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		walk(n.Content[0], t, path, out, lines)
		return
	}
	if n.Kind == yaml.AliasNode {
		return
	}
	switch {
	case t == reflect.TypeFor[time.Duration]():
		if n.Kind == yaml.ScalarNode && n.Tag == "!!int" && n.Value != "0" {
			*out = append(*out, Problem{n.Line, path, fmt.Sprintf("%s has no unit: add one (%ss, %sms, %sm)", n.Value, n.Value, n.Value, n.Value)})
		}
	case t.Kind() == reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return // a scalar form (a template, a field path) or a kind error the decoder reports
		}
		fields := Fields(t)
		names := slices.Sorted(maps.Keys(fields))
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := JoinPath(path, k.Value)
			lines[k.Line] = p
			ft, ok := fields[k.Value]
			if !ok {
				if k.Value == "<<" {
					continue // a YAML merge key
				}
				msg := "unknown key"
				if near := Nearest(k.Value, names); near != "" {
					msg += fmt.Sprintf(" (did you mean %s?)", near)
				}
				*out = append(*out, Problem{k.Line, p, msg})
				continue
			}
			walk(v, ft, p, out, lines)
		}
	case t.Kind() == reflect.Map:
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				p := JoinPath(path, n.Content[i].Value)
				lines[n.Content[i].Line] = p
				walk(n.Content[i+1], t.Elem(), p, out, lines)
			}
		}
	case t.Kind() == reflect.Slice:
		if n.Kind == yaml.SequenceNode {
			for i, item := range n.Content {
				walk(item, t.Elem(), JoinPath(path, strconv.Itoa(i)), out, lines)
			}
		}
	}
}

// JoinPath is path.k, or k at the top.
func JoinPath(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

// Fields are the keys of struct t, inline fields' included, with their types.
func Fields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if slices.Contains(strings.Split(opts, ","), "inline") {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			maps.Copy(out, Fields(ft))
			continue
		}
		out[cmp.Or(name, strings.ToLower(f.Name))] = f.Type
	}
	return out
}

// Nearest is the name of names at most two edits from key, the first of the
// nearest, or "".
func Nearest(key string, names []string) string {
	best, bestD := "", 3
	for _, k := range names {
		if d := EditDistance(key, k); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

// EditDistance is the Levenshtein distance of a and b.
func EditDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// KindOf names a Go type, as the YAML library's messages name it, in the
// user's words.
func KindOf(goType string) string {
	switch {
	case strings.HasPrefix(goType, "uint"), strings.HasPrefix(goType, "int"):
		return "a whole number"
	case strings.HasPrefix(goType, "float"):
		return "a number"
	case goType == "bool":
		return "true or false"
	case strings.HasSuffix(goType, "Duration"):
		return "a duration such as 30s"
	case strings.HasPrefix(goType, "[]"):
		return "a list"
	case strings.HasPrefix(goType, "map["):
		return "a mapping of keys to values"
	case goType == "string":
		return "text"
	case strings.Contains(goType, "."):
		return "the kind of value this key takes (see the README's configuration)"
	}
	return "a section of keys"
}

// wrongType is the YAML library's message for a value of the wrong kind.
var wrongType = regexp.MustCompile("cannot unmarshal !!\\w+(?: `.*`)? into (\\S+)")

// TypeError rewrites a decoder message "line N: cannot unmarshal ..." as
// "N: yaml.path: the value is not a number", with the path paths gives the
// line, never quoting the value (it may be a secret in the wrong place); ok
// is false for a line reported already.
func TypeError(msg string, paths map[int]string, reported map[int]bool) (string, bool) {
	n, rest, _ := strings.Cut(strings.TrimPrefix(msg, "line "), ": ")
	line, _ := strconv.Atoi(n)
	if reported[line] {
		return "", false
	}
	if m := wrongType.FindStringSubmatch(rest); m != nil {
		rest = "the value is not " + KindOf(m[1])
	}
	if p, ok := paths[line]; ok {
		rest = p + ": " + rest
	}
	return n + ": " + rest, true
}
