package browser

import (
	"net/url"
	"slices"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"github.com/cutover-dev/cutover/results/record"
)

// Redacted replaces every value the evidence must not show.
const Redacted = "[redacted]"

// redactTokens replaces what looks like a credential in text, as the records'
// redactor sees it (record.LooksRandom): a run of 20 or more token characters
// (base64 with + and /, base64url, base32, hex, JWT segments joined by dots)
// that is random rather than words. Session ids, CSRF tokens, codes, JWTs and
// random state values go; words, names and paths stay.
func redactTokens(s string) string {
	return record.RandomRuns(s, func(string) string { return Redacted })
}

// safeQuery are the query parameters whose values help a reader and carry no
// credential; every other value in a URL is redacted.
var safeQuery = []string{"client_id", "response_type", "scope", "redirect_uri", "post_logout_redirect_uri",
	"code_challenge_method", "error", "error_description", "prompt"}

// RedactURL returns raw with the value of every query parameter but a few
// harmless ones (client_id, scope, error, ...) replaced, the fragment and any user
// info dropped, and token-like path segments redacted. Its result is escaped.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return redactTokens(raw)
	}
	u.User = nil
	if u.Fragment != "" || u.RawFragment != "" {
		u.Fragment, u.RawFragment = Redacted, ""
	}
	if u.RawQuery != "" {
		q := u.Query()
		for k, vs := range q {
			if slices.Contains(safeQuery, k) {
				continue
			}
			for i := range vs {
				vs[i] = Redacted
			}
		}
		u.RawQuery = q.Encode()
	}
	// Path segments are redacted one by one, after escaping: it can join what was
	// apart ("0!0..." -> "0%210..."); then the whole, for a token that a slash
	// (standard base64) cut into short segments.
	segs := strings.Split(u.String(), "/")
	for i, seg := range segs {
		segs[i] = redactTokens(seg)
	}
	return redactTokens(strings.Join(segs, "/"))
}

// urlAttrs are attributes whose values are URLs.
var urlAttrs = []string{"href", "src", "action", "formaction", "poster", "cite", "data"}

// RedactHTML parses an HTML document and returns it with nothing a credential could
// hide in: every input's value, every textarea's text, scripts, styles, comments
// and hidden templates dropped, query values of URLs redacted, and token-like text
// replaced. The result is cut to at most max bytes (0: no limit).
func RedactHTML(doc string, max int) string {
	root, err := html.Parse(strings.NewReader(doc))
	if err != nil {
		// html.Parse only fails on a reader error; a string reader has none.
		return Redacted
	}
	redactNode(root)
	var b strings.Builder
	if err := html.Render(&b, root); err != nil {
		return Redacted
	}
	out := b.String()
	if max > 0 && len(out) > max {
		cut := max
		for cut > 0 && !isRuneStart(out[cut]) {
			cut--
		}
		out = out[:cut] + "\n<!-- cut: the excerpt is limited in size -->\n"
	}
	return out
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

func redactNode(n *html.Node) {
	for c := n.FirstChild; c != nil; {
		next := c.NextSibling
		switch {
		case c.Type == html.CommentNode:
			n.RemoveChild(c)
		case c.Type == html.ElementNode && (c.DataAtom == atom.Script || c.DataAtom == atom.Style ||
			c.DataAtom == atom.Noscript || c.DataAtom == atom.Template || c.DataAtom == atom.Textarea):
			for g := c.FirstChild; g != nil; g = c.FirstChild {
				c.RemoveChild(g)
			}
			if c.DataAtom == atom.Textarea {
				c.AppendChild(&html.Node{Type: html.TextNode, Data: Redacted})
			}
			redactAttrs(c)
		case c.Type == html.TextNode:
			c.Data = redactTokens(c.Data)
		default:
			// Broken markup turns text into tag and attribute names.
			c.Data = redactTokens(c.Data)
			redactAttrs(c)
			redactNode(c)
		}
		c = next
	}
}

func redactAttrs(n *html.Node) {
	for i := range n.Attr {
		a := &n.Attr[i]
		a.Key, a.Namespace = redactTokens(a.Key), redactTokens(a.Namespace)
		key := strings.ToLower(a.Key)
		switch {
		case key == "value" && a.Val != "":
			a.Val = Redacted
		case strings.HasPrefix(key, "on"):
			a.Val = "" // inline scripts
		case slices.Contains(urlAttrs, key) || strings.HasPrefix(key, "data-"):
			a.Val = RedactURL(a.Val)
		default:
			a.Val = redactTokens(a.Val)
		}
	}
}
