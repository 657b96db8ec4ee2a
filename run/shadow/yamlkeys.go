package shadow

import (
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// keyProblem is a problem the structural walk of a file finds.
type keyProblem struct {
	line int
	path string
	msg  string
}

// checkKeys walks node n as type t, the way the decoder reads it, and reports
// with their YAML paths the keys t has no field for and durations written
// without a unit. The decoder's own strictness stops at a type with its own
// UnmarshalYAML (adapter.Field's mapping form), which this walk does not.
func checkKeys(n *yaml.Node, t reflect.Type, path string, out *[]keyProblem, lines map[int]string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n == nil || n.Kind == yaml.AliasNode {
		return
	}
	if n.Kind == yaml.DocumentNode {
		for _, c := range n.Content {
			checkKeys(c, t, path, out, lines)
		}
		return
	}
	switch {
	case t == reflect.TypeFor[time.Duration]():
		if n.Kind == yaml.ScalarNode && n.Tag == "!!int" && n.Value != "0" {
			*out = append(*out, keyProblem{n.Line, path, fmt.Sprintf("%s has no unit: add one (%ss, %sms)", n.Value, n.Value, n.Value)})
		}
	case t.Kind() == reflect.Struct && n.Kind == yaml.MappingNode:
		fields := map[string]reflect.Type{}
		var names []string
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if f.IsExported() && name != "-" && name != "" {
				fields[name] = f.Type
				names = append(names, name)
			}
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			p := joinPath(path, k.Value)
			lines[k.Line] = p
			ft, ok := fields[k.Value]
			if !ok {
				*out = append(*out, keyProblem{k.Line, p, "unknown key" + nearest(k.Value, names)})
				continue
			}
			checkKeys(n.Content[i+1], ft, p, out, lines)
		}
	case t.Kind() == reflect.Map && n.Kind == yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			p := joinPath(path, n.Content[i].Value)
			lines[n.Content[i].Line] = p
			checkKeys(n.Content[i+1], t.Elem(), p, out, lines)
		}
	case t.Kind() == reflect.Slice && n.Kind == yaml.SequenceNode:
		for i, item := range n.Content {
			checkKeys(item, t.Elem(), joinPath(path, strconv.Itoa(i)), out, lines)
		}
	}
}

// wrongType is the YAML library's message for a value of the wrong kind.
var wrongType = regexp.MustCompile("cannot unmarshal !!\\w+(?: `.*`)? into (\\S+)")

// typeError rewrites a decoder message "line N: cannot unmarshal ..." as
// "N: yaml.path: the value is not a number", never quoting the value (it may
// be a secret in the wrong place); ok is false for a line the walk reported.
func typeError(msg string, lines map[int]string, reported map[int]bool) (string, bool) {
	n, rest, _ := strings.Cut(strings.TrimPrefix(msg, "line "), ": ")
	line, _ := strconv.Atoi(n)
	if reported[line] {
		return "", false
	}
	if m := wrongType.FindStringSubmatch(rest); m != nil {
		rest = "the value is not " + kindOf(m[1])
	}
	if p, ok := lines[line]; ok {
		rest = p + ": " + rest
	}
	return n + ": " + rest, true
}

// kindOf names a Go type in the user's words.
func kindOf(goType string) string {
	switch {
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "uint"):
		return "a whole number"
	case strings.HasPrefix(goType, "float"):
		return "a number"
	case strings.HasSuffix(goType, "Duration"):
		return "a duration such as 5s"
	case goType == "bool":
		return "true or false"
	case strings.HasPrefix(goType, "[]"):
		return "a list"
	case strings.HasPrefix(goType, "map["):
		return "a mapping"
	case goType == "string":
		return "text"
	}
	return "what this key takes"
}

func joinPath(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

// nearest is " (did you mean K?)" for the key of names at most two edits
// from key, or "".
func nearest(key string, names []string) string {
	best, bestD := "", 3
	for _, k := range names {
		if d := editDistance(key, k); d < bestD {
			best, bestD = k, d
		}
	}
	if best == "" {
		return ""
	}
	return " (did you mean " + best + "?)"
}

// editDistance is the Levenshtein distance of a and b.
func editDistance(a, b string) int {
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
