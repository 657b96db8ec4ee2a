package config

import (
	"slices"
	"strconv"

	"github.com/cutover-dev/cutover/journeys/browser"
	"github.com/cutover-dev/cutover/personas"
)

// Browser is the browser share of the workload: a few journeys through a real
// Chromium beside the protocol journeys, reported apart under the journey
// "browser" (login page, redirects and cookies as a user meets them).
type Browser struct {
	// Share of the scheduled starts that run a browser journey, in (0, 1].
	Share float64 `yaml:"share"`
	// MaxTabs caps the browser journeys in flight; each side of a start takes a
	// tab (default 4).
	MaxTabs int `yaml:"max_tabs"`
	// Kinds of persona that run browser journeys (default: every human kind).
	Kinds []personas.Kind `yaml:"kinds"`
	// Chromium is the browser executable (default: looked up, see browser.LookExec).
	Chromium string `yaml:"chromium"`
	// Legacy and Candidate say how a user meets each side: URLs relative to the
	// side's base URL (legacy) or issuer (oidc) and selectors. Empty fields take the
	// embedded stacks' pages: the legacy form at /login and /home, the candidate's
	// /portal/ app.
	Legacy    browser.Site `yaml:"legacy"`
	Candidate browser.Site `yaml:"candidate"`
}

// PersonaKinds returns the persona kinds that run browser journeys.
func (b *Browser) PersonaKinds() []personas.Kind {
	if len(b.Kinds) > 0 {
		return b.Kinds
	}
	var out []personas.Kind
	for _, k := range personas.Kinds {
		if (personas.Persona{Kind: k}).Human() {
			out = append(out, k)
		}
	}
	return out
}

// BrowserSite resolves a site against its stack, with the embedded stacks' pages
// as defaults.
func (f *File) BrowserSite(site browser.Site, s Side) (browser.Site, error) {
	if site.Start == "" {
		switch s.Adapter {
		case "legacy":
			site.Start, site.Landing = browser.LegacyStartPath, browser.LegacyLandingPath
		case "oidc":
			site.Start = browser.PortalLandingPath
		}
	}
	return site.Resolve(sideBase(s))
}

// sideBase is the base URL of a side: the legacy base URL or the OIDC issuer.
func sideBase(s Side) string {
	switch {
	case s.Adapter == "legacy" && s.Legacy != nil:
		return s.Legacy.BaseURL
	case s.Adapter == "oidc" && s.OIDC != nil:
		return s.OIDC.Issuer
	}
	return ""
}

func (f *File) validateBrowser(p *problems) {
	b := f.Load.Browser
	if b == nil {
		return
	}
	at := func(k ...string) []string { return append([]string{"load", "browser"}, k...) }
	if b.Share <= 0 || b.Share > 1 {
		p.add(at("share"), "is %v; want a share of the starts in (0, 1]", b.Share)
	}
	if b.MaxTabs < 0 {
		p.add(at("max_tabs"), "is %d; want > 0", b.MaxTabs)
	}
	for i, k := range b.Kinds {
		if !k.Valid() || !(personas.Persona{Kind: k}).Human() {
			p.add(at("kinds", strconv.Itoa(i)), "%q is not a kind of persona that signs in with a browser", k)
		}
	}
	sides := []string{"legacy", "candidate"}
	if f.Mode == ModeAA {
		sides = sides[:1]
	}
	for _, name := range sides {
		site, s := b.Legacy, f.Stacks.Legacy
		if name == "candidate" {
			site, s = b.Candidate, f.Stacks.Candidate
		}
		if sideBase(s) == "" {
			continue // the side's own problems are reported with it
		}
		r, err := f.BrowserSite(site, s)
		if err != nil {
			p.add(at(name), "%v", err)
			continue
		}
		for _, u := range slices.Compact([]string{r.Start, r.Landing}) {
			f.checkURL(p, at(name), u)
		}
	}
}
