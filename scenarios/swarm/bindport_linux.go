package swarm

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// bindAddressOnly is the Dialer's Control for a dial from a chosen source
// address. net.Dialer binds LocalAddr (port 0) before it connects, and a
// bind to port 0 makes the kernel pick the port at bind time, when it
// cannot know the destination: the port must then be free for every
// destination, bind prefers half the ephemeral range (the odd ports), and
// once that half is taken every further bind scans all of it before it
// falls back to the other half. With about 28,000 ports per address that
// made each bind past ~14,000 sockets per address cost a scan of thousands
// of ports in the kernel: a 100,000-stream run over six addresses spent
// tens of seconds at 80 % system time from ~84,000 sockets on.
// IP_BIND_ADDRESS_NO_PORT (Linux 4.2+) defers the port to connect(), which
// picks one whose 4-tuple is free (the whole range, shared by all
// destinations), as a dial without a source address does.
// https://man7.org/linux/man-pages/man7/ip.7.html
func bindAddressOnly(_, _ string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1)
	})
	if err != nil {
		return err
	}
	// An older kernel without the option still dials, the old way.
	if serr == unix.ENOPROTOOPT || serr == unix.EINVAL {
		return nil
	}
	return serr
}
