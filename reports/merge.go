package reports

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// ErrMerge is wrapped by every error Merge returns.
var ErrMerge = errors.New("cannot merge results")

// ErrPlanMismatch is wrapped by the error Merge returns for files of
// different plans (see File.Plan); MergeOptions.Force merges them anyway.
var ErrPlanMismatch = errors.New("the results are of different plans")

// MergeOptions change what Merge accepts.
type MergeOptions struct {
	// Force merges files of different plans (File.Plan), with a note
	// naming them, instead of refusing.
	Force bool
}

// Merge combines the results of several shards of one run into one File;
// see MergeOptions.Merge. It refuses files of different plans.
func Merge(files ...*File) (*File, error) { return MergeOptions{}.Merge(files...) }

// Merge combines the results of several shards of one run into one File,
// losslessly: counters add; every histogram is decoded, merged exactly and
// re-encoded, and its statistics are recomputed from the merged histogram;
// intervals align on wall time (At rounded to the tick) and their tick
// histograms merge; rates are recomputed over the union of the shards' wall
// time; failure reasons add up per class and message (see mergeFailures).
// Thresholds are cleared (evaluate them once on the merged result); Shard
// becomes "merged:1/2,2/2"; the scenario is the shards' common plan;
// Degraded is OR-ed and the generator health takes the worst shard's
// measures. Notes: those a File derives from its own data (dropped
// arrivals, clamped values, the shard hint) are computed again for the
// merged File; every other note appears once, prefixed with the shards
// that carry it unless all do. A shard given several times by distinct
// attempts (Attempt.ID: a retried pod) is merged once, from the attempt
// that started last, with a note naming the attempts left out; Shards
// lists every shard kept with its attempt, start offset and generator
// health. Files of another schema version, with different tick lengths,
// repeating a shard of a split without distinct attempt ids, or (unless
// Force) of different plans or runs (Attempt.RunID) are an error. The
// inputs are not modified.
func (o MergeOptions) Merge(files ...*File) (*File, error) {
	if err := checkSchemas(files); err != nil {
		return nil, err
	}
	planNote, err := checkPlans(files, o.Force)
	if err != nil {
		return nil, err
	}
	runNote, err := checkRuns(files, o.Force)
	if err != nil {
		return nil, err
	}
	inputs := len(files)
	files, attemptNotes, superseded, err := latestAttempts(files)
	if err != nil {
		return nil, err
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
		Plan:        first.Plan,
		Scenario:    first.Scenario,
		Shard:       shards,
		Environment: first.Environment,
		Thresholds:  []ThresholdResult{},
	}
	if len(files) == 1 {
		out.Shard = first.Shard
	}
	if inputs == 1 {
		out.Attempt = first.Attempt
	} else {
		out.Shards = shardSummaries(files, superseded)
	}

	// Wall time: the run starts with the earliest shard; its duration is
	// the union of the shards' [started, started+duration] spans.
	out.Started, out.DurationS = unionSpan(files)
	if out.Metrics, err = mergeMetrics(files); err != nil {
		return nil, err
	}
	out.Counters = mergeCounters(files)
	out.Rates = ratesOf(out.Counters, out.DurationS)
	out.Failures = mergeFailures(files)
	out.Goodput = mergeGoodput(files, out.DurationS)
	if out.Intervals, err = mergeIntervals(files, out.Started, interval); err != nil {
		return nil, err
	}
	mergeHealth(out, files)
	own := append([]string{planNote, runNote}, attemptNotes...)
	if len(files) > 1 {
		own = append(own, shardNote)
	}
	out.Notes = mergeNotes(out, files, append(own, startNotes(out.Shards)...))
	return out, nil
}

// checkSchemas checks that there are files, none nil, all of this
// SchemaVersion.
func checkSchemas(files []*File) error {
	if len(files) == 0 {
		return fmt.Errorf("%w: no files", ErrMerge)
	}
	for i, f := range files {
		if f == nil {
			return fmt.Errorf("%w: file %d is nil", ErrMerge, i+1)
		}
		if f.Schema != SchemaVersion {
			return fmt.Errorf("%w: shard %s has schema version %d, not %d", ErrMerge, f.Shard, f.Schema, SchemaVersion)
		}
	}
	return nil
}

// mergeHealth sets out's hosts and generator health from the files'.
func mergeHealth(out *File, files []*File) {
	var hosts []string
	for _, f := range files {
		hosts = appendNew(hosts, f.Environment.Host)
	}
	out.Environment.Host = strings.Join(hosts, ",")
	out.Generator = mergeGenerators(files)
	if !slices.ContainsFunc(files, func(f *File) bool { return f.Generator != nil }) {
		// Files written before the generator measured itself: judge the
		// merged schedule lag, as they did.
		judgeGenerator(out, nil, out.Environment.EmbeddedMock)
		out.Generator.Degraded = out.Generator.Degraded || slices.ContainsFunc(files, func(f *File) bool { return f.Degraded })
	}
	out.Degraded = out.Generator.Degraded
}

// mergeNotes returns the merged File's notes: the merge's own (plan, run,
// repeated attempts, missing shards, start times: own, "" skipped), the
// targets and versions, then the derived notes computed again for out and
// the shards' other notes (see shardNotes), each once.
func mergeNotes(out *File, files []*File, own []string) []string {
	var targets, versions []string
	for _, f := range files {
		targets = appendNew(targets, f.Environment.Target)
		versions = appendNew(versions, f.Version)
	}
	notes := []string{}
	for _, n := range own {
		notes = appendNew(notes, n)
	}
	if len(targets) > 1 {
		notes = append(notes, "the shards ran against different targets: "+strings.Join(targets, ", "))
	}
	if len(versions) > 1 {
		notes = append(notes, "the shards ran different ssebench versions: "+strings.Join(versions, ", "))
	}
	if len(files) == 1 {
		notes = append(notes, files[0].Notes...)
	} else {
		notes = append(notes, derivedNotes(out)...)
		notes = append(notes, shardNotes(files)...)
	}
	return dedupe(notes)
}

// mergeMetrics merges every latency histogram of the files exactly and
// recomputes its statistics.
func mergeMetrics(files []*File) (map[string]*MetricStats, error) {
	out := map[string]*MetricStats{}
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
		out[n] = st
	}
	return out, nil
}

// mergeCounters adds the files' counters (Counters.Add). The maps are
// never nil, so the merged JSON always has them.
func mergeCounters(files []*File) Counters {
	o := Counters{Errors: map[string]int64{}, AttemptErrors: map[string]int64{}, ContentEncoding: map[string]int64{}}
	for _, f := range files {
		o.Add(f.Counters)
	}
	return o
}

// PlanID returns the plan id of a scenario as JSON (the whole plan, secrets
// redacted, before any --shard split): the first 16 hex digits of its
// SHA-256. Results with the same plan id ran the same plan.
func PlanID(scenarioJSON []byte) string {
	sum := sha256.Sum256(scenarioJSON)
	return hex.EncodeToString(sum[:8])
}

// checkPlans returns an error (or with force, a note) when the files are
// of different plans. Files without a plan id (written before it existed)
// are merged with a note saying they could not be checked.
func checkPlans(files []*File, force bool) (string, error) {
	var plans, unknown []string
	byPlan := map[string][]string{}
	for _, f := range files {
		if f.Plan == "" {
			unknown = appendNew(unknown, f.Shard)
			continue
		}
		if _, ok := byPlan[f.Plan]; !ok {
			plans = append(plans, f.Plan)
		}
		byPlan[f.Plan] = append(byPlan[f.Plan], f.Shard)
	}
	if len(plans) > 1 {
		var parts []string
		for _, p := range plans {
			parts = append(parts, fmt.Sprintf("plan %s (shard %s)", p, strings.Join(byPlan[p], ", ")))
		}
		what := strings.Join(parts, " and ")
		if !force {
			return "", fmt.Errorf("%w: %w: %s; merge only the shards of one run, or pass --force to merge them anyway",
				ErrMerge, ErrPlanMismatch, what)
		}
		return "merged results of different plans (--force): " + what + "; the scenario shown is the first file's", nil
	}
	if len(unknown) > 0 && len(files) > 1 {
		return fmt.Sprintf("shard %s has no plan id (written by an older ssebench): not checked to belong to the same run", strings.Join(unknown, ", ")), nil
	}
	return "", nil
}

// shardNotes returns the shards' own notes (not the derived ones, which
// the merged File computes again), each once: as it is when every shard
// has it, else prefixed with the shards that have it.
func shardNotes(files []*File) []string {
	var order []string
	holders := map[string][]string{}
	for _, f := range files {
		derived := map[string]bool{}
		for _, n := range derivedNotes(f) {
			derived[n] = true
		}
		for _, n := range f.Notes {
			if derived[n] || isLegacyDerived(n) {
				continue
			}
			if _, ok := holders[n]; !ok {
				order = append(order, n)
			}
			if h := holders[n]; len(h) == 0 || h[len(h)-1] != f.Shard {
				holders[n] = append(h, f.Shard)
			}
		}
	}
	out := make([]string, 0, len(order))
	for _, n := range order {
		h := holders[n]
		switch {
		case len(h) == len(files):
			out = append(out, n)
		case len(h) == 1:
			out = append(out, "shard "+h[0]+": "+n)
		default:
			out = append(out, "shards "+strings.Join(h, ", ")+": "+n)
		}
	}
	return out
}

// isLegacyDerived recognises the derived notes that files of earlier
// versions wrote in other words: the degraded note (now the generator's
// reasons) and the shard hint.
func isLegacyDerived(n string) bool {
	return strings.HasPrefix(n, "degraded: schedule lag") ||
		(strings.HasPrefix(n, "shard ") && strings.HasSuffix(n, "merge the shards' JSON results with 'ssebench report'"))
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
