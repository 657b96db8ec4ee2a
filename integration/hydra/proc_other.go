//go:build !unix

package hydra

import (
	"errors"
	"syscall"
)

// Hydra runs only on Unix hosts here: process groups are how Close guarantees that
// nothing is left behind.
func sysProcAttr() *syscall.SysProcAttr { return nil }

func killGroup(int) error { return errors.New("hydra: process groups are not supported on this OS") }
