package conformance

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ssebench/ssebench/conformance/checks"
	"github.com/ssebench/ssebench/scenarios/secret"
)

// errCaptureLimit ends a read that used up its share of the memory budget.
var errCaptureLimit = errors.New("the capture's share of the memory budget is used up")

// errEnough ends a read that kept as many bytes as its plan asks for.
var errEnough = errors.New("enough of the body read")

// errReadTimeout is the cause of a read's own deadline, to tell it from an
// interrupt of the whole run.
var errReadTimeout = errors.New("read time limit reached")

// maxErrorBody is how much of a non-200 body is kept for evidence.
const maxErrorBody = 64 << 10

// Bounds of a capture's buffer and read records.
const (
	// minGrow is the smallest step by which a body buffer grows.
	minGrow = 32 << 10
	// readQuantum: reads that return within this time of the first read of
	// a record are counted in that record (its time is the last one's), so
	// that a server writing a byte at a time costs one record per
	// millisecond, not one per byte.
	readQuantum = time.Millisecond
	// readCost is the memory a read record is counted at.
	readCost = 16
)

// readPlan says how long a probe reads and where it drops the connection on
// purpose.
type readPlan struct {
	// maxEvents stops after this many events (0: no limit). With
	// cutInside, the read goes on to the next event and cuts inside it.
	maxEvents  int
	cutInside  bool
	untilEvent string
	maxTime    time.Duration
	// method overrides the configured method (the headers control).
	method string
	// maxBody, when not 0, stops the read after this many body bytes.
	maxBody int64
	// onEvent, when set, is called after each event is dispatched.
	onEvent func()
}

// timings records when reads of a body returned and how many bytes each
// delivered, in records merged within readQuantum.
type timings struct {
	start time.Time
	reads []checks.Read
	first time.Duration // when the last record's first read returned
	sh    *share
	kept  int // records paid for
	full  bool
}

// add records a read of n bytes now; it reports false when the share
// cannot pay for another record.
func (t *timings) add(n int) bool {
	if n <= 0 {
		return true
	}
	at := time.Since(t.start)
	if k := len(t.reads); k > 0 && at-t.first < readQuantum {
		t.reads[k-1].At = at
		t.reads[k-1].N += n
		return true
	}
	if len(t.reads) == t.kept {
		// Pay for records 256 at a time.
		if !t.sh.takeAll(256 * readCost) {
			t.full = true
			return false
		}
		t.kept += 256
	}
	t.reads = append(t.reads, checks.Read{At: at, N: n})
	t.first = at
	return true
}

// wireReader times the reads of the body as it comes off the connection
// and remembers how it ended.
type wireReader struct {
	r   io.Reader
	t   timings
	n   int64
	err error
}

func (w *wireReader) Read(p []byte) (int, error) {
	n, err := w.r.Read(p)
	w.n += int64(n)
	if !w.t.add(n) && err == nil {
		err = errCaptureLimit
	}
	if err != nil && w.err == nil {
		w.err = err
	}
	return n, err
}

// lazyGzip decompresses src, creating the gzip reader on the first Read so
// that reading the gzip header happens inside the timed read loop.
type lazyGzip struct {
	src io.Reader
	zr  *gzip.Reader
}

func (g *lazyGzip) Read(p []byte) (int, error) {
	if g.zr == nil {
		zr, err := gzip.NewReader(g.src)
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return 0, err
		}
		zr.Multistream(false)
		g.zr = zr
	}
	return g.zr.Read(p)
}

// prober performs the HTTP exchanges of a run.
type prober struct {
	cfg    Config
	client *http.Client
}

// request builds the browser-like request: the configured method, headers
// and body, Accept: text/event-stream, Cache-Control: no-cache, Pragma:
// no-cache, Accept-Encoding: gzip, the Origin when configured, and
// Last-Event-ID when lastEventID is not empty (as a browser does,
// https://html.spec.whatwg.org/multipage/server-sent-events.html#reestablish-the-connection).
// A method other than the configured one (the headers control) is sent
// without the body.
func (p *prober) request(ctx context.Context, method, lastEventID string) (*http.Request, error) {
	var body io.Reader
	withBody := len(p.cfg.Body) > 0 && method == p.cfg.Method
	if withBody {
		body = bytes.NewReader(p.cfg.Body)
	}
	req, err := http.NewRequestWithContext(ctx, method, p.cfg.Target, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Cache-Control", "no-cache")
	req.Header.Set("Pragma", "no-cache")
	req.Header.Set("Accept-Encoding", "gzip")
	if withBody {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, vs := range p.cfg.Header {
		req.Header[http.CanonicalHeaderKey(k)] = append([]string(nil), vs...)
	}
	if p.cfg.Origin != "" {
		req.Header.Set("Origin", p.cfg.Origin)
	}
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	return req, nil
}

// body is a capture's body buffer: the only copy of the bytes, grown
// within the capture's share.
type body struct {
	buf  []byte
	sh   *share
	max  int64 // 0: the share is the only bound
	full bool  // the share (or max) stopped the growth
}

// fill reads once from src into the buffer, growing it first when it is
// full. It returns errCaptureLimit when the buffer cannot grow.
func (b *body) fill(src io.Reader) (int, error) {
	if len(b.buf) == cap(b.buf) {
		want := int64(max(cap(b.buf), minGrow))
		if b.max > 0 {
			if want = min(want, b.max-int64(len(b.buf))); want <= 0 {
				return 0, errEnough
			}
		}
		got := b.sh.take(want)
		if got == 0 {
			b.full = true
			return 0, errCaptureLimit
		}
		nb := make([]byte, len(b.buf), int64(cap(b.buf))+got)
		copy(nb, b.buf)
		b.buf = nb
	}
	n, err := src.Read(b.buf[len(b.buf):cap(b.buf)])
	b.buf = b.buf[:len(b.buf)+n]
	return n, err
}

// capture performs one exchange and records it. It never returns nil; a
// failure is recorded in the Capture. ctx interrupts the whole run; the
// plan's maxTime bounds this read; sh is the probe chain's share of the
// memory budget.
func (p *prober) capture(ctx context.Context, label, lastEventID string, plan readPlan, sh *share) *checks.Capture {
	method := p.cfg.Method
	if plan.method != "" {
		method = plan.method
	}
	c := &checks.Capture{Label: label, Method: method, URL: secret.URL(p.cfg.Target), LastEventID: lastEventID,
		ContentLength: -1, Share: sh.size}
	rctx, cancel := context.WithTimeoutCause(ctx, plan.maxTime, errReadTimeout)
	defer cancel()
	var wrote atomic.Bool
	rctx = httptrace.WithClientTrace(rctx, &httptrace.ClientTrace{
		WroteRequest: func(w httptrace.WroteRequestInfo) {
			if w.Err == nil {
				wrote.Store(true)
			}
		},
	})
	req, err := p.request(rctx, method, lastEventID)
	if err != nil {
		c.Err = err
		return c
	}
	start := time.Now()
	resp, err := followRedirects(p.client, c).Do(req)
	c.Connected = wrote.Load()
	if err != nil {
		c.Err, c.EndAt = requestError(rctx, err), time.Since(start)
		return c
	}
	c.Headers = time.Since(start)
	c.Status = resp.StatusCode
	c.Header = resp.Header.Clone()
	c.Proto = resp.Proto
	c.Chunked = slices.Contains(resp.TransferEncoding, "chunked")
	c.ContentLength = resp.ContentLength
	defer func() {
		cancel() // abort an unfinished body rather than drain it
		resp.Body.Close()
	}()

	wire := &wireReader{r: resp.Body, t: timings{start: start, sh: sh}}
	src, reads := io.Reader(wire), &wire.t
	gz := strings.EqualFold(strings.TrimSpace(resp.Header.Get("Content-Encoding")), "gzip")
	var decoded timings
	if gz {
		decoded = timings{start: start, sh: sh}
		src, reads = &lazyGzip{src: wire}, &decoded
	}
	b := &body{sh: sh, max: plan.maxBody}
	if resp.StatusCode != http.StatusOK {
		// Keep the start of the body as evidence; do not parse it.
		b.max = maxErrorBody
	}
	p.read(ctx, rctx, c, plan, bodyRead{b: b, src: src, wire: wire, reads: reads, gz: gz, ok: resp.StatusCode == http.StatusOK})
	return c
}

// bodyRead is what capture hands read: the buffer, the reader of the
// (decoded) body, the wire's reader and the timings of what src delivers.
type bodyRead struct {
	b     *body
	src   io.Reader
	wire  *wireReader
	reads *timings
	gz    bool // src decodes gzip: its reads are timed here
	ok    bool // a 200: the body is indexed; otherwise only its start kept
}

// read reads the body into its buffer and indexes it as it arrives, until
// the plan's drop point, the end of the body, the read's time limit or the
// capture's share of the memory budget, and records the end in c.
func (p *prober) read(ctx, rctx context.Context, c *checks.Capture, plan readPlan, r bodyRead) {
	idx := checks.NewIndex(c.LastEventID)
	var charged int64
	events := 0
	stop := func(e *checks.Event) bool {
		events++
		if plan.onEvent != nil {
			plan.onEvent()
		}
		if plan.cutInside {
			return events > plan.maxEvents
		}
		return plan.maxEvents > 0 && events >= plan.maxEvents || plan.untilEvent != "" && e.Type == plan.untilEvent
	}
	for {
		n, err := r.b.fill(r.src)
		if r.gz && !r.reads.add(n) && err == nil {
			err = errCaptureLimit
		}
		switch {
		case !r.ok:
			if err == nil {
				continue
			}
			if errors.Is(err, errCaptureLimit) || errors.Is(err, errEnough) {
				err = io.EOF // the start of an error body is all it needs
			}
		case idx.Advance(r.b.buf, stop):
			p.finish(ctx, rctx, c, r.b, r.wire, r.reads, nil)
			cutAt(c, idx, plan)
			return
		default:
			if cost := idx.Cost(); cost > charged && err == nil {
				if !r.b.sh.takeAll(cost - charged) {
					err = errCaptureLimit
				}
				charged = cost
			}
		}
		if err != nil {
			p.finish(ctx, rctx, c, r.b, r.wire, r.reads, err)
			c.SetStream(idx.Finish(c.Body, c.Reads))
			return
		}
	}
}

// cutAt records the prober's own drop of a capture whose index stopped
// after the plan's event: right after it, or (cutInside) in the middle of
// the field lines of event k+1, so that a client that processed the body
// up to the cut has seen exactly k events and holds the next one
// unfinished.
func cutAt(c *checks.Capture, idx *checks.Index, plan readPlan) {
	c.End = checks.EndCut
	if !plan.cutInside {
		c.Cut = idx.Pos()
		c.SetStream(idx.Finish(c.Body[:c.Cut], c.Reads))
		return
	}
	e := idx.Events()[plan.maxEvents]
	cut := e.FieldStart + (e.Dispatch-e.FieldStart)/2
	c.Cut = max(min(cut, e.Dispatch), e.FieldStart+1)
	c.SetStream(checks.ParseStream(c.Body[:c.Cut], c.LastEventID, c.Reads))
}

// requestError is the error of a request that got no response, without
// the URL that url.Error repeats (it may carry credentials).
func requestError(rctx context.Context, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if rctx.Err() != nil {
		if cause := context.Cause(rctx); errors.Is(cause, errReadTimeout) {
			return fmt.Errorf("%w: %w", checks.ErrNoHeaders, cause)
		}
	}
	return err
}

// finish records the reads and how the body ended. err is the error that
// ended the read (nil for a cut by the prober).
func (p *prober) finish(ctx, rctx context.Context, c *checks.Capture, b *body, wire *wireReader, reads *timings, err error) {
	c.EndAt = time.Since(wire.t.start)
	c.Body = b.buf
	c.Reads = reads.reads
	if reads != &wire.t {
		c.Wire = wire.t.reads
	}
	c.WireBytes = wire.n
	if errors.Is(err, io.ErrUnexpectedEOF) && reads != &wire.t && wire.err == io.EOF && wire.n == 0 {
		err = io.EOF // an empty body declared gzip: nothing to decode
	}
	switch {
	case err == nil:
		c.End = checks.EndCut
	case errors.Is(err, io.EOF):
		c.End = checks.EndEOF
	case errors.Is(err, errEnough):
		c.End, c.Cut = checks.EndCut, int64(len(b.buf))
	case errors.Is(err, errCaptureLimit):
		c.End = checks.EndLimit
	case ctx.Err() != nil:
		c.End, c.EndErr = checks.EndInterrupted, ctx.Err()
	case errors.Is(context.Cause(rctx), errReadTimeout):
		c.End, c.EndErr = checks.EndTimeout, errReadTimeout
	default:
		c.End, c.EndErr = checks.EndAbort, err
		if broken := framingError(c, wire, err); broken != nil {
			c.End, c.EndErr = checks.EndBroken, broken
		}
	}
}

// framingError returns what was wrong with a body whose read failed with
// err, when the failure is the body's framing rather than the network: a
// gzip stream that is corrupt or that the body ended inside, an HTTP/1.1
// body shorter than its Content-Length, or chunked encoding that is not
// chunked encoding. A chunked body that stops short because the
// connection closed is a network drop (the only way HTTP/1.1 has to abort
// a response), not a framing error. Nil when it is not one.
func framingError(c *checks.Capture, wire *wireReader, err error) error {
	var corrupt flate.CorruptInputError
	switch {
	case errors.Is(err, gzip.ErrHeader), errors.Is(err, gzip.ErrChecksum), errors.As(err, &corrupt):
		return fmt.Errorf("the gzip stream is corrupt: %w", err)
	case errors.Is(err, io.ErrUnexpectedEOF) && wire.err == io.EOF && wire.n > 0:
		return fmt.Errorf("the body ended cleanly after %d bytes on the wire, inside the gzip stream: %w", wire.n, err)
	}
	if !strings.HasPrefix(c.Proto, "HTTP/1.") {
		return nil
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		if c.ContentLength >= 0 {
			return fmt.Errorf("the body ended after %d of the %d bytes its Content-Length declared", wire.n, c.ContentLength)
		}
		return nil
	}
	var ne net.Error
	if c.Chunked && !errors.As(err, &ne) && !errors.Is(err, errCaptureLimit) && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("malformed chunked encoding after %d body bytes: %w", wire.n, err)
	}
	return nil
}
