package config

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cutover-dev/cutover/personas"
	"github.com/cutover-dev/cutover/results/record"
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

func TestBrowserDefaults(t *testing.T) {
	for _, mode := range []string{ModeParity, ModeAA} {
		doc := strings.Replace(withBrowser(t, "{share: 0.05}"), "mode: parity", "mode: "+mode, 1)
		f, err := Parse("demo.yaml", []byte(doc), demoEnv)
		if err != nil {
			t.Fatalf("%s: Parse = %v", mode, err)
		}
		sites, err := f.BrowserSites()
		if err != nil {
			t.Fatal(err)
		}
		want := map[record.Side][2]string{
			record.Legacy:    {"http://127.0.0.1:8001/login", "http://127.0.0.1:8001/home"},
			record.Candidate: {"http://127.0.0.1:8002/portal/", "http://127.0.0.1:8002/portal/"},
		}
		if mode == ModeAA {
			want[record.Candidate] = want[record.Legacy]
		}
		for side, w := range want {
			if s := sites[side]; s.Start != w[0] || s.Landing != w[1] || s.Selectors.LoginForm != "#login-form" {
				t.Errorf("%s: %s site = %+v; want start %s, landing %s, default selectors", mode, side, s, w[0], w[1])
			}
		}
		if got := f.Load.Browser.PersonaKinds(); len(got) != 5 || got[0] != personas.Patient {
			t.Errorf("default kinds = %v; want every human kind", got)
		}
	}
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
