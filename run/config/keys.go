package config

import (
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// unknownField is the YAML library's message for a key no type has.
var unknownField = regexp.MustCompile(`field (\S+) not found in type \S+`)

// unknownKey rewrites the YAML library's "field x not found in type pkg.T" in
// the user's words, with the nearest key the file format has when one is close.
func unknownKey(msg string) string {
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
