package config

import (
	"fmt"
	"strings"
	"testing"
)

// withBrowser adds a load.browser block to the demo file.
func withBrowser(t *testing.T, block string) string {
	t.Helper()
	doc := strings.Replace(string(readDemo(t)), "\nload:\n", "\nload:\n  browser: "+block+"\n", 1)
	if !strings.Contains(doc, "  browser: "+block) {
		t.Fatal("demo.yaml has no load section")
	}
	return doc
}

func TestBrowserProblems(t *testing.T) {
	doc := withBrowser(t, `{share: 1.5, max_tabs: -1, kinds: [patient, service],
    candidate: {start: "http://evil.example/portal/", selectors: {landed: "#home"}}}`)
	_, err := Parse("demo.yaml", []byte(doc), demoEnv)
	if err == nil {
		t.Fatal("Parse = nil; want errors")
	}
	line := strings.Count(doc[:strings.Index(doc, "  browser:")], "\n") + 1
	for _, w := range []string{
		fmt.Sprintf("demo.yaml:%d: load.browser.share: is 1.5; want a share of the starts in (0, 1]", line),
		"load.browser.max_tabs: is -1",
		`load.browser.kinds.1: "service" is not a kind of persona that signs in with a browser`,
		fmt.Sprintf(`demo.yaml:%d: load.browser.candidate: host "evil.example" is not in stacks.allow_hosts`, line+1),
	} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("Parse error lacks %q; got:\n%v", w, err)
		}
	}
}
