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
	// High: when a connection brings the worker to High open files, it
	// asks the supervisor to route new connections to the other workers,
	// and accepts nothing more until the supervisor confirms.
	High int `json:"high"`
	// Low: once its connections have closed down to Low open files, the
	// worker asks for new connections again.
	Low int `json:"low"`
	// Cap: the worker does not accept beyond Cap open files; a connection
	// still queued on its socket then waits there (or is handed to another
	// worker). Limit-Cap files stay free for the worker's own needs
	// (metrics scrapes, connections in hand-off), so accept(2) never meets
	// EMFILE.
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
	// HandedIn counts the connections other workers' queues handed to
	// this one, so far.
	HandedIn uint64 `json:"handed_in"`
}

// gate is a worker's listener: it counts the client connections open and
// holds the worker between its watermarks (see Marks). One goroutine, the
// acceptor, takes connections from the worker's socket: to serve them,
// or, while the worker is paused and the supervisor says another worker
// accepts, to hand them over (handOff) instead. Connections handed in by
// the supervisor join through inject. The gate reports its state through
// states, newest first: a report not yet taken is replaced by a newer one.
// It is safe for concurrent use.
type gate struct {
	inner   net.Listener
	marks   Marks
	base    int // open files before any client connection
	step    int // report at least every step connections
	handOff func(net.Conn) error
	states  chan gateState

	ready chan net.Conn // connections to serve, counted
	errc  chan error    // the socket's Accept failed

	mu       sync.Mutex
	conns    int
	paused   bool
	steered  bool // the supervisor confirmed the current pause
	others   bool // ...and said another worker accepts: hand off
	seq      uint64
	handedIn uint64
	reported gateState

	pauses    atomic.Uint64
	handedOff atomic.Uint64

	wake      chan struct{} // capacity 1: something changed, look again
	closed    chan struct{}
	closeOnce sync.Once
}

// newGate starts the acceptor on inner. handOff passes a connection to the
// supervisor; nil never hands off.
func newGate(inner net.Listener, marks Marks, base int, handOff func(net.Conn) error) *gate {
	g := &gate{inner: inner, marks: marks, base: base, step: max(1, (marks.Cap-marks.High)/4), handOff: handOff,
		states: make(chan gateState, 1), ready: make(chan net.Conn), errc: make(chan error, 1),
		wake: make(chan struct{}, 1), closed: make(chan struct{})}
	g.reported = gateState{Files: base, Accepting: true} // the worker's first report says so
	go g.acceptor()
	return g
}

// Accept returns the next connection to serve: one from the worker's own
// socket or one handed in.
func (g *gate) Accept() (net.Conn, error) {
	select {
	case c := <-g.ready:
		return c, nil
	case err := <-g.errc:
		return nil, err
	case <-g.closed:
		return nil, net.ErrClosed
	}
}

// acceptor takes the socket's connections while the worker may: below
// Cap and not waiting for a confirmation.
func (g *gate) acceptor() {
	for {
		if !g.waitToAccept() {
			return
		}
		c, err := g.inner.Accept()
		if err != nil {
			select {
			case g.errc <- err:
			case <-g.closed:
			}
			return
		}
		g.mu.Lock()
		handOff := g.handOff != nil && g.paused && g.steered && g.others
		g.mu.Unlock()
		if handOff {
			if g.handOff(c) == nil {
				g.handedOff.Add(1)
				continue
			}
		}
		if !g.deliver(g.admit(c)) {
			return
		}
	}
}

// waitToAccept blocks while the worker is at Cap (and has no one to hand
// to) or paused and unconfirmed; it returns false once the gate closes.
func (g *gate) waitToAccept() bool {
	for {
		g.mu.Lock()
		handing := g.handOff != nil && g.paused && g.steered && g.others
		blocked := g.paused && !g.steered || g.base+g.conns >= g.marks.Cap && !handing
		g.mu.Unlock()
		if !blocked {
			return true
		}
		select {
		case <-g.wake:
		case <-g.closed:
			return false
		}
	}
}

// admit counts a connection to serve and pauses the gate at High.
func (g *gate) admit(c net.Conn) net.Conn {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.conns++
	if !g.paused && g.base+g.conns >= g.marks.High {
		g.paused, g.steered, g.others = true, false, false
		g.seq++
		g.pauses.Add(1)
		seq := g.seq
		time.AfterFunc(ackTimeout, func() { g.giveUpWaiting(seq) })
	}
	g.publishLocked()
	return &gateConn{Conn: c, g: g}
}

// deliver hands a counted connection to Accept; false once the gate
// closed (the connection is closed then).
func (g *gate) deliver(c net.Conn) bool {
	select {
	case g.ready <- c:
		return true
	case <-g.closed:
		c.Close()
		return false
	}
}

// inject serves a connection the supervisor handed in from another
// worker's queue. It blocks until Accept takes it or the gate closes.
func (g *gate) inject(c net.Conn) {
	g.mu.Lock()
	g.handedIn++
	g.mu.Unlock()
	g.deliver(g.admit(c))
}

// confirm records that the supervisor routes new connections around this
// worker since pause seq (or that the worker stopped waiting for it), and
// whether another worker accepts, to hand queued connections to.
func (g *gate) confirm(seq uint64, others bool) {
	g.mu.Lock()
	if g.paused && seq >= g.seq {
		g.steered, g.others = true, others
	}
	g.mu.Unlock()
	g.poke()
}

// giveUpWaiting ends the wait for the confirmation of pause seq, when it
// has not come: the worker serves its queue itself.
func (g *gate) giveUpWaiting(seq uint64) {
	g.mu.Lock()
	if g.paused && seq == g.seq && !g.steered {
		g.steered, g.others = true, false
	}
	g.mu.Unlock()
	g.poke()
}

func (g *gate) release() {
	g.mu.Lock()
	g.conns--
	if g.paused && g.base+g.conns <= g.marks.Low {
		g.paused, g.steered, g.others = false, false, false
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

func (g *gate) stateLocked() gateState {
	return gateState{Seq: g.seq, Conns: g.conns, Files: g.base + g.conns, Accepting: !g.paused, HandedIn: g.handedIn}
}

// publishLocked offers the current state to the reporter when the pause
// state changed or the connections moved by a step since the last report.
func (g *gate) publishLocked() {
	s := g.stateLocked()
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

// snapshot returns the gate's state now.
func (g *gate) snapshot() gateState {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.stateLocked()
}

// Close closes the listener and ends Accept and the acceptor.
func (g *gate) Close() error {
	g.closeOnce.Do(func() { close(g.closed) })
	return g.inner.Close()
}

// Addr is the listener's address.
func (g *gate) Addr() net.Addr { return g.inner.Addr() }

// gateConn is a connection being served; its first Close gives its file
// back to the gate.
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
