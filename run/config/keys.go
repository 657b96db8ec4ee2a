package config

import (
	"cmp"
	"fmt"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"
)

// unknownField is the YAML library's message for a key no type has.
var unknownField = regexp.MustCompile(`field (\S+) not found in type \S+`)

// wrongType is the YAML library's message for a value of the wrong kind.
var wrongType = regexp.MustCompile("cannot unmarshal !!(\\w+)(?: (.+?))? into (\\S+)")

// yamlKinds names the YAML tags of a value in the user's words.
var yamlKinds = map[string]string{"map": "a mapping", "seq": "a list", "str": "text", "int": "a number", "float": "a number", "bool": "true or false", "null": "nothing"}

// kinds names Go types in the user's words.
func kindOf(goType string) string {
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

// unknownKey rewrites the YAML library's "field x not found in type pkg.T" in
// the user's words, with the nearest key the file format has when one is close,
// and its "cannot unmarshal !!str x into T" as what the value should be.
func unknownKey(msg string) string {
	msg = wrongType.ReplaceAllStringFunc(msg, func(m string) string {
		sub := wrongType.FindStringSubmatch(m)
		if sub[2] == "" {
			got := yamlKinds[sub[1]]
			if got == "" {
				got = "a value"
			}
			return got + " where " + kindOf(sub[3]) + " is expected"
		}
		// The value itself is not repeated: it may be a secret put in the
		// wrong place.
		return "the value is not " + kindOf(sub[3])
	})
	return unknownField.ReplaceAllStringFunc(msg, func(m string) string {
		key := unknownField.FindStringSubmatch(m)[1]
		out := "unknown key " + key
		if near := nearestKey(key); near != "" {
			out += " (did you mean " + near + "?)"
		}
		return out
	})
}

var (
	keysOnce sync.Once
	allKeys  []string
)

// nearestKey is the key of the file format at most two edits from key, or "".
func nearestKey(key string) string {
	keysOnce.Do(func() {
		seen := map[reflect.Type]bool{}
		var walk func(t reflect.Type)
		walk = func(t reflect.Type) {
			for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map || t.Kind() == reflect.Array {
				t = t.Elem()
			}
			if t.Kind() != reflect.Struct || seen[t] {
				return
			}
			seen[t] = true
			for i := range t.NumField() {
				f := t.Field(i)
				name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
				if name != "" && name != "-" && !slices.Contains(allKeys, name) {
					allKeys = append(allKeys, name)
				}
				if f.IsExported() {
					walk(f.Type)
				}
			}
		}
		walk(reflect.TypeFor[File]())
	})
	best, bestD := "", 3
	for _, k := range allKeys {
		if d := editDistance(key, k); d < bestD {
			best, bestD = k, d
		}
	}
	return best
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

// keyProblem is a problem the structural walk of a file finds.
type keyProblem struct {
	line int
	path string
	msg  string
}

// checkKeys walks the document node n as type t, the way the decoder will read
// it, and reports with their YAML paths the keys t has no field for (with the
// nearest key of the same section) and durations written without a unit (YAML
// reads "15" as 15 nanoseconds). lines maps each line to the YAML path of the
// deepest key on it, for the decoder's own messages.
func checkKeys(n *yaml.Node, t reflect.Type, path string, out *[]keyProblem, lines map[int]string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n == nil {
		return
	}
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		checkKeys(n.Content[0], t, path, out, lines)
		return
	}
	if n.Kind == yaml.AliasNode {
		return
	}
	switch {
	case t == reflect.TypeFor[time.Duration]():
		if n.Kind == yaml.ScalarNode && n.Tag == "!!int" && n.Value != "0" {
			*out = append(*out, keyProblem{n.Line, path, fmt.Sprintf("%s has no unit: add one (%ss, %sms, %sm)", n.Value, n.Value, n.Value, n.Value)})
		}
		return
	case t.Kind() == reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return // a scalar form (a template, a field path) or a kind error the decoder reports
		}
		fields := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := joinPath(path, k.Value)
			lines[k.Line] = p
			ft, ok := fields[k.Value]
			if !ok {
				if k.Value == "<<" {
					continue // a YAML merge key
				}
				msg := "unknown key"
				if near := nearestIn(k.Value, fields); near != "" {
					msg += fmt.Sprintf(" (did you mean %s?)", near)
				}
				*out = append(*out, keyProblem{k.Line, p, msg})
				continue
			}
			checkKeys(v, ft, p, out, lines)
		}
	case t.Kind() == reflect.Map:
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				p := joinPath(path, n.Content[i].Value)
				lines[n.Content[i].Line] = p
				checkKeys(n.Content[i+1], t.Elem(), p, out, lines)
			}
		}
	case t.Kind() == reflect.Slice:
		if n.Kind == yaml.SequenceNode {
			for i, item := range n.Content {
				checkKeys(item, t.Elem(), joinPath(path, strconv.Itoa(i)), out, lines)
			}
		}
	}
}

func joinPath(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

// yamlFields are the keys of struct t, inline fields' included, with their types.
func yamlFields(t reflect.Type) map[string]reflect.Type {
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
			maps.Copy(out, yamlFields(ft))
			continue
		}
		out[cmp.Or(name, strings.ToLower(f.Name))] = f.Type
	}
	return out
}

// nearestIn is the key of fields at most two edits from key (or one it starts
// or ends), or "".
func nearestIn(key string, fields map[string]reflect.Type) string {
	best, bestD := "", 3
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		d := editDistance(key, k)
		if d < bestD {
			best, bestD = k, d
		}
	}
	return best
}
