package swarm

import (
	"context"
	"crypto/tls"
	"io"
	"math"
	"net/http/httptrace"
	"sync/atomic"
	"time"
)

// watch enforces an attempt's deadlines with one timer. The runner
// publishes progress through atomics (nanoseconds since the attempt's
// start); the timer callback, which runs on its own goroutine, cancels the
// attempt's context with the cause of the first deadline that passed and
// otherwise re-arms itself for the next one.
type watch struct {
	start      time.Time
	firstByte  time.Duration
	idle       time.Duration
	total      time.Duration
	abortAfter time.Duration
	cancel     context.CancelCauseFunc
	t          *time.Timer

	hdr     atomic.Int64 // when headers arrived (0: not yet)
	last    atomic.Int64 // when the last read returned bytes
	drainAt atomic.Int64 // when draining began (0: not draining)
	fired   atomic.Bool
}

func (w *watch) arm() {
	if d, ok := w.next(0); ok {
		w.startTimer(d)
	}
}

// startTimer creates the timer, assigned before it can fire.
func (w *watch) startTimer(d time.Duration) {
	w.t = time.AfterFunc(math.MaxInt64, w.fire)
	w.t.Reset(d)
}

// next returns the time from now until the earliest deadline, and false
// when no deadline applies.
func (w *watch) next(now time.Duration) (time.Duration, bool) {
	at := time.Duration(math.MaxInt64)
	if w.total > 0 {
		at = min(at, w.total)
	}
	if w.abortAfter > 0 {
		at = min(at, w.abortAfter)
	}
	if d := w.drainAt.Load(); d > 0 {
		at = min(at, time.Duration(d)+drainTimeout)
	}
	if h := w.hdr.Load(); h == 0 {
		if w.firstByte > 0 {
			at = min(at, w.firstByte)
		}
	} else if w.idle > 0 {
		at = min(at, time.Duration(max(h, w.last.Load()))+w.idle)
	}
	if at == math.MaxInt64 {
		return 0, false
	}
	return max(at-now, 0), true
}

func (w *watch) fire() {
	if w.fired.Load() {
		return
	}
	now := time.Since(w.start)
	var cause error
	switch h := w.hdr.Load(); {
	case w.total > 0 && now >= w.total:
		cause = errTotal
	case w.abortAfter > 0 && now >= w.abortAfter:
		cause = errAbort
	case w.drainAt.Load() > 0 && now >= time.Duration(w.drainAt.Load())+drainTimeout:
		cause = errDrained
	case h == 0 && w.firstByte > 0 && now >= w.firstByte:
		cause = errFirstByte
	case h != 0 && w.idle > 0 && now >= time.Duration(max(h, w.last.Load()))+w.idle:
		cause = errIdle
	}
	if cause != nil {
		w.fired.Store(true)
		w.cancel(cause)
		return
	}
	if d, ok := w.next(now); ok {
		w.t.Reset(d)
	}
}

// rearm sets the timer for the earliest deadline after a change of state.
func (w *watch) rearm(now time.Duration) {
	d, ok := w.next(now)
	switch {
	case !ok:
		if w.t != nil {
			w.t.Stop()
		}
	case w.t == nil:
		w.startTimer(d)
	default:
		w.t.Reset(d)
	}
}

func (w *watch) stop() {
	w.fired.Store(true)
	if w.t != nil {
		w.t.Stop()
	}
}

// body counts the bytes read and publishes the time of the last read for
// the idle deadline. That time (at) is also the time of every event the
// parser dispatches until the next read: the read that returned an event's
// last byte is when the event arrived, and events that arrived in one read
// share its time. So the parser's own cost adds nothing to the latencies,
// and the hot loop reads the clock once per read, not once per event.
type body struct {
	rc  io.Reader
	w   *watch
	n   int64
	at  time.Duration // w.start -> the last read that returned bytes
	err error         // the read error, other than io.EOF
}

func (b *body) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if n > 0 {
		b.n += int64(n)
		b.at = time.Since(b.w.start) // one monotonic clock read
		b.w.last.Store(int64(b.at))
	}
	if err != nil && err != io.EOF {
		b.err = err
	}
	return n, err
}

// connTrace records connect (dial + TLS) timing and where a failure
// happened. Its hooks may run on the transport's dial goroutine, even
// after the attempt ended, hence the atomics.
type connTrace struct {
	start                 time.Time
	connStart, connDone   atomic.Int64
	tlsStart, tlsDone     atomic.Int64
	dialFailed, tlsFailed atomic.Bool
	reused, gotConn       atomic.Bool
}

func (c *connTrace) since() int64 { return max(int64(time.Since(c.start)), 1) }

func (c *connTrace) hooks() *httptrace.ClientTrace {
	return &httptrace.ClientTrace{
		ConnectStart: func(string, string) { c.connStart.CompareAndSwap(0, c.since()) },
		ConnectDone: func(_, _ string, err error) {
			if err != nil {
				c.dialFailed.Store(true)
				return
			}
			c.connDone.Store(c.since())
		},
		TLSHandshakeStart: func() { c.tlsStart.CompareAndSwap(0, c.since()) },
		TLSHandshakeDone: func(_ tls.ConnectionState, err error) {
			if err != nil {
				c.tlsFailed.Store(true)
				return
			}
			c.tlsDone.Store(c.since())
		},
		GotConn: func(i httptrace.GotConnInfo) {
			c.gotConn.Store(true)
			c.reused.Store(i.Reused)
		},
	}
}

// connect returns the dial (+TLS) time of a new connection this attempt
// made.
func (c *connTrace) connect() (time.Duration, bool) {
	if c.reused.Load() {
		return 0, false
	}
	s, d := c.connStart.Load(), c.connDone.Load()
	if s == 0 || d == 0 {
		return 0, false
	}
	if t := c.tlsDone.Load(); t > d {
		d = t
	}
	return time.Duration(d - s), true
}
