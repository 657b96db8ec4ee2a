// Package browser drives persona journeys through a real headless Chromium: the
// login page a patient or clinician meets, its redirects and its cookies. A
// Chromium is one browser process per run; a Runner gives each journey a browser
// context and a tab of its own, at most MaxTabs at once (a context and its tab
// serve another journey only once wiped of the last one), and records each step
// (navigation, submit to landed, logout, the probe after logout, the total) as a
// record.Record under the journey name "browser", so browser journeys are compared
// and reported beside the protocol journeys but apart from them. On a failed step
// it saves what the user saw (a screenshot and a redacted DOM excerpt) in the
// results folder.
//
// It drives chromedp v0.23's generic API: chromedp.Run returns a value,
// chromedp.Do runs steps that return nothing. The browser is launched and driven
// for the CPU a login journey needs (leanFlags, quiet, slot); BenchmarkBrowserCPU
// measures it against the launch and driving of before.
//
// It imports journeys (for Iteration), personas and results/record; never an
// adapter, loadgen, the analysis or run/.
package browser

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/chromedp"
)

// InstallHint is the command that installs the browser on Debian, named by every
// missing-browser error.
const InstallHint = "apt-get install -y chromium"

// ErrNoBrowser reports that no Chromium executable was found. A missing browser is
// an error, never a reason to skip browser journeys.
var ErrNoBrowser = errors.New("chromium not found")

// execNames are the executables LookExec tries when none is configured. Debian's
// chromium-headless-shell comes first: the same Blink, V8 and network stack as
// chromium without the browser's own UI, so a journey costs about a quarter of the
// CPU it costs in chromium's headless mode. It is named by its binary, not by its
// wrapper script, which would stand between the harness and the browser process.
var execNames = []string{
	"/usr/lib/chromium/chromium-headless-shell", "chromium-headless-shell",
	"chromium", "chromium-browser", "google-chrome", "google-chrome-stable",
}

// LookExec returns the path of the Chromium executable: path itself when it is set,
// else the first of execNames found. The error wraps ErrNoBrowser and names the
// install command.
func LookExec(path string) (string, error) {
	names := execNames
	if path != "" {
		names = []string{path}
	}
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("browser: %w (looked for %q): install it with `%s` "+
		"(and chromium-headless-shell, its lighter headless build), or run `make chromium`", ErrNoBrowser, names, InstallHint)
}

// Options configure the browser process.
type Options struct {
	// ExecPath is the Chromium executable; "" looks it up (see LookExec).
	ExecPath string
	// WindowWidth and WindowHeight size every tab's window, and so its
	// screenshots (default 1024x768).
	WindowWidth, WindowHeight int
	// Output receives the browser's stdout and stderr; nil discards them.
	Output io.Writer
	// AllowHosts, when set, are the only host names the browser resolves
	// (stacks.allow_hosts): any other name is not found, whatever the page
	// asks for. IP literals are not names; the tabs block those themselves.
	AllowHosts []string

	// classic launches the browser without leanFlags, as before them: the
	// baseline of the CPU benchmark.
	classic bool
}

// passEnv are the variables the browser inherits; the rest of the harness's
// environment (which may hold the secrets a rehearsal file refers to) stays out.
var passEnv = []string{"HOME", "PATH", "TMPDIR", "LANG", "LC_ALL", "TZ", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "FONTCONFIG_FILE"}

// allocator returns the options of a harness browser: headless, no GPU, nothing
// that talks to the network on its own (a rehearsal runs on closed networks and must
// send traffic only to the stacks it names), --no-sandbox as root, a clean
// environment, and its own process group.
func (o Options) allocator(exe, dataDir string, started func(*exec.Cmd)) []chromedp.ExecAllocatorOption {
	env := []string{markerEnv + "=" + dataDir}
	for _, k := range passEnv {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.UserDataDir(dataDir),
		chromedp.NoInheritEnv,
		chromedp.Env(env...),
		chromedp.ModifyCmdFunc(func(cmd *exec.Cmd) {
			ownGroup(cmd)
			started(cmd)
		}),
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.WindowSize(o.WindowWidth, o.WindowHeight),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-domain-reliability", true),
		chromedp.Flag("no-pings", true),
		chromedp.Flag("no-proxy-server", true),
		chromedp.Flag("mute-audio", true),
		chromedp.Flag("hide-scrollbars", true),
	)
	if !o.classic {
		opts = append(opts, leanFlags...)
	}
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox)
	}
	if len(o.AllowHosts) > 0 {
		rules := []string{"MAP * ~NOTFOUND"}
		for _, h := range o.AllowHosts {
			rules = append(rules, "EXCLUDE "+h)
		}
		opts = append(opts, chromedp.Flag("host-resolver-rules", strings.Join(rules, ", ")))
	}
	if o.Output != nil {
		opts = append(opts, chromedp.CombinedOutput(o.Output))
	}
	return opts
}

// leanFlags switch off what Chromium spends CPU on for a browser journey and the
// journey does not need. Each is safe for a harness browser: it drives synthetic
// personas against the stacks of a rehearsal, isolates them by browser context
// (not by process), and runs --no-sandbox as root already.
//
//   - RenderDocument off: a new document reuses its frame's renderer-side frame
//     and compositor instead of building new ones at every navigation (Chromium's
//     behaviour until 2024). A third of the CPU of a navigation.
//   - BackForwardCache and ProactivelySwapBrowsingInstance off: a page left is
//     unloaded, not kept frozen in memory for a Back no journey presses, and a
//     navigation never moves the tab to a new renderer for it.
//   - NetworkServiceInProcess2 and --in-process-gpu: the network service and the
//     GPU (software compositing: headless has no GPU) run as threads of the
//     browser process, not as two processes that every request, frame and
//     screenshot crosses by IPC. (chromedp asks for NetworkServiceInProcess, a
//     name Chromium no longer knows.)
//   - --renderer-process-limit=1: a journey whose pages come from several sites
//     (a relying party and its provider; a tab that served the legacy side, then
//     the candidate) keeps them in its browser context's one renderer instead of
//     starting one per site. Browser contexts never share a renderer, so personas
//     stay apart as before; the sites of one journey, all stacks of the
//     rehearsal, share one.
//   - --disable-gpu-shader-disk-cache: no GPU, so no shaders worth keeping; the
//     GPU code still wrote its caches to the profile on a thread of its own.
//
// Translate and BlinkGenPropertyTrees stay off as chromedp's defaults have them:
// a flag given twice keeps the last value.
var leanFlags = []chromedp.ExecAllocatorOption{
	chromedp.Flag("disable-features", "Translate,BlinkGenPropertyTrees,RenderDocument,BackForwardCache,ProactivelySwapBrowsingInstance"),
	chromedp.Flag("enable-features", "NetworkService,NetworkServiceInProcess2"),
	chromedp.Flag("in-process-gpu", true),
	chromedp.Flag("renderer-process-limit", "1"),
	chromedp.Flag("disable-gpu-shader-disk-cache", true),
}

// markerEnv carries the browser's profile directory in its environment, so the
// processes that leave its process group (crash handlers) can be told apart from
// another browser's.
const markerEnv = "CUTOVER_BROWSER_PROFILE"

// Chromium is one running headless browser process. Tabs of every journey share
// it; each journey gets its own browser context, so no cookie crosses from one
// persona (or one side) to another. It is safe for concurrent use.
type Chromium struct {
	// root is the chromedp context that owns the browser process. chromedp hangs a
	// browser off a context value, and a tab is opened by deriving from it, so the
	// handle must be kept: it is the browser, not a request scope. It has no
	// deadline; Close ends it.
	root        context.Context
	cancelRoot  context.CancelFunc
	cancelAlloc context.CancelFunc
	started     bool
	dataDir     string
	// cmd is the browser's command, set when chromedp starts it; its process leads
	// the browser's process group.
	cmd *exec.Cmd

	// slots are the idle browser contexts with their tabs, kept for the next
	// journey (see slot).
	slots pool

	closeOnce sync.Once
	closeErr  error
}

// Start starts Chromium once, without a timeout: ctx bounds the start, and the
// browser then runs until Close, so that the journeys in flight when a run is
// interrupted can drain. A missing executable is an error wrapping ErrNoBrowser
// that names the install command.
func Start(ctx context.Context, opt Options) (*Chromium, error) {
	exe, err := LookExec(opt.ExecPath)
	if err != nil {
		return nil, err
	}
	if opt.WindowWidth <= 0 || opt.WindowHeight <= 0 {
		opt.WindowWidth, opt.WindowHeight = 1024, 768
	}
	dir, err := os.MkdirTemp("", "cutover-chromium-")
	if err != nil {
		return nil, fmt.Errorf("browser: profile directory: %w", err)
	}
	c := &Chromium{dataDir: dir}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		opt.allocator(exe, dir, func(cmd *exec.Cmd) { c.cmd = cmd })...)
	// The start itself stops when ctx ends, through a plain cancel: chromedp's own
	// cancel of root waits for the browser to stop and may be called only once
	// (by Close). The browser is bound to the context of the first Run, root, which
	// has no deadline.
	startCtx, abortStart := context.WithCancel(allocCtx)
	c.root, c.cancelRoot = chromedp.NewContext(startCtx)
	c.cancelAlloc = func() {
		abortStart()
		cancelAlloc()
	}
	abort := context.AfterFunc(ctx, abortStart)
	err = chromedp.Do(c.root)
	if !abort() && err == nil {
		err = context.Cause(ctx)
	}
	if err != nil {
		cerr := c.Close()
		return nil, errors.Join(fmt.Errorf("browser: start %s: %w", exe, err), cerr)
	}
	c.started = true
	return c, nil
}

// PID returns the process id of the browser's main process, the leader of its
// process group; 0 before it started.
func (c *Chromium) PID() int {
	if c.cmd == nil || c.cmd.Process == nil {
		return 0
	}
	return c.cmd.Process.Pid
}

// Processes returns the ids of the live processes of this browser: the main
// process and every child (zygotes, renderers, GPU, network service) in its process
// group, and the crash handlers that left the group, by the profile directory in
// their environment. After Close it is empty.
func (c *Chromium) Processes() ([]int, error) { return processes(c.PID(), c.dataDir) }

// Close stops the browser: gracefully first, then by force, then it kills any
// process of the browser that outlived the main one and removes the profile
// directory. It waits for all of it and is safe to call more than once and
// concurrently.
func (c *Chromium) Close() error {
	c.closeOnce.Do(func() {
		c.closeSlots()
		if c.started {
			// A graceful close lets Chromium reap its own children; when it fails,
			// the forced stop below follows.
			ctx, cancel := context.WithTimeout(c.root, 5*time.Second)
			_ = chromedp.Cancel(ctx)
			cancel()
		}
		c.cancelRoot()
		c.cancelAlloc()
		killLeftovers(c.PID(), c.dataDir)
		c.closeErr = removeAll(c.dataDir)
	})
	return c.closeErr
}

// removeAll removes the profile directory, retrying while a dying child still
// writes into it.
func removeAll(dir string) error {
	var err error
	for range 20 {
		if err = os.RemoveAll(dir); err == nil {
			return nil
		}
		time.Sleep(25 * time.Millisecond)
	}
	return fmt.Errorf("browser: remove profile directory: %w", err)
}
