//go:build !linux

package browser

import (
	"errors"
	"os/exec"
)

// ownGroup leaves the command as chromedp sets it up.
func ownGroup(*exec.Cmd) {}

// processes needs /proc: Linux only.
func processes(int, string) ([]int, error) {
	return nil, errors.New("browser: listing a browser's processes needs Linux")
}

// killLeftovers has nothing to find without /proc; chromedp's own clean-up applies.
func killLeftovers(int, string) {}
