//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package mockserver

import (
	"fmt"
	"syscall"

	"golang.org/x/sys/unix"
)

// reusePortControl sets SO_REUSEPORT (and SO_REUSEADDR) on a listening
// socket before bind.
func reusePortControl(network, address string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		if serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); serr != nil {
			return
		}
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
	})
	if err != nil {
		return fmt.Errorf("reuseport: %w", err)
	}
	if serr != nil {
		return fmt.Errorf("reuseport: setsockopt: %w", serr)
	}
	return nil
}
