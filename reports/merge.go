package reports

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// ErrMerge is wrapped by every error Merge returns.
var ErrMerge = errors.New("cannot merge results")

// Merge combines the results of several shards of one run into one File,
// losslessly: counters add; every histogram is decoded, merged exactly and
// re-encoded, and its statistics are recomputed from the merged histogram;
// intervals align on wall time (At rounded to the tick) and their tick
// histograms merge; rates are recomputed over the union of the shards' wall
// time. Thresholds are cleared (evaluate them once on the merged result);
// Shard becomes "merged:1/2,2/2"; Degraded is OR-ed; notes are kept, each
// prefixed with its shard. Files of another schema version, with different
// tick lengths, or repeating a shard of a split are an error. The inputs
// are not modified.
func Merge(files ...*File) (*File, error) {
	if len(files) == 0 {
		return nil, fmt.Errorf("%w: no files", ErrMerge)
	}
	for i, f := range files {
		if f == nil {
			return nil, fmt.Errorf("%w: file %d is nil", ErrMerge, i+1)
		}
		if f.Schema != SchemaVersion {
			return nil, fmt.Errorf("%w: shard %s has schema version %d, not %d", ErrMerge, f.Shard, f.Schema, SchemaVersion)
		}
	}
	interval, err := commonInterval(files)
	if err != nil {
		return nil, err
	}
	shards, shardNote, err := mergedShards(files)
	if err != nil {
		return nil, err
	}

	first := files[0]
	out := &File{
		Schema:      SchemaVersion,
		Tool:        ToolName,
		Version:     first.Version,
		IntervalS:   interval,
		Scenario:    first.Scenario,
		Shard:       shards,
		Environment: first.Environment,
		Metrics:     map[string]*MetricStats{},
		Thresholds:  []ThresholdResult{},
		Notes:       []string{},
	}
	if len(files) == 1 {
		out.Shard = first.Shard
	}

	// Wall time: the run starts with the earliest shard; its duration is
	// the union of the shards' [started, started+duration] spans.
	out.Started, out.DurationS = unionSpan(files)

	// Latency histograms.
	names := map[string]bool{}
	for _, f := range files {
		for n := range f.Metrics {
			names[n] = true
		}
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	for _, n := range sorted {
		acc := NewHistogram()
		var oor int64
		for _, f := range files {
			m := f.Metrics[n]
			if m == nil || m.Count == 0 {
				continue
			}
			h, err := DecodeHistogram(m.HDR)
			if err != nil {
				return nil, fmt.Errorf("%w: shard %s, metric %s: %w", ErrMerge, f.Shard, n, err)
			}
			if err := acc.Merge(h); err != nil {
				return nil, fmt.Errorf("%w: metric %s: %w", ErrMerge, n, err)
			}
			oor += m.OutOfRange
		}
		if acc.Count() == 0 {
			continue
		}
		st, err := statsOf(acc)
		if err != nil {
			return nil, fmt.Errorf("%w: metric %s: %w", ErrMerge, n, err)
		}
		st.OutOfRange = oor
		out.Metrics[n] = st
	}

	// Counters and rates.
	out.Counters.Errors = map[string]int64{}
	for _, f := range files {
		c := f.Counters
		o := &out.Counters
		o.StreamsStarted += c.StreamsStarted
		o.StreamsOK += c.StreamsOK
		o.StreamsFailed += c.StreamsFailed
		o.Aborted += c.Aborted
		o.Cancelled += c.Cancelled
		o.Events += c.Events
		o.ContentEvents += c.ContentEvents
		o.Bytes += c.Bytes
		o.Tokens += c.Tokens
		o.Comments += c.Comments
		o.Reconnects += c.Reconnects
		o.IDsLost += c.IDsLost
		o.IDsDuplicated += c.IDsDuplicated
		o.ArrivalsDropped += c.ArrivalsDropped
		for k, n := range c.Errors {
			o.Errors[k] += n
		}
	}
	out.Rates = ratesOf(out.Counters, out.DurationS)

	out.Intervals, err = mergeIntervals(files, out.Started, interval)
	if err != nil {
		return nil, err
	}

	// Environment, version, degraded, notes.
	var hosts, targets, versions []string
	for _, f := range files {
		hosts = appendNew(hosts, f.Environment.Host)
		targets = appendNew(targets, f.Environment.Target)
		versions = appendNew(versions, f.Version)
		out.Degraded = out.Degraded || f.Degraded
	}
	out.Environment.Host = strings.Join(hosts, ",")
	if shardNote != "" && len(files) > 1 {
		out.Notes = append(out.Notes, shardNote)
	}
	if len(targets) > 1 {
		out.Notes = append(out.Notes, "the shards ran against different targets: "+strings.Join(targets, ", "))
	}
	if len(versions) > 1 {
		out.Notes = append(out.Notes, "the shards ran different ssebench versions: "+strings.Join(versions, ", "))
	}
	finishNotes(out)
	if len(files) > 1 {
		for _, f := range files {
			for _, n := range f.Notes {
				out.Notes = append(out.Notes, "shard "+f.Shard+": "+n)
			}
		}
	} else {
		out.Notes = append(out.Notes, first.Notes...)
		out.Notes = dedupe(out.Notes)
	}
	return out, nil
}

// commonInterval returns the tick length the files share, in seconds.
func commonInterval(files []*File) (float64, error) {
	var iv float64
	var from string
	for _, f := range files {
		s := f.IntervalS
		if s == 0 && len(f.Intervals) == 0 {
			continue // no time series: nothing to align
		}
		if s <= 0 {
			return 0, fmt.Errorf("%w: shard %s has intervals but no interval_s", ErrMerge, f.Shard)
		}
		if iv == 0 {
			iv, from = s, f.Shard
			continue
		}
		if math.Abs(s-iv) > 1e-9*iv {
			return 0, fmt.Errorf("%w: tick lengths differ: %g s (shard %s) and %g s (shard %s)",
				ErrMerge, iv, from, s, f.Shard)
		}
	}
	return iv, nil
}

// mergedShards returns the merged Shard field ("merged:1/2,2/2"), a note
// when shards of a split are missing, and an error when a shard of a split
// appears twice or the splits differ.
func mergedShards(files []*File) (string, string, error) {
	type shard struct {
		s    string
		i, n int
	}
	var all []shard
	for _, f := range files {
		s := strings.TrimPrefix(f.Shard, "merged:")
		if s == "" {
			s = "1/1"
		}
		for _, p := range strings.Split(s, ",") {
			is, ns, _ := strings.Cut(p, "/")
			i, err1 := strconv.Atoi(is)
			n, err2 := strconv.Atoi(ns)
			if err1 != nil || err2 != nil || i < 1 || n < 1 || i > n {
				return "", "", fmt.Errorf("%w: bad shard %q (want I/N)", ErrMerge, p)
			}
			all = append(all, shard{p, i, n})
		}
	}
	sort.SliceStable(all, func(a, b int) bool {
		if all[a].n != all[b].n {
			return all[a].n < all[b].n
		}
		return all[a].i < all[b].i
	})
	split, splitOf, seen := 0, "", map[string]bool{}
	names := make([]string, len(all))
	for k, s := range all {
		names[k] = s.s
		if s.n == 1 {
			continue // independent full runs may be pooled
		}
		if split != 0 && s.n != split {
			return "", "", fmt.Errorf("%w: shards of different splits (%s and %s)", ErrMerge, splitOf, s.s)
		}
		split, splitOf = s.n, s.s
		if seen[s.s] {
			return "", "", fmt.Errorf("%w: shard %s appears twice", ErrMerge, s.s)
		}
		seen[s.s] = true
	}
	note := ""
	if split > 1 && len(seen) < split {
		var missing []string
		for i := 1; i <= split; i++ {
			if k := fmt.Sprintf("%d/%d", i, split); !seen[k] {
				missing = append(missing, k)
			}
		}
		note = fmt.Sprintf("merged %d of %d shards; missing %s", len(seen), split, strings.Join(missing, ", "))
	}
	return "merged:" + strings.Join(names, ","), note, nil
}

// unionSpan returns the earliest start and the measure of the union of the
// files' [Started, Started+DurationS] spans, in seconds.
func unionSpan(files []*File) (time.Time, float64) {
	type span struct{ a, b time.Time }
	spans := make([]span, len(files))
	for i, f := range files {
		spans[i] = span{f.Started, f.Started.Add(time.Duration(f.DurationS * float64(time.Second)))}
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].a.Before(spans[j].a) })
	start := spans[0].a
	var total time.Duration
	cur := spans[0]
	for _, s := range spans[1:] {
		if !s.a.After(cur.b) {
			if s.b.After(cur.b) {
				cur.b = s.b
			}
			continue
		}
		total += cur.b.Sub(cur.a)
		cur = s
	}
	total += cur.b.Sub(cur.a)
	return start, total.Seconds()
}

// mergeIntervals aligns the files' intervals on wall time: an interval
// belongs to slot round((At - start) / tick), so shards that started a
// fraction of a tick apart share slots. Counts add; the tick histograms
// merge and their quantiles are recomputed.
func mergeIntervals(files []*File, start time.Time, tickS float64) ([]Interval, error) {
	if tickS <= 0 {
		return []Interval{}, nil
	}
	tick := time.Duration(tickS * float64(time.Second))
	type acc struct {
		iv          Interval
		ttft, queue *hdrhistogram.PackedHistogram
		approx      bool
	}
	slots := map[int64]*acc{}
	for _, f := range files {
		for i, iv := range f.Intervals {
			slot := int64(math.Round(float64(iv.At.Sub(start)) / float64(tick)))
			a := slots[slot]
			if a == nil {
				a = &acc{iv: Interval{
					At: start.Add(time.Duration(slot) * tick),
				}}
				slots[slot] = a
			}
			a.iv.DurationS = max(a.iv.DurationS, iv.DurationS)
			a.iv.Active += iv.Active
			a.iv.Started += iv.Started
			a.iv.Events += iv.Events
			a.iv.Tokens += iv.Tokens
			a.iv.Errors += iv.Errors
			var err error
			if a.ttft, err = mergeSparse(a.ttft, iv.TTFTHDR); err != nil {
				return nil, fmt.Errorf("%w: shard %s, intervals[%d] ttft: %w", ErrMerge, f.Shard, i, err)
			}
			if a.queue, err = mergeSparse(a.queue, iv.QueueHDR); err != nil {
				return nil, fmt.Errorf("%w: shard %s, intervals[%d] queue: %w", ErrMerge, f.Shard, i, err)
			}
			if (iv.TTFTHDR == "" && iv.TTFTP99 != 0) || (iv.QueueHDR == "" && iv.LagP99 != 0) {
				// A file without tick histograms: keep the worst shard's values.
				a.approx = true
				a.iv.TTFTP50 = max(a.iv.TTFTP50, iv.TTFTP50)
				a.iv.TTFTP99 = max(a.iv.TTFTP99, iv.TTFTP99)
				a.iv.LagP99 = max(a.iv.LagP99, iv.LagP99)
			}
		}
	}
	keys := make([]int64, 0, len(slots))
	for k := range slots {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	out := make([]Interval, 0, len(keys))
	for _, k := range keys {
		a := slots[k]
		iv := a.iv
		iv.TS = (time.Duration(k)*tick - tick).Seconds() + iv.DurationS
		var err error
		if a.ttft != nil && a.ttft.TotalCount() > 0 {
			iv.TTFTP50 = max(iv.TTFTP50, ms(us(a.ttft.ValueAtPercentile(50))))
			iv.TTFTP99 = max(iv.TTFTP99, ms(us(a.ttft.ValueAtPercentile(99))))
			if iv.TTFTHDR, err = encodeSparse(a.ttft); err != nil {
				return nil, fmt.Errorf("%w: %w", ErrMerge, err)
			}
		}
		if a.queue != nil && a.queue.TotalCount() > 0 {
			iv.LagP99 = max(iv.LagP99, ms(us(a.queue.ValueAtPercentile(99))))
			if iv.QueueHDR, err = encodeSparse(a.queue); err != nil {
				return nil, fmt.Errorf("%w: %w", ErrMerge, err)
			}
		}
		out = append(out, iv)
	}
	return out, nil
}

// mergeSparse adds the histogram encoded in s (may be "") to acc, creating
// acc when nil. Tick histograms are sparse, so the packed form keeps long
// merges cheap (a dense histogram is 190 KB).
func mergeSparse(acc *hdrhistogram.PackedHistogram, s string) (*hdrhistogram.PackedHistogram, error) {
	if s == "" {
		return acc, nil
	}
	p, err := hdrhistogram.DecodePacked([]byte(s))
	if err != nil {
		return acc, fmt.Errorf("decode histogram: %w", err)
	}
	if acc == nil {
		acc = hdrhistogram.NewPacked(histLowest, histHighest, HistogramDigits)
	}
	if n := acc.Merge(p); n != 0 {
		return acc, fmt.Errorf("decode histogram: %d values: %w", n, errForeignGeometry)
	}
	return acc, nil
}

// encodeSparse encodes a packed histogram like Histogram.Encode.
func encodeSparse(p *hdrhistogram.PackedHistogram) (string, error) {
	b, err := p.Encode()
	if err != nil {
		return "", fmt.Errorf("encode histogram: %w", err)
	}
	return string(b), nil
}

// appendNew appends s to list unless it is empty or already there.
func appendNew(list []string, s string) []string {
	if s == "" {
		return list
	}
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

// dedupe removes repeated strings, keeping the first of each.
func dedupe(list []string) []string {
	out := list[:0]
	seen := map[string]bool{}
	for _, s := range list {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
