package reports

import (
	"fmt"
	"strings"
	"time"
)

// htmlShards is the Shards section: one shard's attempt, or a merged
// File's shards.
type htmlShards struct {
	Attempt string // one shard's File: its attempt and start offset
	Rows    []htmlShardRow
}

type htmlShardRow struct {
	Shard, Attempt, LeftOut, Started, Offset, Streams, Failed, Events, Health string
	Degraded                                                                  bool
}

// htmlShardsOf returns the Shards section of f (nil when f has no attempt
// identity and is not a merge of shards that had one).
func htmlShardsOf(f *File) *htmlShards {
	v := &htmlShards{}
	if a := f.Attempt; a != nil && (a.RunID != "" || a.StartOffsetMS != nil) {
		v.Attempt = "Attempt " + a.ID
		if a.RunID != "" {
			v.Attempt += " of run " + a.RunID
		}
		if a.StartAt != nil && a.StartOffsetMS != nil {
			v.Attempt += fmt.Sprintf(", began %s after the agreed start %s", fmtOffset(*a.StartOffsetMS), a.StartAt.UTC().Format(time.RFC3339Nano))
		}
		v.Attempt = Escape(v.Attempt)
	}
	for _, s := range f.Shards {
		r := htmlShardRow{
			Shard: s.Shard, Attempt: Escape(s.Attempt), LeftOut: Escape(strings.Join(s.Superseded, ", ")),
			Started: s.Started.UTC().Format("2006-01-02 15:04:05.000"), Offset: "–",
			Streams: humanCount(s.Streams), Failed: humanCount(s.Failed), Events: humanCount(s.Events),
			Health: shardHealth(s), Degraded: s.Degraded,
		}
		if s.StartOffsetMS != nil {
			r.Offset = fmtOffset(*s.StartOffsetMS)
		}
		v.Rows = append(v.Rows, r)
	}
	if v.Attempt == "" && len(v.Rows) == 0 {
		return nil
	}
	return v
}
