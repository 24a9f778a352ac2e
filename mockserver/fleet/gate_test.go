package fleet

import (
	"net"
	"testing"
	"testing/synctest"
	"time"
)

func TestMarksFor(t *testing.T) {
	for _, tc := range []struct {
		limit int
		want  Marks
	}{
		{20000, Marks{Limit: 20000, High: 19064, Low: 18440, Cap: 19376}},
		{1024, Marks{Limit: 1024, High: 976, Low: 944, Cap: 992}},
		{MinFDLimit, Marks{Limit: 64, High: 40, Low: 24, Cap: 48}},
	} {
		if got := MarksFor(tc.limit); got != tc.want {
			t.Errorf("MarksFor(%d) = %+v, want %+v", tc.limit, got, tc.want)
		}
	}
}

// chanListener is a listener whose connections the test hands in.
type chanListener struct {
	conns  chan net.Conn
	closed chan struct{}
}

func newChanListener() *chanListener {
	return &chanListener{conns: make(chan net.Conn), closed: make(chan struct{})}
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}
func (l *chanListener) Close() error   { close(l.closed); return nil }
func (l *chanListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }

// gateRig runs a gate's Accept loop the way net/http does and counts what
// it accepted.
type gateRig struct {
	t        *testing.T
	ln       *chanListener
	g        *gate
	accepted chan net.Conn
	handed   chan net.Conn // what the gate handed off
}

func (r *gateRig) handOff(c net.Conn) error {
	r.handed <- c
	return nil
}

func newGateRig(t *testing.T, marks Marks, base int) *gateRig {
	r := &gateRig{t: t, ln: newChanListener(), accepted: make(chan net.Conn, 1000), handed: make(chan net.Conn, 1000)}
	r.g = newGate(r.ln, marks, base, r.handOff)
	go func() {
		for {
			c, err := r.g.Accept()
			if err != nil {
				return
			}
			r.accepted <- c
		}
	}()
	return r
}

// offer hands the listener one connection and reports whether the gate
// took it once everything settled; if not, the connection stays queued.
func (r *gateRig) offer() (net.Conn, bool) {
	a, b := net.Pipe()
	r.t.Cleanup(func() { a.Close(); b.Close() })
	go func() {
		select {
		case r.ln.conns <- a:
		case <-r.ln.closed:
		}
	}()
	synctest.Wait()
	select {
	case c := <-r.accepted:
		return c, true
	default:
		return nil, false
	}
}

// lastState returns the newest state the gate reported, or ok false.
func (r *gateRig) lastState() (gateState, bool) {
	select {
	case s := <-r.g.states:
		return s, true
	default:
		return gateState{}, false
	}
}

// TestGatePausesAtHighAndResumesAtLow walks a gate with a 64-file limit
// and 10 files at start through its marks: it accepts up to High, waits
// for the supervisor's confirmation, takes what is queued up to Cap only,
// and reports accepting again at Low.
func TestGatePausesAtHighAndResumesAtLow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := MarksFor(64) // High 40, Low 24, Cap 48
		r := newGateRig(t, m, 10)
		var held []net.Conn
		for i := 0; i < m.High-10; i++ {
			c, ok := r.offer()
			if !ok {
				t.Fatalf("connection %d refused below the high-water mark", i+1)
			}
			held = append(held, c)
		}
		s, ok := r.lastState()
		if !ok || s.Accepting || s.Seq != 1 || s.Files != m.High || s.Conns != m.High-10 {
			t.Fatalf("at High: state %+v (reported %v), want a pause, seq 1, %d files", s, ok, m.High)
		}
		if _, ok := r.offer(); ok {
			t.Fatal("accepted a connection while its pause was unconfirmed")
		}
		r.g.confirm(1, false)
		synctest.Wait()
		if c := <-r.accepted; c != nil {
			held = append(held, c) // the queued one, now taken
		}
		for len(held) < m.Cap-10 {
			c, ok := r.offer()
			if !ok {
				t.Fatalf("refused at %d files, below Cap %d, after the confirmation", 10+len(held), m.Cap)
			}
			held = append(held, c)
		}
		if _, ok := r.offer(); ok {
			t.Fatalf("accepted beyond Cap %d", m.Cap)
		}
		held[0].Close() // one file back: the queued connection gets in
		synctest.Wait()
		held = append(held[1:], <-r.accepted)
		for 10+len(held) > m.Low+1 {
			held[0].Close()
			held = held[1:]
		}
		if s := r.g.snapshot(); s.Accepting {
			t.Fatalf("accepting again at %d files, above Low %d", s.Files, m.Low)
		}
		held[0].Close()
		held = held[1:]
		s, ok = r.lastState()
		if !ok || !s.Accepting || s.Files != m.Low {
			t.Fatalf("at Low: state %+v (reported %v), want accepting at %d files", s, ok, m.Low)
		}
		if got := r.g.pauses.Load(); got != 1 {
			t.Errorf("pauses %d, want 1", got)
		}
		for _, c := range held {
			c.Close()
		}
		r.g.Close()
	})
}

// TestGateStopsWaitingWithoutConfirmation: a supervisor that never
// confirms stops a worker for ackTimeout at most.
func TestGateStopsWaitingWithoutConfirmation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := MarksFor(64)
		r := newGateRig(t, m, m.High-1)
		if _, ok := r.offer(); !ok {
			t.Fatal("refused below High")
		}
		if _, ok := r.offer(); ok {
			t.Fatal("accepted while the pause was unconfirmed")
		}
		start := time.Now()
		<-r.accepted
		if waited := time.Since(start); waited != ackTimeout {
			t.Errorf("waited %v of fake time, want %v", waited, ackTimeout)
		}
		r.g.Close()
	})
}

// TestGateCountsEachCloseOnce: closing a connection twice gives one file
// back.
func TestGateCountsEachCloseOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newGateRig(t, MarksFor(1024), 10)
		c, _ := r.offer()
		c2, _ := r.offer()
		c.Close()
		c.Close()
		if s := r.g.snapshot(); s.Conns != 1 || s.Files != 11 {
			t.Errorf("after two Closes of one connection: %+v, want 1 connection, 11 files", s)
		}
		c2.Close()
		r.g.Close()
	})
}

// TestGateHandsItsQueueOff: paused and told that another worker accepts,
// the gate hands what reaches its socket to the supervisor, at Cap too,
// and serves again when told no other worker accepts.
func TestGateHandsItsQueueOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := MarksFor(64)
		r := newGateRig(t, m, m.High-1)
		if _, ok := r.offer(); !ok {
			t.Fatal("refused below High")
		}
		r.g.confirm(1, true)
		for i := 0; i < m.Cap-m.High+3; i++ { // past Cap
			if _, ok := r.offer(); ok {
				t.Fatalf("connection %d served while another worker accepts", i)
			}
			select {
			case <-r.handed:
			default:
				t.Fatalf("connection %d neither served nor handed off", i)
			}
		}
		if got := r.g.handedOff.Load(); got != uint64(m.Cap-m.High+3) {
			t.Errorf("handed off %d, want %d", got, m.Cap-m.High+3)
		}
		if s := r.g.snapshot(); s.Files != m.High {
			t.Errorf("handing off changed the count: %+v", s)
		}
		time.Sleep(2 * ackTimeout) // the confirmation came: the timeout changes nothing
		if _, ok := r.offer(); ok {
			t.Fatal("served after the confirmation's timeout, though another worker accepts")
		}
		<-r.handed
		r.g.confirm(1, false)
		if _, ok := r.offer(); !ok {
			t.Error("not served below Cap once no other worker accepts")
		}
		r.g.Close()
	})
}

// TestGateServesHandedInConnections: a connection handed in is served and
// counted like one of the worker's own.
func TestGateServesHandedInConnections(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newGateRig(t, MarksFor(1024), 10)
		a, b := net.Pipe()
		defer b.Close()
		go r.g.inject(a)
		synctest.Wait()
		c := <-r.accepted
		if s := r.g.snapshot(); s.Conns != 1 || s.HandedIn != 1 {
			t.Errorf("after one handed in: %+v", s)
		}
		c.Close()
		if s := r.g.snapshot(); s.Conns != 0 {
			t.Errorf("after its close: %+v", s)
		}
		r.g.Close()
	})
}
