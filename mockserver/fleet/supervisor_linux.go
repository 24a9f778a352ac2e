//go:build linux

package fleet

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
)

// procState is where a worker's current process is.
type procState int

const (
	stateStarting procState = iota // exec'd, no report yet
	stateServing                   // reported: it accepts on its socket
	stateDead                      // exited; a restart may be pending
)

// worker is one slot of the fleet: its socket of the SO_REUSEPORT group,
// held by the supervisor for the fleet's whole life so that its index in
// the group never changes and the connections queued on it survive the
// process, and the process serving it now.
type worker struct {
	slot     int
	name     string
	shared   *net.TCPListener
	admin    *net.TCPListener
	adminURL string

	// The fields below belong to the supervisor's loop; Gather reads them
	// under supervisor.mu.
	restarts  int
	gen       int // numbers the processes of this slot
	proc      *os.Process
	ctl       net.Conn
	hand      *net.UnixConn
	state     procState
	served    bool
	marks     Marks
	last      gateState
	confirmed uint64
	// confirmedOthers is the Others of the last confirmation sent.
	confirmedOthers bool
	// sent counts the connections handed to this process.
	sent     uint64
	stderr   *lineLog
	lastFams []*dto.MetricFamily
}

// event is what the loop is told: a report, an exit, a due restart or a
// start that took too long.
type event struct {
	w            *worker
	gen          int
	rep          *report
	err          error // exited: how; otherwise an unreadable report
	exited       bool
	restart      bool
	startTimeout bool
}

// supervisor runs a fleet. Its loop owns the workers' lifecycle; mu
// guards what Gather and the scrapes read of them.
type supervisor struct {
	cfg        Config
	log        *logger
	addr       string
	events     chan event
	done       chan struct{}
	client     *http.Client
	metricsURL string
	metricsSrv *http.Server
	metricsLn  net.Listener

	mu        sync.Mutex
	workers   []*worker
	routed    []int
	retired   *merger
	stopping  bool
	readyDone bool
	memWarned bool

	reg       *prometheus.Registry
	serving   prometheus.Gauge
	restartsV *prometheus.CounterVec
	receiving *prometheus.GaugeVec
	lost      prometheus.Counter
}

// Run serves the mock as a fleet of worker processes on one port until
// ctx ends, then stops every worker (SIGTERM, then SIGKILL after
// StopTimeout, each by its PID) and returns nil; or it returns an error
// when the fleet cannot start, or a worker dies before it serves or after
// MaxRestarts restarts. The package documentation gives the routing,
// supervision and metrics rules.
func Run(ctx context.Context, cfg Config) error {
	if err := cfg.validate(); err != nil {
		return err
	}
	if cfg.StopTimeout == 0 {
		cfg.StopTimeout = 10 * time.Second
	}
	s := newSupervisor(cfg)
	defer s.close()
	if err := s.openMetrics(); err != nil {
		return err
	}
	n := max(cfg.Procs, 1)
	for range n {
		if _, err := s.addWorker(ctx); err != nil {
			return err
		}
	}
	if err := s.resteer(); err != nil {
		return err
	}
	var err error
	for _, w := range s.workers {
		if err = s.start(w); err != nil {
			break
		}
	}
	if err == nil {
		go s.refresh()
		err = s.loop(ctx)
	}
	s.stop()
	return err
}

func newSupervisor(cfg Config) *supervisor {
	s := &supervisor{cfg: cfg, log: &logger{out: cfg.Log}, events: make(chan event, 64), done: make(chan struct{}),
		client:  &http.Client{Timeout: scrapeTimeout, Transport: &http.Transport{MaxIdleConnsPerHost: 1, IdleConnTimeout: time.Minute}},
		retired: newMerger(), reg: prometheus.NewRegistry()}
	const ns = "ssebench_mock"
	s.serving = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: "workers",
		Help: "Worker processes serving now."})
	s.restartsV = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "worker_restarts_total",
		Help: "Times a worker died and was restarted; while it is 0 the sums are exact."}, []string{"worker"})
	s.receiving = prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "worker_receiving",
		Help: "1 while the kernel routes new connections to the worker."}, []string{"worker"})
	s.lost = prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "handoffs_lost_total",
		Help: "Connections a full worker handed over that no worker could take (closed)."})
	s.reg.MustRegister(s.serving, s.restartsV, s.receiving, s.lost, collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return s
}

// openMetrics serves the sum over the workers on a private loopback
// address, where the workers' own GET /metrics send their requests.
func (s *supervisor) openMetrics() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("fleet: metrics listener: %w", err)
	}
	s.metricsLn = ln
	s.metricsURL = "http://" + ln.Addr().String() + "/metrics"
	s.metricsSrv = &http.Server{Handler: promhttp.HandlerFor(s, promhttp.HandlerOpts{ErrorHandling: promhttp.HTTPErrorOnError}),
		ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.metricsSrv.Serve(ln) }()
	return nil
}

// addWorker opens the next slot's socket (the first one resolves the
// address) and its admin listener.
func (s *supervisor) addWorker(ctx context.Context) (*worker, error) {
	s.mu.Lock()
	slot, addr := len(s.workers), s.addr
	s.mu.Unlock()
	if slot == 0 {
		addr = s.cfg.Addr
	}
	shared, err := listenShared(ctx, addr)
	if err != nil {
		return nil, err
	}
	admin, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		shared.Close()
		return nil, fmt.Errorf("fleet: admin listener: %w", err)
	}
	w := &worker{slot: slot, name: workerName(slot), shared: shared, admin: admin.(*net.TCPListener),
		adminURL: "http://" + admin.Addr().String() + "/metrics", state: stateDead}
	s.mu.Lock()
	if slot == 0 {
		s.addr = shared.Addr().String()
	}
	s.workers = append(s.workers, w)
	s.mu.Unlock()
	s.restartsV.WithLabelValues(w.name)
	s.receiving.WithLabelValues(w.name)
	return w, nil
}

// post hands ev to the loop, unless the fleet is gone.
func (s *supervisor) post(ev event) {
	select {
	case s.events <- ev:
	case <-s.done:
	}
}

func (s *supervisor) loop(ctx context.Context) error {
	// In auto mode the accept queues are looked at every queueCheckEvery
	// as well as at every report: a worker that a connection storm keeps
	// from accepting sends no report.
	var tick <-chan time.Time
	if s.cfg.Procs == 0 {
		t := time.NewTicker(queueCheckEvery)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev := <-s.events:
			if err := s.handle(ctx, ev); err != nil {
				return err
			}
		case <-tick:
			if err := s.maybeGrow(ctx); err != nil {
				return err
			}
		}
	}
}

func (s *supervisor) handle(ctx context.Context, ev event) error {
	w := ev.w
	if ev.gen != w.gen {
		return nil // about an earlier process of this slot
	}
	switch {
	case ev.exited:
		return s.exited(w, ev.err)
	case ev.restart:
		return s.start(w)
	case ev.startTimeout:
		if w.state == stateStarting {
			s.log.printf("ssebench mock: worker %s (pid %d) did not report within %v; killing it", w.name, w.proc.Pid, startTimeout)
			_ = w.proc.Kill()
		}
		return nil
	case ev.err != nil:
		s.log.printf("ssebench mock: worker %s (pid %d) sent an unreadable report (%v); killing it", w.name, w.proc.Pid, ev.err)
		_ = w.proc.Kill()
		return nil
	default:
		return s.reported(ctx, w, ev.rep)
	}
}

// reported takes a worker's report: its first one makes it serve; a
// change of its accepting state re-routes the port, and a pause is
// confirmed once the kernel routes around it.
func (s *supervisor) reported(ctx context.Context, w *worker, r *report) error {
	s.mu.Lock()
	first := w.state == stateStarting
	if first {
		w.state, w.served = stateServing, true
		if r.Marks != nil {
			w.marks = *r.Marks
		}
	}
	changed := first || w.last.Accepting != r.Accepting
	w.last = r.gateState
	s.mu.Unlock()
	if changed {
		if err := s.reroute(); err != nil {
			return err
		}
	}
	if first {
		s.maybeReady()
	}
	return s.maybeGrow(ctx)
}

// reroute re-attaches the routing program and then tells every paused
// worker what it has not been told yet: that new connections go around
// it, and whether another worker accepts (to hand its queue to).
func (s *supervisor) reroute() error {
	if err := s.resteer(); err != nil {
		return err
	}
	type note struct {
		ctl net.Conn
		c   confirmation
	}
	var notes []note
	s.mu.Lock()
	for _, w := range s.workers {
		if w.state != stateServing || w.last.Accepting {
			continue
		}
		others := false
		for _, o := range s.workers {
			others = others || o != w && o.state == stateServing && o.last.Accepting
		}
		if w.last.Seq != w.confirmed || others != w.confirmedOthers {
			w.confirmed, w.confirmedOthers = w.last.Seq, others
			notes = append(notes, note{w.ctl, confirmation{Confirm: w.last.Seq, Others: others}})
		}
	}
	s.mu.Unlock()
	for _, n := range notes {
		// A worker that misses this stops waiting after ackTimeout anyway.
		line, _ := json.Marshal(n.c)
		_ = n.ctl.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = n.ctl.Write(append(line, '\n'))
	}
	return nil
}

// maybeReady calls Ready once the first workers serve.
func (s *supervisor) maybeReady() {
	s.mu.Lock()
	serving := 0
	for _, w := range s.workers {
		if w.state == stateServing {
			serving++
		}
	}
	call := !s.readyDone && serving >= max(s.cfg.Procs, 1)
	if call {
		s.readyDone = true
	}
	addr := s.addr
	s.mu.Unlock()
	if call && s.cfg.Ready != nil {
		s.cfg.Ready(addr, serving)
	}
}

// resteer attaches the program that routes new connections to the
// serving workers that accept; failing those, to the workers starting
// (their sockets queue the connections until they serve: this is how a
// worker added by auto, or restarted, takes over from full ones); failing
// those, to every serving worker (all are full); failing those, to every
// slot.
func (s *supervisor) resteer() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var open, starting, serving, all []int
	for _, w := range s.workers {
		all = append(all, w.slot)
		switch w.state {
		case stateStarting:
			starting = append(starting, w.slot)
		case stateServing:
			serving = append(serving, w.slot)
			if w.last.Accepting {
				open = append(open, w.slot)
			}
		}
	}
	to := open
	for _, next := range [][]int{starting, serving, all} {
		if len(to) == 0 {
			to = next
		}
	}
	if slices.Equal(to, s.routed) {
		return nil
	}
	if err := steer(s.workers[0].shared, to); err != nil {
		return err
	}
	s.routed = to
	for _, w := range s.workers {
		v := 0.0
		if slices.Contains(to, w.slot) {
			v = 1
		}
		s.receiving.WithLabelValues(w.name).Set(v)
	}
	return nil
}

// exited takes a worker's death: it is routed around, its counters
// retired, and it is restarted later, unless it never served or has used
// up its restarts.
func (s *supervisor) exited(w *worker, how error) error {
	s.mu.Lock()
	served, pid := w.served, w.proc.Pid
	w.state = stateDead
	_ = w.ctl.Close()
	_ = w.hand.Close()
	fams := w.lastFams
	w.lastFams = nil
	rerr := s.retired.retire(fams)
	s.mu.Unlock()
	if rerr != nil {
		s.log.printf("ssebench mock: worker %s: its last counts are lost: %v", w.name, rerr)
	}
	if err := s.reroute(); err != nil {
		return err
	}
	desc := "exited"
	if how != nil {
		desc = "exited (" + how.Error() + ")"
	}
	if !served {
		return fmt.Errorf("fleet: worker %s (pid %d) %s before it served; its last output:\n%s", w.name, pid, desc, w.stderr.Tail())
	}
	if w.restarts >= MaxRestarts {
		return fmt.Errorf("fleet: worker %s (pid %d) %s after %d restarts; its last output:\n%s", w.name, pid, desc, w.restarts, w.stderr.Tail())
	}
	w.restarts++
	s.restartsV.WithLabelValues(w.name).Inc()
	delay := firstRestartDelay << (w.restarts - 1)
	s.log.printf("ssebench mock: worker %s (pid %d) %s; restarting it on its socket in %v (restart %d of %d); its last output:\n%s",
		w.name, pid, desc, delay, w.restarts, MaxRestarts, w.stderr.Tail())
	gen := w.gen
	time.AfterFunc(delay, func() { s.post(event{w: w, gen: gen, restart: true}) })
	return nil
}

// maybeGrow starts one more worker in auto mode when the workers that
// accept have less room than a quarter of a high-water mark, or (below
// queueGrowMax workers) one of them has its accept queue at least half
// full, no worker is starting, and memory allows (see Config.Procs).
func (s *supervisor) maybeGrow(ctx context.Context) error {
	if s.cfg.Procs != 0 {
		return nil
	}
	s.mu.Lock()
	room, high, starting, n := 0, 0, false, len(s.workers)
	var accepting []*net.TCPListener
	for _, w := range s.workers {
		switch w.state {
		case stateStarting:
			starting = true
		case stateServing:
			high = w.marks.High
			if w.last.Accepting {
				room += max(0, w.marks.High-w.last.Files)
				accepting = append(accepting, w.shared)
			}
		}
	}
	s.mu.Unlock()
	if starting || high == 0 || n >= MaxWorkers {
		return nil
	}
	full := room < high/growBelow
	queued := 0
	if !full && n < queueGrowMax() {
		for _, ln := range accepting {
			if q, b, err := acceptQueue(ln); err == nil && queueFull(q, b) {
				full, queued = true, q
				break
			}
		}
	}
	if !full {
		return nil
	}
	need := uint64(high)*streamBudget + memFloor
	if avail, err := memAvailable(); err != nil || avail < need {
		if !s.memWarned {
			s.memWarned = true
			s.log.printf("ssebench mock: auto: not starting worker %d: MemAvailable is %s, a full worker needs %d MiB and 1 GiB stays free",
				n, describeMem(avail, err), (need-memFloor)>>20)
		}
		return nil
	}
	w, err := s.addWorker(ctx)
	if err != nil {
		return err
	}
	if queued > 0 {
		s.log.printf("ssebench mock: auto: starting worker %s: %d connections wait in the accept queue of a worker that accepts", w.name, queued)
	} else {
		s.log.printf("ssebench mock: auto: starting worker %s: the workers that accept have room for %d more connections", w.name, room)
	}
	return s.start(w)
}

func describeMem(avail uint64, err error) string {
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	return fmt.Sprintf("%d MiB", avail>>20)
}

// stop ends every live worker: SIGTERM, then SIGKILL after StopTimeout,
// each by its PID, and waits for them (bounded).
func (s *supervisor) stop() {
	s.mu.Lock()
	s.stopping = true
	live := map[*worker]int{}
	for _, w := range s.workers {
		if w.state != stateDead && w.proc != nil {
			live[w] = w.gen
			_ = w.proc.Signal(syscall.SIGTERM)
		}
	}
	s.mu.Unlock()
	timer := time.NewTimer(s.cfg.StopTimeout)
	defer timer.Stop()
	killed := false
	for len(live) > 0 {
		select {
		case ev := <-s.events:
			if gen, ok := live[ev.w]; ok && ev.exited && ev.gen == gen {
				delete(live, ev.w)
			}
		case <-timer.C:
			if killed {
				for w := range live {
					s.log.printf("ssebench mock: worker %s (pid %d) did not exit after SIGKILL", w.name, w.proc.Pid)
				}
				return
			}
			for w := range live {
				s.log.printf("ssebench mock: worker %s (pid %d) did not stop within %v; killing it", w.name, w.proc.Pid, s.cfg.StopTimeout)
				_ = w.proc.Kill()
			}
			killed = true
			timer.Reset(5 * time.Second)
		}
	}
}

// close releases the sockets and the metrics server.
func (s *supervisor) close() {
	close(s.done)
	if s.metricsSrv != nil {
		_ = s.metricsSrv.Close()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, w := range s.workers {
		_ = w.shared.Close()
		_ = w.admin.Close()
		if w.ctl != nil {
			_ = w.ctl.Close()
			_ = w.hand.Close()
		}
	}
}
