package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Process is what measure writes about one run of a load generator: its own
// process and any it started (its tree), never the target's.
type Process struct {
	Command  []string `json:"command"`
	ExitCode int      `json:"exit_code"`
	// WallS is the run's length; UserS and SysS its CPU time (getrusage at
	// exit: the process and every descendant it waited for), the whole run:
	// start-up, load, report.
	WallS float64 `json:"wall_s"`
	UserS float64 `json:"user_s"`
	SysS  float64 `json:"sys_s"`
	// MaxRSSKiB is the peak resident set of the largest process of the tree
	// (getrusage); TreeRSSKiB the largest sum over the tree that a sample saw.
	MaxRSSKiB  int64 `json:"max_rss_kib"`
	TreeRSSKiB int64 `json:"tree_rss_kib"`
	// Procs is the most processes the tree had at once.
	Procs int `json:"procs"`
	// The load window: from the first sample in which the tree held a TCP
	// connection to the target's port (LoadStartS after the start; -1 when it
	// never did) for the run's configured load duration, or to the exit when
	// that came first. LoadCPUS is the tree's CPU time within it (/proc/PID/stat
	// sampled every SampleS), so start-up and the final report are left out.
	LoadStartS  float64 `json:"load_start_s"`
	LoadWindowS float64 `json:"load_window_s"`
	LoadCPUS    float64 `json:"load_cpu_s"`
	SampleS     float64 `json:"sample_s"`
	// Load1 is the machine's 1-minute load average at the start, at the end,
	// and the highest a sample saw.
	Load1Start float64 `json:"load1_start"`
	Load1End   float64 `json:"load1_end"`
	Load1Max   float64 `json:"load1_max"`
	// Samples are the tree's CPU seconds by seconds since the start, the
	// exit's last.
	Samples [][2]float64 `json:"samples"`
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat times: 100 on every Linux
// architecture Go runs on.
const clockTicks = 100

// measure runs a command and writes its Process as JSON.
func measure(args []string) error {
	fs := flag.NewFlagSet("measure", flag.ContinueOnError)
	out := fs.String("out", "", "JSON file to write")
	port := fs.Int("port", 0, "the target's TCP port: the load window opens at the first connection to it")
	load := fs.Duration("load", 0, "the run's configured load duration: the length of the load window")
	every := fs.Duration("every", 200*time.Millisecond, "sampling interval")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || fs.NArg() == 0 {
		return errors.New("measure: want -out FILE [-port P -load D] -- CMD [ARG...]")
	}
	p, err := runMeasured(fs.Args(), *port, *load, *every)
	if err != nil {
		return err
	}
	data, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(*out, append(data, '\n'), 0o644); err != nil {
		return err
	}
	if p.ExitCode != 0 {
		return exitError{fmt.Sprintf("measure: %s exited %d", filepath.Base(p.Command[0]), p.ExitCode), p.ExitCode}
	}
	return nil
}

// exitError makes peers exit with the measured command's code, so that the
// script calling it can tell a finding (cutover exits 1 or 5) from a failure.
type exitError struct {
	msg  string
	code int
}

func (e exitError) Error() string { return e.msg }

type sample struct {
	at  float64 // seconds since start
	cpu float64 // seconds of CPU of the tree
}

func runMeasured(argv []string, port int, load, every time.Duration) (*Process, error) {
	p := &Process{Command: argv, LoadStartS: -1, SampleS: every.Seconds(), Load1Start: load1()}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, os.Stdout, os.Stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	// An interrupted benchmark stops the generator too, which then reports.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	var samples []sample
	tick := time.NewTicker(every)
	defer tick.Stop()
	var waitErr error
loop:
	for {
		select {
		case waitErr = <-done:
			break loop
		case s := <-sigs:
			_ = cmd.Process.Signal(s)
		case <-tick.C:
			pids := tree(cmd.Process.Pid)
			if len(pids) == 0 {
				continue
			}
			at := time.Since(start).Seconds()
			cpu, rss := treeUsage(pids)
			samples = append(samples, sample{at, cpu})
			p.TreeRSSKiB = max(p.TreeRSSKiB, rss)
			p.Procs = max(p.Procs, len(pids))
			p.Load1Max = max(p.Load1Max, load1())
			if p.LoadStartS < 0 && port > 0 && connectedTo(pids, port) {
				p.LoadStartS = at
			}
		}
	}
	p.WallS = time.Since(start).Seconds()
	p.Load1End = load1()
	p.Load1Max = max(p.Load1Max, p.Load1Start, p.Load1End)
	st := cmd.ProcessState
	if st == nil {
		return nil, waitErr
	}
	p.ExitCode = st.ExitCode()
	if ru, ok := st.SysUsage().(*syscall.Rusage); ok {
		p.UserS = time.Duration(ru.Utime.Nano()).Seconds()
		p.SysS = time.Duration(ru.Stime.Nano()).Seconds()
		p.MaxRSSKiB = ru.Maxrss
	}
	// The exit is the last sample: rusage is exact where the samples are not.
	samples = append(samples, sample{p.WallS, p.UserS + p.SysS})
	for _, s := range samples {
		p.Samples = append(p.Samples, [2]float64{math.Round(s.at*1000) / 1000, s.cpu})
	}
	if p.LoadStartS >= 0 {
		end := p.WallS
		if load > 0 {
			end = min(end, p.LoadStartS+load.Seconds())
		}
		p.LoadWindowS = end - p.LoadStartS
		p.LoadCPUS = cpuAt(samples, end) - cpuAt(samples, p.LoadStartS)
	}
	return p, nil
}

// cpuAt interpolates the tree's CPU time at t between the samples around it.
func cpuAt(samples []sample, t float64) float64 {
	if len(samples) == 0 {
		return 0
	}
	if t <= samples[0].at {
		return samples[0].cpu
	}
	for i := 1; i < len(samples); i++ {
		a, b := samples[i-1], samples[i]
		if t <= b.at {
			if b.at == a.at {
				return b.cpu
			}
			return a.cpu + (b.cpu-a.cpu)*(t-a.at)/(b.at-a.at)
		}
	}
	return samples[len(samples)-1].cpu
}

// tree returns root and its live descendants (empty once root has exited).
func tree(root int) []int {
	var out []int
	queue := []int{root}
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
		if err != nil {
			continue
		}
		out = append(out, pid)
		for _, t := range tasks {
			data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/children", pid, t.Name()))
			for f := range strings.FieldsSeq(string(data)) {
				if c, err := strconv.Atoi(f); err == nil {
					queue = append(queue, c)
				}
			}
		}
	}
	return out
}

// treeUsage sums the CPU seconds (utime, stime, and those of reaped children)
// and the resident KiB of pids.
func treeUsage(pids []int) (cpu float64, rssKiB int64) {
	for _, pid := range pids {
		if f := statFields(pid); len(f) > 16 {
			var ticks int64
			for _, i := range []int{13, 14, 15, 16} { // utime stime cutime cstime
				v, _ := strconv.ParseInt(f[i], 10, 64)
				ticks += v
			}
			cpu += float64(ticks) / clockTicks
		}
		data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/statm", pid))
		if f := strings.Fields(string(data)); len(f) > 1 {
			pages, _ := strconv.ParseInt(f[1], 10, 64)
			rssKiB += pages * int64(os.Getpagesize()) / 1024
		}
	}
	return cpu, rssKiB
}

// statFields are the fields of /proc/PID/stat (nil when unreadable).
func statFields(pid int) []string {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil
	}
	return parseStat(string(data))
}

// parseStat splits a /proc/PID/stat line into its fields, numbered as in
// proc(5) less one (field 14, utime, is f[13]). The command name, in
// parentheses, may hold spaces and parentheses: it runs to the last ')'.
func parseStat(s string) []string {
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return nil
	}
	return append([]string{strings.TrimSpace(s[:open]), s[open : end+1]}, strings.Fields(s[end+1:])...)
}

// connectedTo reports whether one of pids holds a TCP socket whose remote
// port is port.
func connectedTo(pids []int, port int) bool {
	inodes := map[string]bool{}
	for _, pid := range pids {
		dir := fmt.Sprintf("/proc/%d/fd", pid)
		fds, _ := os.ReadDir(dir)
		for _, fd := range fds {
			l, err := os.Readlink(filepath.Join(dir, fd.Name()))
			if err == nil && strings.HasPrefix(l, "socket:[") {
				inodes[strings.TrimSuffix(strings.TrimPrefix(l, "socket:["), "]")] = true
			}
		}
	}
	if len(inodes) == 0 {
		return false
	}
	want := fmt.Sprintf(":%04X", port)
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		data, _ := os.ReadFile(table)
		for line := range strings.Lines(string(data)) {
			// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
			f := strings.Fields(line)
			if len(f) > 9 && strings.HasSuffix(f[2], want) && inodes[f[9]] {
				return true
			}
		}
	}
	return false
}

// load1 is the machine's 1-minute load average (0 when unreadable).
func load1() float64 {
	data, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(data))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}
