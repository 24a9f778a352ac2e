package reports

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"
)

// ErrRunMismatch is wrapped by the error Merge returns for shards of
// different runs (different Attempt.RunID); MergeOptions.Force merges them
// anyway.
var ErrRunMismatch = errors.New("the results are of different runs")

// Attempt identifies one process's run of a shard, so that a merge tells a
// retried shard (a Kubernetes pod started again) from a second shard, and
// says when it began against the start the shards agreed on.
type Attempt struct {
	RunID   string     `json:"run_id,omitempty"`   // --run-id: the same for every shard of one run, e.g. a Kubernetes Job's uid
	ID      string     `json:"id"`                 // --attempt-id (e.g. the pod's name), else made up at start: unique per process
	StartAt *time.Time `json:"start_at,omitempty"` // the agreed start (--start-at), UTC
	// StartOffsetMS is Started minus StartAt, ms, by this process's clock:
	// how late its load began (it waits for StartAt, so it is never
	// negative by its own clock). Absent without StartAt.
	StartOffsetMS *float64 `json:"start_offset_ms,omitempty"`
}

// ShardSummary is one shard of a merged File: which attempt was kept, when
// it began and how late, what it did, and its generator's health.
type ShardSummary struct {
	Shard         string     `json:"shard"`                     // "2/3"
	RunID         string     `json:"run_id,omitempty"`          // Attempt.RunID
	Attempt       string     `json:"attempt,omitempty"`         // Attempt.ID of the attempt kept
	Superseded    []string   `json:"superseded,omitempty"`      // earlier attempts of this shard, left out of the merge
	Host          string     `json:"host,omitempty"`            // where it ran
	Started       time.Time  `json:"started"`                   // when its load began
	StartAt       *time.Time `json:"start_at,omitempty"`        // the agreed start it was given
	StartOffsetMS *float64   `json:"start_offset_ms,omitempty"` // Started - StartAt, ms
	DurationS     float64    `json:"duration_s"`                // its measured duration
	Streams       int64      `json:"streams_started"`           // its streams
	Failed        int64      `json:"streams_failed"`            // its failed streams
	Events        int64      `json:"events"`                    // its events
	Degraded      bool       `json:"degraded"`                  // its generator limited its numbers
	Measured      bool       `json:"measured"`                  // it measured its generator (the next three are set)
	CPUsUsed      float64    `json:"cpus_used"`                 // Generator.CPUsUsed
	SchedP99      float64    `json:"sched_latency_p99_ms"`      // Generator.SchedP99
	TimerP99      float64    `json:"timer_lateness_p99_ms"`     // Generator.TimerP99
}

// LateStartNote is how late (after the agreed start) a shard may begin
// before the merged File says so: one second, the time series' tick.
const LateStartNote = time.Second

// shardKey is the shard a File is, for finding repeated attempts: its
// Shard when it is one shard of a split ("2/3"), else "".
func shardKey(f *File) string {
	s := f.Shard
	if strings.HasPrefix(s, "merged:") || s == "" || strings.HasSuffix(s, "/1") {
		return ""
	}
	return s
}

// latestAttempts returns files with every repeated attempt of a shard left
// out: of the files of one shard that all carry distinct attempt ids, the
// last to start is kept (ties: the greater id). It returns one note per
// shard that had several attempts, and the ids left out per shard. The
// same attempt given twice is an error; files of one shard without attempt
// ids are kept, for mergedShards to refuse.
func latestAttempts(files []*File) ([]*File, []string, map[string][]string, error) {
	byShard := map[string][]*File{}
	var order []string
	for _, f := range files {
		if k := shardKey(f); k != "" {
			if _, ok := byShard[k]; !ok {
				order = append(order, k)
			}
			byShard[k] = append(byShard[k], f)
		}
	}
	drop := map[*File]bool{}
	var notes []string
	superseded := map[string][]string{}
	for _, k := range order {
		group := byShard[k]
		if len(group) < 2 || slices.ContainsFunc(group, func(f *File) bool { return f.Attempt == nil || f.Attempt.ID == "" }) {
			continue
		}
		sort.SliceStable(group, func(a, b int) bool {
			if !group[a].Started.Equal(group[b].Started) {
				return group[a].Started.Before(group[b].Started)
			}
			return group[a].Attempt.ID < group[b].Attempt.ID
		})
		var dropped []string
		for i, f := range group {
			if i > 0 && f.Attempt.ID == group[i-1].Attempt.ID {
				return nil, nil, nil, fmt.Errorf("%w: shard %s: attempt %s given twice", ErrMerge, k, f.Attempt.ID)
			}
			if i < len(group)-1 {
				drop[f] = true
				superseded[k] = append(superseded[k], f.Attempt.ID)
				dropped = append(dropped, attemptLabel(f))
			}
		}
		notes = append(notes, fmt.Sprintf("shard %s ran %d times (a retried pod?): merged only the last attempt, %s; left out %s",
			k, len(group), attemptLabel(group[len(group)-1]), strings.Join(dropped, ", ")))
	}
	kept := slices.DeleteFunc(slices.Clone(files), func(f *File) bool { return drop[f] })
	return kept, notes, superseded, nil
}

// attemptLabel names an attempt in a note: "ID (started T)".
func attemptLabel(f *File) string {
	return fmt.Sprintf("%s (started %s)", f.Attempt.ID, f.Started.UTC().Format(time.RFC3339Nano))
}

// checkRuns returns an error (or with force, a note) when the files carry
// different run ids.
func checkRuns(files []*File, force bool) (string, error) {
	var runs []string
	byRun := map[string][]string{}
	for _, f := range files {
		if f.Attempt == nil || f.Attempt.RunID == "" {
			continue
		}
		id := f.Attempt.RunID
		if _, ok := byRun[id]; !ok {
			runs = append(runs, id)
		}
		byRun[id] = appendNew(byRun[id], f.Shard)
	}
	if len(runs) < 2 {
		return "", nil
	}
	parts := make([]string, len(runs))
	for i, r := range runs {
		parts[i] = fmt.Sprintf("run %s (shard %s)", r, strings.Join(byRun[r], ", "))
	}
	what := strings.Join(parts, " and ")
	if !force {
		return "", fmt.Errorf("%w: %w: %s; merge only the shards of one run, or pass --force to merge them anyway", ErrMerge, ErrRunMismatch, what)
	}
	return "merged results of different runs (--force): " + what, nil
}

// shardSummaries lists the shards of a merge: a merged input contributes
// the shards it lists, any other input itself.
func shardSummaries(files []*File, superseded map[string][]string) []ShardSummary {
	var out []ShardSummary
	for _, f := range files {
		if len(f.Shards) > 0 {
			out = append(out, f.Shards...)
			continue
		}
		s := ShardSummary{
			Shard: f.Shard, Host: f.Environment.Host, Started: f.Started, DurationS: f.DurationS,
			Streams: f.Counters.StreamsStarted, Failed: f.Counters.StreamsFailed, Events: f.Counters.Events,
			Degraded: f.Degraded, Superseded: superseded[shardKey(f)],
		}
		if a := f.Attempt; a != nil {
			s.RunID, s.Attempt, s.StartAt, s.StartOffsetMS = a.RunID, a.ID, a.StartAt, a.StartOffsetMS
		}
		if g := f.Generator; g != nil && g.Measured {
			s.Measured, s.CPUsUsed, s.SchedP99, s.TimerP99 = true, g.CPUsUsed, g.SchedP99, g.TimerP99
		}
		out = append(out, s)
	}
	sort.SliceStable(out, func(a, b int) bool {
		ia, na := shardNumbers(out[a].Shard)
		ib, nb := shardNumbers(out[b].Shard)
		if na != nb {
			return na < nb
		}
		return ia < ib
	})
	return out
}

// shardNumbers returns I and N of "I/N" (0, 0 when it is not one).
func shardNumbers(s string) (i, n int) {
	if _, err := fmt.Sscanf(s, "%d/%d", &i, &n); err != nil {
		return 0, 0
	}
	return i, n
}

// startNotes says when the shards were given different start times, and
// which began more than LateStartNote after theirs.
func startNotes(shards []ShardSummary) []string {
	var notes, starts, late []string
	for _, s := range shards {
		if s.StartAt != nil {
			starts = appendNew(starts, s.StartAt.UTC().Format(time.RFC3339Nano))
		}
		if s.StartOffsetMS != nil && *s.StartOffsetMS > float64(LateStartNote.Milliseconds()) {
			late = append(late, fmt.Sprintf("%s by %s s", s.Shard, fmtFloat(*s.StartOffsetMS/1000, 1)))
		}
	}
	if len(starts) > 1 {
		notes = append(notes, "the shards were given different start times (--start-at): "+strings.Join(starts, ", ")+"; their intervals do not align")
	}
	if len(late) > 0 {
		notes = append(notes, "shards began late against the agreed start (--start-at): "+strings.Join(late, ", ")+
			"; the whole planned load ran for less than the duration")
	}
	return notes
}

// maxStartOffset is the largest start offset of the shards, ms (NaN when
// none has one).
func maxStartOffset(shards []ShardSummary) float64 {
	m := math.NaN()
	for _, s := range shards {
		if s.StartOffsetMS != nil && (math.IsNaN(m) || *s.StartOffsetMS > m) {
			m = *s.StartOffsetMS
		}
	}
	return m
}

// shardProperties are the JUnit properties of a File's shard identity:
// its attempt, or for a merged File each shard's attempt, start offset and
// generator health, and the attempts left out.
func shardProperties(f *File) []junitProperty {
	var ps []junitProperty
	add := func(k, v string) { ps = append(ps, junitProperty{k, v}) }
	if a := f.Attempt; a != nil {
		if a.RunID != "" {
			add("run_id", a.RunID)
		}
		add("attempt", a.ID)
		if a.StartOffsetMS != nil {
			add("start_offset_ms", fmtFloat(*a.StartOffsetMS, 3))
		}
	}
	if len(f.Shards) == 0 {
		return ps
	}
	var left []string
	for _, s := range f.Shards {
		p := "shard." + s.Shard + "."
		if s.Attempt != "" {
			add(p+"attempt", s.Attempt)
		}
		if s.StartOffsetMS != nil {
			add(p+"start_offset_ms", fmtFloat(*s.StartOffsetMS, 3))
		}
		add(p+"streams_started", fmt.Sprint(s.Streams))
		add(p+"generator", shardHealth(s))
		for _, id := range s.Superseded {
			left = append(left, s.Shard+":"+id)
		}
	}
	if m := maxStartOffset(f.Shards); !math.IsNaN(m) {
		add("start_offset_max_ms", fmtFloat(m, 3))
	}
	add("shards_merged", fmt.Sprint(len(f.Shards)))
	if len(left) > 0 {
		add("attempts_left_out", strings.Join(left, ", "))
	}
	return ps
}

// MissingShards returns the shards of f's split that f does not hold
// ("3/3"), and the split's size N: for one shard "2/3", the other two; for
// a merge, those not merged. A File of no split (1/1, or pooled full runs)
// misses nothing (N is 1).
func MissingShards(f *File) (missing []string, n int) {
	have := map[int]bool{}
	n = 1
	for _, p := range strings.Split(strings.TrimPrefix(f.Shard, "merged:"), ",") {
		i, m := shardNumbers(p)
		if m > 1 {
			have[i], n = true, m
		}
	}
	for i := 1; n > 1 && i <= n; i++ {
		if !have[i] {
			missing = append(missing, fmt.Sprintf("%d/%d", i, n))
		}
	}
	return missing, n
}
