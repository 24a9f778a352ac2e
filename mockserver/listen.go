package mockserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"time"
)

// Listen opens a TCP listener on addr ("" means DefaultAddr, loopback
// only). With reuseport, SO_REUSEPORT is set before bind so several
// processes can listen on the same port and the kernel spreads connections
// among them; where the platform lacks it, Listen returns an error.
func Listen(ctx context.Context, addr string, reuseport bool) (net.Listener, error) {
	if addr == "" {
		addr = DefaultAddr
	}
	var lc net.ListenConfig
	if reuseport {
		lc.Control = reusePortControl
	}
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("mockserver: listen on %s: %w", addr, err)
	}
	return ln, nil
}

// Serve serves s on ln, over HTTP/1.1 and unencrypted HTTP/2 (h2c with
// prior knowledge), until ctx is cancelled or ln fails, then shuts down
// gracefully: open streams end (Close), the listener closes, and Serve
// waits up to Config.ShutdownTimeout (default 5s) for the connections to
// finish. It returns nil after a shutdown caused by ctx.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	errLog := s.cfg.ErrorLog
	if errLog == nil {
		errLog = log.New(io.Discard, "", 0)
	}
	hs := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          errLog,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
		// HTTP/1.1, and HTTP/2 without TLS (h2c with prior knowledge), so
		// that clients that speak HTTP/2 to an http:// URL (ssebench run
		// --http2) are served too.
		Protocols: new(http.Protocols),
	}
	hs.Protocols.SetHTTP1(true)
	hs.Protocols.SetUnencryptedHTTP2(true)
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		s.Close()
		return fmt.Errorf("mockserver: serve: %w", err)
	case <-ctx.Done():
	}
	s.Close()
	timeout := s.cfg.ShutdownTimeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	sctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	err := hs.Shutdown(sctx)
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	if err != nil {
		_ = hs.Close()
		return fmt.Errorf("mockserver: shutdown: %w", err)
	}
	return nil
}

// Running is a Server started by Start. Its fields are read-only; Stop is
// safe for concurrent use.
type Running struct {
	// URL is the base URL, "http://127.0.0.1:PORT", without a trailing slash.
	URL string
	// Addr is the listener's address.
	Addr net.Addr
	// Server is the handler, for its Registry or an early Close.
	Server *Server

	cancel context.CancelFunc
	done   chan error
}

// Start starts a Server with cfg on addr ("" means 127.0.0.1:0, a free
// loopback port) in the background and returns once it accepts
// connections. Call Stop to end it. This is how `ssebench run` embeds the
// mock in process.
func Start(cfg Config, addr string) (*Running, error) {
	s, err := New(cfg)
	if err != nil {
		return nil, err
	}
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := Listen(context.Background(), addr, false)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &Running{URL: "http://" + ln.Addr().String(), Addr: ln.Addr(), Server: s, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- s.Serve(ctx, ln) }()
	return r, nil
}

// Stop ends open streams, closes the listener and waits for the shutdown
// (bounded by Config.ShutdownTimeout). It is safe to call more than once;
// later calls return nil.
func (r *Running) Stop() error {
	r.cancel()
	err, ok := <-r.done
	if ok {
		close(r.done)
	}
	return err
}
