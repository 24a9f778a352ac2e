package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/ssebench/ssebench/reports"
)

// Shard identity for runs started by a scheduler (a Kubernetes Indexed
// Job): a 0-based index and a count instead of --shard I/N, an agreed
// absolute start, a run id and an attempt id recorded in the JSON result,
// and a verdict deferred to the merge.
//
// The rules:
//   - --shard-index I --shard-count N (0 <= I < N) is --shard I+1/N. A Job
//     passes its JOB_COMPLETION_INDEX, which is 0-based, as the index:
//     --shard-index=$(JOB_COMPLETION_INDEX). They exclude --shard.
//   - --start-at T (RFC 3339) waits, after the target answered the probe,
//     until T and then starts the load; the result records T and how late
//     the load began (attempt.start_offset_ms). A start up to maxStartLate
//     in the past starts at once (a retried or slowly scheduled pod) and
//     records its offset; one further in the past, or more than
//     maxStartAhead ahead, is refused (exit 2): the shards of such a run
//     would not overlap.
//   - --run-id names the run (the same for every shard; a Job's uid),
//     --attempt-id the attempt (a pod's name; made up when not given).
//     'ssebench report' refuses shards of different runs and merges a
//     shard given by several attempts once, from its last attempt.
//   - --defer-verdict: a failed gate (threshold, baseline, no stream
//     succeeded) is printed but exits 0, so that a Job does not retry a
//     shard that ran to the end; the verdict is the merge's. Usage errors
//     (2), a run that could not run (3) or was interrupted (130) still
//     fail.

// maxStartLate is how far in the past --start-at may be: the shard then
// starts at once, late, and says by how much.
const maxStartLate = 5 * time.Minute

// maxStartAhead bounds the wait for --start-at.
const maxStartAhead = 24 * time.Hour

// shardRunFlags are the flags of a scheduled shard.
type shardRunFlags struct {
	index, count       int
	indexSet, countSet bool
	startAt            time.Time // zero: start at once
	runID, attemptID   string
	deferVerdict       bool
	now                func() time.Time // time.Now; tests replace it
}

// register adds the flags to fs.
func (s *shardRunFlags) register(fs *flag.FlagSet) {
	s.now = time.Now
	fs.Func("shard-index", "this shard's 0-based `I` of --shard-count (a Job's $(JOB_COMPLETION_INDEX)); same as --shard I+1/N", func(v string) error {
		n, err := parseCount(v, 0)
		s.index, s.indexSet = n, true
		return err
	})
	fs.Func("shard-count", "number of shards `N` of the run, with --shard-index", func(v string) error {
		n, err := parseCount(v, 1)
		s.count, s.countSet = n, true
		return err
	})
	fs.Func("start-at", "start the load at the absolute `time` T (RFC 3339, e.g. 2026-01-02T15:04:05Z), so that shards align", func(v string) error {
		t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(v))
		if err != nil {
			return fmt.Errorf("want an RFC 3339 time such as 2026-01-02T15:04:05Z, got %q", v)
		}
		s.startAt = t
		return nil
	})
	fs.Func("run-id", "`ID` of the run, the same for every shard (recorded; 'ssebench report' refuses shards of different runs)", func(v string) error {
		s.runID = strings.TrimSpace(v)
		return checkID(s.runID)
	})
	fs.Func("attempt-id", "`ID` of this attempt of the shard, e.g. a pod's name (default: made up)", func(v string) error {
		s.attemptID = strings.TrimSpace(v)
		return checkID(s.attemptID)
	})
	fs.BoolVar(&s.deferVerdict, "defer-verdict", false, "exit 0 when a gate fails (the verdict is the merge's), so that a scheduler does not retry the shard")
}

// parseCount parses a decimal integer >= lo. An unexpanded Kubernetes
// variable reference gets its own explanation.
func parseCount(v string, lo int) (int, error) {
	v = strings.TrimSpace(v)
	n, err := strconv.Atoi(v)
	switch {
	case strings.HasPrefix(v, "$("):
		return 0, fmt.Errorf("%q is an unexpanded variable reference: the container has no environment variable of that name", v)
	case err != nil || n < lo:
		return 0, fmt.Errorf("want an integer >= %d, got %q", lo, v)
	}
	return n, nil
}

// maxIDBytes bounds --run-id and --attempt-id.
const maxIDBytes = 253

// checkID accepts a printable id of at most maxIDBytes bytes without
// spaces.
func checkID(id string) error {
	if id == "" || len(id) > maxIDBytes {
		return fmt.Errorf("want 1 to %d characters, got %d", maxIDBytes, len(id))
	}
	for _, c := range id {
		if c <= ' ' || c == 0x7f {
			return errors.New("want printable characters without spaces")
		}
	}
	return nil
}

// resolve checks the flags together with --shard, and sets the shard of c.
func (s *shardRunFlags) resolve(c *runConfig, shardSet bool) error {
	switch {
	case s.indexSet != s.countSet:
		return usagef("--shard-index and --shard-count go together (SSEBENCH_SHARD_INDEX, SSEBENCH_SHARD_COUNT)")
	case s.indexSet && shardSet:
		return usagef("--shard-index/--shard-count and --shard exclude each other: --shard-index I --shard-count N is --shard I+1/N")
	case s.indexSet && s.index >= s.count:
		return usagef("--shard-index %d: want 0 <= I < --shard-count %d", s.index, s.count)
	case s.indexSet:
		c.shardIndex, c.shardCount = s.index+1, s.count
	}
	if s.startAt.IsZero() {
		return nil
	}
	now := s.now()
	if late := now.Sub(s.startAt); late > maxStartLate {
		return usagef("--start-at %s is %s in the past (more than %s): the other shards have long started; give a new start time",
			s.startAt.UTC().Format(time.RFC3339), late.Round(time.Second), maxStartLate)
	}
	if ahead := s.startAt.Sub(now); ahead > maxStartAhead {
		return usagef("--start-at %s is %s ahead (more than %s)", s.startAt.UTC().Format(time.RFC3339), ahead.Round(time.Second), maxStartAhead)
	}
	return nil
}

// waitStart waits until --start-at (at once when it has passed), saying
// so on w when it waits. Cancelling ctx ends the wait: interrupted.
func (s *shardRunFlags) waitStart(ctx context.Context, w io.Writer, shard string) error {
	if s.startAt.IsZero() {
		return nil
	}
	d := s.startAt.Sub(s.now())
	if d <= 0 {
		return nil
	}
	if w != nil {
		fmt.Fprintf(w, "ssebench run: shard %s waits %s for --start-at %s\n", shard, d.Round(time.Millisecond), s.startAt.UTC().Format(time.RFC3339Nano))
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return interrupted(errors.New("interrupted while waiting for --start-at"))
	}
}

// attempt is the result's identity of this attempt, whose load began at
// start.
func (s *shardRunFlags) attempt(start time.Time) *reports.Attempt {
	a := &reports.Attempt{RunID: s.runID, ID: s.attemptID}
	if a.ID == "" {
		a.ID = newAttemptID()
	}
	if !s.startAt.IsZero() {
		at := s.startAt.UTC()
		off := float64(start.Sub(at).Microseconds()) / 1000
		a.StartAt, a.StartOffsetMS = &at, &off
	}
	return a
}

// newAttemptID makes up an attempt id: 12 random hex digits.
func newAttemptID() string {
	var b [6]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return hex.EncodeToString(b[:])
}

// deferGate turns a failed gate (exit 1) into exit 0 with --defer-verdict,
// after saying on w what failed and that the merge decides.
func (s *shardRunFlags) deferGate(w io.Writer, err error) error {
	var ee *exitError
	if !s.deferVerdict || !errors.As(err, &ee) || ee.code != exitGateFailed {
		return err
	}
	fmt.Fprintf(w, "ssebench run: verdict deferred to the merge (--defer-verdict): %v\n", ee.err)
	return nil
}
