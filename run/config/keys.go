package config

import (
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/cutover-dev/cutover/internal/yamlkeys"
)

// unknownField is the YAML library's message for a key no type has.
var unknownField = regexp.MustCompile(`field (\S+) not found in type \S+`)

// wrongType is the YAML library's message for a value of the wrong kind.
var wrongType = regexp.MustCompile("cannot unmarshal !!(\\w+)(?: (.+?))? into (\\S+)")

// yamlKinds names the YAML tags of a value in the user's words.
var yamlKinds = map[string]string{"map": "a mapping", "seq": "a list", "str": "text", "int": "a number", "float": "a number", "bool": "true or false", "null": "nothing"}

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
			return got + " where " + yamlkeys.KindOf(sub[3]) + " is expected"
		}
		// The value itself is not repeated: it may be a secret put in the
		// wrong place.
		return "the value is not " + yamlkeys.KindOf(sub[3])
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
	return yamlkeys.Nearest(key, allKeys)
}
