//go:build linux

package fleet

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// A connection changes process as its descriptor, one per message of a
// SOCK_SEQPACKET Unix socket pair (SCM_RIGHTS, see unix(7)): a paused
// worker hands what is still queued on its socket to the supervisor, which
// hands it to a worker with room. The client notices nothing: it is the
// same TCP connection, its request still unread in the socket.

// handPair returns the two ends of a new hand-off socket pair.
func handPair() (mine *net.UnixConn, theirs *os.File, err error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("fleet: hand-off socket: %w", err)
	}
	f := os.NewFile(uintptr(fds[0]), "hand-off")
	defer f.Close()
	c, err := net.FileConn(f)
	if err != nil {
		unix.Close(fds[1])
		return nil, nil, fmt.Errorf("fleet: hand-off socket: %w", err)
	}
	return c.(*net.UnixConn), os.NewFile(uintptr(fds[1]), "hand-off (worker's end)"), nil
}

// sendFD passes a duplicate of fd through hand, waiting at most a second.
func sendFD(hand *net.UnixConn, fd int) error {
	_ = hand.SetWriteDeadline(time.Now().Add(time.Second))
	n, oobn, err := hand.WriteMsgUnix([]byte{0}, unix.UnixRights(fd), nil)
	if err == nil && (n != 1 || oobn == 0) {
		err = errors.New("short write")
	}
	if err != nil {
		return fmt.Errorf("fleet: hand a connection over: %w", err)
	}
	return nil
}

// sendConn passes c through hand and closes this process's copy of it.
func sendConn(hand *net.UnixConn, c net.Conn) error {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return errors.New("fleet: hand-off: not a socket")
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return fmt.Errorf("fleet: hand-off: %w", err)
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = sendFD(hand, int(fd)) }); err != nil {
		return fmt.Errorf("fleet: hand-off: %w", err)
	}
	if serr != nil {
		return serr
	}
	return c.Close()
}

// errBadHandOff is a hand-off message that does not carry exactly one
// descriptor; the next one may be fine.
var errBadHandOff = errors.New("fleet: bad hand-off message")

// recvFD receives one descriptor from hand (close-on-exec). A message
// with several is refused, and all of them closed.
func recvFD(hand *net.UnixConn) (int, error) {
	buf := make([]byte, 1)
	oob := make([]byte, unix.CmsgSpace(4))
	n, oobn, flags, _, err := hand.ReadMsgUnix(buf, oob)
	if err != nil {
		return -1, err
	}
	if n == 0 && oobn == 0 {
		return -1, io.EOF // the other end closed
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil {
		return -1, fmt.Errorf("%w: %w", errBadHandOff, err)
	}
	var fds []int
	for _, m := range msgs {
		if got, err := unix.ParseUnixRights(&m); err == nil {
			fds = append(fds, got...)
		}
	}
	if len(fds) != 1 || flags&unix.MSG_CTRUNC != 0 {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return -1, fmt.Errorf("%w: %d descriptors (flags %#x), want 1", errBadHandOff, len(fds), flags)
	}
	return fds[0], nil
}

// recvConn receives one connection from hand.
func recvConn(hand *net.UnixConn) (net.Conn, error) {
	fd, err := recvFD(hand)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), "handed-in connection")
	defer f.Close()
	c, err := net.FileConn(f)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errBadHandOff, err)
	}
	return c, nil
}
