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
// the page URL and the values of its inputs, the controls outside it that name it
// (form="id") included.
type Form struct {
	ID     string
	Method string
	Action *url.URL
	Values url.Values
	// Password names the first password input, if any.
	Password string
	// Types are the types of the form's inputs by name (text, email, ...).
	Types map[string]string
	// Submit is the form's first submit control in page order (an input of
	// type submit or image, or a button of type submit), named or not: the one
	// a browser uses when the form is submitted without a click elsewhere. Nil
	// when the form has none.
	Submit *Control
}

// Control is a form's submit control: its name and value (sent only when it
// has a name), and where it sends the form when it says so itself
// (formaction, formmethod).
type Control struct {
	Name, Value string
	Action      *url.URL
	Method      string
}

// Submitted returns how a browser submits the form with its first submit
// control: the method, the URL and the values, the control's name and value
// among them.
func (f Form) Submitted() (method, action string, values url.Values) {
	v := url.Values{}
	for k, vs := range f.Values {
		v[k] = append([]string(nil), vs...)
	}
	method, u := f.Method, f.Action
	if c := f.Submit; c != nil {
		if c.Name != "" {
			v.Set(c.Name, c.Value)
		}
		if c.Action != nil {
			u = c.Action
		}
		if c.Method != "" {
			method = c.Method
		}
	}
	return method, u.String(), v
}

// ParseForms returns every form of an HTML page. base resolves relative actions.
func ParseForms(r io.Reader, base *url.URL) ([]Form, error) {
	doc, err := html.Parse(io.LimitReader(r, 4<<20))
	if err != nil {
		return nil, fmt.Errorf("parse html: %w", err)
	}
	// Controls that name their form (form="id") belong to it wherever they
	// are; they are added once every form is known.
	var forms []*Form
	type owned struct {
		form string
		n    *html.Node
	}
	var outside []owned
	var walk func(n *html.Node, f *Form)
	walk = func(n *html.Node, f *Form) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "form":
				nf := &Form{ID: attr(n, "id"), Method: strings.ToUpper(cmp.Or(attr(n, "method"), "GET")), Values: url.Values{}}
				action, err := base.Parse(attr(n, "action"))
				if err != nil {
					action = base
				}
				nf.Action = action
				forms = append(forms, nf)
				for c := n.FirstChild; c != nil; c = c.NextSibling {
					walk(c, nf)
				}
				return
			case "input", "button":
				if id := attr(n, "form"); id != "" {
					outside = append(outside, owned{id, n})
				} else if f != nil {
					control(f, n, base)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, f)
		}
	}
	walk(doc, nil)
	for _, o := range outside {
		for _, f := range forms {
			if f.ID == o.form {
				control(f, o.n, base)
				break
			}
		}
	}
	out := make([]Form, len(forms))
	for i, f := range forms {
		out[i] = *f
	}
	return out, nil
}

// control adds an input or a button to form f as a browser would submit it.
func control(f *Form, n *html.Node, base *url.URL) {
	name, typ := attr(n, "name"), strings.ToLower(attr(n, "type"))
	if n.Data == "button" {
		if typ == "" || typ == "submit" {
			submitControl(f, n, base)
		}
		return
	}
	if name != "" {
		if f.Types == nil {
			f.Types = map[string]string{}
		}
		f.Types[name] = cmp.Or(typ, "text")
	}
	switch {
	case typ == "submit" || typ == "image":
		submitControl(f, n, base)
	case name == "", typ == "button", typ == "reset", hasAttr(n, "disabled"):
	case typ == "password":
		if f.Password == "" {
			f.Password = name
		}
		f.Values.Set(name, "")
	case typ == "checkbox" || typ == "radio":
		if hasAttr(n, "checked") {
			f.Values.Add(name, cmp.Or(attr(n, "value"), "on"))
		}
	default:
		f.Values.Add(name, attr(n, "value"))
	}
}

// submitControl records the first submit control of f.
func submitControl(f *Form, n *html.Node, base *url.URL) {
	if f.Submit != nil || hasAttr(n, "disabled") {
		return
	}
	c := &Control{Name: attr(n, "name"), Value: attr(n, "value"), Method: strings.ToUpper(attr(n, "formmethod"))}
	if a := attr(n, "formaction"); a != "" {
		if u, err := base.Parse(a); err == nil {
			c.Action = u
		}
	}
	f.Submit = c
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
