//go:build unix && !linux

package hydra

import "syscall"

// sysProcAttr puts Hydra in a process group of its own, so that Close can kill it and
// anything it started at once.
func sysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }
