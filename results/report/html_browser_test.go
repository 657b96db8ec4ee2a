package report_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/cutover-dev/cutover/results"
	"github.com/cutover-dev/cutover/results/analysis"
	"github.com/cutover-dev/cutover/results/internal/fixture"
	"github.com/cutover-dev/cutover/results/report"
)

// chromiumPath finds Debian's Chromium. Its absence fails the test: the HTML
// report must be shown to render in a real browser, not skipped.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	t.Fatal("Chromium is not installed: the HTML report test needs it; install it with `apt-get install -y chromium` (make test does so as root)")
	return ""
}

// browser starts one headless Chromium for the test binary's browser tests and
// returns a context to open tabs from.
func browser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Headless,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// Start the browser once, without a timeout: the first Do binds its life to ctx.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// TestHTMLReportInChromium opens report.html from a file in headless Chromium,
// for the failing fixture run and for the inconclusive one: it renders, both
// plots are drawn with all four latency series and the generator's saturated
// and unhealthy windows, the coverage is shown before the causes, nothing but
// the file itself is requested (works offline), and the console stays free of
// errors.
func TestHTMLReportInChromium(t *testing.T) {
	ctx := browser(t)
	fail, _ := fixture.Golden.Summary(fixture.Options)
	thin, _ := fixture.Thin.Summary(fixture.ThinOptions)
	for _, tt := range []struct {
		name    string
		s       analysis.Summary
		title   string
		bands   [2]int // saturated, unhealthy
		notices int
		gaps    int // rows of the coverage table of what was not judged
	}{
		{"fail", fail, "cutover fail: fixture", [2]int{1, 1}, 2, 0},
		{"inconclusive", thin, "cutover inconclusive: thin", [2]int{0, 1}, 1, 6},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.s
			dir := t.TempDir()
			if err := results.WriteReports(dir, &s); err != nil {
				t.Fatal(err)
			}
			page := "file://" + filepath.Join(dir, results.HTMLFile)

			tab, cancel := chromedp.NewContext(ctx)
			defer cancel()
			tab, cancelTimeout := context.WithTimeout(tab, 60*time.Second)
			defer cancelTimeout()
			if err := chromedp.Do(tab); err != nil { // open the tab
				t.Fatal(err)
			}
			var (
				mu       sync.Mutex
				problems []string
				requests []string
			)
			// Listen sees the tab's events in order, so every event before the reply to
			// the last Evaluate below has been seen when it returns.
			err := chromedp.Listen(tab, func(ev any) {
				mu.Lock()
				defer mu.Unlock()
				switch ev := ev.(type) {
				case *runtime.EventConsoleAPICalled:
					if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeWarning || ev.Type == runtime.ConsoleAPICalledTypeAssert {
						problems = append(problems, fmt.Sprintf("console.%s", ev.Type))
					}
				case *runtime.EventExceptionThrown:
					problems = append(problems, "exception: "+ev.ExceptionDetails.Text)
				case *log.EventEntryAdded:
					if ev.Entry.Level == log.EntryLevelError || ev.Entry.Level == log.EntryLevelWarning {
						problems = append(problems, fmt.Sprintf("log %s: %s %s", ev.Entry.Level, ev.Entry.Text, ev.Entry.URL))
					}
				case *network.EventRequestWillBeSent:
					requests = append(requests, ev.Request.URL)
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			if err := chromedp.Do(tab, chromedp.Navigate(page), chromedp.WaitVisible(chromedp.ID("latency-over-time"))); err != nil {
				t.Fatalf("open %s: %v", page, err)
			}
			title, err := chromedp.Run(tab, chromedp.Title())
			if err != nil || !strings.Contains(title, tt.title) {
				t.Errorf("title = %q, %v; want it to name the verdict and the run (%q)", title, err, tt.title)
			}
			type plotInfo struct {
				Width  float64 `json:"width"`
				Series []struct {
					Name   string `json:"name"`
					Points int    `json:"points"`
				} `json:"series"`
				Bands     int `json:"bands"`
				Unhealthy int `json:"unhealthy"`
			}
			plots, err := chromedp.Run(tab, chromedp.Evaluate[map[string]plotInfo](`Object.fromEntries(
				Array.from(document.querySelectorAll('svg.plot')).map(svg => [svg.id, {
					width: svg.getBoundingClientRect().width,
					series: Array.from(svg.querySelectorAll('polyline')).map(p => ({name: p.dataset.series, points: p.points.numberOfItems})),
					bands: svg.querySelectorAll('rect.band').length,
					unhealthy: svg.querySelectorAll('rect.unhealthy').length,
				}]))`))
			if err != nil {
				t.Fatal(err)
			}
			wantSeries := map[string][]string{
				"latency-over-time": {"legacy p50", "legacy p99", "candidate p50", "candidate p99"},
				"errors-over-time":  {"legacy errors", "candidate errors"},
			}
			for id, names := range wantSeries {
				p, ok := plots[id]
				if !ok {
					t.Errorf("plot %s missing; plots: %v", id, plots)
					continue
				}
				if p.Width < 300 || p.Bands != tt.bands[0] || p.Unhealthy != tt.bands[1] || len(p.Series) != len(names) {
					t.Errorf("plot %s: width %v, %d saturated and %d unhealthy bands, %d series; want drawn, %v bands, %d series", id, p.Width, p.Bands, p.Unhealthy, len(p.Series), tt.bands, len(names))
				}
				for i, sr := range p.Series {
					if i < len(names) && (sr.Name != names[i] || sr.Points < 10) {
						t.Errorf("plot %s series %d = %s with %d points; want %s with a point per bucket", id, i, sr.Name, sr.Points, names[i])
					}
				}
			}
			counts, err := chromedp.Run(tab, chromedp.Evaluate[map[string]int](`({
				findings: document.querySelectorAll('#findings tbody tr').length,
				steps: document.querySelectorAll('#latency tbody tr.step').length,
				evidence: document.querySelectorAll('#evidence tbody tr').length,
				notices: document.querySelectorAll('.notice').length,
				gaps: document.querySelectorAll('#coverage-gaps tbody tr').length,
				shared: document.querySelectorAll('#shared tbody tr').length,
				coverageFirst: (document.querySelector('#coverage').compareDocumentPosition(document.querySelector('#causes')) & Node.DOCUMENT_POSITION_FOLLOWING) ? 1 : 0,
				coverageShown: document.querySelector('#coverage').getBoundingClientRect().height > 0 ? 1 : 0,
			})`))
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]int{"findings": len(s.Findings), "steps": len(s.Steps), "evidence": len(report.Controls), "notices": tt.notices,
				"gaps": tt.gaps, "shared": len(s.Shared), "coverageFirst": 1, "coverageShown": 1}
			for k, v := range want {
				if counts[k] != v {
					t.Errorf("rendered %s = %d; want %d (all: %v)", k, counts[k], v, counts)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if len(problems) > 0 {
				t.Errorf("console problems: %q", problems)
			}
			for _, u := range requests {
				if u != page {
					t.Errorf("the report requested %s; want nothing but itself (self-contained, offline)", u)
				}
			}
			if len(requests) == 0 {
				t.Errorf("no request seen at all: the network listener is not working")
			}
		})
	}
}
