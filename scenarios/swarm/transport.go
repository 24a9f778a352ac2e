package swarm

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/netip"
	"time"
)

// Transport buffer sizes. A stream's request is small and its response is
// read through sse.Reader's own buffer, so the transport's per-connection
// bufio buffers are kept small: they are a large share of a stream's memory
// (HTTP/1.1 over the Transport: Options.SharedTransport).
const (
	transportReadBuffer  = 2 << 10
	transportWriteBuffer = 1 << 10
	// h2StreamWindow bounds the HTTP/2 flow-control window (and so the
	// buffered, unread body) per stream.
	h2StreamWindow = 64 << 10
	// h2StreamsPerConn is the number of streams assumed to share one
	// HTTP/2 connection when estimating file descriptors: the common
	// server default (Go's is 250, nginx's and Envoy's 100 or more).
	h2StreamsPerConn = 100
	// dialTimeout bounds a TCP dial when no first-byte deadline applies.
	dialTimeout = 30 * time.Second
)

// dialFunc dials a connection, as net.Dialer.DialContext does.
type dialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// newTransport returns the http.Transport the streams of a swarm share for
// HTTP/2, for setup requests, and for HTTP/1.1 with Options.SharedTransport
// (otherwise HTTP/1.1 streams take the direct path). maxConns sizes the
// idle pool, so that a closed-model slot reuses its connection for its
// next stream instead of dialling again.
func newTransport(o *Options, http2, insecure bool, source netip.Addr, maxConns int) *http.Transport {
	tr := &http.Transport{
		DialContext:         dialer(o.Dial, source),
		DisableCompression:  true, // measure the stream as sent; gzip buffers whole blocks
		ReadBufferSize:      transportReadBuffer,
		WriteBufferSize:     transportWriteBuffer,
		MaxIdleConns:        0, // no global limit: bounded per host below
		MaxIdleConnsPerHost: max(maxConns, 2),
		IdleConnTimeout:     90 * time.Second,
		// The direct path's bound, so an oversized head fails alike.
		MaxResponseHeaderBytes: maxHeaderBytes,
		// No ResponseHeaderTimeout or TLSHandshakeTimeout: the swarm's own
		// deadlines (first byte, total) cancel the request and classify
		// the failure.
	}
	var tc *tls.Config
	if o.TLSConfig != nil {
		tc = o.TLSConfig.Clone()
	} else {
		tc = &tls.Config{}
	}
	if insecure {
		tc.InsecureSkipVerify = true
	}
	tr.TLSClientConfig = tc

	p := new(http.Protocols)
	if http2 {
		// h2 over TLS via ALPN, and h2c with prior knowledge over http://
		// (without HTTP1, the transport speaks unencrypted HTTP/2).
		p.SetHTTP2(true)
		p.SetUnencryptedHTTP2(true)
		tr.ForceAttemptHTTP2 = true
		tr.HTTP2 = &http.HTTP2Config{MaxReceiveBufferPerStream: h2StreamWindow}
	} else {
		p.SetHTTP1(true)
	}
	tr.Protocols = p
	return tr
}

// dialer returns the transport's DialContext (and the direct path's dial). custom, if not nil, replaces
// the TCP dial (tests use in-memory pipes); source, if valid, is the local
// address to dial from (one transport per source address spreads the
// streams over them, lifting the ephemeral-port ceiling of one address).
func dialer(custom dialFunc, source netip.Addr) dialFunc {
	if custom != nil {
		// A custom dial does not report itself to httptrace the way
		// net.Dialer does: report it, so connect time and dial errors are
		// measured the same way.
		return func(ctx context.Context, network, addr string) (net.Conn, error) {
			trace := httptrace.ContextClientTrace(ctx)
			if trace != nil && trace.ConnectStart != nil {
				trace.ConnectStart(network, addr)
			}
			c, err := custom(ctx, network, addr)
			if trace != nil && trace.ConnectDone != nil {
				trace.ConnectDone(network, addr, err)
			}
			return c, err
		}
	}
	d := &net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}
	if source.IsValid() {
		d.LocalAddr = &net.TCPAddr{IP: source.AsSlice(), Zone: source.Zone()}
		d.Control = bindAddressOnly // the port is chosen at connect
	}
	return d.DialContext
}
