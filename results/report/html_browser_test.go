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

// chromiumPath finds Debian's Chromium, its lighter headless shell first (as
// journeys/browser does). Its absence fails the test: the HTML report must be
// shown to render in a real browser, not skipped.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"/usr/lib/chromium/chromium-headless-shell", "chromium-headless-shell", "chromium"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("Chromium is not installed: the HTML report tests need it; install it with `apt-get install -y chromium` (make test does so as root)")
	return ""
}

// chrome is the one headless Chromium of the test binary, started by the first
// test that needs it and stopped by TestMain; each test opens its own tabs.
var chrome struct {
	once    sync.Once
	ctx     context.Context
	stop    func()
	dataDir string
	err     error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if chrome.stop != nil {
		chrome.stop()
	}
	if chrome.dataDir != "" {
		_ = os.RemoveAll(chrome.dataDir)
	}
	os.Exit(code)
}

// browser returns the context of the test binary's Chromium to open tabs
// from, starting it once, without a timeout, with the flags of STYLE.md: no
// sandbox (as root), nothing that talks to the network on its own.
func browser(t *testing.T) context.Context {
	t.Helper()
	exe := chromiumPath(t)
	chrome.once.Do(func() {
		chrome.dataDir, chrome.err = os.MkdirTemp("", "cutover-report-chromium-")
		if chrome.err != nil {
			return
		}
		opts := append(chromedp.DefaultExecAllocatorOptions[:],
			chromedp.ExecPath(exe),
			chromedp.NoSandbox,
			chromedp.DisableGPU,
			chromedp.Headless,
			chromedp.NoFirstRun,
			chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-sync", true),
			chromedp.Flag("hide-scrollbars", true),
			chromedp.WindowSize(1024, 768),
			chromedp.UserDataDir(chrome.dataDir),
		)
		alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
		ctx, cancel := chromedp.NewContext(alloc)
		chrome.ctx, chrome.stop = ctx, func() { cancel(); cancelAlloc() }
		// The first Do binds the browser's life to ctx, which has no deadline.
		chrome.err = chromedp.Do(ctx)
	})
	if chrome.err != nil {
		t.Fatalf("start chromium: %v", chrome.err)
	}
	return chrome.ctx
}

// openTab opens a tab of width x height pixels, closed with the test.
func openTab(t *testing.T, width, height int64) context.Context {
	t.Helper()
	tab, cancel := chromedp.NewContext(browser(t))
	t.Cleanup(cancel)
	tab, cancelTimeout := context.WithTimeout(tab, 60*time.Second)
	t.Cleanup(cancelTimeout)
	if err := chromedp.Do(tab, chromedp.EmulateViewport(width, height)); err != nil { // opens the tab
		t.Fatal(err)
	}
	return tab
}

// TestHTMLReportInChromium opens report.html from a file in headless Chromium,
// for the failing fixture run and for the inconclusive one: it renders; each
// step has its own plot of latency over time, a point per bucket with
// answers, with the generator's saturated and unhealthy windows shaded; the
// step with a latency finding has its distribution plot, the candidate above
// legacy; the errors plot is drawn; the page opens with the decision, the
// cohorts, the causes and the notices, in that order; nothing but the file
// itself is requested (works offline); and the console stays free of errors.
func TestHTMLReportInChromium(t *testing.T) {
	fail, _ := fixture.Golden.Summary(fixture.Options)
	thin, _ := fixture.Thin.Summary(fixture.ThinOptions)
	for _, tt := range []struct {
		name    string
		s       analysis.Summary
		title   string
		bands   [2]int // saturated, unhealthy
		notices int
		gaps    int // rows of the coverage table of what was not judged
		dists   int // distribution plots: steps with a latency finding
	}{
		{"fail", fail, "cutover fail: fixture", [2]int{1, 1}, 2, 0, 1},
		{"inconclusive", thin, "cutover inconclusive: thin", [2]int{0, 1}, 1, 6, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.s
			dir := t.TempDir()
			if err := results.WriteReports(dir, &s); err != nil {
				t.Fatal(err)
			}
			page := "file://" + filepath.Join(dir, results.HTMLFile)
			tab := openTab(t, 1024, 768)
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
			if err := chromedp.Do(tab, chromedp.Navigate(page), chromedp.WaitVisible(chromedp.ID("errors-over-time"))); err != nil {
				t.Fatalf("open %s: %v", page, err)
			}
			title, err := chromedp.Run(tab, chromedp.Title())
			if err != nil || !strings.Contains(title, tt.title) {
				t.Errorf("title = %q, %v; want it to name the verdict and the run (%q)", title, err, tt.title)
			}
			type seriesInfo struct {
				Name   string      `json:"name"`
				Points [][]float64 `json:"points"`
			}
			type plotInfo struct {
				Width     float64      `json:"width"`
				Series    []seriesInfo `json:"series"`
				Titles    []string     `json:"titles"`
				Bands     int          `json:"bands"`
				Unhealthy int          `json:"unhealthy"`
			}
			plots, err := chromedp.Run(tab, chromedp.Evaluate[map[string]plotInfo](`Object.fromEntries(
				Array.from(document.querySelectorAll('svg.plot')).map(svg => [svg.id, {
					width: svg.getBoundingClientRect().width,
					series: Array.from(svg.querySelectorAll('polyline')).map(p => ({name: p.dataset.series,
						points: Array.from({length: p.points.numberOfItems}, (_, i) => [p.points.getItem(i).x, p.points.getItem(i).y])})),
					titles: Array.from(svg.querySelectorAll('text.axis-title')).map(e => e.textContent),
					bands: svg.querySelectorAll('rect.band').length,
					unhealthy: svg.querySelectorAll('rect.unhealthy').length,
				}]))`))
			if err != nil {
				t.Fatal(err)
			}
			type wantPlot struct {
				series []string
				points []int // per series; -1: any
			}
			want := map[string]wantPlot{"errors-over-time": {[]string{"legacy errors", "candidate errors"}, []int{len(s.Timeline.Points), len(s.Timeline.Points)}}}
			for i, st := range s.Steps {
				// A point per bucket in which the side answered the step.
				var n [2]int
				for _, tp := range st.Timeline.Points {
					for j, sd := range []analysis.TimeSide{tp.Legacy, tp.Candidate} {
						if sd.Count > 0 {
							n[j]++
						}
					}
				}
				if n[0]+n[1] > 0 {
					want[fmt.Sprintf("latency-step-%d", i)] = wantPlot{[]string{"legacy p50", "candidate p50"}, n[:]}
				}
			}
			if _, ok := plots["latency-over-time"]; ok {
				t.Errorf("the plot of every step together is drawn beside the steps' own plots")
			}
			for id, w := range want {
				p, ok := plots[id]
				if !ok {
					t.Errorf("plot %s missing; plots: %d", id, len(plots))
					continue
				}
				if p.Width < 250 || p.Bands != tt.bands[0] || p.Unhealthy != tt.bands[1] || len(p.Series) != len(w.series) {
					t.Errorf("plot %s: width %v, %d saturated and %d unhealthy bands, %d series; want drawn, %v bands, %d series", id, p.Width, p.Bands, p.Unhealthy, len(p.Series), tt.bands, len(w.series))
				}
				if len(p.Titles) != 2 || !strings.HasPrefix(p.Titles[0], "time since the run's start (s)") || !strings.Contains(p.Titles[1], "(ms)") && !strings.Contains(p.Titles[1], "errors per") {
					t.Errorf("plot %s axis titles %q; want time in s and the y unit", id, p.Titles)
				}
				for i, sr := range p.Series {
					if i < len(w.series) && (sr.Name != w.series[i] || len(sr.Points) != w.points[i]) {
						t.Errorf("plot %s series %d = %s with %d points; want %s with %d", id, i, sr.Name, len(sr.Points), w.series[i], w.points[i])
					}
				}
			}
			// The distribution of a step with a latency finding: five
			// percentiles a side, the candidate's higher (drawn above:
			// smaller y) at the median.
			dists := 0
			for id, p := range plots {
				if !strings.HasPrefix(id, "latency-dist-") {
					continue
				}
				dists++
				if len(p.Series) != 2 || len(p.Series[0].Points) != 5 || len(p.Series[1].Points) != 5 || p.Series[1].Points[0][1] >= p.Series[0].Points[0][1] {
					t.Errorf("distribution %s = %+v; want legacy and candidate at p50, p90, p95, p99 and max, the candidate's p50 above legacy's", id, p.Series)
				}
			}
			if dists != tt.dists {
				t.Errorf("%d distribution plots; want %d (one per step with a latency finding)", dists, tt.dists)
			}
			counts, err := chromedp.Run(tab, chromedp.Evaluate[map[string]int](`(() => {
				const top = sel => document.querySelector(sel).getBoundingClientRect().top;
				return {
					findings: document.querySelectorAll('#findings tbody tr').length,
					steps: document.querySelectorAll('#latency tbody tr.step').length,
					evidence: document.querySelectorAll('#evidence tbody tr').length,
					notices: document.querySelectorAll('.notice').length,
					gaps: document.querySelectorAll('#coverage-gaps tbody tr').length,
					shared: document.querySelectorAll('#shared tbody tr').length,
					ordered: top('#decision') < top('#cohorts') && top('#cohorts') < top('#causes') && top('#causes') < top('#notices') && top('#notices') < top('#coverage') ? 1 : 0,
					coverageShown: document.querySelector('#coverage').getBoundingClientRect().height > 0 ? 1 : 0,
				};
			})()`))
			if err != nil {
				t.Fatal(err)
			}
			wantCounts := map[string]int{"findings": len(s.Findings), "steps": len(s.Steps), "evidence": len(report.Controls), "notices": tt.notices,
				"gaps": tt.gaps, "shared": len(s.Shared), "ordered": 1, "coverageShown": 1}
			for k, v := range wantCounts {
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
