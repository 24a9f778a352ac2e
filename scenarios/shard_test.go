package scenarios

import (
	"strings"
	"testing"
	"time"
)

func TestShardClosed(t *testing.T) {
	s, err := parse("c.yaml", []byte(`url: http://h/
load:
  connections: 10
  stages:
    - {duration: 10s, target: 7}
    - {duration: 10s, target: 0}
`))
	if err != nil {
		t.Fatal(err)
	}
	const n = 3
	var conns int
	stages := make([]float64, 2)
	seen := map[uint64]bool{}
	for i := 1; i <= n; i++ {
		sh, err := s.Shard(i, n)
		if err != nil {
			t.Fatal(err)
		}
		conns += sh.Load.Connections
		for k, st := range sh.Load.Stages {
			stages[k] += st.Target
		}
		if sh.ShardString() != strings.Join([]string{string(rune('0' + i)), "3"}, "/") {
			t.Errorf("ShardString = %s", sh.ShardString())
		}
		for local := uint64(0); local < 100; local++ {
			num := sh.StreamNumber(local)
			if seen[num] {
				t.Fatalf("stream number %d used twice", num)
			}
			seen[num] = true
		}
	}
	if conns != 10 || stages[0] != 7 || stages[1] != 0 {
		t.Errorf("shards sum to %d connections, stages %v; want 10, [7 0]", conns, stages)
	}
	if s.Load.Connections != 10 || s.ShardCount != 1 {
		t.Error("Shard changed the original")
	}
	// 0..299 exactly: no gaps either.
	for k := uint64(0); k < 300; k++ {
		if !seen[k] {
			t.Fatalf("stream number %d unused", k)
		}
	}
}

func TestShardSplitInt(t *testing.T) {
	for _, total := range []int{0, 1, 2, 7, 100, 1001} {
		for n := 1; n <= 8; n++ {
			sum := 0
			for i := 1; i <= n; i++ {
				share := splitInt(total, i, n)
				if share != total/n && share != total/n+1 {
					t.Errorf("splitInt(%d, %d, %d) = %d", total, i, n, share)
				}
				sum += share
			}
			if sum != total {
				t.Errorf("splitInt(%d, *, %d) sums to %d", total, n, sum)
			}
		}
	}
}

// TestShardOpenInterleaves checks that the shards' arrival schedules
// together are exactly the unsharded schedule.
func TestShardOpenInterleaves(t *testing.T) {
	s, err := parse("o.yaml", []byte(`url: http://h/
load:
  rate: 10/s
  max_connections: 10
  stages:
    - {duration: 5s, target: 100/s}
    - {duration: 5s, target: 30/s}
`))
	if err != nil {
		t.Fatal(err)
	}
	whole, _ := s.Pacer()
	const n = 4
	for i := 1; i <= n; i++ {
		sh, err := s.Shard(i, n)
		if err != nil {
			t.Fatal(err)
		}
		if sh.Load.Rate != 2.5 || sh.Load.Stages[0].Target != 25 || sh.Load.MaxConnections != 3 && sh.Load.MaxConnections != 2 {
			t.Errorf("shard %d load = %+v", i, sh.Load)
		}
		p, _ := sh.Pacer()
		for local := uint64(0); local < 200; local++ {
			got, _ := p.When(local)
			want, _ := whole.When(sh.StreamNumber(local))
			if d := got - want; d < -2*time.Nanosecond || d > 2*time.Nanosecond {
				t.Fatalf("shard %d arrival %d at %v, unsharded arrival %d at %v", i, local, got, sh.StreamNumber(local), want)
			}
		}
	}
}

func TestShardPoissonSeeds(t *testing.T) {
	s, err := parse("p.yaml", []byte("url: http://h/\nload:\n  rate: 100/s\n  arrival: poisson\n"))
	if err != nil {
		t.Fatal(err)
	}
	a, _ := s.Shard(1, 2)
	b, _ := s.Shard(2, 2)
	pa, _ := a.Pacer()
	pb, _ := b.Pacer()
	ta, _ := pa.When(0)
	tb, _ := pb.When(0)
	if ta == tb || a.Load.Rate != 50 || a.Load.Seed != s.Load.Seed {
		t.Errorf("poisson shards: first arrivals %v and %v, rate %v, seed %d", ta, tb, a.Load.Rate, a.Load.Seed)
	}
}

func TestShardErrors(t *testing.T) {
	s, _ := parse("c.yaml", []byte("url: http://h/\nload:\n  connections: 2\n"))
	if _, err := s.Shard(3, 3); err == nil || !strings.Contains(err.Error(), "no connections") {
		t.Errorf("shard 3/3 of 2 connections: %v", err)
	}
	for _, in := range [][2]int{{0, 2}, {3, 2}, {1, 0}} {
		if _, err := s.Shard(in[0], in[1]); err == nil {
			t.Errorf("Shard(%d, %d) accepted", in[0], in[1])
		}
	}
	sh, _ := s.Shard(1, 2)
	if _, err := sh.Shard(1, 2); err == nil {
		t.Error("re-sharding accepted")
	}
	for _, spec := range []string{"1/2", "4/4"} {
		if _, _, err := ParseShard(spec); err != nil {
			t.Errorf("ParseShard(%q): %v", spec, err)
		}
	}
	for _, spec := range []string{"0/2", "3/2", "1/", "a/b", "1/2x", " 1/2"} {
		if _, _, err := ParseShard(spec); err == nil {
			t.Errorf("ParseShard(%q) accepted", spec)
		}
	}
}

func TestAbortsFraction(t *testing.T) {
	s := Default()
	s.Abort = Abort{Fraction: 0.1, AfterEvents: 3}
	n := 0
	for k := uint64(0); k < 100_000; k++ {
		if s.Aborts(k) {
			n++
		}
	}
	if n < 9500 || n > 10500 {
		t.Errorf("%d of 100000 streams abort, want ~10%%", n)
	}
	// The same scenario, built again, picks the same streams.
	again := Default()
	again.Abort = s.Abort
	for k := uint64(0); k < 1000; k++ {
		if s.Aborts(k) != again.Aborts(k) {
			t.Fatalf("stream %d: %v, then %v: not deterministic", k, s.Aborts(k), again.Aborts(k))
		}
	}
}

func TestSourceIP(t *testing.T) {
	s, err := parse("s.yaml", []byte("url: http://h/\nsource_ips: 127.0.0.1-127.0.0.3\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := s.SourceIP(4).String(); got != "127.0.0.2" {
		t.Errorf("SourceIP(4) = %s", got)
	}
	if Default().SourceIP(4).IsValid() {
		t.Error("no source_ips must give the zero Addr")
	}
}
