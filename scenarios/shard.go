package scenarios

import (
	"fmt"
	"maps"
	"slices"
)

// Shard returns shard i of n (1 <= i <= n) of s, for running one scenario
// as n processes (--shard I/N) whose JSON results merge into one. s must
// not be sharded already. The split is deterministic and exact:
//
//   - Closed model: Connections, every stage target and nothing else is
//     split into whole connections, the first Connections mod n shards
//     taking one more (ceil/floor), so the shards' levels sum exactly to
//     the original at every stage boundary; mid-ramp they differ from the
//     single-process ramp by less than n connections.
//   - Open model: Rate, every stage target and MaxConnections are divided
//     by n (MaxConnections ceil/floor). A constant or staged schedule gets
//     Offset (i-1)/n, so the shards' arrivals interleave into exactly the
//     unsharded schedule. Poisson shards draw independent streams (the seed
//     is mixed with the shard index in Pacer), and the superposition of n
//     Poisson processes of rate r/n is a Poisson process of rate r.
//   - Stream numbers: shard i numbers its streams i-1, i-1+n, i-1+2n, ...
//     (see StreamNumber), so template values such as {{stream}} stay unique
//     across shards; in the open model they equal the arrival's index in
//     the unsharded schedule.
//
// Load.Seed is kept, so {{random}} and the abort rule pick the same values
// for the same stream number in every shard layout. The result is
// validated; a shard that would get no load at all is an error.
func (s *Scenario) Shard(i, n int) (*Scenario, error) {
	if n < 1 || i < 1 || i > n {
		return nil, fmt.Errorf("shard %d/%d: want I/N with 1 <= I <= N", i, n)
	}
	if s.ShardCount > 1 {
		return nil, fmt.Errorf("shard %d/%d: scenario is already shard %d/%d", i, n, s.ShardIndex, s.ShardCount)
	}
	c := s.Clone()
	c.ShardIndex, c.ShardCount = i, n
	l := &c.Load
	switch l.Model {
	case Closed:
		l.Connections = splitInt(l.Connections, i, n)
		l.DialRate, l.DialBurst = l.EffectiveDial()
		l.DialRate /= float64(n)
		l.DialBurst = max(splitInt(l.DialBurst, i, n), 1)
		for k := range l.Stages {
			l.Stages[k].Target = float64(splitInt(int(l.Stages[k].Target), i, n))
		}
		if l.Connections == 0 && !slices.ContainsFunc(l.Stages, func(st Stage) bool { return st.Target > 0 }) {
			return nil, fmt.Errorf("shard %d/%d gets no connections (the scenario has %d): use at most %d shards", i, n, s.Load.Connections, max(s.Load.Connections, s.peakConnections()))
		}
	case Open:
		l.Rate /= float64(n)
		for k := range l.Stages {
			l.Stages[k].Target /= float64(n)
		}
		if l.MaxConnections > 0 {
			l.MaxConnections = max(splitInt(l.MaxConnections, i, n), 1)
		}
		if l.Arrival != Poisson {
			l.Offset = float64(i-1) / float64(n)
		}
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("shard %d/%d: %w", i, n, err)
	}
	return c, nil
}

func (s *Scenario) peakConnections() int {
	p := s.Load.Connections
	for _, st := range s.Load.Stages {
		p = max(p, int(st.Target))
	}
	return p
}

// splitInt returns shard i's share of total: the number of j in
// [0, total) with j mod n == i-1.
func splitInt(total, i, n int) int {
	if total <= 0 {
		return 0
	}
	share := total / n
	if i-1 < total%n {
		share++
	}
	return share
}

// ParseShard parses "I/N" (e.g. "2/4").
func ParseShard(spec string) (i, n int, err error) {
	if _, err := fmt.Sscanf(spec, "%d/%d", &i, &n); err != nil || fmt.Sprintf("%d/%d", i, n) != spec {
		return 0, 0, fmt.Errorf("%q is not a shard (want I/N, e.g. 2/4)", spec)
	}
	if n < 1 || i < 1 || i > n {
		return 0, 0, fmt.Errorf("%q is not a shard (want I/N with 1 <= I <= N)", spec)
	}
	return i, n, nil
}

// ShardString returns "I/N".
func (s *Scenario) ShardString() string {
	return fmt.Sprintf("%d/%d", max(s.ShardIndex, 1), max(s.ShardCount, 1))
}

// StreamNumber maps a shard-local stream counter (0, 1, 2, ...) to the
// stream's number in the whole run: local·ShardCount + ShardIndex-1. It is
// the value of {{stream}} and of Result.Stream.
func (s *Scenario) StreamNumber(local uint64) uint64 {
	n := uint64(max(s.ShardCount, 1))
	return local*n + uint64(max(s.ShardIndex, 1)-1)
}

// Clone returns a deep copy of s.
func (s *Scenario) Clone() *Scenario {
	c := *s
	c.Headers = slices.Clone(s.Headers)
	if s.Setup != nil {
		st := *s.Setup
		st.Headers = slices.Clone(st.Headers)
		st.Extract = maps.Clone(st.Extract)
		c.Setup = &st
	}
	c.Events.Content = slices.Clone(s.Events.Content)
	c.Events.Terminal = slices.Clone(s.Events.Terminal)
	c.Events.Error = slices.Clone(s.Events.Error)
	c.Events.Meta = slices.Clone(s.Events.Meta)
	c.Events.TerminalData = slices.Clone(s.Events.TerminalData)
	c.Load.Stages = slices.Clone(s.Load.Stages)
	c.Thresholds = slices.Clone(s.Thresholds)
	c.SourceIPs = slices.Clone(s.SourceIPs)
	c.pos = maps.Clone(s.pos)
	c.formProbs = slices.Clone(s.formProbs)
	return &c
}
