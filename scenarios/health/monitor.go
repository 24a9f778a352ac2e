package health

import (
	"math"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"
)

// TimerPeriod is how often the Monitor's goroutine asks to be woken.
const TimerPeriod = 10 * time.Millisecond

// Window is the length of the windows Live reports on.
const Window = time.Second

const schedMetric = "/sched/latencies:seconds"

// Monitor measures the generator while a run goes on: one goroutine that
// wakes every TimerPeriod and, every Window, reads the process CPU time
// and the scheduler latency histogram. Its cost is about 100 wake-ups a
// second and one runtime/metrics read a second; its memory is two 8 KiB
// histograms. Start it with Start, read Live at any time (safe for
// concurrent use), and call Stop once.
type Monitor struct {
	stopOnce sync.Once
	stop     chan struct{}
	done     chan struct{}
	live     atomic.Pointer[Measures]

	// Owned by the goroutine until done is closed.
	start, winStart   time.Time
	cpu0, winCPU      time.Duration
	cpuOK             bool
	sched0, winSched  schedSnapshot
	run, win          lateHist
	final             Measures
	readSched         func() schedSnapshot
	readCPU           func() (time.Duration, bool)
	period, winLength time.Duration
}

// Start starts a Monitor.
func Start() *Monitor {
	m := &Monitor{
		stop:      make(chan struct{}),
		done:      make(chan struct{}),
		readSched: readSched,
		readCPU:   processCPU,
		period:    TimerPeriod,
		winLength: Window,
	}
	m.live.Store(&Measures{GOMAXPROCS: runtime.GOMAXPROCS(0)})
	m.start = time.Now()
	m.winStart = m.start
	m.cpu0, m.cpuOK = m.readCPU()
	m.winCPU = m.cpu0
	m.sched0 = m.readSched()
	m.winSched = m.sched0
	go m.loop()
	return m
}

// Live returns the measures of the last complete Window (zero counts
// before the first one closed). Safe for concurrent use.
func (m *Monitor) Live() Measures { return *m.live.Load() }

// Stop stops the Monitor and returns the measures over its whole life.
// Calling it again returns the same measures.
func (m *Monitor) Stop() Measures {
	m.stopOnce.Do(func() { close(m.stop) })
	<-m.done
	return m.final
}

// loop is the Monitor's goroutine.
func (m *Monitor) loop() {
	defer close(m.done)
	t := time.NewTimer(m.period)
	defer t.Stop()
	next := m.start.Add(m.period)
	for {
		select {
		case <-m.stop:
			now := time.Now()
			m.final = m.measure(now, m.start, m.cpu0, m.sched0, &m.run)
			return
		case <-t.C:
		}
		now := time.Now()
		late := now.Sub(next)
		m.run.record(late)
		m.win.record(late)
		if late > m.period {
			next = now // fell behind: do not count the missed wake-ups twice
		}
		next = next.Add(m.period)
		t.Reset(time.Until(next))
		if now.Sub(m.winStart) >= m.winLength {
			w := m.measure(now, m.winStart, m.winCPU, m.winSched, &m.win)
			m.live.Store(&w)
			m.winStart = now
			m.winCPU, _ = m.readCPU()
			m.winSched = m.readSched()
			m.win.reset()
		}
	}
}

// measure computes the Measures from since to now against the CPU time
// and scheduler snapshot taken at since, with h the timer lateness.
func (m *Monitor) measure(now, since time.Time, cpu0 time.Duration, sched0 schedSnapshot, h *lateHist) Measures {
	out := Measures{Wall: now.Sub(since), GOMAXPROCS: runtime.GOMAXPROCS(0)}
	if cpu, ok := m.readCPU(); ok && m.cpuOK {
		out.CPU, out.CPUKnown = max(cpu-cpu0, 0), true
	}
	out.SchedP99, out.SchedSamples = m.readSched().since(sched0).quantile(0.99)
	out.TimerP99 = h.quantile(0.99)
	out.TimerMax = h.max
	out.TimerSamples = h.n
	return out
}

// schedSnapshot is a copy of the scheduler latency histogram.
type schedSnapshot struct {
	counts  []uint64
	buckets []float64 // seconds; shared, read-only
}

// readSched reads the runtime's scheduler latency histogram.
func readSched() schedSnapshot {
	s := []metrics.Sample{{Name: schedMetric}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindFloat64Histogram {
		return schedSnapshot{}
	}
	h := s[0].Value.Float64Histogram()
	return schedSnapshot{counts: append([]uint64(nil), h.Counts...), buckets: h.Buckets}
}

// since returns the histogram of what was recorded after prev.
func (s schedSnapshot) since(prev schedSnapshot) schedSnapshot {
	if len(prev.counts) != len(s.counts) {
		return s
	}
	d := schedSnapshot{counts: make([]uint64, len(s.counts)), buckets: s.buckets}
	for i, c := range s.counts {
		if c >= prev.counts[i] {
			d.counts[i] = c - prev.counts[i]
		}
	}
	return d
}

// quantile returns the upper bound of the bucket holding quantile q (the
// lower bound for the unbounded last bucket) and the number of samples.
func (s schedSnapshot) quantile(q float64) (time.Duration, int64) {
	var total uint64
	for _, c := range s.counts {
		total += c
	}
	if total == 0 || len(s.buckets) != len(s.counts)+1 {
		return 0, int64(total)
	}
	rank := uint64(q*float64(total) + 0.5)
	rank = min(max(rank, 1), total)
	var acc uint64
	for i, c := range s.counts {
		acc += c
		if acc >= rank {
			hi := s.buckets[i+1]
			if math.IsInf(hi, 1) { // the last bucket has no upper bound
				hi = s.buckets[i]
			}
			return time.Duration(max(hi, 0) * float64(time.Second)), int64(total)
		}
	}
	return 0, int64(total)
}
