package browser

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

// ownGroup starts the browser in a process group of its own, which every child
// it forks (zygotes, renderers, GPU, network service) inherits, so the whole tree
// can be found and killed even after the main process is gone; and has the kernel
// kill the browser if the harness dies first.
func ownGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// processes lists the live processes of the browser whose process group is pgid,
// and those that carry markerEnv=dataDir in their environment. It reads /proc.
func processes(pgid int, dataDir string) ([]int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("browser: list processes: %w", err)
	}
	marker := []byte(markerEnv + "=" + dataDir + "\x00")
	self := os.Getpid()
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		group, live := stat(pid)
		if !live {
			continue
		}
		if (pgid > 0 && group == pgid) || environHolds(pid, marker) {
			out = append(out, pid)
		}
	}
	return out, nil
}

// stat returns the process group of pid and whether it is alive: not gone, and
// not a zombie waiting to be reaped.
func stat(pid int) (pgrp int, live bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	// "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses, so
	// the fields are counted from the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 3 || f[0][0] == 'Z' || f[0][0] == 'X' {
		return 0, false
	}
	pgrp, err = strconv.Atoi(string(f[2]))
	return pgrp, err == nil
}

// environHolds reports whether the environment pid started with holds want.
// Chromium rewrites its children's command lines over their environment (the
// process title), so only processes it did not rename still show theirs.
func environHolds(pid int, want []byte) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	return err == nil && (bytes.HasPrefix(b, want) || bytes.Contains(b, append([]byte{0}, want...)))
}

// killLeftovers kills the processes of the browser until none has been seen for a
// few passes in a row: a child can fork just as its parent dies.
func killLeftovers(pgid int, dataDir string) {
	deadline := time.Now().Add(3 * time.Second)
	for quiet := 0; quiet < 3 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		pids, _ := processes(pgid, dataDir)
		if len(pids) == 0 {
			quiet++
			continue
		}
		quiet = 0
		if pgid > 0 {
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
		}
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}
