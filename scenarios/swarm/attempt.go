package swarm

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"strings"
	"time"

	"github.com/ssebench/ssebench/conformance/sse"
	"github.com/ssebench/ssebench/scenarios"
)

// response is a response being read: over the Transport, or on the direct
// path's own connection (dc).
type response struct {
	resp *http.Response
	dc   *rawConn
}

// abort ends a response from another goroutine (a deadline of its own):
// a blocked body read returns at once.
func (h response) abort() {
	if h.dc != nil {
		h.dc.nc.Close()
		return
	}
	h.resp.Body.Close()
}

// done ends the response; clean says its body was read to its end, so
// that its connection may serve the next request. (On the direct path the
// body must not be closed: closing it would read on to its end.)
func (st *stream) done(h response, clean bool) {
	if h.dc != nil {
		st.finishDirect(h.dc, h.resp, clean)
		return
	}
	h.resp.Body.Close()
}

// attempt makes one connection (following redirects) and reads it to its
// end. It sends the KindStart and any KindProgress Results itself and
// returns the KindEnd.
func (st *stream) attempt(ctx context.Context, n uint32) attemptEnd {
	s := st.s
	sc := s.sc

	actx, cancel := context.WithCancelCause(ctx)
	defer cancel(errDone)
	req, err := st.buildRequest(actx, n > 0 && sc.Reconnect.LastEventID)

	start := time.Now()
	if n == 0 {
		st.first = start
		if st.sched.IsZero() {
			st.sched = start // closed model: the schedule is the start
		}
	}
	r := st.newResult(scenarios.KindStart, n, start)
	if n == 0 && st.open {
		r.Set(scenarios.Queue, st.queue)
	}
	s.send(r)
	s.active.Add(1)
	defer s.active.Add(-1)

	res := st.newResult(scenarios.KindEnd, n, start)
	if err != nil {
		return st.fail(res, scenarios.ErrOther, 0, "building the request: "+err.Error(), "")
	}
	w := &watch{
		start:     start,
		firstByte: sc.Deadlines.FirstByte,
		idle:      sc.Deadlines.Idle,
		total:     sc.Deadlines.Total,
		cancel:    cancel,
	}
	if st.abort && sc.Abort.After > 0 {
		// The abort rule counts from the stream's first start.
		w.abortAfter = max(sc.Abort.After-start.Sub(st.first), 1)
	}
	w.arm()
	defer w.stop()

	h, failed := st.exchange(actx, req, res)
	if failed != nil {
		return *failed
	}
	hdr := time.Now()
	w.hdr.Store(max(int64(hdr.Sub(start)), 1))
	w.rearm(hdr.Sub(start)) // from the first-byte deadline to the idle one
	if !st.hdrSeen {
		st.hdrSeen = true
		res.Set(scenarios.TTFB, hdr.Sub(st.first))
	}
	res.Status = h.resp.StatusCode
	res.Encoding = parseEncoding(h.resp.Header.Get("Content-Encoding"))
	if end, ok := st.check(res, h, hdr); !ok {
		return end
	}
	return st.readBody(actx, res, h, w, start)
}

// exchange sends req and follows its redirects to the final response. On
// failure it returns the attempt's end instead.
func (st *stream) exchange(actx context.Context, req *http.Request, res *scenarios.Result) (response, *attemptEnd) {
	for hops := 0; ; hops++ {
		h, cls, err := st.roundTrip(actx, req, res)
		if err != nil {
			var end attemptEnd
			if o, c := st.causeOf(actx); o != outOK {
				end = st.end(res, o, c)
			} else {
				end = st.fail(res, cls, 0, connDetail(cls, req, err), err.Error())
			}
			return h, &end
		}
		if !isRedirect(h.resp.StatusCode) || h.resp.Header.Get("Location") == "" {
			return h, nil
		}
		status := statusDetail(h.resp)
		var next *http.Request
		if hops == maxRedirects {
			err = errors.New("more than " + strconv.Itoa(maxRedirects) + " redirects (the last to " + locationOf(req, h.resp) + ")")
		} else {
			next, err = redirectRequest(req, h.resp)
		}
		st.discard(h)
		if err != nil {
			res.Encoding = parseEncoding(h.resp.Header.Get("Content-Encoding"))
			end := st.fail(res, scenarios.ErrHTTPStatus, h.resp.StatusCode, status+": "+err.Error(), "")
			return h, &end
		}
		res.Redirects++
		req = next
	}
}

// roundTrip sends req once, on the direct path or over the Transport, and
// reads the response headers. It records the connect time of a new
// connection.
func (st *stream) roundTrip(actx context.Context, req *http.Request, res *scenarios.Result) (response, scenarios.ErrorClass, error) {
	if st.s.direct && isDirectScheme(req.URL.Scheme) {
		t := st.roundTripDirect(actx, req)
		if t.dialled {
			st.connected(res, t.connect)
		}
		return response{resp: t.resp, dc: t.c}, t.class, t.err
	}
	ct := &connTrace{start: time.Now()}
	resp, err := st.transport().RoundTrip(req.WithContext(httptrace.WithClientTrace(actx, ct.hooks())))
	if d, ok := ct.connect(); ok {
		st.connected(res, d)
	}
	if err != nil {
		return response{}, roundTripClass(err, ct), err
	}
	return response{resp: resp}, scenarios.ErrNone, nil
}

// connected records the connect time of a connection the attempt dialled;
// an attempt that follows a redirect to another host may dial more than
// one, and each is sent.
func (st *stream) connected(res *scenarios.Result, d time.Duration) {
	if _, ok := res.Get(scenarios.Connect); ok {
		p := st.newResult(scenarios.KindProgress, res.Attempt, res.Start)
		p.Set(scenarios.Connect, d)
		st.send(p)
		return
	}
	res.Set(scenarios.Connect, d)
}

// check decides what the final response's status and headers mean: HTTP
// 204 stops the stream; another status than 200, a Content-Type that is
// not text/event-stream, or a Content-Encoding the swarm does not decode
// (or did not ask for) fails it, with the first bytes of the body as the
// Sample. ok is true when the body is to be read as an event stream.
func (st *stream) check(res *scenarios.Result, h response, hdr time.Time) (end attemptEnd, ok bool) {
	resp := h.resp
	var cls scenarios.ErrorClass
	var detail string
	switch ctype, cenc := resp.Header.Get("Content-Type"), resp.Header.Get("Content-Encoding"); {
	case resp.StatusCode == http.StatusNoContent:
		st.done(h, true)
		return attemptEnd{res: res, out: outStop, at: hdr}, false
	case resp.StatusCode != http.StatusOK:
		cls, detail = scenarios.ErrHTTPStatus, statusDetail(resp)
	case !isEventStream(ctype):
		cls, detail = scenarios.ErrContentType, "Content-Type "+strconv.Quote(clipString(ctype, 100))+", want text/event-stream"
	case res.Encoding == scenarios.EncOther:
		cls, detail = scenarios.ErrContentType, "Content-Encoding "+strconv.Quote(clipString(cenc, 100))+" is not one the swarm decodes (gzip, deflate, br, zstd)"
	case res.Encoding != scenarios.EncIdentity && st.s.sc.DisableCompression:
		cls, detail = scenarios.ErrContentType, "Content-Encoding "+strconv.Quote(clipString(cenc, 100))+" although the request accepted none (compression: off)"
	default:
		return attemptEnd{}, true
	}
	sample := st.bodySample(h)
	st.done(h, false)
	return st.fail(res, cls, resp.StatusCode, detail, sample), false
}

// readBody reads the event stream to its end (the hot loop is
// reading.read) and finishes the attempt.
func (st *stream) readBody(actx context.Context, res *scenarios.Result, h response, w *watch, start time.Time) attemptEnd {
	sc := st.s.sc
	resp := h.resp
	b := &body{rc: resp.Body, w: w}
	bufSize := st.s.bufSize
	var reusable func() bool // the direct body was read to its end (nil: not a direct body)
	if h.dc != nil {
		resp.Header = nil // not needed while the body is read
		if isChunked(resp) {
			cb := newChunkedBody(h.dc)
			b.rc, reusable = cb, cb.reusable
		} else {
			pb := newPlainBody(h.dc, resp)
			b.rc, reusable = pb, pb.reusable
		}
		resp.Body = http.NoBody
		if st.s.opts.BufferSize == 0 {
			bufSize = directBodyBuffer // also the socket read size
		}
	}
	src, dec := newDecoder(res.Encoding, b, &st.s.decoders)
	defer dec.release()
	enc := res.Encoding // res may be sent (as progress) while the body is read
	a := reading{st: st, res: res, start: start, n: res.Attempt, b: b, w: w, resp: resp, enc: enc}
	rd := sse.NewReader(src, &sse.Options{
		MaxLine:     orDefault(sc.MaxLine, scenarios.DefaultMaxLine),
		MaxEvent:    orDefault(sc.MaxEvent, scenarios.DefaultMaxEvent),
		BufferSize:  bufSize,
		LastEventID: st.lastID,
		OnComment:   func([]byte) { a.comments++ },
		OnRetry:     func(d time.Duration) { st.retry, st.retrySet = d, true },
	})
	st.resetIDs()
	end := a.read(actx, rd)
	clean := end.out == outOK && !a.terminal // the body ended (no terminal rule)
	if end.out == outOK && a.terminal {
		// Read on to the body's end (bounded) so the connection can be
		// reused; the metrics were taken at the terminal event.
		now := time.Since(start)
		w.drainAt.Store(max(int64(now), 1))
		w.rearm(now)
		bp := drainPool.Get().(*[]byte)
		for total := 0; total < drainMax; {
			k, err := b.Read(*bp)
			total += k
			if err != nil {
				clean = err == io.EOF
				break
			}
		}
		drainPool.Put(bp)
	}
	if reusable != nil && !reusable() {
		clean = false
	}
	st.done(h, clean)
	if id := rd.LastEventID(); id != st.lastID {
		st.lastID = id
	}
	end.events = a.events
	end.res.Status = resp.StatusCode
	end.res.Encoding = enc
	end.res.Bytes += b.n - a.bytesSent
	end.res.Comments += a.comments - a.commentsSent
	return end
}

// causeOf tells whether actx was cancelled by the swarm, and why.
func (st *stream) causeOf(actx context.Context) (outcome, scenarios.ErrorClass) {
	switch cause := context.Cause(actx); {
	case cause == nil:
		return outOK, scenarios.ErrNone
	case errors.Is(cause, errFirstByte):
		return outFailed, scenarios.ErrTimeoutFirstByte
	case errors.Is(cause, errIdle):
		return outFailed, scenarios.ErrTimeoutIdle
	case errors.Is(cause, errTotal):
		return outFailed, scenarios.ErrTimeoutTotal
	case errors.Is(cause, errAbort):
		return outAborted, scenarios.ErrNone
	default: // errRunEnded, errRampDown, the caller's cancellation
		return outCancelled, scenarios.ErrNone
	}
}

// end fills res for an attempt the swarm ended (a deadline, the abort
// rule, the end of the run) by outcome o.
func (st *stream) end(res *scenarios.Result, o outcome, cls scenarios.ErrorClass) attemptEnd {
	switch o {
	case outFailed:
		return st.fail(res, cls, res.Status, st.timeoutDetail(cls), "")
	case outAborted:
		res.Aborted = true
	case outCancelled:
		res.Detail = detailCancelled
		res.Cancelled = true
	}
	return attemptEnd{res: res, out: o}
}

// fail marks res failed with class cls, its Detail and Sample scrubbed of
// the request's secrets. Premature ends may be retried.
func (st *stream) fail(res *scenarios.Result, cls scenarios.ErrorClass, status int, detail, sample string) attemptEnd {
	red := st.redactor()
	res.Err = cls
	res.Status = status
	res.Detail = clipString(red.String(detail), maxDetail)
	if sample != "" {
		res.Sample = sampleText([]byte(red.String(sample)))
	}
	retries := false
	switch cls {
	case scenarios.ErrReset, scenarios.ErrEOFMidEvent, scenarios.ErrEOFBeforeTerminal, scenarios.ErrTimeoutIdle:
		retries = true
	}
	return attemptEnd{res: res, out: outFailed, retries: retries}
}

// isEventStream reports whether a Content-Type is text/event-stream
// (parameters such as charset allowed).
func isEventStream(ct string) bool {
	mt, _, _ := strings.Cut(ct, ";")
	return strings.EqualFold(strings.TrimSpace(mt), "text/event-stream")
}

// orDefault returns v, or def when v is 0.
func orDefault(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}
