//go:build linux

package fleet

import (
	"context"
	"net"
	"testing"

	"golang.org/x/sys/unix"
)

func TestSteerProgram(t *testing.T) {
	if p := steerProgram([]int{3}); len(p) != 1 || p[0].Code != unix.BPF_RET|unix.BPF_K || p[0].K != 3 {
		t.Errorf("one socket: %+v, want a lone ret #3", p)
	}
	p := steerProgram([]int{0, 2, 5})
	want := []unix.SockFilter{
		{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: skfAdRandom},
		{Code: unix.BPF_ALU | unix.BPF_MOD | unix.BPF_K, K: 3},
		{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, K: 0, Jf: 1}, {Code: unix.BPF_RET | unix.BPF_K, K: 0},
		{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, K: 1, Jf: 1}, {Code: unix.BPF_RET | unix.BPF_K, K: 2},
		{Code: unix.BPF_RET | unix.BPF_K, K: 5},
	}
	if len(p) != len(want) {
		t.Fatalf("program %+v, want %+v", p, want)
	}
	for i := range want {
		if p[i] != want[i] {
			t.Errorf("instruction %d: %+v, want %+v", i, p[i], want[i])
		}
	}
}

// TestSteerRoutesOnlyToTheListedSockets runs the program in the kernel: a
// group of three loopback sockets, steered to some of them, and the
// connections each one gets.
func TestSteerRoutesOnlyToTheListedSockets(t *testing.T) {
	var lns []*net.TCPListener
	addr := "127.0.0.1:0"
	for i := 0; i < 3; i++ {
		ln, err := listenShared(context.Background(), addr)
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		addr = ln.Addr().String()
		lns = append(lns, ln)
	}
	got := make(chan int, 256)
	for i, ln := range lns {
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Close()
				got <- i
			}
		}()
	}
	for _, to := range [][]int{{1}, {0, 2}, {2}, {0, 1, 2}} {
		if err := steer(lns[0], to); err != nil {
			t.Fatal(err)
		}
		const n = 90
		counts := make([]int, 3)
		for k := 0; k < n; k++ {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			counts[<-got]++
			c.Close()
		}
		for i, c := range counts {
			listed := false
			for _, k := range to {
				listed = listed || k == i
			}
			if !listed && c != 0 {
				t.Errorf("steered to %v: socket %d got %d of %d connections", to, i, c, n)
			}
			if listed && len(to) == 1 && c != n {
				t.Errorf("steered to %v: socket %d got %d of %d connections", to, i, c, n)
			}
		}
		t.Logf("steered to %v: %v", to, counts)
	}
	if err := steer(lns[0], nil); err == nil {
		t.Error("steer to no socket: no error")
	}
}

// TestAcceptQueue: acceptQueue reads a listener's accept queue from the
// kernel: the connections that completed their handshake and wait for
// accept(2), and the backlog they may fill.
func TestAcceptQueue(t *testing.T) {
	ln, err := listenShared(t.Context(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	q, backlog, err := acceptQueue(ln)
	if err != nil || q != 0 || backlog < 1 {
		t.Fatalf("idle listener: %d queued of %d (%v), want 0 of at least 1", q, backlog, err)
	}
	const n = 5
	for range n {
		c, err := net.DialTCP("tcp", nil, ln.Addr().(*net.TCPAddr))
		if err != nil {
			t.Fatal(err)
		}
		// With SO_LINGER, close(2) returns only once the listener's
		// kernel has acknowledged the FIN: after it took the handshake's
		// last ACK, which queues the connection (a connection closed by
		// its client stays queued until accepted). So no wait is needed.
		if err := c.SetLinger(30); err != nil {
			t.Fatal(err)
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if q, b, err := acceptQueue(ln); err != nil || q != n || b != backlog {
		t.Fatalf("after %d connects: %d queued of %d (%v), want %d of %d", n, q, b, err, n, backlog)
	}
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if q, _, err := acceptQueue(ln); err != nil || q != n-1 {
		t.Fatalf("after one accept: %d queued (%v), want %d", q, err, n-1)
	}
}

func TestQueueFull(t *testing.T) {
	for _, tt := range []struct {
		queued, backlog int
		want            bool
	}{
		{0, 4096, false}, {2047, 4096, false}, {2048, 4096, true}, {4096, 4096, true},
		{0, 0, false}, {1, 1, true}, {0, 1, false},
	} {
		if got := queueFull(tt.queued, tt.backlog); got != tt.want {
			t.Errorf("queueFull(%d, %d) = %v, want %v", tt.queued, tt.backlog, got, tt.want)
		}
	}
	if m := queueGrowMax(); m < 8 {
		t.Errorf("queueGrowMax() = %d, want at least 8", m)
	}
}
