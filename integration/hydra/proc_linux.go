package hydra

import "syscall"

// sysProcAttr puts Hydra in a process group of its own, so that Close can kill it and
// anything it started at once, and has the kernel kill it when the thread that started
// it dies (see Server.launch), so a crashed test leaves no Hydra behind.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
