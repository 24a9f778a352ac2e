package pacer

import (
	"math"
	"sync"
	"time"
)

// Poisson is a Poisson arrival process whose mean rate follows Curve (a
// constant rate, a ramp or stages): inter-arrival times are exponential.
// It draws a unit-rate Poisson process from a seeded generator and maps it
// through the curve's integral (the time-rescaling theorem), so the
// schedule is a pure function of (Seed, hit number): the same seed gives
// the same arrival times on every run and on every machine, whatever the
// caller's timing. Unlike the deterministic curves, the first hit is not
// at 0 but after one exponential gap.
//
// Build one with NewPoisson. It is safe for concurrent use; hits asked for
// in increasing order cost O(1) each.
type Poisson struct {
	curve Curve
	seed  uint64

	mu  sync.Mutex
	n   uint64  // next hit whose arrival is not yet in sum
	sum float64 // unit-rate arrival time of hit n-1 (0 when n == 0)
}

// NewPoisson returns a Poisson process over curve seeded with seed.
func NewPoisson(curve Curve, seed uint64) *Poisson {
	return &Poisson{curve: curve, seed: seed}
}

// splitmix64 is SplitMix64's output function: a bijective mix of x.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// exp1 returns the j-th standard exponential variate of the seed's stream.
func (p *Poisson) exp1(j uint64) float64 {
	// 53 random bits -> u in (0, 1].
	u := (float64(splitmix64(p.seed^splitmix64(j))>>11) + 1) / (1 << 53)
	return -math.Log(u)
}

// unit returns the unit-rate arrival time of hit k: the sum of the first
// k+1 exponential variates, always added in the same order.
func (p *Poisson) unit(k uint64) float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.n > k+1 { // asked for an earlier hit: add up again from 0
		p.n, p.sum = 0, 0
	}
	for p.n <= k {
		p.sum += p.exp1(p.n)
		p.n++
	}
	return p.sum
}

// Rate returns the curve's mean rate at elapsed in hits per second.
func (p *Poisson) Rate(elapsed time.Duration) float64 { return p.curve.Rate(elapsed) }

// When returns the time hit number hits is due.
func (p *Poisson) When(hits uint64) (time.Duration, bool) {
	return p.curve.At(p.unit(hits))
}
