package browser

import (
	"context"
	"errors"
	"fmt"
	"html"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/chromedp/chromedp"
)

// EvidenceDir is the folder, inside the results folder, that holds what users saw
// when a browser step failed.
const EvidenceDir = "evidence"

// Size limits of evidence.
const (
	// DefaultMaxEvidence bounds the evidence of one run: a drift that fails every
	// login must not fill the disk with screenshots.
	DefaultMaxEvidence = 200
	// maxExcerpt bounds a DOM excerpt, in bytes.
	maxExcerpt = 64 << 10
)

// Evidence saves screenshots and redacted DOM excerpts under Root/evidence. It is
// safe for concurrent use.
type Evidence struct {
	// Root is the results folder; paths in records are relative to it.
	Root string
	// Max is how many failures keep evidence; 0 means DefaultMaxEvidence.
	Max int

	taken atomic.Int64
}

// errEvidenceLimit is reported in place of evidence once Max is reached.
var errEvidenceLimit = errors.New("evidence limit reached")

// capture saves a screenshot and a redacted DOM excerpt of the tab's page as
// <name>.png and <name>.html and returns their paths relative to Root. Password
// fields are emptied before the screenshot, so not even their length shows.
func (e *Evidence) capture(ctx context.Context, name string) ([]string, error) {
	max := e.Max
	if max == 0 {
		max = DefaultMaxEvidence
	}
	if e.taken.Add(1) > int64(max) {
		return nil, errEvidenceLimit
	}
	dir := filepath.Join(e.Root, EvidenceDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("evidence folder: %w", err)
	}
	var paths []string
	var errs []error
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](
		`document.querySelectorAll('input[type="password"]').forEach(e => { e.value = "" })`)); err != nil {
		errs = append(errs, fmt.Errorf("clear password fields: %w", err))
	}
	if png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot()); err != nil {
		errs = append(errs, fmt.Errorf("screenshot: %w", err))
	} else if p, err := e.write(name+".png", png); err != nil {
		errs = append(errs, err)
	} else {
		paths = append(paths, p)
	}
	if dom, err := excerpt(ctx); err != nil {
		errs = append(errs, fmt.Errorf("DOM excerpt: %w", err))
	} else if p, err := e.write(name+".html", []byte(dom)); err != nil {
		errs = append(errs, err)
	} else {
		paths = append(paths, p)
	}
	return paths, errors.Join(errs...)
}

// excerpt returns the page's DOM, redacted, headed by a comment with the page's
// redacted URL and title.
func excerpt(ctx context.Context) (string, error) {
	type page struct {
		URL   string `json:"url"`
		Title string `json:"title"`
		DOM   string `json:"dom"`
	}
	p, err := chromedp.Run(ctx, chromedp.Evaluate[page](
		`({url: location.href, title: document.title, dom: document.documentElement.outerHTML})`))
	if err != nil {
		return "", err
	}
	head := fmt.Sprintf("<!-- cutover evidence: redacted DOM excerpt\n     url: %s\n     title: %s -->\n",
		commentSafe(RedactURL(p.URL)), commentSafe(redactTokens(p.Title)))
	return head + RedactHTML(p.DOM, maxExcerpt), nil
}

// commentSafe keeps a value from closing the HTML comment it is written into.
func commentSafe(s string) string { return strings.ReplaceAll(html.EscapeString(s), "--", "- -") }

func (e *Evidence) write(name string, b []byte) (string, error) {
	rel := filepath.Join(EvidenceDir, name)
	if err := os.WriteFile(filepath.Join(e.Root, rel), b, 0o644); err != nil {
		return "", fmt.Errorf("write evidence: %w", err)
	}
	return filepath.ToSlash(rel), nil
}

// fileName makes a file name of the parts: letters, digits, dot, dash and
// underscore are kept, anything else becomes an underscore.
func fileName(parts ...string) string {
	s := strings.Join(parts, "-")
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			return r
		}
		return '_'
	}, s)
}
