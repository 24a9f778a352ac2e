package reports

import (
	"sort"
	"time"

	"github.com/ssebench/ssebench/scenarios"
)

// timed is a Result due at an elapsed time of a synthetic run.
type timed struct {
	at time.Duration
	r  *scenarios.Result
}

// playTimed feeds results to a the way Consume does, but on a synthetic clock:
// ticks close as the results' times pass, and the run ends at end.
func playTimed(a *Aggregator, results []timed, end time.Duration) {
	for _, t := range results {
		a.closeTicksUntil(t.at)
		a.add(t.r)
		t.r.Release()
	}
	a.finishTicks(end)
}

// synth describes a synthetic run.
type synth struct {
	streams  int           // number of streams
	every    time.Duration // one stream starts every ...
	events   int           // events per stream
	scale    float64       // latency multiplier (1 = nominal)
	failEach int           // every failEach-th stream fails (0: none)
	queue    bool          // open model: record queue and *_sched
	lagBase  time.Duration // queue delay base (open model)
	dropped  int           // arrivals dropped (open model), spread over the run
}

// results generates the Results of a synthetic run, deterministically (no
// randomness: values cycle through fixed sequences). keep selects the
// streams to emit (nil: all), so a run can be split into shards.
func (s synth) results(keep func(stream int) bool) []timed {
	var out []timed
	sc := s.scale
	if sc == 0 {
		sc = 1
	}
	d := func(base time.Duration, spread int, i int) time.Duration {
		v := base + time.Duration((i*7919)%spread)*time.Microsecond
		return time.Duration(float64(v) * sc)
	}
	for i := 0; i < s.streams; i++ {
		if keep != nil && !keep(i) {
			continue
		}
		t0 := time.Duration(i) * s.every
		r := scenarios.NewResult()
		r.Kind, r.Stream = scenarios.KindStart, uint64(i)
		if s.queue {
			r.Set(scenarios.Queue, s.lagBase+time.Duration((i*31)%2000)*time.Microsecond)
		}
		out = append(out, timed{t0, r})

		if s.failEach > 0 && i%s.failEach == s.failEach-1 {
			e := scenarios.NewResult()
			e.Kind, e.Stream, e.Final = scenarios.KindEnd, uint64(i), true
			if i%2 == 0 {
				e.Err, e.Status = scenarios.ErrHTTPStatus, 503
			} else {
				e.Err = scenarios.ErrTimeoutFirstByte
			}
			e.Detail = "synthetic failure"
			out = append(out, timed{t0 + 5*time.Millisecond, e})
			continue
		}

		p := scenarios.NewResult()
		p.Kind, p.Stream = scenarios.KindProgress, uint64(i)
		p.Set(scenarios.Connect, d(500*time.Microsecond, 300, i))
		p.Set(scenarios.TTFB, d(2*time.Millisecond, 1500, i))
		p.Set(scenarios.TTFE, d(20*time.Millisecond, 9000, i))
		ttft := d(40*time.Millisecond, 30000, i)
		p.Set(scenarios.TTFT, ttft)
		if s.queue {
			p.Set(scenarios.TTFTSched, ttft+s.lagBase)
		}
		p.Events, p.Content, p.Bytes, p.Tokens = 1, 1, 40, 1
		out = append(out, timed{t0 + ttft, p})

		at := t0 + ttft
		var cur *scenarios.Result
		for k := 1; k < s.events; k++ {
			if cur == nil {
				cur = scenarios.NewResult()
				cur.Kind, cur.Stream = scenarios.KindProgress, uint64(i)
			}
			g := d(10*time.Millisecond, 8000, i*131+k)
			at += g
			cur.AddGap(g)
			cur.AddITL(g)
			cur.Events++
			cur.Content++
			cur.Tokens++
			cur.Bytes += 40
			if len(cur.Gaps()) == scenarios.BatchSize {
				out = append(out, timed{at, cur})
				cur = nil
			}
		}
		end := scenarios.NewResult()
		if cur != nil {
			end = cur
		}
		end.Kind, end.Stream, end.Final = scenarios.KindEnd, uint64(i), true
		end.Set(scenarios.E2E, at-t0)
		if s.queue {
			end.Set(scenarios.E2ESched, at-t0+s.lagBase)
		}
		end.Comments = 1
		out = append(out, timed{at, end})
	}
	for k := 0; k < s.dropped; k++ {
		if keep != nil && !keep(s.streams+k) {
			continue
		}
		r := scenarios.NewResult()
		r.Kind = scenarios.KindDropped
		out = append(out, timed{time.Duration(k*s.streams/max(s.dropped, 1)) * s.every, r})
	}
	// Stable order by time (streams interleave).
	sortTimed(out)
	return out
}

// sortTimed sorts by time, keeping the order of equal times.
func sortTimed(ts []timed) {
	sort.SliceStable(ts, func(i, j int) bool { return ts[i].at < ts[j].at })
}

// fixedStart is the start of every synthetic run.
var fixedStart = time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)

// buildSynth runs s through a fresh aggregator and returns the File.
func buildSynth(s synth, start time.Time, end time.Duration, keep func(int) bool, shard string) *File {
	a := NewAggregator(AggregatorOptions{Start: start})
	playTimed(a, s.results(keep), end)
	return a.Finish(Meta{
		Version:     "v1.2.3",
		Scenario:    []byte(`{"name":"golden","url":"http://127.0.0.1:8080/v1/stream"}`),
		Shard:       shard,
		Environment: Environment{OS: "linux", Arch: "amd64", CPUs: 8, GoVersion: "go1.26", Target: "http://127.0.0.1:8080"},
	})
}
