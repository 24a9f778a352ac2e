package sse_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/ssebench/ssebench/conformance/sse"
)

// An encoder step: exactly one of Event, Retry and Comment.
type encStep struct {
	ev      *sse.Event
	retry   *time.Duration
	comment *string
}

func encEvent(typ, data, id string) encStep {
	return encStep{ev: &sse.Event{Type: typ, Data: data, ID: id}}
}
func encRetry(d time.Duration) encStep { return encStep{retry: &d} }
func encComment(s string) encStep      { return encStep{comment: &s} }

func (s encStep) run(e *sse.Encoder) error {
	switch {
	case s.ev != nil:
		return e.Encode(*s.ev)
	case s.retry != nil:
		return e.Retry(*s.retry)
	default:
		return e.Comment(*s.comment)
	}
}

// countingWriter counts Write calls (it has no WriteString, so
// io.WriteString goes through Write too).
type countingWriter struct {
	buf    bytes.Buffer
	writes int
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.writes++
	return w.buf.Write(p)
}

func (w *countingWriter) String() string { return w.buf.String() }

// The exact bytes the Encoder writes, and what a Reader makes of them.
func TestEncoder(t *testing.T) {
	for _, tc := range []struct {
		name  string
		steps []encStep
		wire  string
		read  []sse.Event // what the Reader dispatches
	}{
		{"data", []encStep{encEvent("", "hello", "")}, "data: hello\n\n", []sse.Event{msg("hello")}},
		{"empty-data", []encStep{encEvent("", "", "")}, "data:\n\n", []sse.Event{msg("")}},
		{"message-type-not-written", []encStep{encEvent("message", "x", "")}, "data: x\n\n", []sse.Event{msg("x")}},
		{"type", []encStep{encEvent("add", "x", "")}, "event: add\ndata: x\n\n", []sse.Event{ev("add", "x", "")}},
		{"leading-space-kept", []encStep{encEvent(" t", " x", " i")}, "event:  t\nid:  i\ndata:  x\n\n", []sse.Event{ev(" t", " x", " i")}},
		{"multi-line-lf", []encStep{encEvent("", "a\nb\nc", "")}, "data: a\ndata: b\ndata: c\n\n", []sse.Event{msg("a\nb\nc")}},
		{"multi-line-cr", []encStep{encEvent("", "a\rb", "")}, "data: a\ndata: b\n\n", []sse.Event{msg("a\nb")}},
		{"multi-line-crlf", []encStep{encEvent("", "a\r\nb", "")}, "data: a\ndata: b\n\n", []sse.Event{msg("a\nb")}},
		{"lf-cr-is-two-breaks", []encStep{encEvent("", "a\n\rb", "")}, "data: a\ndata:\ndata: b\n\n", []sse.Event{msg("a\n\nb")}},
		{"trailing-newline", []encStep{encEvent("", "a\n", "")}, "data: a\ndata:\n\n", []sse.Event{msg("a\n")}},
		{"only-newline", []encStep{encEvent("", "\n", "")}, "data:\ndata:\n\n", []sse.Event{msg("\n")}},
		{"id-written-once", []encStep{
			encEvent("add", "1", "123"), encEvent("add", "2", "123"), encEvent("add", "3", "124"),
		}, "event: add\nid: 123\ndata: 1\n\nevent: add\ndata: 2\n\nevent: add\nid: 124\ndata: 3\n\n",
			[]sse.Event{ev("add", "1", "123"), ev("add", "2", "123"), ev("add", "3", "124")}},
		{"id-reset-line", []encStep{encEvent("", "a", "7"), encEvent("", "b", "")},
			"id: 7\ndata: a\n\nid\ndata: b\n\n", []sse.Event{ev("", "a", "7"), msg("b")}},
		{"no-id-line-at-first-empty-id", []encStep{encEvent("", "a", "")}, "data: a\n\n", []sse.Event{msg("a")}},
		{"retry", []encStep{encRetry(1500 * time.Millisecond)}, "retry: 1500\n\n", nil},
		{"retry-rounds-down", []encStep{encRetry(1999 * time.Microsecond)}, "retry: 1\n\n", nil},
		{"retry-zero", []encStep{encRetry(0)}, "retry: 0\n\n", nil},
		{"comment", []encStep{encComment("ping")}, ": ping\n", nil},
		{"empty-comment", []encStep{encComment("")}, ":\n", nil},
		{"multi-line-comment", []encStep{encComment("a\nb\r\nc\rdata: x")}, ": a\n: b\n: c\n: data: x\n", nil},
		{"comment-cannot-inject", []encStep{encComment("x\n\ndata: evil\n"), encEvent("", "ok", "")},
			": x\n:\n: data: evil\n:\ndata: ok\n\n", []sse.Event{msg("ok")}},
		{"everything", []encStep{encRetry(3 * time.Second), encComment("hi"), encEvent("t", "a\nb", "1")},
			"retry: 3000\n\n: hi\nevent: t\nid: 1\ndata: a\ndata: b\n\n", []sse.Event{ev("t", "a\nb", "1")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var w countingWriter
			enc := sse.NewEncoder(&w)
			for i, s := range tc.steps {
				if err := s.run(enc); err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
			}
			if w.String() != tc.wire {
				t.Errorf("wrote %q\nwant  %q", w.String(), tc.wire)
			}
			if w.writes != len(tc.steps) {
				t.Errorf("%d writes for %d calls: each call must issue exactly one", w.writes, len(tc.steps))
			}
			got := readAll(t, strings.NewReader(tc.wire), sse.Options{}, false, len(tc.wire))
			if got.End != "eof" || len(got.Diags) != 0 || !sameOutcome(outcome{Events: got.Events}, outcome{Events: tc.read}, false) {
				t.Errorf("read back %+v, want events %+q and a clean end", got, tc.read)
			}
		})
	}
}

// Values the wire format cannot carry are refused, and nothing is written.
func TestEncoderInvalid(t *testing.T) {
	for _, tc := range []struct {
		name string
		step encStep
	}{
		{"type-lf", encEvent("a\nb", "x", "")},
		{"type-cr", encEvent("a\rb", "x", "")},
		{"id-lf", encEvent("", "x", "a\nb")},
		{"id-cr", encEvent("", "x", "a\r")},
		{"id-nul", encEvent("", "x", "a\x00b")},
		{"negative-retry", encRetry(-time.Millisecond)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var w countingWriter
			err := tc.step.run(sse.NewEncoder(&w))
			if !errors.Is(err, sse.ErrInvalidField) {
				t.Errorf("got %v, want ErrInvalidField", err)
			}
			if w.writes != 0 {
				t.Errorf("wrote %q", w.String())
			}
		})
	}
}

// failWriter fails every write.
type failWriter struct{}

var errWrite = errors.New("write failed")

func (failWriter) Write([]byte) (int, error) { return 0, errWrite }

// switchWriter fails while fail is set.
type switchWriter struct {
	bytes.Buffer
	fail bool
}

func (w *switchWriter) Write(p []byte) (int, error) {
	if w.fail {
		return 0, errWrite
	}
	return w.Buffer.Write(p)
}

// A failed write is reported, and an id that was not written is written
// again with the next event.
func TestEncoderWriteError(t *testing.T) {
	enc := sse.NewEncoder(failWriter{})
	for i, s := range []encStep{encEvent("", "x", ""), encRetry(time.Second), encComment("c")} {
		if err := s.run(enc); !errors.Is(err, errWrite) {
			t.Errorf("step %d: got %v, want the write error", i, err)
		}
	}
	var w switchWriter
	enc = sse.NewEncoder(&w)
	w.fail = true
	if err := enc.Encode(sse.Event{Data: "a", ID: "1"}); !errors.Is(err, errWrite) {
		t.Fatalf("got %v", err)
	}
	w.fail = false
	if err := enc.Encode(sse.Event{Data: "b", ID: "1"}); err != nil {
		t.Fatal(err)
	}
	if w.String() != "id: 1\ndata: b\n\n" {
		t.Errorf("after a failed write: %q", w.String())
	}
}

var _ io.Writer = (*countingWriter)(nil)
