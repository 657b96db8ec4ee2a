package adapter

import (
	"cmp"
	"fmt"
	"io"
	"net/url"
	"strings"

	"golang.org/x/net/html"
)

// Form is an HTML form as a browser would submit it: its action resolved against
// the page URL and the values of its inputs.
type Form struct {
	ID     string
	Method string
	Action *url.URL
	Values url.Values
	// Password names the first password input, if any.
	Password string
	// Types are the types of the form's inputs by name (text, email, ...).
	Types map[string]string
	// Submit is the name and value of the form's first named submit control
	// (an input of type submit or image, or a button), which a browser sends
	// when that control is clicked; empty when it has none.
	Submit [2]string
}

// Submitted returns the values a browser sends when the form's first submit
// control is clicked: its inputs and that control's name and value.
func (f Form) Submitted() url.Values {
	v := url.Values{}
	for k, vs := range f.Values {
		v[k] = append([]string(nil), vs...)
	}
	if f.Submit[0] != "" && !v.Has(f.Submit[0]) {
		v.Set(f.Submit[0], f.Submit[1])
	}
	return v
}

// ParseForms returns every form of an HTML page. base resolves relative actions.
func ParseForms(r io.Reader, base *url.URL) ([]Form, error) {
	doc, err := html.Parse(io.LimitReader(r, 4<<20))
	if err != nil {
		return nil, fmt.Errorf("parse html: %w", err)
	}
	var forms []Form
	var walk func(n *html.Node, f *Form)
	walk = func(n *html.Node, f *Form) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "form":
				nf := Form{ID: attr(n, "id"), Method: strings.ToUpper(attr(n, "method")), Values: url.Values{}}
				if nf.Method == "" {
					nf.Method = "GET"
				}
				action, err := base.Parse(attr(n, "action"))
				if err != nil {
					action = base
				}
				nf.Action = action
				for c := n.FirstChild; c != nil; c = c.NextSibling {
					walk(c, &nf)
				}
				forms = append(forms, nf)
				return
			case "button":
				if typ := strings.ToLower(attr(n, "type")); f != nil && f.Submit[0] == "" && attr(n, "name") != "" && (typ == "" || typ == "submit") {
					f.Submit = [2]string{attr(n, "name"), attr(n, "value")}
				}
			case "input":
				if f != nil {
					name, typ := attr(n, "name"), strings.ToLower(attr(n, "type"))
					if name != "" {
						if f.Types == nil {
							f.Types = map[string]string{}
						}
						f.Types[name] = cmp.Or(typ, "text")
					}
					switch {
					case name == "":
					case typ == "password":
						if f.Password == "" {
							f.Password = name
						}
						f.Values.Set(name, "")
					case typ == "submit" || typ == "image":
						if f.Submit[0] == "" {
							f.Submit = [2]string{name, attr(n, "value")}
						}
					case typ == "button":
					case typ == "checkbox" || typ == "radio":
						if hasAttr(n, "checked") {
							f.Values.Add(name, cmp.Or(attr(n, "value"), "on"))
						}
					default:
						f.Values.Add(name, attr(n, "value"))
					}
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, f)
		}
	}
	walk(doc, nil)
	return forms, nil
}

// LoginForm picks the login form of a page: the one with the given id if id is not
// empty, else the first form with a password input.
func LoginForm(forms []Form, id string) (Form, error) {
	for _, f := range forms {
		if id != "" && f.ID == id || id == "" && f.Password != "" {
			return f, nil
		}
	}
	if id != "" {
		return Form{}, fmt.Errorf("no form with id %q among %d forms", id, len(forms))
	}
	return Form{}, fmt.Errorf("no form with a password field among %d forms", len(forms))
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
	for _, a := range n.Attr {
		if a.Key == key {
			return true
		}
	}
	return false
}
