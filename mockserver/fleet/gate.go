package fleet

import (
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// MinFDLimit is the smallest per-worker open-file limit Run accepts: below
// it the watermarks leave no room for client connections.
const MinFDLimit = 64

// Marks are a worker's open-file watermarks, all in open files (the ones
// the worker had when it started serving, plus one per client connection).
// With m = max(8, Limit/64): Cap = Limit-2m, High = Limit-3m, Low =
// Limit-5m. For the 20,000-file limit of this project's machines: High
// 19,064, Low 18,440, Cap 19,376.
type Marks struct {
	// Limit is the worker's soft RLIMIT_NOFILE.
	Limit int `json:"limit"`
	// High: when an accepted connection brings the worker to High open
	// files, it asks the supervisor to route new connections to the other
	// workers, and accepts nothing more until the supervisor confirms.
	High int `json:"high"`
	// Low: once its connections have closed down to Low open files, the
	// worker asks for new connections again.
	Low int `json:"low"`
	// Cap: the worker never holds more open files than Cap; a connection
	// that still reaches it waits in the kernel's accept queue until one
	// closes. Limit-Cap files stay free for the worker's own needs
	// (metrics scrapes, /proc reads), so accept(2) never meets EMFILE.
	Cap int `json:"cap"`
}

// MarksFor returns the watermarks of a worker whose open-file limit is
// limit (at least MinFDLimit).
func MarksFor(limit int) Marks {
	m := max(8, limit/64)
	return Marks{Limit: limit, High: limit - 3*m, Low: limit - 5*m, Cap: limit - 2*m}
}

// ackTimeout bounds how long a paused worker waits for the supervisor to
// confirm the new routing before it accepts again (a wedged supervisor
// must not stop its workers).
const ackTimeout = 2 * time.Second

// gateState is what a gate reports to its supervisor.
type gateState struct {
	// Seq numbers the gate's pauses: the supervisor confirms pause Seq.
	Seq       uint64 `json:"seq"`
	Conns     int    `json:"conns"`
	Files     int    `json:"files"`
	Accepting bool   `json:"accepting"`
}

// gate is a worker's listener: it counts the client connections open and
// holds the worker between its watermarks (see Marks). It reports its
// state through states, newest first: a report not yet taken is replaced
// by a newer one. Accept must not be called concurrently with itself
// (net/http does not); the rest is safe for concurrent use.
type gate struct {
	inner  net.Listener
	marks  Marks
	base   int // open files before any client connection
	step   int // report at least every step connections
	states chan gateState

	mu       sync.Mutex
	conns    int
	paused   bool
	steered  bool // the supervisor confirmed the current pause
	seq      uint64
	reported gateState
	pauses   atomic.Uint64

	wake      chan struct{} // capacity 1: something changed, look again
	closed    chan struct{}
	closeOnce sync.Once
}

func newGate(inner net.Listener, marks Marks, base int) *gate {
	g := &gate{inner: inner, marks: marks, base: base, step: max(1, marks.High/64),
		states: make(chan gateState, 1), wake: make(chan struct{}, 1), closed: make(chan struct{})}
	g.reported = gateState{Files: base, Accepting: true} // the worker's first report says so
	return g
}

// Accept waits while the worker is at Cap or paused and unconfirmed, then
// accepts the next connection.
func (g *gate) Accept() (net.Conn, error) {
	for {
		g.mu.Lock()
		blocked := g.base+g.conns >= g.marks.Cap || g.paused && !g.steered
		g.mu.Unlock()
		if !blocked {
			break
		}
		select {
		case <-g.wake:
		case <-g.closed:
			return nil, net.ErrClosed
		}
	}
	c, err := g.inner.Accept()
	if err != nil {
		return nil, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.conns++
	if !g.paused && g.base+g.conns >= g.marks.High {
		g.paused, g.steered = true, false
		g.seq++
		g.pauses.Add(1)
		seq := g.seq
		time.AfterFunc(ackTimeout, func() { g.confirm(seq) })
	}
	g.publishLocked()
	return &gateConn{Conn: c, g: g}, nil
}

// confirm records that the supervisor routes new connections around this
// worker since pause seq (or that it stopped waiting for that).
func (g *gate) confirm(seq uint64) {
	g.mu.Lock()
	if g.paused && seq >= g.seq {
		g.steered = true
	}
	g.mu.Unlock()
	g.poke()
}

func (g *gate) release() {
	g.mu.Lock()
	g.conns--
	if g.paused && g.base+g.conns <= g.marks.Low {
		g.paused, g.steered = false, false
	}
	g.publishLocked()
	g.mu.Unlock()
	g.poke()
}

func (g *gate) poke() {
	select {
	case g.wake <- struct{}{}:
	default:
	}
}

// publishLocked offers the current state to the reporter when the pause
// state changed or the connections moved by a step since the last report.
func (g *gate) publishLocked() {
	s := gateState{Seq: g.seq, Conns: g.conns, Files: g.base + g.conns, Accepting: !g.paused}
	d := s.Conns - g.reported.Conns
	if s.Accepting == g.reported.Accepting && d < g.step && d > -g.step {
		return
	}
	g.reported = s
	select {
	case <-g.states: // replaced by the newer state
	default:
	}
	g.states <- s
}

// snapshot returns the connections open, the open files counted and
// whether the gate accepts.
func (g *gate) snapshot() gateState {
	g.mu.Lock()
	defer g.mu.Unlock()
	return gateState{Seq: g.seq, Conns: g.conns, Files: g.base + g.conns, Accepting: !g.paused}
}

// Close closes the listener and ends a waiting Accept.
func (g *gate) Close() error {
	g.closeOnce.Do(func() { close(g.closed) })
	return g.inner.Close()
}

// Addr is the listener's address.
func (g *gate) Addr() net.Addr { return g.inner.Addr() }

// gateConn is an accepted connection; its first Close gives its file back
// to the gate.
type gateConn struct {
	net.Conn
	g    *gate
	done atomic.Bool
}

func (c *gateConn) Close() error {
	err := c.Conn.Close()
	if c.done.CompareAndSwap(false, true) {
		c.g.release()
	}
	return err
}

// CloseWrite half-closes the connection where the transport can, so that
// net/http's lingering close works as on a bare TCP connection.
func (c *gateConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
