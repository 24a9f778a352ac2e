package conformance

import (
	"sync"
)

// The memory budget of a run (Config.MaxMemory) is split into fixed
// shares, one per probe chain, so that what a probe can keep never depends
// on how fast another one read: the verdicts of a run against a hostile
// server are the same every time. A share bounds everything its captures
// keep: the body bytes (one buffer per connection, the only copy of them),
// the index of their events and diagnostics, and their read times. A
// probe whose share runs out stops reading (End "limit") and the checks
// judge what it kept.
//
// Shares in sixteenths of the budget (with the default 128 MiB: main
// 64 MiB, the resume and mid-event chains 16 MiB each, the rest 8 MiB):
//
//	main read             8
//	resume (boundary)     2  the first connection and the reconnect
//	mid-event             2  the first connection and the reconnect
//	unknown id            1
//	server-drop reconnect 1
//	reconnect after end   1
//	headers control       1
//
// A buffer grows by doubling, so while it is copied its old array is still
// held: the peak is at most one and a half times a share, and the budget
// plus the Go runtime's own overhead bounds the process.
var shareSixteenths = map[string]int64{
	"main":        8,
	"resume":      2,
	"mid-event":   2,
	"unknown-id":  1,
	"server-drop": 1,
	"finite-end":  1,
	"control":     1,
}

// share is one probe chain's part of the memory budget. It is safe for
// concurrent use.
type share struct {
	mu   sync.Mutex
	size int64 // the share's whole size
	left int64
}

// newShares splits budget into the shares above.
func newShares(budget int64) map[string]*share {
	m := make(map[string]*share, len(shareSixteenths))
	for name, n := range shareSixteenths {
		size := budget / 16 * n
		m[name] = &share{size: size, left: size}
	}
	return m
}

// take reserves up to n bytes and returns how many it got (0 when the
// share is used up).
func (s *share) take(n int64) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	n = max(0, min(n, s.left))
	s.left -= n
	return n
}

// takeAll reserves exactly n bytes, or nothing and false.
func (s *share) takeAll(n int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n > s.left {
		return false
	}
	s.left -= n
	return true
}
