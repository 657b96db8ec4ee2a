package adapter

import (
	"net/url"
	"strings"
	"testing"
)

func TestParseFormsAndLoginForm(t *testing.T) {
	base, _ := url.Parse("http://127.0.0.1:9/login?x=1")
	page := `<html><body>
<form id="search" action="/search"><input name="q" value="flu"></form>
<form id="login-form" method="post" action="/session">
  <input type="hidden" name="csrf_token" value="c5rf">
  <label>User <input name="username"></label>
  <input type="password" name="password">
  <input type="checkbox" name="remember" checked>
  <input type="checkbox" name="marketing">
  <input type="submit" name="go" value="Sign in">
</form></body></html>`
	forms, err := ParseForms(strings.NewReader(page), base)
	if err != nil {
		t.Fatal(err)
	}
	if len(forms) != 2 {
		t.Fatalf("ParseForms found %d forms; want 2", len(forms))
	}
	for _, id := range []string{"", "login-form"} {
		f, err := LoginForm(forms, id)
		if err != nil {
			t.Fatalf("LoginForm(%q) = %v", id, err)
		}
		if f.ID != "login-form" || f.Method != "POST" || f.Action.String() != "http://127.0.0.1:9/session" || f.Password != "password" {
			t.Errorf("LoginForm(%q) = id %q %s %s password %q; want login-form POST http://127.0.0.1:9/session password", id, f.ID, f.Method, f.Action, f.Password)
		}
		if got, want := f.Values.Encode(), "csrf_token=c5rf&password=&remember=on&username="; got != want {
			t.Errorf("values = %s; want %s", got, want)
		}
	}
	if _, err := LoginForm(forms, "nope"); err == nil || !strings.Contains(err.Error(), `no form with id "nope" among 2 forms`) {
		t.Errorf("LoginForm(nope) = %v; want a precise error", err)
	}
	none, _ := ParseForms(strings.NewReader("<p>maintenance</p>"), base)
	if _, err := LoginForm(none, ""); err == nil || !strings.Contains(err.Error(), "no form with a password field among 0 forms") {
		t.Errorf("LoginForm(no forms) = %v; want a precise error", err)
	}
}

func FuzzParseForms(f *testing.F) {
	base, _ := url.Parse("http://127.0.0.1/")
	f.Add(`<form id="login-form" method="post" action="/x"><input name="a" value="b"><input type="password" name="p"></form>`)
	f.Add(`<form action="http://[::1]:namedport"><input name=a></form>`)
	f.Add(`<form><form><input type=password name=p></form></form>`)
	f.Fuzz(func(t *testing.T, page string) {
		forms, err := ParseForms(strings.NewReader(page), base)
		if err != nil {
			return
		}
		for _, fm := range forms {
			if fm.Action == nil || fm.Values == nil {
				t.Fatalf("form %q has a nil action or values", fm.ID)
			}
		}
	})
}

// TestFormSubmittedAsABrowserWould: the first submit control in page order is
// the one used, named or not; controls outside the form that name it belong to
// it; a submit control's formaction and formmethod win; disabled controls are
// not sent.
func TestFormSubmittedAsABrowserWould(t *testing.T) {
	base, _ := url.Parse("https://op.example/logout")
	page := `<form id="f" method="post" action="/end">
<input type="hidden" name="xsrf" value="x1">
<input name="off" value="1" disabled>
<button type="submit">Sign out</button>
<button name="cancel" value="1">Stay</button>
</form>
<button form="f" name="outside" value="no">Outside</button>
<input form="f" type="hidden" name="extra" value="e">
<form id="g" method="post" action="/a"><button name="logout" value="yes" formaction="/b" formmethod="get">Yes</button></form>`
	forms, err := ParseForms(strings.NewReader(page), base)
	if err != nil || len(forms) != 2 {
		t.Fatalf("ParseForms: %d forms, %v", len(forms), err)
	}
	method, action, v := forms[0].Submitted()
	if method != "POST" || action != "https://op.example/end" || v.Get("xsrf") != "x1" || v.Get("extra") != "e" || v.Has("cancel") || v.Has("outside") || v.Has("off") {
		t.Errorf("first form submits %s %s %v; want POST /end with xsrf and extra, no cancel, outside or disabled field", method, action, v)
	}
	method, action, v = forms[1].Submitted()
	if method != "GET" || action != "https://op.example/b" || v.Get("logout") != "yes" {
		t.Errorf("second form submits %s %s %v; want GET /b with logout=yes", method, action, v)
	}
}
