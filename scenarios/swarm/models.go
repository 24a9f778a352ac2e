package swarm

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ssebench/ssebench/scenarios"
)

// slot is one closed-model connection slot: slot i runs streams, one after
// the other, while the level is above i.
type slot struct {
	running  atomic.Bool
	mu       sync.Mutex
	cancel   context.CancelCauseFunc // the current stream's, nil between streams
	excessAt time.Duration           // when the level dropped to or below i (-1: not excess); controller only
}

// A closed-model slot whose streams keep failing before their first event
// waits between them, from minBackoff doubling up to maxBackoff.
const (
	minBackoff = 10 * time.Millisecond
	maxBackoff = time.Second
)

// wanted reports whether slot i should run a stream now: the level is
// above i and the duration is not over. The slot reads the clock itself
// rather than trust the controller to have stopped the run on time: on a
// starved machine the controller's wake-up at the end of the duration
// waits behind every runnable stream goroutine, and a 100,000-stream run
// started streams for up to 11 s past its duration.
func (s *Swarm) wanted(i int) bool {
	return !s.stopping.Load() && int64(i) < s.want.Load() && !s.durationOver()
}

// durationOver reports whether the run's duration (if any) has passed.
func (s *Swarm) durationOver() bool {
	n := s.startNano.Load()
	return s.duration > 0 && n != 0 && time.Since(monoBase)-time.Duration(n-1) >= s.duration
}

// runClosed is the closed model's controller: it follows the ramp, starting
// a slot goroutine per connection wanted. A slot whose stream ends starts
// the next one while it is still wanted. When the level drops, the excess
// slots finish their current stream and stop; one still open after the
// scenario's grace period is cancelled. It returns when the duration is
// over or ctx is done.
func (s *Swarm) runClosed(ctx context.Context, start time.Time, wg *sync.WaitGroup) {
	var slots []*slot
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		el := time.Since(start)
		if s.duration > 0 && el >= s.duration {
			return
		}
		n := s.ramp.Concurrency(el)
		s.want.Store(int64(n))
		for i := 0; i < n; i++ {
			if i == len(slots) {
				slots = append(slots, &slot{excessAt: -1})
			}
			sl := slots[i]
			sl.excessAt = -1
			if sl.running.CompareAndSwap(false, true) {
				wg.Add(1)
				go s.slotLoop(ctx, i, sl, wg)
			}
		}
		wake := time.Duration(math.MaxInt64)
		for i := n; i < len(slots); i++ {
			sl := slots[i]
			if !sl.running.Load() {
				sl.excessAt = -1
				continue
			}
			if sl.excessAt < 0 {
				sl.excessAt = el
			}
			if el-sl.excessAt >= s.sc.Grace {
				sl.mu.Lock()
				if sl.cancel != nil {
					sl.cancel(errRampDown)
				}
				sl.mu.Unlock()
				continue
			}
			wake = min(wake, sl.excessAt+s.sc.Grace-el)
		}
		if next, ok := s.ramp.Next(el); ok {
			wake = min(wake, next-el)
		}
		if s.duration > 0 {
			wake = min(wake, s.duration-el)
		}
		if wake == math.MaxInt64 {
			<-ctx.Done()
			return
		}
		t.Reset(max(wake, 0))
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
	}
}

// slotLoop runs streams in slot i while the slot is wanted.
func (s *Swarm) slotLoop(ctx context.Context, i int, sl *slot, wg *sync.WaitGroup) {
	defer wg.Done()
	// The slot's next stream reuses its direct connection.
	var idle idleConn
	defer idle.close()
	backoff := time.Duration(0)
	for {
		for s.wanted(i) && ctx.Err() == nil {
			if backoff > 0 && !sleep(ctx, backoff) {
				break
			}
			// A stream that will dial (no kept connection) waits for the
			// dial pacer: a large plan opens at a bounded rate.
			if idle.c == nil && !s.dialPace.wait(ctx) {
				break
			}
			if !s.wanted(i) {
				break
			}
			sctx, cancel := context.WithCancelCause(ctx)
			sl.mu.Lock()
			sl.cancel = cancel
			sl.mu.Unlock()
			healthy := s.startStream(sctx, s.sc.StreamNumber(s.nextLocal.Add(1)-1), time.Time{}, false, &idle)
			sl.mu.Lock()
			sl.cancel = nil
			sl.mu.Unlock()
			cancel(errDone)
			// A slot whose streams fail before any event (target down,
			// refusing, 503 at once) backs off instead of spinning.
			switch {
			case healthy:
				backoff = 0
			case backoff == 0:
				backoff = minBackoff
			default:
				backoff = min(2*backoff, maxBackoff)
			}
		}
		sl.running.Store(false)
		// The controller may have raised the level after the check above
		// and seen the slot still running: look again before leaving.
		if !s.wanted(i) || ctx.Err() != nil || !sl.running.CompareAndSwap(false, true) {
			return
		}
	}
}

// runOpen is the open model's generator: one goroutine that sleeps until
// the next arrival is due and hands it at once to a goroutine of its own.
// An arrival that finds max_connections streams in flight, or that the
// generator reaches more than MaxLag late, is dropped and counted
// (KindDropped), never delayed. It returns when the duration is over, the
// schedule stops, or ctx is done.
func (s *Swarm) runOpen(ctx context.Context, start time.Time, wg *sync.WaitGroup) {
	limit := int64(s.maxConns)
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	wait := func(d time.Duration) bool {
		if d <= 0 {
			return ctx.Err() == nil
		}
		t.Reset(d)
		select {
		case <-t.C:
			return true
		case <-ctx.Done():
			return false
		}
	}
	for hits := uint64(0); ; hits++ {
		at, ok := s.arrivals.When(hits)
		if !ok || (s.duration > 0 && at >= s.duration) {
			// No more arrivals: the run still lasts its duration.
			if s.duration > 0 {
				wait(s.duration - time.Since(start))
			} else {
				<-ctx.Done()
			}
			return
		}
		if !wait(at - time.Since(start)) {
			return
		}
		if s.testHookArrival != nil {
			s.testHookArrival(hits)
		}
		sched := start.Add(at)
		no := s.sc.StreamNumber(hits)
		if time.Since(sched) > s.maxLag || s.slotsUsed.Load() >= limit {
			s.dropped.Add(1)
			r := (&stream{no: no, sched: sched}).newResult(scenarios.KindDropped, 0, time.Time{})
			r.Final = true
			s.send(r)
			continue
		}
		s.slotsUsed.Add(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer s.slotsUsed.Add(-1)
			var idle idleConn
			defer idle.close()
			s.startStream(ctx, no, sched, true, &idle)
		}()
	}
}
