//go:build linux || darwin

package swarm

import (
	"net"
	"syscall"
)

// connAlive reports whether c, idle between requests, is still open with
// nothing to read: no EOF (the server closed it), no reset, no stray
// bytes. It costs one non-blocking recv with MSG_PEEK on a socket.
func connAlive(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return aliveByDeadline(c)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	alive := false
	err = rc.Read(func(fd uintptr) bool {
		var b [1]byte
		_, _, rerr := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		alive = rerr == syscall.EAGAIN || rerr == syscall.EWOULDBLOCK
		return true // never wait for readability
	})
	return err == nil && alive
}
