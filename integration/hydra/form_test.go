package hydra_test

import (
	"html"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParseForm feeds arbitrary HTML to the login form parser: it must not panic,
// and a form it finds must have the id asked for.
func FuzzParseForm(f *testing.F) {
	for _, seed := range []string{
		loginPageSample,
		`<form id="login-form"><input name="a" value="1"><input type="checkbox" name="b" checked><textarea name="c">x</textarea></form>`,
		`<form id="other"></form>`,
		`<form id="login-form" action="/x?y=1" method="POST"><input name=`,
		"",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		form, err := parseForm(strings.NewReader(doc), "login-form")
		if err != nil {
			return
		}
		if form.fields == nil {
			t.Errorf("parseForm(%q) found a form with nil fields", doc)
		}
	})
}

// FuzzFormRoundTrip checks that values written into a form as escaped HTML come back
// from parseForm unchanged.
func FuzzFormRoundTrip(f *testing.F) {
	f.Add("abc", "dr.grey")
	f.Add(`"><script>`, "a&b<c>")
	f.Add("", " spaced ")
	f.Fuzz(func(t *testing.T, challenge, username string) {
		for _, s := range []string{challenge, username} {
			// HTML parsing normalises newlines and NUL; such values never come from Hydra.
			if !utf8.ValidString(s) || strings.ContainsAny(s, "\r\x00") {
				t.Skip()
			}
		}
		doc := `<form id="login-form" method="post"><input type="hidden" name="login_challenge" value="` +
			html.EscapeString(challenge) + `"><input name="username" value="` + html.EscapeString(username) +
			`"><input type="password" name="password"><button type="submit">Go</button></form>`
		form, err := parseForm(strings.NewReader(doc), "login-form")
		if err != nil {
			t.Fatalf("parseForm: %v", err)
		}
		if got := form.fields.Get("login_challenge"); got != challenge {
			t.Errorf("login_challenge = %q; want %q", got, challenge)
		}
		if got := form.fields.Get("username"); got != username {
			t.Errorf("username = %q; want %q", got, username)
		}
		if form.method != "post" || len(form.fields) != 3 {
			t.Errorf("method %q, %d fields; want post, 3", form.method, len(form.fields))
		}
	})
}

// loginPageSample is shaped like the login app's page after a failed attempt.
const loginPageSample = `<!doctype html><html><body><p id="login-error">Invalid.</p>
<form id="login-form" method="post"><input type="hidden" name="login_challenge" value="abc">
<input name="username" value="dr.grey"><input type="password" name="password">
<button type="submit">Sign in</button></form></body></html>`
