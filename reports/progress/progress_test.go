package progress

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

func TestLine(t *testing.T) {
	tests := []struct {
		name string
		s    Snapshot
		want string
	}{
		{
			name: "closed",
			s: Snapshot{Elapsed: 5*time.Second + 40*time.Millisecond, Duration: 10 * time.Second,
				Target: 1000, Active: 998, Started: 1000, Events: 100205, EventsPerS: 20041.4,
				Errors: 2, TTFTP50: 201300 * time.Microsecond, TTFTP99: 214900 * time.Microsecond},
			want: "ssebench 5.0s/10s streams 998/1000 started 1000 events 20041/s (100205) errors 2 ttft p50 201.3ms p99 214.9ms",
		},
		{
			name: "open with stages and lag",
			s: Snapshot{Elapsed: 61 * time.Second, Duration: 2 * time.Minute, Stage: "stage 2/3",
				Open: true, Target: 12.5, Active: 40, Started: 700, EventsPerS: 3.25,
				LagP99: 1500 * time.Microsecond},
			want: "ssebench 61.0s/2m0s stage 2/3 streams 40 (target 12.5/s) started 700 events 3.2/s (0) errors 0 ttft p50 - p99 - lag p99 1.5ms",
		},
		{
			name: "nothing known",
			s:    Snapshot{},
			want: "ssebench 0.0s streams 0 started 0 events 0/s (0) errors 0 ttft p50 - p99 -",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Line("ssebench", tt.s); got != tt.want {
				t.Errorf("Line:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

// TestLinesMode runs Lines mode on synctest's fake clock: one line every
// LineEvery and a final one when ctx ends, reading the source only then.
func TestLinesMode(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var buf bytes.Buffer
		v := New(&buf, Options{Mode: Lines, LineEvery: 5 * time.Second})
		start := time.Now()
		var calls int
		source := func() Snapshot {
			calls++
			return Snapshot{Elapsed: time.Since(start), Duration: 12 * time.Second, Target: 10, Active: 10}
		}
		ctx, cancel := context.WithTimeout(t.Context(), 12*time.Second)
		defer cancel()
		v.Run(ctx, source)

		want := "ssebench 5.0s/12s streams 10/10 started 0 events 0/s (0) errors 0 ttft p50 - p99 -\n" +
			"ssebench 10.0s/12s streams 10/10 started 0 events 0/s (0) errors 0 ttft p50 - p99 -\n" +
			"ssebench 12.0s/12s streams 10/10 started 0 events 0/s (0) errors 0 ttft p50 - p99 -\n"
		if got := buf.String(); got != want {
			t.Errorf("output:\n%s\nwant:\n%s", got, want)
		}
		if calls != 3 {
			t.Errorf("source read %d times, want 3 (never more often than LineEvery)", calls)
		}
	})
}

func TestOffMode(t *testing.T) {
	var buf bytes.Buffer
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	New(&buf, Options{}).Run(ctx, func() Snapshot {
		t.Error("Off mode read the source")
		return Snapshot{}
	})
	if buf.Len() != 0 {
		t.Errorf("Off mode wrote %q", buf.String())
	}
}

// syncBuffer is a bytes.Buffer safe for mpb's writer goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestBarsMode draws mpb bars into a buffer: it must not panic, must write to
// the given writer only, and must show the last snapshot. The run stops
// after the source has been read a few times (no wall-clock assertions):
// the source cancels the run on its 3rd read, and Run reads it exactly once
// more, for the final frame, even when a tick is already due then.
func TestBarsMode(t *testing.T) {
	for _, open := range []bool{false, true} {
		var buf syncBuffer
		v := New(&buf, Options{Mode: Bars, Refresh: time.Millisecond, Width: 120})
		ctx, cancel := context.WithCancel(t.Context())
		var calls int
		source := func() Snapshot {
			calls++
			if calls == 3 {
				cancel()
			}
			return Snapshot{
				Elapsed: time.Duration(calls) * time.Second, Duration: 10 * time.Second,
				Stage: "stage 1/2", Open: open, Target: 50, Active: int64(calls * 20), Started: 77,
				Events: 1234, EventsPerS: 987, Errors: 1,
				TTFTP50: 200 * time.Millisecond, TTFTP99: 250 * time.Millisecond,
				LagP99: 3 * time.Millisecond,
			}
		}
		v.Run(ctx, source)
		cancel()
		if calls != 4 {
			t.Errorf("open=%v: source read %d times, want 4 (3, then once after the run ended)", open, calls)
		}
		out := buf.String()
		for _, want := range []string{"stage 1/2", "4.0s/10s", "started 77", "events 987/s (1234)",
			"errors 1", "ttft p50 200.0ms p99 250.0ms", "[", "]"} {
			if !strings.Contains(out, want) {
				t.Errorf("open=%v: output lacks %q:\n%s", open, want, out)
			}
		}
		if !open && !strings.Contains(out, "streams 80/50") {
			t.Errorf("closed: output lacks the active/target streams:\n%s", out)
		}
		if open && !strings.Contains(out, "lag p99 3.0ms") {
			t.Errorf("open: output lacks the lag:\n%s", out)
		}
	}
}
