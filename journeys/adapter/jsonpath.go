package adapter

import (
	"fmt"
	"strings"
	"sync"

	"github.com/antchfx/xmlquery"
	"github.com/antchfx/xpath"

	"github.com/theory/jsonpath"
)

// Paths into JSON answers (who-am-I, token claims, audit feeds) are RFC 9535
// JSONPath queries, evaluated by github.com/theory/jsonpath. A path that does not
// start with "$" is read as a member path from the root: "user.roles" is
// "$.user.roles", "items[0].id" is "$.items[0].id". Paths into XML answers are
// XPath 1.0 expressions, evaluated by github.com/antchfx/xmlquery; a path is
// XPath when it starts with "/" or "./" ("//Session/Id", "./@actor").

// compiled caches parsed paths: they come from configuration, so the set is small.
var compiled sync.Map // string -> *jsonpath.Path

// CheckPath reports whether path is a valid query, for configuration checks.
func CheckPath(path string) error {
	if IsXPath(path) {
		_, err := compileXPath(path)
		return err
	}
	_, err := compilePath(path)
	return err
}

// IsXPath reports whether path is an XPath expression, for XML answers: it
// starts with "/" or "./".
func IsXPath(path string) bool {
	p := strings.TrimSpace(path)
	return strings.HasPrefix(p, "/") || strings.HasPrefix(p, "./")
}

var xpaths sync.Map // string -> *xpath.Expr

func compileXPath(path string) (*xpath.Expr, error) {
	if e, ok := xpaths.Load(path); ok {
		return e.(*xpath.Expr), nil
	}
	e, err := xpath.Compile(strings.TrimSpace(path))
	if err != nil {
		return nil, fmt.Errorf("xpath %q: %w", path, err)
	}
	xpaths.Store(path, e)
	return e, nil
}

// selectXML returns the nodes an XPath selects under n.
func selectXML(n *xmlquery.Node, path string) ([]any, error) {
	if !IsXPath(path) {
		return nil, fmt.Errorf("path %q: the answer is XML: write the path as an XPath (//Session/Id, ./@actor)", path)
	}
	e, err := compileXPath(path)
	if err != nil {
		return nil, err
	}
	nodes := xmlquery.QuerySelectorAll(n, e)
	out := make([]any, len(nodes))
	for i, x := range nodes {
		out[i] = x
	}
	return out, nil
}

func compilePath(path string) (*jsonpath.Path, error) {
	if p, ok := compiled.Load(path); ok {
		return p.(*jsonpath.Path), nil
	}
	q := strings.TrimSpace(path)
	switch {
	case q == "":
		return nil, fmt.Errorf("path is empty")
	case !strings.HasPrefix(q, "$"):
		if strings.HasPrefix(q, "[") {
			q = "$" + q
		} else {
			q = "$." + q
		}
	}
	p, err := jsonpath.Parse(q)
	if err != nil {
		return nil, fmt.Errorf("path %q: %w", path, err)
	}
	compiled.Store(path, p)
	return p, nil
}

// selectPath returns every node path selects in doc.
func selectPath(doc any, path string) ([]any, error) {
	if n, ok := doc.(*xmlquery.Node); ok {
		return selectXML(n, path)
	}
	if IsXPath(path) {
		return nil, fmt.Errorf("path %q is an XPath, and the answer is JSON", path)
	}
	p, err := compilePath(path)
	if err != nil {
		return nil, err
	}
	return p.Select(doc), nil
}

// ValuesAt returns every value path selects in doc (none is not an error).
func ValuesAt(doc any, path string) ([]any, error) { return selectPath(doc, path) }

// Lookup returns the one value path selects in doc: no node or several are
// errors.
func Lookup(doc any, path string) (any, error) {
	nodes, err := selectPath(doc, path)
	if err != nil {
		return nil, err
	}
	switch len(nodes) {
	case 0:
		return nil, fmt.Errorf("path %q: nothing there", path)
	case 1:
		return nodes[0], nil
	default:
		return nil, fmt.Errorf("path %q: %d values where one is expected", path, len(nodes))
	}
}

// StringAt returns the string, or the number written as text, at path.
func StringAt(doc any, path string) (string, error) {
	v, err := Lookup(doc, path)
	if err != nil {
		return "", err
	}
	switch t := v.(type) {
	case string:
		return t, nil
	case float64:
		return fmt.Sprint(t), nil
	case *xmlquery.Node:
		return xmlText(t), nil
	default:
		return "", fmt.Errorf("path %q: %s, not a string", path, JSONType(v))
	}
}

// xmlText is the text of an element or attribute node, trimmed.
func xmlText(n *xmlquery.Node) string {
	return strings.TrimSpace(n.InnerText())
}

// NumberAt returns the number at path (a JSON number or a numeric string).
func NumberAt(doc any, path string) (float64, error) {
	v, err := Lookup(doc, path)
	if err != nil {
		return 0, err
	}
	if n, ok := v.(*xmlquery.Node); ok {
		v = xmlText(n)
	}
	switch t := v.(type) {
	case float64:
		return t, nil
	case string:
		var f float64
		if _, err := fmt.Sscan(t, &f); err == nil {
			return f, nil
		}
	}
	return 0, fmt.Errorf("path %q: %s, not a number", path, JSONType(v))
}

// StringsAt collects the strings path selects: each node may be a string (split on
// spaces, as OAuth scopes are), a list of strings, or null. A path that selects
// nothing is an error; one that selects an empty list is not.
func StringsAt(doc any, path string) ([]string, error) {
	nodes, err := selectPath(doc, path)
	if err != nil {
		return nil, err
	}
	if len(nodes) == 0 {
		return nil, fmt.Errorf("path %q: nothing there", path)
	}
	out := []string{}
	for _, v := range nodes {
		switch t := v.(type) {
		case string:
			out = append(out, strings.Fields(t)...)
		case *xmlquery.Node:
			// One value per node an XPath selects (<role>a</role><role>b</role>),
			// each whole.
			if s := xmlText(t); s != "" {
				out = append(out, s)
			}
		case []any:
			for i, e := range t {
				s, ok := e.(string)
				if !ok {
					return nil, fmt.Errorf("path %q: element %d is %s, not a string", path, i, JSONType(e))
				}
				out = append(out, s)
			}
		case nil:
		default:
			return nil, fmt.Errorf("path %q: %s, not a string or list", path, JSONType(v))
		}
	}
	return out, nil
}

// JSONType names the JSON type of a decoded value, for error messages that must
// not quote the value (it may be a credential).
func JSONType(v any) string {
	if _, ok := v.(*xmlquery.Node); ok {
		return "an XML node"
	}
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case float64:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	default:
		return fmt.Sprintf("%T", v)
	}
}
