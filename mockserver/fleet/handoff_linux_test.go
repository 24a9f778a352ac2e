//go:build linux

package fleet

import (
	"errors"
	"io"
	"net"
	"testing"
)

// TestHandOffMovesALiveConnection: an accepted TCP connection passed
// through a hand-off pair is the same connection on the other side: the
// client's unread request is there, and the answer reaches the client.
func TestHandOffMovesALiveConnection(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	if _, err := client.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	mine, theirs, err := handPair()
	if err != nil {
		t.Fatal(err)
	}
	defer mine.Close()
	other, err := net.FileConn(theirs)
	theirs.Close()
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := sendConn(mine, server); err != nil {
		t.Fatal(err)
	}
	got, err := recvConn(other.(*net.UnixConn))
	if err != nil {
		t.Fatal(err)
	}
	defer got.Close()
	buf := make([]byte, 4)
	if _, err := io.ReadFull(got, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("handed-in connection read %q, %v", buf, err)
	}
	if _, err := got.Write([]byte("pong")); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(client, buf); err != nil || string(buf) != "pong" {
		t.Fatalf("client read %q, %v", buf, err)
	}

	// A message without a descriptor is refused; the peer's close is EOF.
	if _, err := mine.Write([]byte{0}); err != nil {
		t.Fatal(err)
	}
	if _, err := recvConn(other.(*net.UnixConn)); !errors.Is(err, errBadHandOff) {
		t.Errorf("a message without a descriptor: %v", err)
	}
	mine.Close()
	if _, err := recvFD(other.(*net.UnixConn)); !errors.Is(err, io.EOF) {
		t.Errorf("after the peer closed: %v", err)
	}
}
