package swarm

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ssebench/ssebench/scenarios"
)

// The direct path: an HTTP/1.1 stream over a plain http:// or https://
// target, without HTTP/2, runs on its own connection, which its goroutine
// dials, writes and reads itself. net/http's Transport would add a read
// loop and a write loop goroutine per connection (two thirds of a stream's
// stacks) and its own buffers; here the request is written through a
// pooled writer and the response head parsed by http.ReadResponse from a
// small bufio.Reader; the stream's goroutine reads the body (chunked, with
// a Content-Length, or up to the close) from the socket into its SSE
// reader's buffer itself (chunked.go). A cancelled attempt (its deadline passed, the run ended)
// closes the connection, which ends a blocked read or write at once.

// Direct-path sizes.
const (
	// directReadBuffer is the size of a direct connection's head reader
	// (a pooled bufio.Reader): it reads the response headers only; the
	// body (chunkedBody, plainBody) is read straight into the SSE reader's
	// buffer, and the head reader goes back to the pool once the bytes it
	// read ahead are consumed. A longer header line is still read
	// (textproto reassembles it).
	directReadBuffer = 2 << 10
	// directWriteBuffer is the size of the pooled writers requests are
	// written through (a longer request is written in pieces).
	directWriteBuffer = 1 << 10
	// maxHeaderBytes bounds the response headers read (1xx responses
	// included) before the body; a larger head fails the attempt.
	maxHeaderBytes = 1 << 20
	// max1xx bounds the informational responses skipped before the final
	// one.
	max1xx = 5
)

var errHeaderTooLarge = errors.New("swarm: response headers over 1 MiB")

// aLongTimeAgo is a read deadline that has passed: a read returns at once.
var aLongTimeAgo = time.Unix(1, 0)

// rawConn is a stream's own HTTP/1.1 connection. Only the goroutine of the
// stream that holds it uses it, except for the cancellation hook, which
// closes nc.
type rawConn struct {
	nc     net.Conn      // as dialled: closing it ends any read or write at once
	c      net.Conn      // nc, or the TLS connection over it
	br     *bufio.Reader // the head reader (pooled; nil while a chunked body streams)
	key    string        // scheme://host:port, for reuse
	budget int64         // bytes Read may still return (-1: no limit)
	stop   func() bool
}

// Read reads from the connection for br, within the header budget.
func (c *rawConn) Read(p []byte) (int, error) {
	if c.budget < 0 {
		return c.c.Read(p)
	}
	if c.budget == 0 {
		return 0, errHeaderTooLarge
	}
	if int64(len(p)) > c.budget {
		p = p[:c.budget]
	}
	n, err := c.c.Read(p)
	c.budget -= int64(n)
	return n, err
}

// watchCtx closes the connection when ctx is done, until release.
func (c *rawConn) watchCtx(ctx context.Context) {
	c.stop = context.AfterFunc(ctx, func() { c.nc.Close() })
}

// release stops the cancellation hook and reports whether the connection
// is still open (the hook did not run).
func (c *rawConn) release() bool {
	if c.stop == nil {
		return true
	}
	ok := c.stop()
	c.stop = nil
	return ok
}

func (c *rawConn) close() {
	c.release()
	c.nc.Close()
	if c.br != nil {
		c.dropReader()
	}
}

// idleConn keeps a direct connection between requests: a stream's across
// its attempts, and a closed-model slot's across its streams (the next
// stream of the slot reuses it, as a browser tab would). It is owned by one
// goroutine; a connection is never shared between two.
type idleConn struct{ c *rawConn }

// take returns the idle connection if it is to key and still usable, and
// closes it otherwise.
func (ic *idleConn) take(key string) *rawConn {
	c := ic.c
	if c == nil {
		return nil
	}
	ic.c = nil
	if c.key != key || c.br != nil && c.br.Buffered() > 0 || !connAlive(c.nc) {
		c.close()
		return nil
	}
	return c
}

// put keeps c for the next request, closing the one kept before.
func (ic *idleConn) put(c *rawConn) {
	if ic.c != nil {
		ic.c.close()
	}
	ic.c = c
}

// close closes the idle connection, if any.
func (ic *idleConn) close() {
	if ic != nil && ic.c != nil {
		ic.c.close()
		ic.c = nil
	}
}

// aliveByDeadline is connAlive for connections that are not sockets (the
// tests' in-memory pipes): a read with a deadline that has passed returns
// at once, with EOF when the peer has closed. A socket reports the deadline
// before it looks at the peer, so a socket always passes.
func aliveByDeadline(c net.Conn) bool {
	if err := c.SetReadDeadline(aLongTimeAgo); err != nil {
		return false
	}
	var b [1]byte
	_, err := c.Read(b[:])
	if c.SetReadDeadline(time.Time{}) != nil {
		return false
	}
	return errors.Is(err, os.ErrDeadlineExceeded)
}

var writerPool = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, directWriteBuffer) }}

// tlsConfigs caches the direct path's TLS configurations by server name
// (the scenario's target is usually one host; a template may make more:
// past tlsConfigCache names, each connection gets its own copy).
type tlsConfigs struct {
	base  *tls.Config
	m     sync.Map // server name -> *tls.Config
	count atomic.Int32
}

const tlsConfigCache = 64

// newTLSConfigs returns the direct path's TLS configurations: o's, or the
// defaults, with insecure applied, offering only HTTP/1.1 by ALPN (as the
// Transport does when HTTP/2 is off).
func newTLSConfigs(o *Options, insecure bool) *tlsConfigs {
	var tc *tls.Config
	if o.TLSConfig != nil {
		tc = o.TLSConfig.Clone()
	} else {
		tc = &tls.Config{}
	}
	if insecure {
		tc.InsecureSkipVerify = true
	}
	tc.NextProtos = []string{"http/1.1"}
	return &tlsConfigs{base: tc}
}

// forHost returns the configuration for a connection to host (no port).
func (t *tlsConfigs) forHost(host string) *tls.Config {
	if t.base.ServerName != "" {
		return t.base
	}
	if v, ok := t.m.Load(host); ok {
		return v.(*tls.Config)
	}
	tc := t.base.Clone()
	tc.ServerName = host
	if t.count.Add(1) <= tlsConfigCache {
		if v, loaded := t.m.LoadOrStore(host, tc); loaded {
			return v.(*tls.Config)
		}
	}
	return tc
}

// directAddr returns the address to dial for u, and the key a kept
// connection must match to be reused.
func directAddr(u *urlParts) (addr, key string) {
	port := u.port
	if port == "" {
		port = "80"
		if u.scheme == "https" {
			port = "443"
		}
	}
	addr = net.JoinHostPort(u.host, port)
	return addr, u.scheme + "://" + addr
}

// urlParts is what the direct path needs of a request URL.
type urlParts struct{ scheme, host, port string }

// isDirectScheme reports whether the direct path can serve a URL scheme.
func isDirectScheme(s string) bool { return s == "http" || s == "https" }

// replayable reports whether req may be sent again after a kept
// connection failed before any response byte (net/http's rule: no body,
// an idempotent method).
func replayable(req *http.Request) bool {
	if req.Body != nil && req.Body != http.NoBody {
		return false
	}
	switch req.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	return false
}

// directTrip is the outcome of roundTripDirect.
type directTrip struct {
	c       *rawConn
	resp    *http.Response
	connect time.Duration // dial (+TLS) time of a new connection
	dialled bool          // a new connection was made (connect is set)
	class   scenarios.ErrorClass
	err     error
}

// roundTripDirect sends req on the stream's kept connection to its
// address, or on a new one, and reads the response headers. A kept
// connection that fails before the first response byte is replaced by a
// new one, once, when req can be sent again. When it returns a response,
// the connection's cancellation hook on actx is armed: the caller ends the
// attempt with finishDirect.
func (st *stream) roundTripDirect(actx context.Context, req *http.Request) (t directTrip) {
	u := &urlParts{scheme: req.URL.Scheme, host: req.URL.Hostname(), port: req.URL.Port()}
	addr, key := directAddr(u)
	c := st.idle.take(key)
	for {
		if c == nil {
			dialStart := time.Now()
			c, t.class, t.err = st.dialDirect(actx, u, addr, key)
			if t.err != nil {
				return t
			}
			t.connect, t.dialled = time.Since(dialStart), true
		} else {
			c.watchCtx(actx)
		}
		resp, class, err := c.exchange(req)
		if err == nil {
			t.c, t.resp = c, resp
			return t
		}
		c.close()
		if t.dialled || actx.Err() != nil || class != scenarios.ErrReset || !replayable(req) {
			t.class, t.err = class, err
			return t
		}
		// The kept connection broke before answering (the server closed
		// it while idle): send again on a new one.
		c = nil
	}
}

// dialDirect dials addr from the stream's source address and, for https,
// makes the TLS handshake. The connection's cancellation hook on actx is
// armed before the handshake, so a cancelled attempt ends it.
func (st *stream) dialDirect(actx context.Context, u *urlParts, addr, key string) (*rawConn, scenarios.ErrorClass, error) {
	nc, err := st.dialFunc()(actx, "tcp", addr)
	if err != nil {
		return nil, scenarios.ErrDial, err
	}
	c := &rawConn{nc: nc, c: nc, key: key, budget: -1}
	c.watchCtx(actx)
	if u.scheme == "https" {
		// The hook closes nc when actx ends: Handshake needs no context
		// (HandshakeContext would start a goroutine to watch it).
		tc := tls.Client(nc, st.s.tlsConf.forHost(u.host))
		if err := tc.Handshake(); err != nil {
			c.close()
			return nil, scenarios.ErrTLS, err
		}
		c.c = tc
	}
	return c, scenarios.ErrNone, nil
}

// exchange writes req and reads the final response's headers (skipping
// informational 1xx responses), within maxHeaderBytes.
func (c *rawConn) exchange(req *http.Request) (*http.Response, scenarios.ErrorClass, error) {
	bw := writerPool.Get().(*bufio.Writer)
	bw.Reset(c.c)
	err := req.Write(bw)
	if err == nil {
		err = bw.Flush()
	}
	bw.Reset(nil)
	writerPool.Put(bw)
	if err != nil {
		return nil, scenarios.ErrReset, err
	}
	c.getReader()
	c.budget = maxHeaderBytes
	defer func() { c.budget = -1 }()
	for range max1xx + 1 {
		resp, err := http.ReadResponse(c.br, req)
		if err != nil {
			return nil, scenarios.ErrReset, err
		}
		if resp.StatusCode < 100 || resp.StatusCode > 199 || resp.StatusCode == http.StatusSwitchingProtocols {
			resp.Request = nil // the request is not needed while the body is read
			return resp, scenarios.ErrNone, nil
		}
	}
	return nil, scenarios.ErrReset, errors.New("swarm: too many 1xx responses")
}

// finishDirect ends an attempt on the direct path: the connection is kept
// for the stream's next request when the body was read to its end (clean)
// and the server did not ask to close it; otherwise it is closed.
func (st *stream) finishDirect(c *rawConn, resp *http.Response, clean bool) {
	if clean && !resp.Close && c.release() {
		st.idle.put(c)
		return
	}
	c.close()
}

// dialFunc returns the dial of the stream's source address.
func (st *stream) dialFunc() dialFunc {
	d := st.s.dials
	if len(d) == 1 {
		return d[0]
	}
	return d[st.s.sc.SourceIndex(st.no)%len(d)]
}
