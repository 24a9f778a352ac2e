// Package swarm is ssebench's client swarm: it runs a Scenario against an
// SSE endpoint (a closed model of N concurrent streams, or an open model of
// arrivals at a rate) and emits one scenarios.Result per happening of each
// stream attempt.
//
// # Measurement
//
// A stream is the unit of every metric; an attempt (one connection) is a
// detail. Every time is read from the monotonic clock. An attempt's Start
// is taken just before it dials (or takes its kept connection) and writes
// its request; the stream's first start is its attempt 0's. ttfb, ttfe and
// ttft are measured once per stream from the first start (so they include
// connection setup, and on a reconnected stream the drop and the wait);
// gaps and itls are taken between consecutive events of the stream,
// across reconnects; e2e (from the first start to the final end,
// reconnect waits included) and tpot (over the whole stream) are sent
// once, on the Final Result of a stream that ended ok; resume_gap is sent
// once per resume that dispatched an event, from the end of the attempt
// that dropped to that event. Tokens are credited as content events arrive
// (a Result's content events are its tokens); the Final Result adds the
// correction to the server's last usage report, when there was one. The
// dial and TLS time of each new connection is reported as connect. In the
// open model Sched is when the pacer wanted the stream and queue is the
// delay from Sched to the moment the stream's goroutine began: the
// generator's own lag, which also flows into ttft_sched and e2e_sched, so
// coordinated omission is never hidden. In the closed model Sched is the
// first attempt's Start.
//
// # Cost per stream
//
// A stream is one goroutine of the swarm, running its attempts in turn;
// it reads the body through sse.Reader's zero-allocation NextView and
// accumulates gaps into the pooled Result it will send: no allocation and
// no channel send per event. It sends a KindStart per attempt, a
// KindProgress at the stream's first content event (so a live view sees
// ttft at once), whenever its batch of gap runs is full and, while events keep
// coming, at least every 250ms (so live event and token counts follow
// slow streams), and a KindEnd. Deadlines (first byte, idle, total,
// abort-after) share one timer per attempt, re-armed lazily.
//
// Over HTTP/1.1 (http:// and https:// without http2) a stream dials,
// writes and reads its own connection on its goroutine (the direct path,
// direct.go): one goroutine per stream, about 19 KiB of memory per open
// stream, 8 KiB of it the goroutine's stack. A cancelled attempt closes
// its connection, which ends a blocked read at once. A connection whose
// response ended cleanly is kept for the stream's next attempt and, in the
// closed model, for the slot's next stream; never shared between
// goroutines. HTTP/2 (h2, and h2c with prior knowledge over http://) goes
// through a shared net/http Transport, which multiplexes streams over
// shared connections and their goroutines; so does the setup request.
// Options.SharedTransport sends HTTP/1.1 streams through it too: three
// goroutines per stream, about 33 KiB.
//
// # Memory bounds
//
// Whatever the server sends, a stream holds at most the scenario's
// max_line + 2 bytes of read buffer and max_event bytes of one event's data
// (scenarios.DefaultMaxLine and DefaultMaxEvent, 256 KiB each, when the
// scenario sets none), plus about 20 KiB of its own, plus a decoder when
// the response is compressed (see decode.go: about 40 KiB for gzip and
// deflate, at most 16 MiB for brotli, 8 MiB plus two blocks for zstd). The
// reader's buffers never grow past their limit and are released after a
// large event. A line or event over a limit fails the attempt as parse,
// naming the limit and the scenario key that raises it.
//
// # Requests, responses and redirects
//
// The stream request carries a browser's headers (scenarios.PrepareRequest:
// Accept, Cache-Control, and Accept-Encoding unless compression is off);
// the response is decoded as it streams, between the byte counter and the
// SSE reader, on both paths (decode.go). Redirects are followed as fetch
// follows them, at most 10 per attempt, credentials dropped on a hop to
// another origin (redirect.go).
//
// A closed-model slot whose streams fail before their first event (target
// down, 503 at once) backs off from 10ms to 1s between streams instead of
// spinning; a healthy stream resets the backoff.
//
// # Ends
//
// A stream the run cancels (its duration and grace are over, the level of
// a closed-model ramp dropped and the grace passed, or ctx was cancelled)
// ends with a KindEnd whose Err is ErrNone, without E2E, and whose Detail
// starts with "cancelled": neither ok nor failed. A failed attempt's
// Detail is stable (no client address, stream number, id, offset or time)
// so that reports can group failures by it, and its Sample holds the
// evidence (the first bytes of an unexpected response's body, the full
// error text, an error event's data), both scrubbed of the request's
// secrets (detail.go).
//
// # Reconnects
//
// A premature end (EOF before a terminal event, a reset, a body cut before
// its end, an event cut off by the end of the body, an idle timeout)
// reconnects after the reconnection time (the server's retry: when the
// scenario honours it) with Last-Event-ID, up to Reconnect.Max times
// (https://html.spec.whatwg.org/multipage/server-sent-events.html#sse-processing-model);
// HTTP 204 stops the stream; a non-200 status or a wrong Content-Type fails
// it without a reconnect. When the scenario has terminal events, a clean
// end of the body before one fails the attempt with class
// eof_before_terminal; with none (the generic preset, a live feed) a clean
// end ends the stream ok, or, with Reconnect.AfterCleanEnd, reconnects as
// a browser would while Reconnect.Max allows. Streams still reconnect
// during the grace period. Ids that are integers (or end in one) are
// checked for gaps (ids_lost) and repeats (ids_duplicated) within a
// connection and across a resume.
package swarm

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ssebench/ssebench/scenarios"
	"github.com/ssebench/ssebench/scenarios/pacer"
)

// Options tune a Swarm beyond its Scenario. The zero value is ready to use.
type Options struct {
	// Dial, if set, replaces the TCP dial for every connection (tests use
	// in-memory pipes). Scenario.SourceIPs are then ignored, and New does
	// not check the open-file limit or the ephemeral ports.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)

	// TLSConfig, if set, is cloned for the client (to trust a private CA,
	// say). Scenario.Insecure still applies.
	TLSConfig *tls.Config

	// BufferSize is the initial size, in bytes, of each stream's SSE read
	// buffer; it grows up to the scenario's MaxLine when a line does not
	// fit. 0 means 1024, except for a body on the direct HTTP/1.1 path,
	// where the buffer is also the socket read size and 0 means
	// directBodyBuffer (4 KiB).
	BufferSize int

	// ResultBuffer is the capacity of the Result channel. 0 means 4096.
	ResultBuffer int

	// FDReserve is the number of file descriptors kept free for other
	// uses when checking the open-file limit. 0 means FDReserve.
	FDReserve int

	// FilesPerConn is the number of file descriptors one connection costs
	// this process: 2 when the target is served by this same process (the
	// CLI's in-process mock), else 1. 0 means 1.
	FilesPerConn int

	// MaxLag is how late the open-model generator may start an arrival
	// before it drops it (counting it in arrivals_dropped) instead. 0
	// means 1s.
	MaxLag time.Duration

	// SharedTransport sends HTTP/1.1 streams through the shared
	// net/http Transport, as HTTP/2 streams always are, instead of each
	// stream's own connection (the direct path): a fallback, and a
	// yardstick for the direct path. It costs two more goroutines and
	// about 15 KiB more memory per open stream.
	SharedTransport bool

	// Whole describes the whole run this scenario is a share of, for the
	// resource checks (see Whole). The zero value derives it from the
	// scenario's shard count.
	Whole Whole
}

// Status is a snapshot of a running Swarm.
type Status struct {
	// Elapsed is the time since Run began (0 before).
	Elapsed time.Duration
	// Stage is the index of the current stage in Load.Stages, or
	// len(Load.Stages) once the last one is over (its target holds).
	Stage int
	// StageName is "stage i/n", "hold" after the last stage, or "" when
	// the scenario has no stages.
	StageName string
	// Target is the load wanted now: connections (closed model) or
	// arrivals per second (open model).
	Target float64
	// Active is the number of attempts (connections) open now.
	Active int64
	// InFlight is the number of streams begun and not yet ended,
	// including those in a setup request or waiting to reconnect.
	InFlight int64
	// Started is the number of streams begun so far.
	Started int64
	// Dropped is the number of open-model arrivals dropped so far.
	Dropped int64
	// MaxLag is the largest delay, so far, between an open-model
	// arrival's scheduled time and the start of its goroutine.
	MaxLag time.Duration
	// Blocked is the number of Results that found the channel full: the
	// consumer did not keep up, and the streams waited for it.
	Blocked int64
	// Done is true once Run's channel is closed.
	Done bool
}

// Swarm runs one Scenario. Create it with New; Run it once. Status is safe
// for concurrent use.
type Swarm struct {
	sc   *scenarios.Scenario
	opts Options

	trs      []*http.Transport // one per source address (sc.SourceIP), or one
	direct   bool              // HTTP/1.1 streams on their own connections
	dials    []dialFunc        // the direct path's: one per source address, or one
	tlsConf  *tlsConfigs       // the direct path's
	ev       events
	decoders decoderPools // idle decoders of compressed responses
	req      *scenarios.PreparedRequest
	setup    *scenarios.PreparedRequest // nil: no setup request
	bufSize  int
	maxConns int // closed: peak connections; open: in-flight cap
	maxLag   time.Duration
	dialPace *dialPacer    // closed model over the direct path; nil: no pacing
	duration time.Duration // 0: until the context is cancelled
	ramp     pacer.Ramp
	arrivals pacer.Scheduler

	out chan *scenarios.Result

	ran       atomic.Bool
	startNano atomic.Int64 // run start, as nanoseconds on the monotonic base
	stopping  atomic.Bool  // the duration is over: no new streams
	done      atomic.Bool
	want      atomic.Int64 // closed model: the level now
	slotsUsed atomic.Int64 // open model: arrivals handed to a goroutine, not ended
	active    atomic.Int64
	inFlight  atomic.Int64
	started   atomic.Int64
	dropped   atomic.Int64
	lagMax    atomic.Int64
	blocked   atomic.Int64
	nextLocal atomic.Uint64 // next local stream number

	testHookArrival func(hit uint64) // tests: runs as each arrival is due
}

// monoBase anchors Status's elapsed time to the monotonic clock.
var monoBase = time.Now()

// New prepares a Swarm for sc, which must be valid (scenarios.Validate).
// It checks the process's open-file limit (raising the soft limit to the
// hard one) and the ephemeral ports against the plan's peak connections,
// and returns a *ResourceError saying how to shard when they do not fit.
func New(sc *scenarios.Scenario, opts Options) (*Swarm, error) {
	if sc == nil {
		return nil, errors.New("swarm: nil scenario")
	}
	s := &Swarm{sc: sc, opts: opts, bufSize: opts.BufferSize, maxLag: opts.MaxLag}
	if s.bufSize <= 0 {
		s.bufSize = 1024
	}
	if s.maxLag <= 0 {
		s.maxLag = time.Second
	}
	var err error
	s.ev = newEvents(sc)
	if s.req, err = sc.PrepareRequest(); err != nil {
		return nil, fmt.Errorf("swarm: request %w", err)
	}
	if s.setup, err = sc.PrepareSetup(); err != nil {
		return nil, fmt.Errorf("swarm: setup %w", err)
	}

	s.duration = sc.Duration
	if s.duration <= 0 {
		s.duration = sc.Load.StagesDuration()
	}
	reserve := opts.FDReserve
	if reserve <= 0 {
		reserve = FDReserve
	}
	need := Peak(sc)
	switch sc.Load.Model {
	case scenarios.Open:
		if s.arrivals, err = sc.Pacer(); err != nil {
			return nil, fmt.Errorf("swarm: %w", err)
		}
	default:
		s.ramp = sc.Ramp()
	}
	if opts.Dial == nil {
		if need, err = s.checkResources(need, reserve); err != nil {
			return nil, err
		}
	}
	if need <= 0 {
		need = 1 << 20
	}
	s.maxConns = need
	idle := min(need, 1<<16)
	if len(sc.SourceIPs) == 0 || opts.Dial != nil {
		s.trs = []*http.Transport{newTransport(&opts, sc.HTTP2, sc.Insecure, netip.Addr{}, idle)}
		s.dials = []dialFunc{dialer(opts.Dial, netip.Addr{})}
	} else {
		for _, a := range sc.SourceIPs {
			s.trs = append(s.trs, newTransport(&opts, sc.HTTP2, sc.Insecure, a, ceilDiv(idle, len(sc.SourceIPs))))
			s.dials = append(s.dials, dialer(nil, a))
		}
	}
	s.direct = !sc.HTTP2 && !opts.SharedTransport
	if s.direct && sc.Load.Model != scenarios.Open {
		s.dialPace = newDialPacer(sc.Load.EffectiveDial())
	}
	s.tlsConf = newTLSConfigs(&opts, sc.Insecure)
	return s, nil
}

// checkResources checks that peak streams fit in the open-file limit and
// in the ephemeral ports of the source addresses; peak 0 (an open model
// without max_connections) is given the most that fits instead. The
// ports are judged for the whole run when the target is on loopback
// (every shard then runs on this host), and the advice names the number
// of processes for the whole run (Options.Whole).
func (s *Swarm) checkResources(peak, reserve int) (int, error) {
	sc := s.sc
	files := func(streams int) int { // connections: one per stream, or shared over HTTP/2
		if sc.HTTP2 {
			return ceilDiv(streams, h2StreamsPerConn)
		}
		return streams
	}
	whole := s.opts.Whole
	if whole.Peak <= 0 {
		whole.Peak = peak * max(sc.ShardCount, 1)
	}
	sources := max(len(sc.SourceIPs), 1)
	if whole.Sources <= 0 {
		whole.Sources = sources
	}
	usable, err := fdPlan(files(peak), files(whole.Peak), s.opts.FilesPerConn, reserve)
	if err != nil {
		return 0, err
	}
	if peak > 0 {
		if !sc.HTTP2 {
			need, have := peak, sources
			if _, loop := LoopbackTarget(sc); loop {
				need, have = max(peak, whole.Peak), max(sources, whole.Sources)
			}
			if err := portPlan(need, have); err != nil {
				return 0, err
			}
		}
		return peak, nil
	}
	if usable < 0 {
		return 0, nil
	}
	limit := usable
	if sc.HTTP2 {
		limit = usable * h2StreamsPerConn
	} else if p := ephemeralPorts(); p > 0 {
		limit = min(limit, p*sources)
	}
	return limit, nil
}

// CheckWhole judges the whole run before its processes start (run
// --procs): procs processes on this host share plan (the whole plan, not
// split), each holding its share of the peak with filesPerConn files per
// connection, dialling from sources distinct addresses in all. It returns
// the *ResourceError a worker would meet, with advice for the whole run.
func CheckWhole(plan *scenarios.Scenario, procs, filesPerConn, sources int) error {
	peak := Peak(plan)
	if peak <= 0 {
		return nil
	}
	procs = max(procs, 1)
	share := ceilDiv(peak, procs)
	files := func(n int) int {
		if plan.HTTP2 {
			return ceilDiv(n, h2StreamsPerConn)
		}
		return n
	}
	if _, err := fdPlan(files(share), files(peak), filesPerConn, FDReserve); err != nil {
		return err
	}
	if _, loop := LoopbackTarget(plan); loop && !plan.HTTP2 {
		return portPlan(peak, max(sources, 1))
	}
	return nil
}

// UnreachableError says the target could not be reached when the run
// began: the dial failed, or (TLS set) the TLS handshake did. The CLI maps
// it to exit code 3.
type UnreachableError struct {
	// Target is the scheme and host dialled (no path or query: they may
	// carry secrets).
	Target string
	// TLS is true when the connection was made but its TLS handshake
	// failed (an untrusted or invalid certificate, a server that does not
	// speak TLS).
	TLS bool
	Err error
}

// Error names the target and the reason; for TLS, the x509 verdict and
// how to get past it (--insecure, or SSL_CERT_FILE to trust the CA).
func (e *UnreachableError) Error() string {
	if e.TLS {
		return fmt.Sprintf("TLS handshake with %s failed at start: %s", e.Target, tlsReason(e.Err))
	}
	return fmt.Sprintf("target unreachable at start: %s: %v", e.Target, e.Err)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// Probe dials the target once (from the first source address) and, for
// https, makes the TLS handshake the streams will make. It returns an
// *UnreachableError when either fails, so that a run against a target
// that is down, or whose certificate is not trusted, fails fast instead of
// reporting 100% dial or tls errors. A URL that depends on the stream (a
// template, or a setup request) is probed as the setup URL, or skipped
// when that too is a template.
func (s *Swarm) Probe(ctx context.Context) error {
	raw := s.sc.URL
	if s.setup != nil {
		raw = s.sc.Setup.URL
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || !hostStatic(u.Host) {
		return nil
	}
	addr, _ := directAddr(&urlParts{scheme: u.Scheme, host: u.Hostname(), port: u.Port()})
	timeout := s.sc.Deadlines.FirstByte
	if timeout <= 0 {
		timeout = dialTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	dial := dialer(s.opts.Dial, s.sc.SourceIP(0))
	target := u.Scheme + "://" + u.Host
	c, err := dial(ctx, "tcp", addr)
	if err != nil {
		return &UnreachableError{Target: target, Err: err}
	}
	defer c.Close()
	if u.Scheme == "https" {
		tc := tls.Client(c, s.tlsConf.forHost(u.Hostname()))
		if err := tc.HandshakeContext(ctx); err != nil {
			return &UnreachableError{Target: target, TLS: true, Err: err}
		}
	}
	return nil
}

func hostStatic(h string) bool {
	for i := 0; i+1 < len(h); i++ {
		if h[i] == '{' && h[i+1] == '{' {
			return false
		}
	}
	return true
}

// Run starts the load and returns the channel of Results. The channel is
// closed when every stream has ended: after the scenario's duration (plus
// its grace for streams still open, which are then cancelled), or soon
// after ctx is cancelled, in which case open streams are cancelled at once
// and each still sends its KindEnd, so the partial results are valid. The
// caller must receive until the channel is closed and Release each
// Result. Run may be called once; a second call returns a closed channel.
func (s *Swarm) Run(ctx context.Context) <-chan *scenarios.Result {
	size := s.opts.ResultBuffer
	if size <= 0 {
		size = 4096
	}
	out := make(chan *scenarios.Result, size)
	if !s.ran.CompareAndSwap(false, true) {
		close(out)
		return out
	}
	s.out = out
	start := time.Now()
	s.startNano.Store(int64(start.Sub(monoBase)) + 1)
	go s.run(ctx, start)
	return out
}

func (s *Swarm) run(ctx context.Context, start time.Time) {
	defer close(s.out)
	defer s.done.Store(true)
	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(errRunEnded)
	var wg sync.WaitGroup
	if s.sc.Load.Model == scenarios.Open {
		s.runOpen(runCtx, start, &wg)
	} else {
		s.runClosed(runCtx, start, &wg)
	}
	// The duration is over (or ctx is done): no new streams; streams
	// still open (reconnects included) get the grace period, then are
	// cancelled.
	s.stopping.Store(true)
	if ctx.Err() == nil && s.sc.Grace > 0 {
		idle := make(chan struct{})
		go func() { wg.Wait(); close(idle) }()
		t := time.NewTimer(s.sc.Grace)
		select {
		case <-idle:
		case <-t.C:
		case <-ctx.Done():
		}
		t.Stop()
	}
	cancel(errRunEnded)
	wg.Wait()
	for _, tr := range s.trs {
		tr.CloseIdleConnections()
	}
}

// send hands a Result to the consumer. A consumer slower than the swarm
// delays the streams (and so inflates their latencies): such sends are
// counted in Status.Blocked.
func (s *Swarm) send(r *scenarios.Result) {
	select {
	case s.out <- r:
	default:
		s.blocked.Add(1)
		s.out <- r
	}
}

// startStream runs stream no to its end on the calling goroutine. idle
// holds the calling goroutine's kept direct connection, which the stream
// may use and replace. It reports whether the stream was healthy: it did
// not fail, or it failed after at least one event.
func (s *Swarm) startStream(ctx context.Context, no uint64, sched time.Time, open bool, idle *idleConn) bool {
	began := time.Now()
	s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	s.started.Add(1)
	st := &stream{s: s, no: no, sched: sched, open: open, abort: s.sc.Aborts(no), vars: s.sc.Vars(no), idle: idle}
	if open {
		st.queue = began.Sub(sched)
		for {
			m := s.lagMax.Load()
			if int64(st.queue) <= m || s.lagMax.CompareAndSwap(m, int64(st.queue)) {
				break
			}
		}
	}
	if s.setup != nil {
		start := time.Now()
		if st.sched.IsZero() {
			st.sched = start
		}
		serr := st.runSetup(ctx)
		if serr != nil || ctx.Err() != nil {
			r := st.newResult(scenarios.KindStart, 0, start)
			if open {
				r.Set(scenarios.Queue, st.queue)
			}
			s.send(r)
			r = st.newResult(scenarios.KindEnd, 0, start)
			r.Final = true
			if serr != nil {
				r.Err, r.Status, r.Detail, r.Sample = serr.class, serr.status, serr.detail, serr.sample
			} else {
				r.Detail = detailCancelled
				r.Cancelled = true
			}
			s.send(r)
			return serr == nil
		}
	}
	return st.run(ctx)
}

// Status returns a snapshot of the run. Safe for concurrent use.
func (s *Swarm) Status() Status {
	var st Status
	if n := s.startNano.Load(); n != 0 {
		st.Elapsed = time.Since(monoBase) - time.Duration(n-1)
	}
	st.Stage, st.StageName = s.stageAt(st.Elapsed)
	if st.Elapsed > 0 && !s.stopping.Load() {
		if s.sc.Load.Model == scenarios.Open {
			st.Target = s.arrivals.Rate(st.Elapsed)
		} else {
			st.Target = float64(s.ramp.Concurrency(st.Elapsed))
		}
	}
	st.Active = s.active.Load()
	st.InFlight = s.inFlight.Load()
	st.Started = s.started.Load()
	st.Dropped = s.dropped.Load()
	st.MaxLag = time.Duration(s.lagMax.Load())
	st.Blocked = s.blocked.Load()
	st.Done = s.done.Load()
	return st
}

func (s *Swarm) stageAt(el time.Duration) (int, string) {
	stages := s.sc.Load.Stages
	if len(stages) == 0 {
		return 0, ""
	}
	var t time.Duration
	for i, st := range stages {
		t += st.Duration
		if el < t {
			return i, fmt.Sprintf("stage %d/%d", i+1, len(stages))
		}
	}
	return len(stages), "hold"
}
