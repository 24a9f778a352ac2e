package reports

import (
	"bufio"
	"bytes"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/ssebench/ssebench/scenarios"
)

// syncBuffer is what a file on disk would hold: the bytes written through
// to it, readable by another goroutine.
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

// readHLog decodes an interval log with hdrhistogram-go's own reader and
// returns the values per tag and the number of interval lines.
func readHLog(t *testing.T, text string) (map[string]int64, int) {
	t.Helper()
	r := hdrhistogram.NewHistogramLogReader(strings.NewReader(text))
	counts := map[string]int64{}
	lines := 0
	for {
		h, err := r.NextIntervalHistogram()
		if err != nil {
			t.Fatalf("log reader: %v\n%s", err, text)
		}
		if h == nil {
			return counts, lines
		}
		lines++
		counts[h.Tag()] += h.TotalCount()
	}
}

// TestHLogFlushedEveryTick: while a run is still consuming results, the
// writer behind a buffered interval log already holds every closed tick,
// and HdrHistogram's log reader decodes it. (A large bufio.Writer would
// hold everything until the end without the per-tick flush.)
func TestHLogFlushedEveryTick(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var disk syncBuffer
		w := bufio.NewWriterSize(&disk, 1<<20)
		a := NewAggregator(AggregatorOptions{Start: time.Now(), HLog: w})
		ch := make(chan *scenarios.Result)
		done := make(chan struct{})
		go func() { a.Consume(ch); close(done) }()
		closed := false
		defer func() { // a failed check must not leave Consume blocked
			if !closed {
				close(ch)
				<-done
			}
		}()

		send := func(n int) {
			for range n {
				ch <- res(scenarios.KindProgress, func(r *scenarios.Result) {
					r.Set(scenarios.TTFT, 3*time.Millisecond)
					r.AddGap(time.Millisecond)
					r.Events = 1
				})
			}
		}
		synctest.Wait()
		if !strings.Contains(disk.String(), "#[Histogram log format version 1.3]") {
			t.Fatalf("the header is not on disk when Consume starts: %q", disk.String())
		}

		send(40)                            // tick 1
		time.Sleep(1100 * time.Millisecond) // tick 1 has closed
		synctest.Wait()
		counts, lines := readHLog(t, disk.String())
		if counts["ttft"] != 40 || counts["gap"] != 40 || lines != 2 {
			t.Fatalf("after the first tick the log holds %v in %d lines, want 40 ttft and 40 gap in 2 lines:\n%s",
				counts, lines, disk.String())
		}

		send(25) // tick 2
		time.Sleep(time.Second)
		synctest.Wait()
		if counts, lines = readHLog(t, disk.String()); counts["ttft"] != 65 || lines != 4 {
			t.Fatalf("after the second tick the log holds %v in %d lines, want 65 ttft in 4 lines", counts, lines)
		}
		select {
		case <-done:
			t.Fatal("Consume returned before the channel was closed")
		default:
		}

		send(5) // the final partial tick
		close(ch)
		closed = true
		<-done
		if err := a.Err(); err != nil {
			t.Fatal(err)
		}
		if counts, _ = readHLog(t, disk.String()); counts["ttft"] != 70 || counts["gap"] != 70 {
			t.Errorf("the finished log holds %v, want 70 ttft and 70 gap", counts)
		}
	})
}

// flushFail accepts writes into its buffer but cannot flush them.
type flushFail struct{ bytes.Buffer }

func (*flushFail) Flush() error { return errDiskFull }

var errDiskFull = &diskFullError{}

type diskFullError struct{}

func (*diskFullError) Error() string { return "disk full on flush" }

// TestHLogFlushError: a failing flush is the log's error, reported by Err
// and in the File's notes, and nothing more is written.
func TestHLogFlushError(t *testing.T) {
	w := &flushFail{}
	a := NewAggregator(AggregatorOptions{Start: fixedStart, HLog: w})
	playTimed(a, synth{streams: 10, every: 100 * time.Millisecond, events: 3}.results(nil), 2*time.Second)
	if err := a.Err(); err == nil || !strings.Contains(err.Error(), "disk full on flush") {
		t.Fatalf("Err() = %v, want the flush error", err)
	}
	if strings.Contains(w.String(), "Tag=") {
		t.Errorf("interval lines were written after the failed flush:\n%s", w.String())
	}
	if f := a.Finish(Meta{}); !strings.Contains(strings.Join(f.Notes, "\n"), "disk full on flush") {
		t.Errorf("notes %q do not mention the flush failure", f.Notes)
	}
}
