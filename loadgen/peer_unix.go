//go:build unix

package loadgen

import (
	"errors"
	"net"
	"syscall"
)

// peerQuiet reports whether an idle connection may carry another request: the
// server has neither closed it nor sent anything since its last response (a
// byte peeked without waiting, MSG_PEEK|MSG_DONTWAIT). A connection that is not
// a socket is taken as quiet.
func peerQuiet(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return true
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	quiet := false
	err = rc.Read(func(fd uintptr) bool {
		var b [1]byte
		_, _, rerr := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		quiet = errors.Is(rerr, syscall.EAGAIN) || errors.Is(rerr, syscall.EWOULDBLOCK)
		return true
	})
	return err == nil && quiet
}
