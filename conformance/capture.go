package conformance

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ssebench/ssebench/conformance/checks"
	"github.com/ssebench/ssebench/conformance/sse"
	"github.com/ssebench/ssebench/scenarios/secret"
)

// errCaptureLimit ends a read that recorded Config.MaxBytes bytes.
var errCaptureLimit = errors.New("capture byte limit reached")

// errReadTimeout is the cause of a read's own deadline, to tell it from an
// interrupt of the whole run.
var errReadTimeout = errors.New("read time limit reached")

// maxErrorBody is how much of a non-200 body is kept for evidence.
const maxErrorBody = 64 << 10

// newClient returns the prober's HTTP client: no overall timeout (reads
// are bounded by contexts), a 10s dial and TLS handshake timeout, HTTP/2
// when the server offers it, and no transparent decompression (the prober
// sends Accept-Encoding: gzip itself and decodes, to time both sides).
func newClient() *http.Client {
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		TLSHandshakeTimeout:   10 * time.Second,
		DisableCompression:    true,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       30 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{Transport: tr}
}

// readPlan says how long a probe reads and where it drops the connection on
// purpose.
type readPlan struct {
	// maxEvents stops after this many events (0: no limit). With
	// cutInside, the read goes on to the next event and cuts inside it.
	maxEvents  int
	cutInside  bool
	untilEvent string
	maxTime    time.Duration
}

// recorder wraps a body reader and records every read: its time since the
// start, and (when keep) its bytes.
type recorder struct {
	r     io.Reader
	start time.Time
	reads []checks.Read
	keep  bool
	buf   []byte
	max   int64
	err   error
}

func (r *recorder) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if n > 0 {
		r.reads = append(r.reads, checks.Read{At: time.Since(r.start), N: n})
		if r.keep {
			r.buf = append(r.buf, p[:n]...)
		}
	}
	if err == nil && r.keep && int64(len(r.buf)) >= r.max {
		err = errCaptureLimit
	}
	if err != nil && r.err == nil {
		r.err = err
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
func (p *prober) request(ctx context.Context, lastEventID string) (*http.Request, error) {
	var body io.Reader
	if len(p.cfg.Body) > 0 {
		body = bytes.NewReader(p.cfg.Body)
	}
	req, err := http.NewRequestWithContext(ctx, p.cfg.Method, p.cfg.Target, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Cache-Control", "no-cache")
	req.Header.Set("Pragma", "no-cache")
	req.Header.Set("Accept-Encoding", "gzip")
	if len(p.cfg.Body) > 0 {
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

// capture performs one exchange and records it. It never returns nil; a
// failure is recorded in the Capture. ctx interrupts the whole run; the
// plan's maxTime bounds this read.
func (p *prober) capture(ctx context.Context, label, lastEventID string, plan readPlan) *checks.Capture {
	c := &checks.Capture{Label: label, Method: p.cfg.Method, URL: secret.URL(p.cfg.Target), LastEventID: lastEventID}
	rctx, cancel := context.WithTimeoutCause(ctx, plan.maxTime, errReadTimeout)
	defer cancel()
	req, err := p.request(rctx, lastEventID)
	if err != nil {
		c.Err = err
		return c
	}
	start := time.Now()
	resp, err := p.client.Do(req)
	if err != nil {
		// url.Error repeats the URL, which may carry credentials.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		c.Err, c.EndAt = err, time.Since(start)
		return c
	}
	c.Headers = time.Since(start)
	c.Status = resp.StatusCode
	c.Header = resp.Header.Clone()
	defer func() {
		cancel() // abort an unfinished body rather than drain it
		resp.Body.Close()
	}()

	wire := &recorder{r: resp.Body, start: start}
	var src io.Reader = wire
	decoded := wire
	decoded.keep, decoded.max = true, p.cfg.MaxBytes
	if strings.EqualFold(strings.TrimSpace(resp.Header.Get("Content-Encoding")), "gzip") {
		wire.keep = false
		decoded = &recorder{r: &lazyGzip{src: wire}, start: start, keep: true, max: p.cfg.MaxBytes}
		src = decoded
	}

	if resp.StatusCode != http.StatusOK {
		// Keep the start of the body as evidence; do not parse it.
		_, err = io.Copy(io.Discard, io.LimitReader(src, maxErrorBody))
		if err == nil {
			err = io.EOF
		}
		p.finish(ctx, rctx, c, wire, decoded, start, err)
		return c
	}

	rd := sse.NewReader(src, &sse.Options{MaxLine: int(p.cfg.MaxBytes), MaxEvent: int(p.cfg.MaxBytes)})
	events := 0
	var prevEnd int64
	for {
		ev, err := rd.Next()
		if err != nil {
			p.finish(ctx, rctx, c, wire, decoded, start, err)
			return c
		}
		events++
		if plan.cutInside {
			if events <= plan.maxEvents {
				prevEnd = rd.Offset()
				continue
			}
			// Event k+1 is complete in the buffer: the client pretends the
			// connection broke in the middle of its bytes.
			p.finish(ctx, rctx, c, wire, decoded, start, nil)
			c.End, c.Cut = checks.EndCut, cutInside(c.Body, prevEnd, rd.Offset(), plan.maxEvents)
			return c
		}
		if plan.maxEvents > 0 && events >= plan.maxEvents || plan.untilEvent != "" && ev.Type == plan.untilEvent {
			p.finish(ctx, rctx, c, wire, decoded, start, nil)
			c.End, c.Cut = checks.EndCut, rd.Offset()
			return c
		}
	}
}

// finish records the reads and how the body ended. err is the error that
// ended the read (nil for a cut by the prober).
func (p *prober) finish(ctx, rctx context.Context, c *checks.Capture, wire, decoded *recorder, start time.Time, err error) {
	c.EndAt = time.Since(start)
	c.Body = decoded.buf
	c.Reads = decoded.reads
	if decoded != wire {
		c.Wire = wire.reads
	}
	var mid *sse.EOFMidEventError
	switch {
	case err == nil:
		c.End = checks.EndCut
	case errors.Is(err, io.EOF) || errors.As(err, &mid):
		c.End = checks.EndEOF
	case errors.Is(err, errCaptureLimit) || errors.Is(err, sse.ErrLimit):
		c.End = checks.EndLimit
	case ctx.Err() != nil:
		c.End, c.EndErr = checks.EndInterrupted, ctx.Err()
	case errors.Is(context.Cause(rctx), errReadTimeout):
		c.End, c.EndErr = checks.EndTimeout, errReadTimeout
	default:
		c.End, c.EndErr = checks.EndAbort, err
	}
}

// cutInside returns an offset inside the event that spans [from, to) of
// body, so that a client that processed body up to it has seen exactly k
// events and holds the event unfinished: halfway through the event's field
// lines (comment lines before them are skipped).
func cutInside(body []byte, from, to int64, k int) int64 {
	to = min(to, int64(len(body)))
	fieldStart := from
	for _, l := range checks.Parse(body[from:to], "", nil).Lines {
		if _, ok := checks.FieldName(body[from+l.Off : from+l.Off+int64(l.Len)]); ok {
			fieldStart = from + l.Off
			break
		}
	}
	cut := fieldStart + (to-fieldStart)/2
	for ; cut > fieldStart+1; cut-- {
		s := checks.Parse(body[:cut], "", nil)
		if len(s.Events) == k && s.Pending != nil {
			break
		}
	}
	return max(cut, fieldStart+1)
}
