//go:build linux

package fleet

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	dto "github.com/prometheus/client_model/go"
	"golang.org/x/sys/unix"
)

// start execs a new process for w's slot, with its socket, admin listener
// and one end of a new control socket.
func (s *supervisor) start(w *worker) error {
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("fleet: worker %s: control socket: %w", w.name, err)
	}
	mine := os.NewFile(uintptr(pair[0]), "control")
	theirs := os.NewFile(uintptr(pair[1]), "control (worker's end)")
	defer theirs.Close()
	ctl, err := net.FileConn(mine)
	mine.Close()
	if err != nil {
		return fmt.Errorf("fleet: worker %s: control socket: %w", w.name, err)
	}
	shared, err := w.shared.File()
	if err != nil {
		ctl.Close()
		return fmt.Errorf("fleet: worker %s: socket: %w", w.name, err)
	}
	defer shared.Close()
	admin, err := w.admin.File()
	if err != nil {
		ctl.Close()
		return fmt.Errorf("fleet: worker %s: admin listener: %w", w.name, err)
	}
	defer admin.Close()
	hand, handTheirs, err := handPair()
	if err != nil {
		ctl.Close()
		return err
	}
	defer handTheirs.Close()
	spec, _ := json.Marshal(workerSpec{Slot: w.slot, FDLimit: s.cfg.FDLimit, Metrics: s.metricsURL})

	cmd := s.cfg.Command()
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	cmd.Env = append(cmd.Env, WorkerEnv+"="+string(spec))
	cmd.ExtraFiles = []*os.File{shared, admin, theirs, handTheirs} // descriptors 3, 4, 5, 6
	cmd.Stdin, cmd.Stdout = nil, nil
	stderr := &lineLog{log: s.log, prefix: "ssebench mock worker " + w.name + ": "}
	cmd.Stderr = stderr
	// A process group of its own: a terminal's Ctrl-C reaches the
	// supervisor alone, which then stops every worker.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		ctl.Close()
		hand.Close()
		return fmt.Errorf("fleet: start worker %s: %w", w.name, err)
	}
	s.mu.Lock()
	w.gen++
	gen := w.gen
	w.proc, w.ctl, w.hand, w.state, w.served, w.stderr = cmd.Process, ctl, hand, stateStarting, false, stderr
	w.last, w.confirmed, w.confirmedOthers, w.sent, w.lastFams = gateState{}, 0, false, 0, nil
	s.mu.Unlock()
	go s.readReports(w, gen, ctl)
	go s.readHandOffs(w, hand)
	go func() {
		err := cmd.Wait()
		s.post(event{w: w, gen: gen, exited: true, err: err})
	}()
	time.AfterFunc(startTimeout, func() { s.post(event{w: w, gen: gen, startTimeout: true}) })
	return s.reroute() // when every serving worker is full, its socket takes the new connections
}

// readHandOffs forwards the connections a full worker hands over, until
// its hand-off socket closes.
func (s *supervisor) readHandOffs(w *worker, hand *net.UnixConn) {
	for {
		fd, err := recvFD(hand)
		if errors.Is(err, errBadHandOff) {
			continue
		}
		if err != nil {
			return
		}
		s.forward(w, fd)
	}
}

// forward hands a connection from origin's queue to the serving worker
// that accepts with the most room left below its high-water mark (its
// last report, plus what was handed to it since); failing that, back to
// origin, which serves it. fd is closed.
func (s *supervisor) forward(origin *worker, fd int) {
	defer unix.Close(fd)
	s.mu.Lock()
	var best *worker
	bestRoom := 0
	for _, w := range s.workers {
		if w == origin || w.state != stateServing || !w.last.Accepting {
			continue
		}
		inFlight := int(w.sent - min(w.sent, w.last.HandedIn))
		if room := w.marks.High - w.last.Files - inFlight; room > bestRoom {
			best, bestRoom = w, room
		}
	}
	targets := []*worker{origin}
	if best != nil {
		targets = []*worker{best, origin}
	}
	type dest struct {
		w    *worker
		hand *net.UnixConn
	}
	var dests []dest
	for _, t := range targets {
		if t.hand != nil && t.state != stateDead {
			dests = append(dests, dest{t, t.hand})
		}
	}
	s.mu.Unlock()
	for _, d := range dests {
		if sendFD(d.hand, fd) == nil {
			s.mu.Lock()
			if d.w.hand == d.hand {
				d.w.sent++
			}
			s.mu.Unlock()
			return
		}
	}
	s.lost.Inc()
	s.log.printf("ssebench mock: a connection worker %s handed over could not be passed on; it is closed", origin.name)
}

// readReports passes a worker's report lines to the loop until its
// control socket closes; an unreadable line is posted as an error.
func (s *supervisor) readReports(w *worker, gen int, ctl net.Conn) {
	sc := bufio.NewScanner(ctl)
	sc.Buffer(make([]byte, 0, maxLine), maxLine)
	for sc.Scan() {
		r := &report{}
		if err := json.Unmarshal(sc.Bytes(), r); err != nil {
			s.post(event{w: w, gen: gen, err: err})
			return
		}
		s.post(event{w: w, gen: gen, rep: r})
	}
	if err := sc.Err(); err != nil && !isClosed(err) {
		s.post(event{w: w, gen: gen, err: err})
	}
}

func isClosed(err error) bool {
	return err != nil && strings.Contains(err.Error(), "use of closed network connection")
}

// refresh scrapes the serving workers every refreshEvery, so that the
// counts of one that dies are at most that old.
func (s *supervisor) refresh() {
	t := time.NewTicker(refreshEvery)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
			_, _ = s.scrapeServing()
		}
	}
}

// scraped is one worker's scrape.
type scraped struct {
	w    *worker
	gen  int
	fams []*dto.MetricFamily
	err  error
}

// scrapeServing scrapes every serving worker at once and keeps each
// result as the worker's last families. It returns the results, or an
// error naming the first worker that did not answer.
func (s *supervisor) scrapeServing() ([]scraped, error) {
	s.mu.Lock()
	var out []scraped
	for _, w := range s.workers {
		if w.state == stateServing {
			out = append(out, scraped{w: w, gen: w.gen})
		}
	}
	s.mu.Unlock()
	var wg sync.WaitGroup
	for i := range out {
		wg.Add(1)
		go func(r *scraped) {
			defer wg.Done()
			r.fams, r.err = scrape(s.client, r.w.adminURL)
		}(&out[i])
	}
	wg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range out {
		if r.err == nil && r.w.gen == r.gen && r.w.state == stateServing {
			r.w.lastFams = r.fams
		}
	}
	for _, r := range out {
		if r.err != nil && r.w.gen == r.gen && r.w.state == stateServing {
			return nil, fmt.Errorf("fleet: worker %s did not answer the supervisor's scrape: %w", r.w.name, r.err)
		}
	}
	return out, nil
}

// Gather returns the fleet's one view: the workers' counters and gauges
// summed (with the retired counters of dead ones), their Go and process
// metrics and ssebench_mock_worker_* gauges labelled by worker, and the
// supervisor's own metrics. It fails, naming the worker, when a serving
// worker does not answer: a partial sum would be a wrong number.
func (s *supervisor) Gather() ([]*dto.MetricFamily, error) {
	results, err := s.scrapeServing()
	if err != nil {
		return nil, err
	}
	m := newMerger()
	s.mu.Lock()
	serving := 0
	for _, r := range results {
		// A worker that died since its scrape is in the retired counts now.
		if r.err != nil || r.w.gen != r.gen || r.w.state != stateServing {
			continue
		}
		serving++
		if err = m.addWorker(r.w.name, r.fams); err != nil {
			break
		}
	}
	for _, f := range s.retired.fams {
		if err == nil {
			err = m.addSummed(f)
		}
	}
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	s.serving.Set(float64(serving))
	own, err := s.reg.Gather()
	if err != nil {
		return nil, fmt.Errorf("fleet: supervisor metrics: %w", err)
	}
	for _, f := range own {
		if strings.HasPrefix(f.GetName(), "process_") {
			err = m.addLabelled(f, supervisorLabel)
		} else {
			err = m.addAsIs(f)
		}
		if err != nil {
			return nil, err
		}
	}
	return m.families(), nil
}

// memAvailable reads MemAvailable from /proc/meminfo, in bytes.
func memAvailable() (uint64, error) {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "MemAvailable:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("/proc/meminfo: %q", line)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("/proc/meminfo has no MemAvailable")
}
