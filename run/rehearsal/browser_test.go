//go:build linux

package rehearsal

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cutover-dev/cutover/examples"
	"github.com/cutover-dev/cutover/internal/exitcode"
	"github.com/cutover-dev/cutover/journeys/browser"
	"github.com/cutover-dev/cutover/results/analysis"
	"github.com/cutover-dev/cutover/results/record"
	"github.com/cutover-dev/cutover/run/config"
	"github.com/cutover-dev/cutover/stacks"
)

// mixedConfig reads the demo file against embedded stacks running drifts, with a
// browser share of the starts. Every persona is in the salted-SHA-256 cohort, so
// under lazy-migration-broken every candidate login fails, in both kinds of journey.
func mixedConfig(t *testing.T, drifts string, duration time.Duration) *config.File {
	t.Helper()
	edit := func(cfg *config.File) {
		cfg.Personas.Generate.Count, cfg.Personas.Generate.SHA256Share = 40, 1
		constant(10, duration)(cfg)
		cfg.Load.Drain = 30 * time.Second
		cfg.Load.Browser = &config.Browser{Share: 0.3, MaxTabs: 4}
	}
	parse := func(env func(string) string) *config.File {
		cfg, err := config.Parse("examples/demo.yaml", examples.Demo, env)
		if err != nil {
			t.Fatal(err)
		}
		edit(cfg)
		if err := cfg.Validate(); err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	cfg := parse(examples.DemoEnv(nil, nil))
	pop, err := Population(cfg)
	if err != nil {
		t.Fatal(err)
	}
	d, err := stacks.ParseDrifts(drifts)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := stacks.Start(t.Context(), stacks.Options{Population: pop, Drifts: d, Seed: cfg.Seed})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pair.Close() })
	return parse(examples.DemoEnv(pair, nil))
}

// browserWatch remembers the process groups of the browsers started while it runs,
// found by the profile directory (under this test's TMPDIR) in their environment.
type browserWatch struct {
	tmp    string
	mu     sync.Mutex
	groups []int
	stop   chan struct{}
	done   chan struct{}
}

func watchBrowsers(t *testing.T) *browserWatch {
	w := &browserWatch{tmp: t.TempDir(), stop: make(chan struct{}), done: make(chan struct{})}
	t.Setenv("TMPDIR", w.tmp)
	go func() {
		defer close(w.done)
		for {
			for _, p := range procs() {
				if p.marked(w.tmp) {
					w.mu.Lock()
					if !slices.Contains(w.groups, p.pgrp) {
						w.groups = append(w.groups, p.pgrp)
					}
					w.mu.Unlock()
				}
			}
			select {
			case <-w.stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	return w
}

// gone checks that a browser ran and that none of its processes, nor its profile
// directory, is left.
func (w *browserWatch) gone(t *testing.T) {
	t.Helper()
	close(w.stop)
	<-w.done
	if len(w.groups) == 0 {
		t.Fatal("no browser was seen running")
	}
	for _, p := range procs() {
		if slices.Contains(w.groups, p.pgrp) || p.marked(w.tmp) {
			t.Errorf("browser process %d (group %d) outlived the run", p.pid, p.pgrp)
		}
	}
	if m, _ := filepath.Glob(filepath.Join(w.tmp, "cutover-chromium-*")); len(m) > 0 {
		t.Errorf("profile directories left: %v", m)
	}
}

type proc struct {
	pid, pgrp int
	environ   []byte
}

func (p proc) marked(tmp string) bool {
	return bytes.Contains(p.environ, []byte("CUTOVER_BROWSER_PROFILE="+tmp+"/"))
}

// procs lists the live processes with their group and environment.
func procs() []proc {
	entries, _ := os.ReadDir("/proc")
	var out []proc
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		i := bytes.LastIndexByte(st, ')')
		if err != nil || i < 0 {
			continue
		}
		f := bytes.Fields(st[i+1:])
		if len(f) < 3 || f[0][0] == 'Z' {
			continue
		}
		pgrp, _ := strconv.Atoi(string(f[2]))
		env, _ := os.ReadFile("/proc/" + e.Name() + "/environ")
		out = append(out, proc{pid: pid, pgrp: pgrp, environ: env})
	}
	return out
}

// TestMixedWorkload runs a few browser journeys beside many protocol journeys in
// one rehearsal against a candidate whose lazy migration is broken: both report
// LOGIN_FAILED, each under its own journey, the browser's with evidence; and the
// browser is gone after the run.
func TestMixedWorkload(t *testing.T) {
	w := watchBrowsers(t)
	cfg := mixedConfig(t, "lazy-migration-broken", 2*time.Second)
	out := t.TempDir()
	sum, err := Run(t.Context(), cfg, Options{Out: out})
	if err != nil {
		t.Fatal(err)
	}
	w.gone(t)

	steps := map[string]analysis.StepSummary{}
	for _, s := range sum.Steps {
		steps[s.Journey+" "+s.Step] = s
	}
	for _, k := range []string{"session " + record.StepLogin, "browser " + browser.StepNavigate, "browser " + browser.StepLogin} {
		if s, ok := steps[k]; !ok || s.Legacy.Count == 0 || s.Candidate.Count == 0 {
			t.Errorf("step %q: %+v; want records on both sides", k, s)
		}
	}
	if b, s := steps["browser "+browser.StepLogin], steps["session "+record.StepLogin]; b.Legacy.Count >= s.Legacy.Count {
		t.Errorf("browser logins %d, protocol logins %d; want a few browser journeys beside many protocol ones", b.Legacy.Count, s.Legacy.Count)
	}
	var browserFinding *analysis.Finding
	var protocolFinding bool
	for i, f := range sum.Findings {
		if f.Class != analysis.LoginFailed {
			continue
		}
		switch f.Journey {
		case browser.Journey:
			browserFinding = &sum.Findings[i]
		case "session":
			protocolFinding = true
		}
	}
	if browserFinding == nil || !protocolFinding {
		t.Fatalf("findings %+v; want LOGIN_FAILED under the browser journey and under the session journey", sum.Findings)
	}
	ex := browserFinding.Examples[0]
	if len(ex.Evidence) != 2 {
		t.Fatalf("browser LOGIN_FAILED example %+v; want a screenshot and a DOM excerpt", ex)
	}
	for _, p := range ex.Evidence {
		if fi, err := os.Stat(filepath.Join(out, p)); err != nil || fi.Size() == 0 {
			t.Errorf("evidence %s: %v", p, err)
		}
	}
}

// TestInterruptWithBrowser interrupts a run while browser journeys are in flight:
// the summary says aborted, the records so far are kept, and no browser process is
// left.
func TestInterruptWithBrowser(t *testing.T) {
	w := watchBrowsers(t)
	cfg := mixedConfig(t, "", time.Minute)
	out := t.TempDir()
	ctx, interrupt := context.WithCancel(t.Context())
	defer interrupt()
	go func() { // Ctrl-C once a browser journey has recorded a step
		for ctx.Err() == nil {
			if b, _ := os.ReadFile(filepath.Join(out, RecordsFile)); bytes.Contains(b, []byte(`"step":"`+browser.StepNavigate+`"`)) {
				interrupt()
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	sum, err := Run(ctx, cfg, Options{Out: out})
	if err != nil {
		t.Fatal(err)
	}
	w.gone(t)
	if sum.Verdict != analysis.VerdictAborted {
		t.Errorf("verdict %q; want %q", sum.Verdict, analysis.VerdictAborted)
	}
	f, err := os.Open(filepath.Join(out, RecordsFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var n int
	err = record.ReadRecords(f, RecordsFile, func(r *record.Record) error {
		if r.Journey == browser.Journey && r.Outcome == record.OK {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Error("no browser record kept after the interrupt")
	}
}

// TestMissingBrowser: a run that asks for browser journeys without a browser stops
// before it starts, with the install command, as a precondition failure.
func TestMissingBrowser(t *testing.T) {
	cfg := mixedConfig(t, "", time.Second)
	cfg.Load.Browser.Chromium = filepath.Join(t.TempDir(), "chromium")
	out := filepath.Join(t.TempDir(), "out")
	sum, err := Run(t.Context(), cfg, Options{Out: out})
	if sum != nil || !errors.Is(err, browser.ErrNoBrowser) || !strings.Contains(err.Error(), browser.InstallHint) ||
		exitcode.Of(err) != exitcode.Precondition {
		t.Fatalf("Run without a browser = %v, %v (exit %d); want a precondition error naming %q", sum, err, exitcode.Of(err), browser.InstallHint)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("results folder %s: %v; want none for a run that did not start", out, err)
	}
}
