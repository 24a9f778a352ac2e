package reports

import (
	"bufio"
	"fmt"
	"strings"
	"time"
)

// writeShards writes, for a merged File, one line per shard: the attempt
// kept (and those left out), when it began against the agreed start, its
// streams and events, and its generator's health. For one shard's File it
// writes its attempt and start offset, when it has them.
func writeShards(w *bufio.Writer, f *File) {
	if a := f.Attempt; a != nil && (a.RunID != "" || a.StartOffsetMS != nil) {
		fmt.Fprintf(w, "\nattempt    %s", Escape(a.ID))
		if a.RunID != "" {
			fmt.Fprintf(w, " of run %s", Escape(a.RunID))
		}
		if a.StartAt != nil && a.StartOffsetMS != nil {
			fmt.Fprintf(w, ", began %s after the agreed start %s", fmtOffset(*a.StartOffsetMS), a.StartAt.UTC().Format(time.RFC3339Nano))
		}
		fmt.Fprintln(w)
	}
	if len(f.Shards) == 0 {
		return
	}
	fmt.Fprintf(w, "\n%-7s %-24s %10s %9s %10s  %s\n", "shards", "started (UTC)", "offset", "streams", "events", "generator")
	for _, s := range f.Shards {
		off := "-"
		if s.StartOffsetMS != nil {
			off = fmtOffset(*s.StartOffsetMS)
		}
		fmt.Fprintf(w, "  %-5s %-24s %10s %9d %10d  %s\n", s.Shard, s.Started.UTC().Format("2006-01-02 15:04:05.000"),
			off, s.Streams, s.Events, shardHealth(s))
		var who []string
		if s.Attempt != "" {
			who = append(who, "attempt "+Escape(s.Attempt))
		}
		if len(s.Superseded) > 0 {
			who = append(who, "left out "+Escape(strings.Join(s.Superseded, ", ")))
		}
		if s.Host != "" {
			who = append(who, "host "+Escape(s.Host))
		}
		if len(who) > 0 {
			fmt.Fprintf(w, "  %5s %s\n", "", strings.Join(who, "; "))
		}
	}
}

// shardHealth is a shard's generator health in a few words: "ok 0.52
// CPUs, sched p99 0.1 ms, timer p99 1.1 ms", "DEGRADED ...", or "not
// measured".
func shardHealth(s ShardSummary) string {
	word := "ok"
	if s.Degraded {
		word = "DEGRADED"
	}
	if !s.Measured {
		return word + " (not measured)"
	}
	return fmt.Sprintf("%s %s CPUs, sched p99 %s ms, timer p99 %s ms", word, fmtFloat(s.CPUsUsed, 2), fmtMS(s.SchedP99), fmtMS(s.TimerP99))
}

// fmtOffset writes a start offset in ms as signed seconds: "+0.003 s".
func fmtOffset(ms float64) string {
	sign := "+"
	if ms < 0 {
		sign = "-"
		ms = -ms
	}
	return sign + fmtFloat(ms/1000, 3) + " s"
}
