package pacer

import (
	"math"
	"testing"
	"testing/synctest"
	"time"
)

// count returns the number of hits of s due before end.
func count(t *testing.T, s Scheduler, end time.Duration) uint64 {
	t.Helper()
	var n uint64
	prev := time.Duration(-1)
	for {
		at, ok := s.When(n)
		if !ok || at >= end {
			return n
		}
		if at < prev {
			t.Fatalf("When(%d) = %v < When(%d) = %v: not monotonic", n, at, n-1, prev)
		}
		prev = at
		n++
		if n > 10_000_000 {
			t.Fatal("runaway schedule")
		}
	}
}

func TestHitCounts(t *testing.T) {
	tests := []struct {
		name string
		s    Scheduler
		end  time.Duration
		want uint64
	}{
		{"constant 10/s for 1s", Constant{Freq: 10, Per: time.Second}, time.Second, 10},
		{"constant 100/s for 10s", Constant{Freq: 100, Per: time.Second}, 10 * time.Second, 1000},
		{"constant 3 per 1s for 1s", Constant{Freq: 3, Per: time.Second}, time.Second, 3},
		{"constant 1 per minute for 1m", Constant{Freq: 1, Per: time.Minute}, time.Minute, 1},
		{"constant 0.5/s for 10s", Constant{Freq: 0.5, Per: time.Second}, 10 * time.Second, 5},
		{"constant zero", Constant{Freq: 0, Per: time.Second}, time.Hour, 0},
		{"ramp 0->100/s over 10s", linear(0, 100, 10*time.Second), 10 * time.Second, 500},
		{"ramp 100->0/s over 10s", linear(100, 0, 10*time.Second), 10 * time.Second, 500},
		{"ramp 0->100/s over 10s, then hold 5s", linear(0, 100, 10*time.Second), 15 * time.Second, 1000},
		{"ramp 10->20/s over 10s", linear(10, 20, 10*time.Second), 10 * time.Second, 150},
		{"stages up, hold, down", Stages{Stages: []Stage{
			{Duration: 10 * time.Second, Target: 100},
			{Duration: 10 * time.Second, Target: 100},
			{Duration: 10 * time.Second, Target: 0},
		}}, time.Hour, 2000},
		{"stages with a step", Stages{Start: 10, Stages: []Stage{
			{Duration: 0, Target: 50},
			{Duration: 2 * time.Second, Target: 50},
		}}, 2 * time.Second, 100},
		{"stages ending at zero stop", Stages{Start: 10, Stages: []Stage{{Duration: 10 * time.Second, Target: 0}}}, time.Hour, 50},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := count(t, tt.s, tt.end); got != tt.want {
				t.Errorf("hits before %v = %d, want %d", tt.end, got, tt.want)
			}
		})
	}
}

func TestConstantWhen(t *testing.T) {
	c := Constant{Freq: 10, Per: time.Second}
	for k, want := range []time.Duration{0, 100 * time.Millisecond, 200 * time.Millisecond, 300 * time.Millisecond} {
		if got, ok := c.When(uint64(k)); !ok || got != want {
			t.Errorf("When(%d) = %v, %v; want %v", k, got, ok, want)
		}
	}
	c3 := Constant{Freq: 3, Per: time.Second}
	if got, _ := c3.When(1); got != 333333334*time.Nanosecond {
		t.Errorf("3/s When(1) = %v, want 333.333334ms (rounded up)", got)
	}
}

func TestPace(t *testing.T) {
	c := Constant{Freq: 10, Per: time.Second}
	tests := []struct {
		elapsed  time.Duration
		hits     uint64
		wantWait time.Duration
	}{
		{0, 0, 0},
		{0, 1, 100 * time.Millisecond},
		{50 * time.Millisecond, 1, 50 * time.Millisecond},
		{150 * time.Millisecond, 1, 0}, // behind: due now
		{time.Second, 5, 0},
	}
	for _, tt := range tests {
		at, ok := c.When(tt.hits)
		if wait := max(0, at-tt.elapsed); wait != tt.wantWait || !ok {
			t.Errorf("wait for hit %d at %v = %v, %v; want %v, true", tt.hits, tt.elapsed, wait, ok, tt.wantWait)
		}
	}
	if _, ok := (Constant{}).When(0); ok {
		t.Error("a zero Constant must stop")
	}
	if _, ok := (Stages{Start: 10, Stages: []Stage{{Duration: time.Second, Target: 0}}}).When(5); ok {
		t.Error("Stages ending at 0 must stop after its last hit")
	}
}

func TestRate(t *testing.T) {
	s := Stages{Start: 10, Stages: []Stage{{Duration: 10 * time.Second, Target: 110}, {Duration: 10 * time.Second, Target: 110}}}
	for _, tt := range []struct {
		at   time.Duration
		want float64
	}{{0, 10}, {5 * time.Second, 60}, {10 * time.Second, 110}, {time.Hour, 110}} {
		if got := s.Rate(tt.at); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("Rate(%v) = %v, want %v", tt.at, got, tt.want)
		}
	}
	if got := (Constant{Freq: 6000, Per: time.Minute}).Rate(0); got != 100 {
		t.Errorf("6000/min = %v/s, want 100", got)
	}
}

// TestHitsAtInverse checks that At inverts Hits on every kind of segment.
func TestHitsAtInverse(t *testing.T) {
	curves := map[string]Curve{
		"constant": Constant{Freq: 7, Per: time.Second},
		"up":       linear(0, 50, 3*time.Second),
		"down":     linear(50, 5, 3*time.Second),
		"stages":   Stages{Start: 1, Stages: []Stage{{time.Second, 30}, {2 * time.Second, 30}, {time.Second, 2}}},
	}
	for name, c := range curves {
		for _, h := range []float64{0, 0.5, 1, 3, 10, 40, 77.7, 120} {
			at, ok := c.At(h)
			if !ok {
				t.Errorf("%s: At(%v) never", name, h)
				continue
			}
			if got := c.Hits(at); math.Abs(got-h) > 1e-6*math.Max(1, h) {
				t.Errorf("%s: Hits(At(%v) = %v) = %v", name, h, at, got)
			}
		}
	}
}

// TestOffsetShardsInterleave checks that n shards of a schedule, each at
// 1/n of the rate with offsets (i-1)/n, make exactly the unsharded
// schedule.
func TestOffsetShardsInterleave(t *testing.T) {
	const n = 3
	whole := Stages{Start: 0, Stages: []Stage{{Duration: 4 * time.Second, Target: 90}, {Duration: 2 * time.Second, Target: 30}}}
	for i := 1; i <= n; i++ {
		shard := Stages{Start: 0, Offset: float64(i-1) / n, Stages: []Stage{{Duration: 4 * time.Second, Target: 30}, {Duration: 2 * time.Second, Target: 10}}}
		for k := uint64(0); k < 100; k++ {
			got, _ := shard.When(k)
			want, _ := whole.When(k*n + uint64(i-1))
			if d := got - want; d < -2 || d > 2 {
				t.Fatalf("shard %d hit %d at %v, want %v (whole hit %d)", i, k, got, want, k*n+uint64(i-1))
			}
		}
	}
}

func TestPoisson(t *testing.T) {
	const rate, hits = 200.0, 200_000
	p := NewPoisson(Constant{Freq: rate, Per: time.Second}, 42)
	last, _ := p.When(hits - 1)
	mean := float64(hits) / last.Seconds()
	if math.Abs(mean-rate)/rate > 0.01 {
		t.Errorf("mean rate over %d hits = %.2f/s, want %v ±1%%", hits, mean, rate)
	}
	// Exponential gaps: the coefficient of variation is 1.
	var sum, sum2 float64
	prev := time.Duration(0)
	for k := uint64(0); k < 50_000; k++ {
		at, _ := p.When(k)
		gap := (at - prev).Seconds()
		sum += gap
		sum2 += gap * gap
		prev = at
	}
	m := sum / 50_000
	cv := math.Sqrt(sum2/50_000-m*m) / m
	if math.Abs(cv-1) > 0.03 {
		t.Errorf("coefficient of variation of gaps = %.3f, want ~1", cv)
	}
}

func TestPoissonDeterministic(t *testing.T) {
	a := NewPoisson(Constant{Freq: 50, Per: time.Second}, 7)
	b := NewPoisson(Constant{Freq: 50, Per: time.Second}, 7)
	c := NewPoisson(Constant{Freq: 50, Per: time.Second}, 8)
	// b is asked out of order: the schedule must not depend on call order.
	want := make([]time.Duration, 100)
	for k := range want {
		want[k], _ = a.When(uint64(k))
	}
	for _, k := range []int{99, 3, 50, 0, 98, 1} {
		if got, _ := b.When(uint64(k)); got != want[k] {
			t.Errorf("seed 7 When(%d) = %v out of order, %v in order", k, got, want[k])
		}
	}
	same := 0
	for k := range want {
		if got, _ := c.When(uint64(k)); got == want[k] {
			same++
		}
	}
	if same > 5 {
		t.Errorf("seeds 7 and 8 share %d of 100 arrival times", same)
	}
	if first, _ := a.When(0); first <= 0 {
		t.Errorf("first Poisson arrival at %v, want after one exponential gap", first)
	}
}

func TestPoissonOverRamp(t *testing.T) {
	// Over a ramp 0 -> 100/s over 100 s, the expected count is 5000.
	p := NewPoisson(linear(0, 100, 100*time.Second), 1)
	n := count(t, p, 100*time.Second)
	if math.Abs(float64(n)-5000) > 4*math.Sqrt(5000) {
		t.Errorf("hits over the ramp = %d, want 5000 ± 4σ", n)
	}
}

func TestRamp(t *testing.T) {
	r := Ramp{Start: 0, Stages: []Stage{
		{Duration: 10 * time.Second, Target: 100},
		{Duration: 10 * time.Second, Target: 100},
		{Duration: 5 * time.Second, Target: 50},
	}}
	for _, tt := range []struct {
		at   time.Duration
		want int
	}{
		{0, 0}, {99 * time.Millisecond, 0}, {100 * time.Millisecond, 1}, {5 * time.Second, 50},
		{10 * time.Second, 100}, {15 * time.Second, 100}, {20 * time.Second, 100},
		{20*time.Second + time.Millisecond, 100}, {20*time.Second + 100*time.Millisecond, 99},
		{22500 * time.Millisecond, 75}, {25 * time.Second, 50}, {time.Hour, 50},
	} {
		if got := r.Concurrency(tt.at); got != tt.want {
			t.Errorf("Concurrency(%v) = %d, want %d", tt.at, got, tt.want)
		}
	}
	if got := (Ramp{Start: 7}).Concurrency(time.Hour); got != 7 {
		t.Errorf("constant ramp = %d, want 7", got)
	}
}

func TestRampNext(t *testing.T) {
	r := Ramp{Start: 2, Stages: []Stage{
		{Duration: time.Second, Target: 2},
		{Duration: 0, Target: 10}, // step
		{Duration: 4 * time.Second, Target: 6},
	}}
	// Walk every change and check it is one.
	at := time.Duration(0)
	changes := 0
	for {
		next, ok := r.Next(at)
		if !ok {
			break
		}
		if next <= at {
			t.Fatalf("Next(%v) = %v, not after", at, next)
		}
		if r.Concurrency(next) == r.Concurrency(next-1) {
			t.Fatalf("Next(%v) = %v but Concurrency does not change there (%d)", at, next, r.Concurrency(next))
		}
		at = next
		changes++
		if changes > 100 {
			t.Fatal("runaway")
		}
	}
	// 2 -> 10 at 1 s, then 10 -> 6 in four steps.
	if changes != 5 {
		t.Errorf("%d changes, want 5", changes)
	}
	if r.Concurrency(at) != 6 {
		t.Errorf("final level %d, want 6", r.Concurrency(at))
	}
}

// TestPaceLoopFakeClock runs an open-model loop the way the swarm does, on
// synctest's fake clock: it must start exactly the scheduled hits at their
// scheduled times.
func TestPaceLoopFakeClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := linear(0, 100, 10*time.Second)
		const duration = 10 * time.Second
		start := time.Now()
		var hits uint64
		for {
			sched, ok := p.When(hits)
			if !ok || sched >= duration {
				break
			}
			time.Sleep(sched - time.Since(start))
			if late := time.Since(start) - sched; late != 0 {
				t.Fatalf("hit %d started %v after its schedule", hits, late)
			}
			hits++
		}
		if hits != 500 {
			t.Errorf("hits in 10s = %d, want 500", hits)
		}
	})
}

// TestRampLoopFakeClock drives a closed-model controller with Next.
func TestRampLoopFakeClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := Ramp{Stages: []Stage{{Duration: 2 * time.Second, Target: 20}, {Duration: 2 * time.Second, Target: 0}}}
		start := time.Now()
		peak, levels := 0, 0
		for {
			now := time.Since(start)
			c := r.Concurrency(now)
			peak = max(peak, c)
			levels++
			next, ok := r.Next(now)
			if !ok {
				break
			}
			time.Sleep(next - now)
		}
		if peak != 20 || levels != 41 {
			t.Errorf("peak %d over %d levels, want 20 over 41 (0..20..0)", peak, levels)
		}
		if got := time.Since(start); got != 4*time.Second {
			t.Errorf("last change at %v, want 4s", got)
		}
	})
}

func BenchmarkStagesWhen(b *testing.B) {
	s := Stages{Stages: []Stage{{time.Minute, 1000}, {time.Minute, 1000}, {time.Minute, 10}}}
	var k uint64
	for b.Loop() {
		s.When(k % 100000)
		k++
	}
}

func BenchmarkPoissonWhen(b *testing.B) {
	p := NewPoisson(Constant{Freq: 1000, Per: time.Second}, 1)
	var k uint64
	for b.Loop() {
		p.When(k)
		k++
	}
}

// linear is a one-stage Stages: from start to end hits per second over
// over, then holding end.
func linear(start, end float64, over time.Duration) Stages {
	return Stages{Start: start, Stages: []Stage{{Duration: over, Target: end}}}
}
