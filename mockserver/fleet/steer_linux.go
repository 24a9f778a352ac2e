//go:build linux

package fleet

import (
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// skfAdRandom is the classic BPF load of a random 32-bit number
// (SKF_AD_OFF + SKF_AD_RANDOM in linux/filter.h, as an unsigned offset).
const skfAdRandom = 0xfffff000 + 56

// steerProgram returns the classic BPF program that, attached to a
// SO_REUSEPORT group with SO_ATTACH_REUSEPORT_CBPF, sends every new
// connection to one of the group's sockets listed in to (their indexes in
// the group, which is the order in which they started listening),
// uniformly at random. to must hold 1..MaxWorkers indexes.
func steerProgram(to []int) []unix.SockFilter {
	ret := func(k int) unix.SockFilter { return unix.SockFilter{Code: unix.BPF_RET | unix.BPF_K, K: uint32(k)} }
	if len(to) == 1 {
		return []unix.SockFilter{ret(to[0])}
	}
	prog := make([]unix.SockFilter, 0, 2*len(to)+1)
	prog = append(prog,
		unix.SockFilter{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: skfAdRandom},
		unix.SockFilter{Code: unix.BPF_ALU | unix.BPF_MOD | unix.BPF_K, K: uint32(len(to))})
	for i, k := range to[:len(to)-1] {
		// A == i: take the next instruction (return to[i]), else skip it.
		prog = append(prog, unix.SockFilter{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, K: uint32(i), Jf: 1}, ret(k))
	}
	return append(prog, ret(to[len(to)-1]))
}

// steer makes the kernel route the group's new connections to the sockets
// listed in to. ln is any socket of the group: the program belongs to the
// group.
func steer(ln *net.TCPListener, to []int) error {
	if len(to) == 0 || len(to) > MaxWorkers {
		return fmt.Errorf("fleet: steer to %d sockets: want 1..%d", len(to), MaxWorkers)
	}
	prog := steerProgram(to)
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	rc, err := ln.SyscallConn()
	if err != nil {
		return fmt.Errorf("fleet: steer: %w", err)
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptSockFprog(int(fd), unix.SOL_SOCKET, unix.SO_ATTACH_REUSEPORT_CBPF, &fprog)
	}); err != nil {
		return fmt.Errorf("fleet: steer: %w", err)
	}
	if serr != nil {
		return fmt.Errorf("fleet: steer connections among workers (SO_ATTACH_REUSEPORT_CBPF): %w", serr)
	}
	return nil
}

// listenShared opens one more socket of the SO_REUSEPORT group on addr.
// Plain TCP: Go's default multipath TCP listeners refuse a reuseport
// program.
func listenShared(ctx context.Context, addr string) (*net.TCPListener, error) {
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		if err := c.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
		}); err != nil {
			return err
		}
		return serr
	}}
	lc.SetMultipathTCP(false)
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("fleet: listen on %s: %w", addr, err)
	}
	tl, ok := ln.(*net.TCPListener)
	if !ok {
		ln.Close()
		return nil, errors.New("fleet: listen: not a TCP listener")
	}
	return tl, nil
}

// acceptQueue returns how many connections wait in ln's accept queue and
// the queue's size (the listen backlog), from TCP_INFO, which for a
// listening socket reports them as tcpi_unacked and tcpi_sacked (see
// tcp(7) and the kernel's tcp_get_info).
func acceptQueue(ln *net.TCPListener) (queued, backlog int, err error) {
	rc, err := ln.SyscallConn()
	if err != nil {
		return 0, 0, err
	}
	var info *unix.TCPInfo
	var serr error
	if err := rc.Control(func(fd uintptr) {
		info, serr = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
	}); err != nil {
		return 0, 0, err
	}
	if serr != nil {
		return 0, 0, fmt.Errorf("fleet: TCP_INFO of the listener: %w", serr)
	}
	return int(info.Unacked), int(info.Sacked), nil
}
