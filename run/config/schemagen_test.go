package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/cutover-dev/cutover/journeys/adapter"
)

// The JSON Schema of the rehearsal file is generated from the configuration
// types: their YAML keys, their Go types and their doc comments. Types with a
// YAML reader of their own (a template, a field with normalisers, a secret
// reference, a span) are written by hand below.

const modulePath = "github.com/cutover-dev/cutover"

// schemaGen walks the configuration types.
type schemaGen struct {
	root string // the module's directory
	// docs holds the doc comment of each struct field: "pkg/path.Type.Field".
	docs   map[string]string
	parsed map[string]bool
	defs   map[string]any
}

func newSchemaGen(root string) *schemaGen {
	return &schemaGen{root: root, docs: map[string]string{}, parsed: map[string]bool{}, defs: map[string]any{}}
}

// generateSchema returns the schema of File, indented.
func generateSchema(root string) ([]byte, error) {
	g := newSchemaGen(root)
	top := g.object(reflect.TypeFor[File]())
	top["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	top["$id"] = "https://cutover.dev/schema/rehearsal.json"
	top["title"] = "cutover rehearsal file"
	top["$defs"] = g.defs
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(top); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

const (
	durationPattern = `^(\$\{[A-Za-z_][A-Za-z0-9_]*\}|([0-9]*\.?[0-9]+(ns|us|µs|ms|s|m|h))+|0)$`
	// varPattern is a value the environment supplies at run time (${VAR}).
	varPattern = `^\$\{[A-Za-z_][A-Za-z0-9_]*\}$`
)

// orVar is s, or a ${VAR} the environment supplies.
func orVar(s map[string]any) map[string]any {
	return map[string]any{"oneOf": []any{s, map[string]any{"type": "string", "pattern": varPattern}}}
}

// special are the types that read their YAML themselves.
func (g *schemaGen) special(t reflect.Type) (map[string]any, bool) {
	switch t {
	case reflect.TypeFor[time.Duration]():
		return map[string]any{"oneOf": []any{map[string]any{"type": "string", "pattern": durationPattern}, map[string]any{"const": 0}},
			"description": "a duration: 500ms, 30s, 15m, 1h30m"}, true
	case reflect.TypeFor[Span]():
		return map[string]any{"oneOf": []any{map[string]any{"type": "string", "pattern": `^(([0-9]*\.?[0-9]+(ns|us|µs|ms|s|m|h))+|0|[0-9]*\.?[0-9]+%)$`}, map[string]any{"const": 0}},
			"description": "a duration (90s, 2m) or a share of the run (25%)"}, true
	case reflect.TypeFor[adapter.SecretRef]():
		return map[string]any{
			"type": "object", "additionalProperties": false, "minProperties": 1, "maxProperties": 1,
			"properties": map[string]any{
				"env":  map[string]any{"type": "string", "description": "an environment variable holding the secret"},
				"file": map[string]any{"type": "string", "description": "a file holding the secret (its whole content, a final newline dropped), relative to the rehearsal file"},
			},
			"description": "a secret, by reference: {env: VAR} or {file: PATH}; never its value",
		}, true
	case reflect.TypeFor[adapter.RequestTemplate]():
		obj := g.object(t)
		return map[string]any{"description": `a request: "METHOD /path/{placeholder}", or {method, path, body, encoding}`,
			"oneOf": []any{map[string]any{"type": "string", "pattern": `^([A-Z]+ )?/?\S*$`}, obj}}, true
	case reflect.TypeFor[adapter.Field]():
		obj := g.object(t)
		return map[string]any{"description": "where a value is (a JSONPath), or {path, strip_prefix, strip_suffix, match, lower, map}",
			"oneOf": []any{map[string]any{"type": "string"}, obj}}, true
	}
	return nil, false
}

// schemaOf returns the schema of a value of type t.
func (g *schemaGen) schemaOf(t reflect.Type) map[string]any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if s, ok := g.special(t); ok {
		return s
	}
	switch t.Kind() {
	case reflect.String:
		// YAML reads a number or a boolean into text as it is written.
		return map[string]any{"type": []any{"string", "number", "boolean"}}
	case reflect.Bool:
		return orVar(map[string]any{"type": "boolean"})
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return orVar(map[string]any{"type": "integer"})
	case reflect.Float32, reflect.Float64:
		return orVar(map[string]any{"type": "number"})
	case reflect.Slice, reflect.Array:
		return map[string]any{"type": "array", "items": g.schemaOf(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.schemaOf(t.Elem())}
	case reflect.Struct:
		name := defName(t)
		if _, ok := g.defs[name]; !ok {
			g.defs[name] = true // a placeholder while the type is walked
			g.defs[name] = g.object(t)
		}
		return map[string]any{"$ref": "#/$defs/" + name}
	}
	return map[string]any{}
}

func defName(t reflect.Type) string {
	return strings.ReplaceAll(strings.TrimPrefix(t.PkgPath(), modulePath+"/"), "/", ".") + "." + t.Name()
}

// object returns the object schema of struct t: its YAML keys (inline fields
// merged), each with its doc comment; no other key is allowed.
func (g *schemaGen) object(t reflect.Type) map[string]any {
	props := map[string]any{}
	g.fields(t, props)
	return map[string]any{"type": "object", "additionalProperties": false, "properties": props}
}

func (g *schemaGen) fields(t reflect.Type, props map[string]any) {
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if slices.Contains(strings.Split(opts, ","), "inline") {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			g.fields(ft, props)
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		s := g.schemaOf(f.Type)
		doc := g.doc(t, f.Name)
		if rest, ok := strings.CutPrefix(doc, f.Name+" "); ok {
			// The comment names the Go field first ("Issuer is ..."): the
			// reference names the key.
			doc = "`" + name + "` " + rest
		}
		if doc != "" {
			if _, isRef := s["$ref"]; isRef {
				s = map[string]any{"allOf": []any{s}, "description": doc}
			} else {
				s = clone(s)
				s["description"] = doc
			}
		}
		props[name] = s
	}
}

func clone(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// doc returns the doc comment of field of struct t, read from the source.
func (g *schemaGen) doc(t reflect.Type, field string) string {
	pkg := t.PkgPath()
	if !strings.HasPrefix(pkg, modulePath) {
		return ""
	}
	if !g.parsed[pkg] {
		g.parsed[pkg] = true
		g.parse(pkg)
	}
	return g.docs[pkg+"."+t.Name()+"."+field]
}

// parse reads the field comments of every struct type of package pkg.
func (g *schemaGen) parse(pkg string) {
	dir := filepath.Join(g.root, strings.TrimPrefix(strings.TrimPrefix(pkg, modulePath), "/"))
	files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	fset := token.NewFileSet()
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
		if err != nil {
			continue
		}
		ast.Inspect(f, func(n ast.Node) bool {
			ts, ok := n.(*ast.TypeSpec)
			if !ok {
				return true
			}
			st, ok := ts.Type.(*ast.StructType)
			if !ok {
				return true
			}
			for _, fl := range st.Fields.List {
				text := fl.Doc.Text()
				if text == "" {
					text = fl.Comment.Text()
				}
				text = strings.Join(strings.Fields(text), " ")
				for _, n := range fl.Names {
					g.docs[pkg+"."+ts.Name.Name+"."+n.Name] = text
				}
			}
			return true
		})
	}
}

// configReference renders docs/config.md from the schema: every key, by its
// YAML path, with its type and description.
func configReference(schema []byte) ([]byte, error) {
	var top map[string]any
	if err := json.Unmarshal(schema, &top); err != nil {
		return nil, err
	}
	defs, _ := top["$defs"].(map[string]any)
	var b bytes.Buffer
	b.WriteString("# The rehearsal file, key by key\n\n")
	b.WriteString("Generated from the configuration types and their comments by `go test ./run/config -run TestConfigReference -update`;\n")
	b.WriteString("the same test fails when this file or `run/config/schema.json` (printed by `cutover schema`) no longer matches the code.\n")
	b.WriteString("A key path with `<name>` is a mapping whose keys you choose; `[]` is a list.\n\n")
	b.WriteString("| key | type | what it is |\n|---|---|---|\n")
	var walk func(path string, s map[string]any, depth int)
	walk = func(path string, s map[string]any, depth int) {
		if depth > 12 {
			return
		}
		desc, _ := s["description"].(string)
		s = resolve(s, defs)
		typ := typeName(s, defs)
		if path != "" {
			fmt.Fprintf(&b, "| `%s` | %s | %s |\n", path, typ, strings.ReplaceAll(desc, "|", "\\|"))
		}
		switch {
		case s["properties"] != nil:
			props := s["properties"].(map[string]any)
			for _, k := range slices.Sorted(maps.Keys(props)) {
				walk(join(path, k), props[k].(map[string]any), depth+1)
			}
		case s["type"] == "array":
			if items, ok := s["items"].(map[string]any); ok {
				if inner := resolve(items, defs); inner["properties"] != nil {
					for _, k := range slices.Sorted(maps.Keys(inner["properties"].(map[string]any))) {
						walk(path+"[]."+k, inner["properties"].(map[string]any)[k].(map[string]any), depth+1)
					}
				}
			}
		case s["type"] == "object":
			if ap, ok := s["additionalProperties"].(map[string]any); ok {
				if inner := resolve(ap, defs); inner["properties"] != nil {
					for _, k := range slices.Sorted(maps.Keys(inner["properties"].(map[string]any))) {
						walk(path+".<name>."+k, inner["properties"].(map[string]any)[k].(map[string]any), depth+1)
					}
				}
			}
		}
	}
	walk("", top, 0)
	return b.Bytes(), nil
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

// resolve follows a $ref (directly or as the one member of allOf).
func resolve(s map[string]any, defs map[string]any) map[string]any {
	for range 4 {
		if all, ok := s["allOf"].([]any); ok && len(all) == 1 {
			s = all[0].(map[string]any)
			continue
		}
		if ref, ok := s["$ref"].(string); ok {
			s = defs[strings.TrimPrefix(ref, "#/$defs/")].(map[string]any)
			continue
		}
		break
	}
	return s
}

// typeName says a schema's type in words.
func typeName(s map[string]any, defs map[string]any) string {
	if one, ok := s["oneOf"].([]any); ok {
		var parts []string
		for _, o := range one {
			om := o.(map[string]any)
			if om["pattern"] == varPattern || om["const"] != nil {
				continue // ${VAR} and 0 are the same kind of value here
			}
			parts = append(parts, typeName(resolve(om, defs), defs))
		}
		return strings.Join(parts, " or ")
	}
	if _, many := s["type"].([]any); many {
		return "text"
	}
	switch t := s["type"]; t {
	case "array":
		items, _ := s["items"].(map[string]any)
		return "list of " + typeName(resolve(items, defs), defs)
	case "object":
		if s["properties"] != nil {
			return "mapping"
		}
		if ap, ok := s["additionalProperties"].(map[string]any); ok {
			return "mapping of " + typeName(resolve(ap, defs), defs)
		}
		return "mapping"
	case "string":
		if p, ok := s["pattern"].(string); ok && p == durationPattern {
			return "duration"
		}
		return "text"
	case "integer":
		return "whole number"
	case "number":
		return "number"
	case "boolean":
		return "true/false"
	case nil:
		return "any"
	default:
		return fmt.Sprint(t)
	}
}

// moduleRoot is the module's directory, from the package's.
func moduleRoot() string {
	wd, _ := os.Getwd()
	return filepath.Join(wd, "..", "..")
}
