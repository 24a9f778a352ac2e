package swarm

import (
	"context"
	"net"
	"net/netip"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// TestDialFromSourceDefersPort: a dial from a chosen source address sets
// IP_BIND_ADDRESS_NO_PORT, so that the kernel picks the port at connect
// (free 4-tuple) instead of at bind (free for every destination), and the
// connection comes from that address.
func TestDialFromSourceDefersPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	src := netip.MustParseAddr("127.0.0.2")
	for _, c := range []struct {
		name   string
		source netip.Addr
		want   int
	}{{"source address", src, 1}, {"no source address", netip.Addr{}, 0}} {
		conn, err := dialer(nil, c.source)(context.Background(), "tcp", ln.Addr().String())
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		sc, err := conn.(*net.TCPConn).SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		var v int
		var gerr error
		if err := sc.Control(func(fd uintptr) {
			v, gerr = unix.GetsockoptInt(int(fd), syscall.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT)
		}); err != nil || gerr != nil {
			t.Fatal(err, gerr)
		}
		local := conn.LocalAddr().(*net.TCPAddr)
		conn.Close()
		if v != c.want {
			t.Errorf("%s: IP_BIND_ADDRESS_NO_PORT = %d, want %d", c.name, v, c.want)
		}
		if c.source.IsValid() && (local.AddrPort().Addr() != src || local.Port == 0) {
			t.Errorf("%s: dialled from %v, want %v with a port", c.name, local, src)
		}
	}
}
