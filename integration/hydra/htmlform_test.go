package hydra_test

import (
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"

	"golang.org/x/net/html"
)

// form is an HTML form: where it posts and its named fields with their values.
type form struct {
	action, method string
	fields         url.Values
}

// target resolves the form's action against the page it was found on; an empty
// action posts back to the page itself.
func (f form) target(page *url.URL) string {
	if f.action == "" {
		return page.String()
	}
	a, err := page.Parse(f.action)
	if err != nil {
		return page.String()
	}
	return a.String()
}

// parseForm finds the form with the given id in an HTML document.
func parseForm(r io.Reader, id string) (form, error) {
	doc, err := html.Parse(r)
	if err != nil {
		return form{}, err
	}
	var found *html.Node
	for n := range doc.Descendants() {
		if n.Type == html.ElementNode && n.Data == "form" && attr(n, "id") == id {
			found = n
			break
		}
	}
	if found == nil {
		return form{}, fmt.Errorf("no <form id=%q>", id)
	}
	f := form{action: attr(found, "action"), method: strings.ToLower(attr(found, "method")), fields: url.Values{}}
	for n := range found.Descendants() {
		if n.Type != html.ElementNode {
			continue
		}
		name := attr(n, "name")
		if name == "" {
			continue
		}
		switch n.Data {
		case "input":
			switch strings.ToLower(attr(n, "type")) {
			case "submit", "button", "image", "reset", "file":
				continue
			case "checkbox", "radio":
				if !hasAttr(n, "checked") {
					continue
				}
			}
			f.fields.Add(name, attr(n, "value"))
		case "textarea":
			var sb strings.Builder
			for c := range n.ChildNodes() {
				if c.Type == html.TextNode {
					sb.WriteString(c.Data)
				}
			}
			f.fields.Add(name, sb.String())
		}
	}
	return f, nil
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func hasAttr(n *html.Node, key string) bool {
	return slices.ContainsFunc(n.Attr, func(a html.Attribute) bool { return a.Key == key })
}
