package browser

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/cutover-dev/cutover/personas"
	"github.com/cutover-dev/cutover/results/record"
)

// clockTick is the unit of the CPU times in /proc/<pid>/stat (USER_HZ, 100 on
// every architecture Linux runs Go on).
const clockTick = 10 * time.Millisecond

// treeCPU is the CPU (user and system) a browser has used so far: the sum, over
// every process of its process group (the main process, zygotes, renderers, GPU
// and utility processes, the zombies not reaped yet included), of its own time
// and of the time of the children it reaped. A child that exited counts once:
// until it is reaped in its own line, after in its parent's; only a process
// that left the group and was reaped outside it (a crash handler, idle here)
// would be lost.
func treeCPU(pgid int) time.Duration {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	var ticks int64
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // gone: reaped, and counted by its parent
		}
		// "pid (comm) state ppid pgrp ... utime stime cutime cstime ...": fields
		// counted from the last ')', as comm may hold anything.
		f := bytes.Fields(b[bytes.LastIndexByte(b, ')')+1:])
		if len(f) < 15 || string(f[2]) != strconv.Itoa(pgid) {
			continue
		}
		for _, v := range f[11:15] {
			n, _ := strconv.ParseInt(string(v), 10, 64)
			ticks += n
		}
	}
	return time.Duration(ticks) * clockTick
}

// selfCPU is the CPU the test process has used so far: chromedp, the embedded
// stacks the journeys sign in to, and the benchmark itself.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(syscall.TimevalToNsec(ru.Utime) + syscall.TimevalToNsec(ru.Stime))
}

// arm is one side of BenchmarkBrowserCPU: a browser and the way it runs a batch,
// with the CPU it spent.
type arm struct {
	c                 *Chromium
	batch             func(ctx context.Context, n uint64) error
	chromium, harness time.Duration
	journeys          int
}

// measure runs one batch and adds its CPU, the browser's tree and the test
// process, once the browser is quiet again (a closed tab's renderer exits after
// the journey returns).
func (a *arm) measure(ctx context.Context, n uint64) error {
	c0, h0 := treeCPU(a.c.PID()), selfCPU()
	if err := a.batch(ctx, n); err != nil {
		return err
	}
	time.Sleep(settle)
	a.chromium += treeCPU(a.c.PID()) - c0
	a.harness += selfCPU() - h0
	a.journeys += batch
	return nil
}

// settle is how long a batch's browser is given to finish its closing work
// before its CPU is read.
const settle = 200 * time.Millisecond

func (a *arm) perJourney(d time.Duration) float64 {
	return float64(d) / float64(time.Millisecond) / float64(a.journeys)
}

// BenchmarkBrowserCPU measures the CPU of a browser journey, the whole Chromium
// process tree and the harness process together, for the browser as launched
// and driven now against the baseline: the flags and the journey of before (a
// fresh browser context and tab per journey, chromedp's element queries and
// navigation actions, the old flags). Both browsers run side by side; each
// round runs a batch on each, in alternating order, a pool of 4 tabs on the
// embedded stacks on loopback. The ratio is lean/baseline.
//
//	go test -run '^$' -bench BrowserCPU -benchtime 3x ./journeys/browser
func BenchmarkBrowserCPU(b *testing.B) {
	pair := startStacks(b, "")
	ps := humans(batch, "")
	const tabs = 4
	start := func(opt Options) *Chromium {
		c, err := Start(b.Context(), opt)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = c.Close() })
		return c
	}
	baseC, leanC := start(Options{classic: true}), start(Options{})
	base := &arm{c: baseC, batch: func(ctx context.Context, n uint64) error {
		return baselineBatch(ctx, NewRunner(baseC, RunnerOptions{Sites: sites(pair), MaxTabs: tabs}), ps, tabs)
	}}
	leanR := NewRunner(leanC, RunnerOptions{Sites: sites(pair), MaxTabs: tabs})
	lean := &arm{c: leanC, batch: func(ctx context.Context, n uint64) error {
		runBatch(ctx, b, leanR, ps, n)
		return nil
	}}
	// A round of each first, unmeasured: the browsers start their zygotes and
	// caches, the lean one fills its pool.
	if err := base.batch(b.Context(), 0); err != nil {
		b.Fatal(err)
	}
	_ = lean.batch(b.Context(), 0)
	var n uint64
	for b.Loop() {
		n++
		order := []*arm{base, lean}
		if n%2 == 0 {
			order = []*arm{lean, base}
		}
		for _, a := range order {
			if err := a.measure(b.Context(), n); err != nil {
				b.Fatal(err)
			}
		}
	}
	total := func(a *arm) float64 { return a.perJourney(a.chromium + a.harness) }
	b.ReportMetric(total(base), "baseline-cpu-ms/journey")
	b.ReportMetric(total(lean), "lean-cpu-ms/journey")
	b.ReportMetric(total(lean)/total(base), "cpu-ratio")
	b.ReportMetric(lean.perJourney(lean.chromium)/base.perJourney(base.chromium), "chromium-ratio")
	b.ReportMetric(base.perJourney(base.chromium), "baseline-chromium-ms/journey")
	b.ReportMetric(lean.perJourney(lean.chromium), "lean-chromium-ms/journey")
	b.ReportMetric(base.perJourney(base.harness), "baseline-harness-ms/journey")
	b.ReportMetric(lean.perJourney(lean.harness), "lean-harness-ms/journey")
}

// baselineBatch runs batch journeys as the package ran them before leanFlags,
// the pool of slots and its own page scripts: the baseline of
// BenchmarkBrowserCPU.
func baselineBatch(ctx context.Context, r *Runner, ps []personas.Persona, tabs int) error {
	sem := make(chan struct{}, tabs)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for i := range batch {
		side := record.Legacy
		if i%2 == 1 {
			side = record.Candidate
		}
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			j := &journey{r: r, side: side, site: r.opt.Sites[side], p: ps[i%len(ps)]}
			if err := j.baseline(ctx); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("%s %s: %w", j.p.ID, side, err))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// baseline runs the journey as before: a browser context and tab opened for it
// and closed after, chromedp's element queries (SetValue, Click) and navigation
// actions (NavigateResponse, RunResponse), which mirror the DOM and follow every
// network event.
func (j *journey) baseline(ctx context.Context) error {
	jctx, cancel := context.WithTimeout(j.r.c.root, j.r.opt.JourneyTimeout)
	defer cancel()
	stop := context.AfterFunc(ctx, cancel)
	defer stop()
	tab, closeTab := chromedp.NewContext(jctx, chromedp.WithNewBrowserContext())
	defer closeTab()
	if err := chromedp.Do(tab); err != nil {
		return err
	}
	step := func(fn func(ctx context.Context) error) error {
		ctx, cancel := context.WithTimeout(tab, j.r.opt.StepTimeout)
		defer cancel()
		return fn(ctx)
	}
	want := func(ctx context.Context, state string) error {
		pg, err := j.look(ctx)
		if err == nil && pg.State != state {
			err = fmt.Errorf("page %+v; want %s", pg, state)
		}
		return err
	}
	s := j.site.Selectors
	for _, fn := range []func(ctx context.Context) error{
		func(ctx context.Context) error {
			if _, err := chromedp.Run(ctx, chromedp.NavigateResponse(j.site.Start)); err != nil {
				return err
			}
			return want(ctx, stateLogin)
		},
		func(ctx context.Context) error {
			if _, err := chromedp.RunResponse(ctx,
				chromedp.SetValue(chromedp.CSS(s.Username), j.p.Username),
				chromedp.SetValue(chromedp.CSS(s.Password), j.p.Secret.Reveal()),
				chromedp.Click(chromedp.CSS(s.Submit))); err != nil {
				return err
			}
			return want(ctx, stateLanded)
		},
		func(ctx context.Context) error {
			_, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(s.Logout)))
			return err
		},
		func(ctx context.Context) error {
			if _, err := chromedp.Run(ctx, chromedp.NavigateResponse(j.site.Landing)); err != nil {
				return err
			}
			return want(ctx, stateLogin)
		},
	} {
		if err := step(fn); err != nil {
			return err
		}
	}
	return nil
}
