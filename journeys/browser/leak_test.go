//go:build linux

package browser

import (
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

	"github.com/cutover-dev/cutover/journeys"
	"github.com/cutover-dev/cutover/results/record"
)

// These tests start browsers of their own (the shared one must live on) and count
// only the processes of those: by process group and profile directory, never
// machine-wide, since other tests may run Chromium at the same time.

func TestStartMissingBrowser(t *testing.T) {
	_, err := Start(t.Context(), Options{ExecPath: filepath.Join(t.TempDir(), "chromium")})
	if !errors.Is(err, ErrNoBrowser) || !strings.Contains(err.Error(), InstallHint) {
		t.Fatalf("Start without a browser = %v; want ErrNoBrowser naming %q", err, InstallHint)
	}
}

// tracker remembers every process of a browser seen while it ran.
type tracker struct {
	c    *Chromium
	mu   sync.Mutex
	seen []int
}

func (tr *tracker) look(t *testing.T) {
	t.Helper()
	pids, err := tr.c.Processes()
	if err != nil {
		t.Fatal(err)
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for _, p := range pids {
		if !slices.Contains(tr.seen, p) {
			tr.seen = append(tr.seen, p)
		}
	}
}

// gone checks that the browser was seen running (main process and children), and
// that after Close none of its processes is left.
func (tr *tracker) gone(t *testing.T) {
	t.Helper()
	if len(tr.seen) < 2 || !slices.Contains(tr.seen, tr.c.PID()) {
		t.Fatalf("processes seen while running = %v (main %d); want the main process and its children", tr.seen, tr.c.PID())
	}
	if err := tr.c.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if left, err := tr.c.Processes(); err != nil || len(left) > 0 {
		t.Errorf("after Close, processes of the browser = %v, %v; want none", left, err)
	}
	for _, pid := range tr.seen {
		if _, live := stat(pid); live {
			t.Errorf("process %d of the browser outlived it", pid)
		}
	}
	if _, err := os.Stat(tr.c.dataDir); !os.IsNotExist(err) {
		t.Errorf("profile directory %s after Close: %v; want it removed", tr.c.dataDir, err)
	}
}

func startTracked(t *testing.T, ctx context.Context) *tracker {
	t.Helper()
	c, err := Start(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	tr := &tracker{c: c}
	tr.look(t)
	return tr
}

func TestNoProcessLeftAfterRun(t *testing.T) {
	pair := startStacks(t, "")
	tr := startTracked(t, t.Context())
	r := NewRunner(tr.c, RunnerOptions{Sites: sites(pair)})
	both(t.Context(), r, humans(1, "")[0], 1, func(rec *record.Record) {
		tr.look(t) // while the tabs are open
		if rec.Outcome != record.OK {
			t.Errorf("%s %s: %s %s", rec.Side, rec.Step, rec.Outcome, rec.Error)
		}
	})
	tr.gone(t)
}

func TestNoProcessLeftAfterError(t *testing.T) {
	pair := startStacks(t, "")
	legacyURL := pair.LegacyURL
	_ = pair.Close() // the stacks are down: every navigation fails
	tr := startTracked(t, t.Context())
	r := NewRunner(tr.c, RunnerOptions{Sites: map[record.Side]Site{record.Legacy: LegacySite(legacyURL)}})
	var errs int
	r.Run(t.Context(), record.Legacy, humans(1, "")[0], journeys.Iteration{}, func(rec *record.Record) {
		tr.look(t)
		if rec.Outcome == record.Error {
			errs++
		}
	})
	if errs != 1 {
		t.Fatalf("%d error records against stacks that are down; want 1", errs)
	}
	tr.gone(t)
}

// fakeBrowser writes a script that stands in for a browser that fails: it writes
// its pid (its process group, as Start makes it a group leader), leaves a child
// behind as Chromium's zygotes would, and then exits (hang: sleeps instead).
func fakeBrowser(t *testing.T, hang bool) (exe, pidFile string) {
	t.Helper()
	dir := t.TempDir()
	exe, pidFile = filepath.Join(dir, "chromium"), filepath.Join(dir, "pid")
	end := "exit 1"
	if hang {
		end = "exec sleep 60"
	}
	script := "#!/bin/sh\necho $$ > " + pidFile + "\nsleep 60 3>&- 4>&- &\n" + end + "\n"
	if err := os.WriteFile(exe, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return exe, pidFile
}

// groupGone checks that no process of the fake browser's group is left.
func groupGone(t *testing.T, pidFile string) {
	t.Helper()
	b, err := os.ReadFile(pidFile)
	if err != nil || !strings.HasSuffix(string(b), "\n") {
		t.Fatalf("the fake browser did not run: %q, %v", b, err)
	}
	pgid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	if left, _ := processes(pgid, ""); len(left) > 0 {
		t.Errorf("processes of the failed browser left: %v", left)
	}
}

func TestNoProcessLeftAfterFailedStart(t *testing.T) {
	exe, pidFile := fakeBrowser(t, false)
	if _, err := Start(t.Context(), Options{ExecPath: exe}); err == nil {
		t.Fatal("Start of a browser that exits at once succeeded")
	}
	groupGone(t, pidFile)
}

func TestNoProcessLeftAfterInterrupt(t *testing.T) {
	t.Run("start", func(t *testing.T) {
		exe, pidFile := fakeBrowser(t, true)
		ctx, cancel := context.WithCancel(t.Context())
		go func() {
			for { // interrupt once the browser runs
				if b, _ := os.ReadFile(pidFile); strings.HasSuffix(string(b), "\n") {
					cancel()
					return
				}
				time.Sleep(5 * time.Millisecond)
			}
		}()
		if _, err := Start(ctx, Options{ExecPath: exe}); !errors.Is(err, context.Canceled) {
			t.Fatalf("Start interrupted = %v; want context.Canceled", err)
		}
		groupGone(t, pidFile)
	})
	t.Run("journeys", func(t *testing.T) {
		pair := startStacks(t, "")
		tr := startTracked(t, t.Context())
		// A slow network keeps the journeys in flight when the interrupt comes.
		r := NewRunner(tr.c, RunnerOptions{Sites: sites(pair), Latency: 50 * time.Millisecond})
		ctx, interrupt := context.WithCancel(t.Context())
		defer interrupt()
		var once sync.Once
		var wg sync.WaitGroup
		for i, p := range humans(4, "") {
			wg.Go(func() {
				both(ctx, r, p, uint64(i), func(*record.Record) {
					tr.look(t)
					once.Do(interrupt) // at the first step done, as Ctrl-C would
				})
			})
		}
		wg.Wait() // the journeys stop at the interrupt; then the run closes the browser
		tr.gone(t)
	})
}
