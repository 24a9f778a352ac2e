package swarm

import (
	"context"
	"sync"
	"time"
)

// dialPacer paces the closed model's new connections: burst of them at
// once, then one every every (a token bucket in its virtual-time form:
// next is when the next dial may go; it never lags more than burst
// intervals behind now). Safe for concurrent use; a waiting slot holds no
// lock.
type dialPacer struct {
	mu     sync.Mutex
	every  time.Duration
	window time.Duration // (burst-1) × every: burst dials fit in it
	next   time.Time
}

// newDialPacer returns a pacer of rate dials per second after a burst, or
// nil when rate is not positive.
func newDialPacer(rate float64, burst int) *dialPacer {
	if !(rate > 0) {
		return nil
	}
	every := time.Duration(float64(time.Second) / rate)
	if every <= 0 {
		return nil // over a billion a second: no pacing
	}
	return &dialPacer{every: every, window: time.Duration(max(burst, 1)-1) * every}
}

// wait blocks until the next dial may go, or ctx ends (false).
func (p *dialPacer) wait(ctx context.Context) bool {
	if p == nil {
		return ctx.Err() == nil
	}
	p.mu.Lock()
	now := time.Now()
	if floor := now.Add(-p.window); p.next.Before(floor) {
		p.next = floor
	}
	at := p.next
	p.next = p.next.Add(p.every)
	p.mu.Unlock()
	if d := at.Sub(now); d > 0 {
		return sleep(ctx, d)
	}
	return ctx.Err() == nil
}
