//go:build linux

package fleet

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ssebench/ssebench/mockserver"
)

// ServeWorker serves cfg as the worker that getenv describes (see
// WorkerEnv), on the socket, admin listener and control socket its
// supervisor passed it, until ctx ends or the supervisor goes away (its
// control socket closes). Its GET /metrics answers with the supervisor's
// sum over all workers; its own metrics, with the ssebench_mock_worker_*
// gauges, are served to the supervisor alone.
func ServeWorker(ctx context.Context, cfg mockserver.Config, getenv func(string) string) (err error) {
	spec, err := parseSpec(getenv(WorkerEnv))
	if err != nil {
		return err
	}
	limit, err := setFDLimit(spec.FDLimit)
	if err != nil {
		return err
	}
	if limit < MinFDLimit {
		return fmt.Errorf("fleet: worker %d: open-file limit %d is below %d", spec.Slot, limit, MinFDLimit)
	}
	var closers []io.Closer
	defer func() {
		for _, c := range closers {
			_ = c.Close()
		}
	}()
	shared, err := inherited(fdShared, "shared socket", net.FileListener)
	if err != nil {
		return err
	}
	closers = append(closers, shared)
	admin, err := inherited(fdAdmin, "admin listener", net.FileListener)
	if err != nil {
		return err
	}
	closers = append(closers, admin)
	ctl, err := inherited(fdControl, "control socket", net.FileConn)
	if err != nil {
		return err
	}
	closers = append(closers, ctl)
	handConn, err := inherited(fdHand, "hand-off socket", net.FileConn)
	if err != nil {
		return err
	}
	closers = append(closers, handConn)
	hand, ok := handConn.(*net.UnixConn)
	if !ok {
		return fmt.Errorf("fleet: worker: the hand-off socket is a %T", handConn)
	}
	if cfg.Metrics, err = newMetricsProxy(spec.Metrics); err != nil {
		return err
	}
	srv, err := mockserver.New(cfg)
	if err != nil {
		return err
	}
	base, err := openFiles()
	if err != nil {
		return err
	}
	marks := MarksFor(limit)
	g := newGate(shared, marks, base, func(c net.Conn) error { return sendConn(hand, c) })
	go receiveConns(hand, g)
	registerWorkerMetrics(srv.Registry(), g)
	adminSrv := &http.Server{Handler: promhttp.HandlerFor(srv.Registry(), promhttp.HandlerOpts{}), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = adminSrv.Serve(admin) }()
	closers = append(closers, adminSrv)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { readConfirmations(ctl, g); cancel() }() // the supervisor is gone: stop
	go writeReports(ctx, ctl, g, report{Marks: &marks, Base: base, gateState: g.snapshot()})
	return srv.Serve(ctx, g)
}

// inherited opens the descriptor fd the supervisor passed as a listener or
// a connection.
func inherited[T any](fd int, what string, open func(*os.File) (T, error)) (T, error) {
	f := os.NewFile(uintptr(fd), what)
	var zero T
	if f == nil {
		return zero, fmt.Errorf("fleet: worker: no %s on descriptor %d", what, fd)
	}
	defer f.Close()
	v, err := open(f)
	if err != nil {
		return zero, fmt.Errorf("fleet: worker: %s on descriptor %d: %w", what, fd, err)
	}
	return v, nil
}

// setFDLimit lowers (or raises, up to the hard limit) this process's soft
// open-file limit to limit when it is positive, and returns the soft limit
// in force.
func setFDLimit(limit int) (int, error) {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return 0, fmt.Errorf("fleet: worker: open-file limit: %w", err)
	}
	if limit > 0 {
		if uint64(limit) > r.Max {
			return 0, fmt.Errorf("fleet: worker: fd limit %d is above the hard limit %d", limit, r.Max)
		}
		r.Cur = uint64(limit)
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
			return 0, fmt.Errorf("fleet: worker: set the open-file limit to %d: %w", limit, err)
		}
	}
	return int(min(r.Cur, 1<<30)), nil
}

// openFiles counts this process's open descriptors.
func openFiles() (int, error) {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return 0, fmt.Errorf("fleet: worker: count open files: %w", err)
	}
	return len(ents) - 1, nil // the directory being read is one of them
}

// newMetricsProxy returns the handler of a worker's GET /metrics: the
// request goes to the supervisor's sum, with its Accept headers, so every
// worker answers for the whole fleet.
func newMetricsProxy(target string) (http.Handler, error) {
	u, err := url.Parse(target)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("fleet: worker: bad metrics URL %q", target)
	}
	return &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			out := *u
			r.Out.URL = &out
			r.Out.Host = u.Host
		},
		Transport: &http.Transport{MaxIdleConnsPerHost: 2, IdleConnTimeout: 30 * time.Second, ResponseHeaderTimeout: scrapeTimeout + 5*time.Second},
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			http.Error(w, "ssebench mock: the sum over the workers is unavailable: "+err.Error(), http.StatusBadGateway)
		},
	}, nil
}

// registerWorkerMetrics adds the gate's gauges to the worker's registry.
func registerWorkerMetrics(reg *prometheus.Registry, g *gate) {
	const ns = "ssebench_mock_worker"
	gauge := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Name: name, Help: help}, f)
	}
	reg.MustRegister(
		gauge("connections", "Client connections this worker holds open.", func() float64 { return float64(g.snapshot().Conns) }),
		gauge("open_files", "Open files as the worker counts them: those it started with plus its client connections.",
			func() float64 { return float64(g.snapshot().Files) }),
		gauge("accepting", "1 while the worker takes new connections, 0 while it is above its high-water mark.", func() float64 {
			if g.snapshot().Accepting {
				return 1
			}
			return 0
		}),
		gauge("open_files_high", "Open files at which the worker asks to be routed around.", func() float64 { return float64(g.marks.High) }),
		gauge("open_files_low", "Open files at or below which it takes new connections again.", func() float64 { return float64(g.marks.Low) }),
		gauge("open_files_cap", "Open files the worker never exceeds (further connections wait in the kernel's queue).",
			func() float64 { return float64(g.marks.Cap) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: ns, Name: "pauses_total",
			Help: "Times the worker reached its high-water mark."}, func() float64 { return float64(g.pauses.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: ns, Name: "handed_off_total",
			Help: "Connections queued on this worker's socket while it was full, handed to another worker."},
			func() float64 { return float64(g.handedOff.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: ns, Name: "handed_in_total",
			Help: "Connections this worker took over from a full worker's queue."},
			func() float64 { return float64(g.snapshot().HandedIn) }),
	)
}

// writeReports writes first, then every state the gate reports, one JSON
// line each, until ctx ends or the supervisor stops reading.
func writeReports(ctx context.Context, w io.Writer, g *gate, first report) {
	enc := json.NewEncoder(w)
	if enc.Encode(first) != nil {
		return
	}
	for {
		select {
		case <-ctx.Done():
			return
		case s := <-g.states:
			if enc.Encode(report{gateState: s}) != nil {
				return
			}
		}
	}
}

// readConfirmations passes the supervisor's confirmations to the gate and
// returns when the control socket closes or carries something else.
func readConfirmations(r io.Reader, g *gate) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, maxLine), maxLine)
	for sc.Scan() {
		var c confirmation
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			return
		}
		g.confirm(c.Confirm, c.Others)
	}
}

// receiveConns serves the connections the supervisor hands in, until the
// hand-off socket closes.
func receiveConns(hand *net.UnixConn, g *gate) {
	for {
		c, err := recvConn(hand)
		if errors.Is(err, errBadHandOff) {
			continue // the next one may be fine
		}
		if err != nil {
			return
		}
		g.inject(c)
	}
}
