// Package schemadoc checks a JSON output against its table in results/SCHEMA.md
// both ways: every field written is documented with its type, and every field
// documented is written. The tests of the packages that write the outputs
// (results for summary.json, run/shadow for shadow.json) use it.
package schemadoc

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"slices"
	"sort"
	"strings"
)

// Table reads the field table of the section of the Markdown file at path whose
// heading starts with heading (up to the next heading): field path -> type,
// from rows of the form "| `path` | type | meaning |".
func Table(path, heading string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	in := false
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, heading):
			in = true
		case strings.HasPrefix(line, "#"):
			in = false
		case in && strings.HasPrefix(line, "| `"):
			cells := strings.Split(line, "|")
			out[strings.Trim(strings.TrimSpace(cells[1]), "`")] = strings.TrimSpace(cells[2])
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s has no field table under %q", path, heading)
	}
	return out, nil
}

// Fields adds the fields of a decoded JSON document v to seen: path -> the
// types it was written with (object, array, string, boolean, integer, number,
// null). Array elements add "[]" to the path; the keys of the objects at
// mapPaths (maps, not records) become "*".
func Fields(v any, mapPaths []string, seen map[string][]string) {
	fields(v, "", mapPaths, seen)
	delete(seen, "")
}

func fields(v any, path string, mapPaths []string, seen map[string][]string) {
	add := func(typ string) {
		if !slices.Contains(seen[path], typ) {
			seen[path] = append(seen[path], typ)
		}
	}
	switch x := v.(type) {
	case map[string]any:
		add("object")
		for k, e := range x {
			p := k
			if path != "" {
				p = path + "." + k
			}
			if slices.Contains(mapPaths, path) {
				p = path + ".*"
			}
			fields(e, p, mapPaths, seen)
		}
	case []any:
		add("array")
		for _, e := range x {
			fields(e, path+"[]", mapPaths, seen)
		}
	case string:
		add("string")
	case bool:
		add("boolean")
	case float64:
		if x == math.Trunc(x) {
			add("integer")
		} else {
			add("number")
		}
	default:
		add("null")
	}
}

// Disagreements are where a table and the documents written disagree, each
// sorted.
type Disagreements struct {
	Undocumented, WrongType, Unwritten []string
}

// Any reports whether there is a disagreement.
func (d Disagreements) Any() bool {
	return len(d.Undocumented)+len(d.WrongType)+len(d.Unwritten) > 0
}

func (d Disagreements) String() string {
	return fmt.Sprintf("undocumented: %q\nwrong type: %q\ndocumented but never written: %q", d.Undocumented, d.WrongType, d.Unwritten)
}

// Compare checks the fields seen against the table doc. A documented type "A
// or B" admits either; "number" admits integers. The fields in rare (written
// only in circumstances the documents do not reach) may go unwritten.
func Compare(doc map[string]string, seen map[string][]string, rare ...string) Disagreements {
	var d Disagreements
	for path, types := range seen {
		want, ok := doc[path]
		if !ok {
			d.Undocumented = append(d.Undocumented, path)
			continue
		}
		wants := strings.Split(want, " or ")
		for _, typ := range types {
			if !slices.Contains(wants, typ) && !(typ == "integer" && slices.Contains(wants, "number")) {
				d.WrongType = append(d.WrongType, path+": "+typ+", documented "+want)
			}
		}
	}
	for path := range doc {
		if _, ok := seen[path]; !ok && !slices.Contains(rare, path) {
			d.Unwritten = append(d.Unwritten, path)
		}
	}
	sort.Strings(d.Undocumented)
	sort.Strings(d.WrongType)
	sort.Strings(d.Unwritten)
	return d
}
