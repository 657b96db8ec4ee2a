//go:build unix

package hydra

import (
	"errors"
	"syscall"
)

// killGroup sends SIGKILL to the process group led by pid (Hydra runs as the leader
// of its own group, see sysProcAttr). A group that is already gone is no error.
func killGroup(pid int) error {
	if err := syscall.Kill(-pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return err
	}
	return nil
}
