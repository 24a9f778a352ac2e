package swarm

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/ssebench/ssebench/conformance/sse"
	"github.com/ssebench/ssebench/scenarios"
	"github.com/ssebench/ssebench/scenarios/secret"
)

// Causes with which the swarm cancels an attempt's context; context.Cause
// tells the runner why its read failed.
var (
	errFirstByte = errors.New("swarm: first-byte deadline exceeded")
	errIdle      = errors.New("swarm: idle deadline exceeded")
	errTotal     = errors.New("swarm: total deadline exceeded")
	errAbort     = errors.New("swarm: stream aborted by the abort rule")
	errDrained   = errors.New("swarm: drain after the terminal event timed out")
	errRunEnded  = errors.New("swarm: run ended")
	errRampDown  = errors.New("swarm: closed-model level lowered")
	errDone      = errors.New("swarm: attempt done")
)

// detailCancelled is the Detail of an attempt the swarm cancelled because
// the run ended (or its closed-model slot was no longer wanted).
const detailCancelled = "cancelled: the run ended before the stream did"

// drainTimeout bounds how long the runner reads on after a terminal event,
// to see the body's end so that an HTTP/1.1 connection can be reused
// instead of closed (closing it first leaves the client's port in
// TIME_WAIT).
const drainTimeout = 100 * time.Millisecond

// drainMax bounds the bytes read after a terminal event.
const drainMax = 64 << 10

// outcome is how an attempt ended.
type outcome uint8

const (
	outOK        outcome = iota // terminal event, or clean EOF with no terminal rule
	outFailed                   // Err says why
	outStop                     // HTTP 204: the server says do not reconnect
	outAborted                  // the abort rule ended it
	outCancelled                // the run ended or was cancelled (neither ok nor failed)
)

// attemptEnd is what an attempt returns to the stream loop: its KindEnd
// Result (not yet sent: Final is decided by the caller) and how it ended.
type attemptEnd struct {
	res     *scenarios.Result
	out     outcome
	retries bool      // a premature end: a reconnect may follow
	events  int64     // events dispatched in the attempt
	at      time.Time // when the attempt ended (its terminal event, the end of its body, its failure)
}

// stream is the state of one stream across its attempts (reconnects). It
// is owned by the one goroutine that runs the stream.
type stream struct {
	s     *Swarm
	no    uint64
	sched time.Time
	queue time.Duration // open model: sched -> the stream's goroutine began
	open  bool
	abort bool // the abort rule picked this stream

	vars scenarios.Vars // template values, with the setup's
	idle *idleConn      // the kept direct connection (the caller's)

	red *secret.Redactor // scrubs failure texts of the request's secrets; built at the first failure

	lastID   string        // the source's last event ID; persists across attempts
	retry    time.Duration // the server's reconnection time
	retrySet bool

	// Whole-stream accounting: a stream is the unit of every metric, so
	// these persist across attempts.
	first     time.Time     // when attempt 0 started: the once-per-stream metrics count from it
	hdrSeen   bool          // ttfb recorded
	evSeen    bool          // ttfe recorded
	haveTTFT  bool          // ttft (and ttft_sched) recorded
	ttft      time.Duration // first -> the first content event
	prevEv    time.Duration // first -> the last event dispatched, on any attempt (for gap)
	prevCont  time.Duration // first -> the last content event, on any attempt (for itl)
	content   int64         // content events over all attempts
	usage     int64         // the server's last usage report, when haveUsage
	haveUsage bool
	credited  int64     // tokens already sent in Results
	dropAt    time.Time // the end of the attempt that dropped, until a resumed attempt dispatches an event

	// id accounting: ids that are integers, or end in one.
	idKnown bool
	idMax   int64
	// The previous event's id on this connection, when havePrev: as its
	// decimal tail (prevN, prevDigits digits) and the bytes before it
	// (prevID), or whole in prevID when it has no tail (prevDigits 0).
	prevID     []byte
	prevN      int64
	prevDigits int
	havePrev   bool
	// nextID is the id that follows the previous one (its decimal tail
	// plus one, "evt-41" -> "evt-42"), when not empty: an id equal to it,
	// the common case, is accounted without parsing it.
	nextID []byte
}

var drainPool = sync.Pool{New: func() any { b := make([]byte, 2048); return &b }}

// transport returns the transport of the stream's source address.
func (st *stream) transport() *http.Transport {
	trs := st.s.trs
	if len(trs) == 1 {
		return trs[0]
	}
	return trs[st.s.sc.SourceIndex(st.no)%len(trs)]
}

// run runs the stream: its attempts, reconnects and Results. It reports
// whether the stream was healthy (see Swarm.startStream).
func (st *stream) run(ctx context.Context) (healthy bool) {
	s := st.s
	for attempt := uint32(0); ; attempt++ {
		end := st.attempt(ctx, attempt)
		if end.at.IsZero() {
			end.at = time.Now()
		}
		healthy = healthy || end.out != outFailed || end.events > 0
		// A stream reconnects during the grace period too: it is still
		// open, and its premature end is not the run's doing.
		reconnect := end.retries && int(attempt) < s.sc.Reconnect.Max && ctx.Err() == nil
		if reconnect {
			if st.dropAt.IsZero() {
				st.dropAt = end.at
			}
			// The attempt's KindEnd waits until the reconnect is certain, so
			// that Final is exact: a run that ends during the wait ends the
			// stream with the attempt's own error.
			reconnect = sleep(ctx, st.reconnectDelay())
		}
		end.res.Final = !reconnect
		if end.res.Final && (end.out == outOK || end.out == outStop) {
			st.endOK(end.res, end.at)
		}
		st.send(end.res)
		if !reconnect {
			return healthy
		}
	}
}

// endOK records the metrics of a stream that ended ok at at on res, its
// Final Result: e2e and e2e_sched from the stream's first start and its
// schedule, and tpot over the whole stream.
func (st *stream) endOK(res *scenarios.Result, at time.Time) {
	e2e := at.Sub(st.first)
	res.Set(scenarios.E2E, e2e)
	res.Set(scenarios.E2ESched, at.Sub(st.sched))
	if tokens := st.tokens(); st.haveTTFT && tokens > 1 {
		res.Set(scenarios.TPOT, (e2e-st.ttft)/time.Duration(tokens-1))
	}
}

// tokens returns the stream's output tokens so far: the server's last
// usage report when there was one, else its content events.
func (st *stream) tokens() int64 {
	if st.haveUsage {
		return st.usage
	}
	return st.content
}

// send credits r's tokens and sends it. Tokens are credited as content
// events arrive (a Result's content events are its tokens); the Final
// Result carries the rest, so that a stream's tokens add up to its usage
// when the server reported one, else to its content events.
func (st *stream) send(r *scenarios.Result) {
	if r.Final {
		r.Tokens = st.tokens() - st.credited
	} else {
		r.Tokens = r.Content
	}
	st.credited += r.Tokens
	st.s.send(r)
}

func (st *stream) reconnectDelay() time.Duration {
	rc := &st.s.sc.Reconnect
	if rc.HonorRetry && st.retrySet {
		return st.retry
	}
	return rc.Delay
}

// sleep waits d or until ctx is done; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// newResult returns a Result of kind k stamped with the stream's identity.
func (st *stream) newResult(k scenarios.Kind, attempt uint32, start time.Time) *scenarios.Result {
	r := scenarios.NewResult()
	r.Kind = k
	r.Stream = st.no
	r.Attempt = attempt
	r.Sched = st.sched
	r.Start = start
	return r
}

// reading is the state of an attempt's read loop.
type reading struct {
	st    *stream
	res   *scenarios.Result // the Result being filled
	start time.Time
	n     uint32
	b     *body
	w     *watch
	resp  *http.Response
	enc   scenarios.Encoding // the response's Content-Encoding

	events       int64 // events dispatched in this attempt
	content      int64 // content events in this attempt
	comments     int64
	bytesSent    int64 // body bytes already reported in a sent Result
	commentsSent int64
	terminal     bool
	sentAt       time.Duration // st.first -> when the stream last sent a Result (its KindStart, a progress)
}

// progressEvery is how long a stream that has events not yet sent waits
// at most before it sends them (a KindProgress), so that live views count
// events of slow streams (a token every 20ms, each gap a run of its own,
// fills a batch in 1.3s) as they come.
const progressEvery = 250 * time.Millisecond

// flush sends the Result being filled, at at (st.first -> now), as
// KindProgress and starts another.
func (a *reading) flush(at time.Duration) {
	r := a.res
	r.Kind = scenarios.KindProgress
	r.Bytes = a.b.n - a.bytesSent
	a.bytesSent = a.b.n
	r.Comments = a.comments - a.commentsSent
	a.commentsSent = a.comments
	a.st.send(r)
	a.sentAt = at
	a.res = a.st.newResult(scenarios.KindEnd, a.n, a.start)
}

// read is the hot loop: one iteration per dispatched event, no allocation,
// no channel send except when a batch is full, at the stream's first
// content event, or progressEvery after the previous send. It returns the
// attempt's KindEnd (in a.res). Times are durations from the stream's first
// start (st.first), so an event costs integer arithmetic, not time.Time's.
func (a *reading) read(actx context.Context, rd *sse.Reader) attemptEnd {
	st := a.st
	s := st.s
	cls := s.ev.c
	abortAfter := int64(0)
	if st.abort {
		abortAfter = int64(s.sc.Abort.AfterEvents)
	}
	base := a.start.Sub(st.first)       // st.first -> this attempt's start
	schedLead := st.first.Sub(st.sched) // the schedule -> st.first (ttft_sched)
	a.sentAt = base                     // the KindStart
	var v sse.View
	var typSeq uint64 // the TypeSeq rule is for (0: none yet; a Reader's first event has 1)
	var rule scenarios.TypeRule
	for {
		if err := rd.NextInto(&v); err != nil {
			return a.finish(actx, err, time.Now())
		}
		at := base + a.b.at // when the event's last byte was read
		a.events++
		a.res.Events++
		if a.events == 1 && !st.dropAt.IsZero() {
			// The first event after a resume.
			a.res.Set(scenarios.ResumeGap, a.start.Add(a.b.at).Sub(st.dropAt))
			st.dropAt = time.Time{}
		}
		if !st.evSeen {
			st.evSeen = true
			a.res.Set(scenarios.TTFE, at)
		} else if g := at - st.prevEv; !a.res.ExtendGap(g) && a.res.AddGap(g) {
			a.flush(at)
		}
		st.prevEv = at
		if len(v.ID) > 0 {
			st.trackID(a.res, v.ID)
		}
		if v.TypeSeq != typSeq {
			// The type changed: decide its rule (a stream's type seldom
			// changes, so the lists are matched once per change).
			typSeq, rule = v.TypeSeq, cls.TypeRule(v.Type)
		}
		c := cls.ClassifyAs(rule, v.Data)
		if c.HasUsage() {
			if t, ok := cls.Usage(v.Data); ok {
				st.usage, st.haveUsage = int64(t), true
			}
		}
		switch c.Kind() {
		case scenarios.ClassContent:
			a.content++
			st.content++
			a.res.Content++
			if !st.haveTTFT {
				st.haveTTFT = true
				st.ttft = at
				a.res.Set(scenarios.TTFT, at)
				a.res.Set(scenarios.TTFTSched, at+schedLead)
				a.flush(at) // live views see ttft at once
			} else if g := at - st.prevCont; !a.res.ExtendITL(g) && a.res.AddITL(g) {
				a.flush(at)
			}
			st.prevCont = at
			if abortAfter > 0 && st.content >= abortAfter {
				return st.end(a.res, outAborted, scenarios.ErrNone)
			}
		case scenarios.ClassTerminal:
			a.terminal = true
			return attemptEnd{res: a.res, out: outOK, at: a.start.Add(a.b.at)}
		case scenarios.ClassError:
			return st.fail(a.res, scenarios.ErrTerminalErrorEvent, a.resp.StatusCode,
				"error event "+strconv.Quote(clip(v.Type, 64)), sampleText(v.Data))
		}
		// This event is not sent yet (a flush above sets sentAt to at).
		if at-a.sentAt >= progressEvery {
			a.flush(at)
		}
	}
}

// finish classifies the end of the body: a clean end (between events),
// a deadline or the end of the run, a parser limit, an event cut off by the
// end of the body, a compressed body that does not decode, or a broken
// connection.
func (a *reading) finish(actx context.Context, err error, now time.Time) attemptEnd {
	st := a.st
	status := a.resp.StatusCode
	var end attemptEnd
	var mid *sse.EOFMidEventError
	switch o, cls := st.causeOf(actx); {
	case err == io.EOF && !st.s.ev.terminal:
		// No terminal rule: a clean end of the body ends the attempt ok,
		// and the stream too unless it reconnects as a browser would
		// (reconnect.after_clean_end).
		end = attemptEnd{res: a.res, out: outOK, retries: st.s.sc.Reconnect.AfterCleanEnd}
	case err == io.EOF:
		end = st.fail(a.res, scenarios.ErrEOFBeforeTerminal, status, "the body ended before a terminal event ("+st.s.ev.terminalList+")", "")
	case o != outOK:
		end = st.end(a.res, o, cls)
	case errors.Is(err, sse.ErrLimit):
		end = st.fail(a.res, scenarios.ErrParse, status, limitDetail(err), err.Error())
	case errors.As(err, &mid):
		end = st.fail(a.res, scenarios.ErrEOFMidEvent, status, "the body ended in the middle of an event", string(mid.Pending))
	case a.b.err != nil || errors.Is(err, errTruncated):
		// The connection broke (the body's own error), or the compressed
		// stream was cut while the body ended cleanly.
		cause := err
		if a.b.err != nil {
			cause = a.b.err
		}
		end = st.fail(a.res, scenarios.ErrReset, status, resetDetail(cause, a.resp), cause.Error())
	default:
		// The body was read whole, but its compressed encoding is corrupt.
		end = st.fail(a.res, scenarios.ErrParse, status,
			"the "+a.enc.String()+" body does not decode (Content-Encoding "+a.enc.String()+")", err.Error())
	}
	end.at = now
	return end
}

// trackID counts ids lost and duplicated, for ids that are integers or end
// in one ("41", "evt-41"). An event whose id equals the previous event's
// on the same connection carries no new id (the last event ID persists
// from event to event) and is skipped; the first event of a connection is
// always compared, so a resume that repeats the last event is a duplicate.
// An id with a decimal tail is compared by its tail's value and length and
// the bytes before it, which are copied only when they change; an id that
// is the previous one plus one (nextID), the common case, is not parsed.
func (st *stream) trackID(res *scenarios.Result, id []byte) {
	var n int64
	if len(st.nextID) > 0 && sse.EqualShort(id, st.nextID) {
		n = st.prevN + 1
		st.prevN, st.prevDigits = n, len(id)-len(st.prevID)
		st.bumpNext()
	} else {
		var digits int
		n, digits = trailingInt(id)
		prefix := id[:len(id)-digits]
		if st.havePrev && digits == st.prevDigits && n == st.prevN && bytes.Equal(prefix, st.prevID) {
			return // the same id
		}
		if !st.havePrev || !bytes.Equal(prefix, st.prevID) {
			st.prevID = append(st.prevID[:0], prefix...)
		}
		st.prevN, st.prevDigits, st.havePrev = n, digits, true
		st.nextID = st.nextID[:0]
		if digits == 0 {
			return
		}
		st.nextID = append(st.nextID, id...)
		st.bumpNext()
	}
	if st.idKnown {
		switch {
		case n <= st.idMax:
			res.IDsDup++
			return
		case n > st.idMax+1:
			res.IDsLost += n - st.idMax - 1
		}
	}
	st.idKnown = true
	st.idMax = n
}

// resetIDs starts a connection's id accounting: its first id is compared
// with the stream's highest, never skipped as the previous event's.
func (st *stream) resetIDs() {
	st.havePrev = false
	st.nextID = st.nextID[:0]
}

// bumpNext makes nextID the id after it: its decimal tail (what follows
// prevID) plus one, keeping its width ("0099" -> "0100") or growing by a
// digit ("99" -> "100"). A tail that would grow past maxIDDigits clears
// nextID (trailingInt would not read it as one number).
func (st *stream) bumpNext() {
	b := st.nextID
	for i := len(b) - 1; i >= len(st.prevID); i-- {
		if b[i] < '9' {
			b[i]++
			return
		}
		b[i] = '0'
	}
	if len(b)-len(st.prevID) >= maxIDDigits {
		st.nextID = b[:0]
		return
	}
	b[len(st.prevID)] = '1'
	st.nextID = append(b, '0')
}

// maxIDDigits is the longest decimal tail of an id read as a number: 18
// digits always fit an int64.
const maxIDDigits = 18

// trailingInt parses the decimal digits that end id (at most maxIDDigits,
// so the value fits), in one pass from the end, and returns their value
// and count (0 when id does not end in a digit).
func trailingInt(id []byte) (n int64, digits int) {
	mul := int64(1)
	i := len(id)
	for i > 0 && len(id)-i < maxIDDigits {
		c := id[i-1] - '0'
		if c > 9 {
			break
		}
		n += int64(c) * mul
		mul *= 10
		i--
	}
	return n, len(id) - i
}

func clip(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}
