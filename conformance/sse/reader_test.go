package sse_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ssebench/ssebench/conformance/sse"
)

// A1: the Encoding Standard's UTF-8 decoder, case by case
// (https://encoding.spec.whatwg.org/#utf-8-decoder).
func TestAppendDecodeUTF8(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"ascii", "abc", "abc"},
		{"empty", "", ""},
		{"two-byte", "\xC3\xA9", "é"},
		{"three-byte", "\xE2\x82\xAC", "€"},
		{"four-byte", "\xF0\x9F\x98\x80", "😀"},
		{"encoded-fffd", "\xEF\xBF\xBD", "\uFFFD"},
		{"bom-is-kept", "\xEF\xBB\xBF", "\uFEFF"},
		{"truncated-e4-bd-is-one", "\xE4\xBD", "\uFFFD"},
		{"truncated-then-ascii", "\xE4\xBDa", "\uFFFDa"},
		{"truncated-4byte-is-one", "\xF0\x9F\x98", "\uFFFD"},
		{"truncated-twice", "\xE4\xBD\xE4\xBD", "\uFFFD\uFFFD"},
		{"overlong-f0-80-80-is-three", "\xF0\x80\x80", "\uFFFD\uFFFD\uFFFD"},
		{"overlong-e0-80-80-is-three", "\xE0\x80\x80", "\uFFFD\uFFFD\uFFFD"},
		{"overlong-c0-80-is-two", "\xC0\x80", "\uFFFD\uFFFD"},
		{"c1", "\xC1\xBF", "\uFFFD\uFFFD"},
		{"surrogate-ed-a0-80-is-three", "\xED\xA0\x80", "\uFFFD\uFFFD\uFFFD"},
		{"last-before-surrogates", "\xED\x9F\xBF", "\uD7FF"},
		{"above-10ffff-f4-90", "\xF4\x90\x80\x80", "\uFFFD\uFFFD\uFFFD\uFFFD"},
		{"max-10ffff", "\xF4\x8F\xBF\xBF", "\U0010FFFF"},
		{"f5-and-up", "\xF5\xFF\xFE", "\uFFFD\uFFFD\uFFFD"},
		{"lone-continuations", "\x80\xBF", "\uFFFD\uFFFD"},
		{"lead-then-lead", "\xE4\xE4\xBD\xA0", "\uFFFD你"},
		{"valid-prefix-then-invalid", "\xF0\x9F\x98\x41", "\uFFFDA"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := string(sse.AppendDecodeUTF8([]byte("prefix:"), []byte(tc.in)))
			if got != "prefix:"+tc.want {
				t.Errorf("AppendDecodeUTF8(%q) = %+q, want %+q", tc.in, got[7:], tc.want)
			}
			if ref := refDecodeString(tc.in); ref != tc.want {
				t.Errorf("reference decoder gives %+q, want %+q", ref, tc.want)
			}
		})
	}
}

// A1: a character split across reads is one character, wherever the split.
func TestMultiByteSplitAcrossReads(t *testing.T) {
	const in = "data: é€😀\n\n"
	for i := 1; i < len(in); i++ {
		for j := i + 1; j < len(in); j++ {
			src, done := pipeWrites([]byte(in[:i]), []byte(in[i:j]), []byte(in[j:]))
			rd := sse.NewReader(src, nil)
			e, err := rd.Next()
			done()
			if err != nil || e.Data != "é€😀" {
				t.Fatalf("split at %d and %d: got %+q, %v", i, j, e.Data, err)
			}
		}
	}
}

// A6, and the reading the package doc settles (rule A6): the last event ID persists across
// reconnects when each new Reader is seeded with the previous one's
// LastEventID (wpt format-field-id, format-field-id-null,
// format-data-before-final-empty-line; LaunchDarkly "discards partial
// messages on retry").
func TestLastEventIDAcrossReaders(t *testing.T) {
	type conn struct {
		in       string
		want     []sse.Event
		wantLast string // LastEventID() after this connection: the next Last-Event-ID
	}
	for _, tc := range []struct {
		name  string
		conns []conn
	}{
		{"format-field-id-2", []conn{
			{"id: \xE2\x80\xA6\nretry: 200\ndata: hello\n\n", []sse.Event{ev("", "hello", "…")}, "…"},
			{"data: \xE2\x80\xA6\n\n", []sse.Event{ev("", "…", "…")}, "…"},
			{"data: \xE2\x80\xA6\n\n", []sse.Event{ev("", "…", "…")}, "…"},
		}},
		{"format-field-id-null", []conn{
			{"id: \x00\x00\nretry: 200\ndata: hello\n\n", []sse.Event{msg("hello")}, ""},
			{"data: hello\n\n", []sse.Event{msg("hello")}, ""},
		}},
		{"format-data-before-final-empty-line", []conn{
			{"retry:1000\ndata:test1\n\nid:test\ndata:test2\n", []sse.Event{msg("test1")}, ""},
			{"retry:1000\ndata:test1\n\nid:test\ndata:test2\n", []sse.Event{msg("test1")}, ""},
		}},
		{"ld/discards-partial-message-on-retry", []conn{
			{"id: abc\ndata: Hello\n\nid: def\ndata: Goodbye", []sse.Event{ev("", "Hello", "abc")}, "abc"},
			{"data: again\n\n", []sse.Event{ev("", "again", "abc")}, "abc"},
		}},
		{"ld/empty-id-means-no-header", []conn{
			{"id: abc\ndata: Hello\n\nid: \ndata: World\n\n", []sse.Event{ev("", "Hello", "abc"), msg("World")}, ""},
			{"data: x\n\n", []sse.Event{msg("x")}, ""},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			last := ""
			for i, c := range tc.conns {
				rd := sse.NewReader(strings.NewReader(c.in), &sse.Options{LastEventID: last})
				var got []sse.Event
				for {
					e, err := rd.Next()
					if err != nil {
						break
					}
					got = append(got, e)
				}
				if fmt.Sprint(got) != fmt.Sprint(c.want) {
					t.Errorf("connection %d: got %+q, want %+q", i+1, got, c.want)
				}
				last = rd.LastEventID()
				if last != c.wantLast {
					t.Errorf("connection %d: LastEventID() = %q, want %q", i+1, last, c.wantLast)
				}
			}
		})
	}
}

// scriptReader serves the chunks queued so far and reports errStarved when
// it has none, so a test can prove the Reader dispatched without asking for
// more bytes.
type scriptReader struct {
	chunks [][]byte
	closed bool
}

var errStarved = errors.New("scriptReader: Reader asked for bytes the server has not sent")

func (s *scriptReader) Read(p []byte) (int, error) {
	if len(s.chunks) == 0 {
		if s.closed {
			return 0, io.EOF
		}
		return 0, errStarved
	}
	n := copy(p, s.chunks[0])
	if s.chunks[0] = s.chunks[0][n:]; len(s.chunks[0]) == 0 {
		s.chunks = s.chunks[1:]
	}
	return n, nil
}

// A2, edge-14: an event ended by CR CR is dispatched at once: the Reader must
// not wait for a possible LF. The LF that follows later is part of the
// CRLF and must not end another line.
func TestDispatchDoesNotWaitForLF(t *testing.T) {
	src := &scriptReader{chunks: [][]byte{[]byte("data: x\r"), []byte("\r")}}
	rd := sse.NewReader(src, nil)
	e, err := rd.Next()
	if err != nil || e.Data != "x" {
		t.Fatalf("first event: got %+q, %v; want x before more bytes arrive", e, err)
	}
	src.chunks = append(src.chunks, []byte("\n"), []byte("data: y\n\n"))
	src.closed = true
	if e, err := rd.Next(); err != nil || e.Data != "y" {
		t.Fatalf("second event: got %+q, %v", e, err)
	}
	if _, err := rd.Next(); err != io.EOF {
		t.Fatalf("got %v, want io.EOF: exactly two events", err)
	}
}

// A1: the BOM check waits for three bytes only while they could be a BOM.
func TestBOMCheckDoesNotStarve(t *testing.T) {
	for _, first := range []string{"d", "\xEF", "\xEF\xBB", "\xEF\xBB\xBF"} {
		rest := strings.TrimPrefix("\xEF\xBB\xBFdata: x\n\n", first)
		if first == "d" {
			rest = "ata: x\n\n"
		}
		src := &scriptReader{chunks: [][]byte{[]byte(first), []byte(rest)}}
		e, err := sse.NewReader(src, nil).Next()
		if err != nil || e.Data != "x" {
			t.Errorf("first chunk %q: got %+q, %v", first, e, err)
		}
	}
}

// repeatReader returns pattern over and over, forever, counting bytes.
type repeatReader struct {
	pattern []byte
	pos     int
	n       int64
}

func (r *repeatReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = r.pattern[r.pos]
		r.pos = (r.pos + 1) % len(r.pattern)
	}
	r.n += int64(len(p))
	return len(p), nil
}

// A8: an endless line or event ends in a *LimitError, and the Reader's
// memory stays within the limits on the way.
func TestLimitsBoundMemory(t *testing.T) {
	for _, tc := range []struct {
		name    string
		prefix  string
		pattern string
		opts    sse.Options
		want    string
		maxRead int64 // bytes the Reader may pull from the source
		maxHeap uint64
	}{
		{"endless-line", "", "a", sse.Options{MaxLine: 1000}, "limit:line@0", 1002, 64 << 10},
		{"endless-line-after-events", "data: x\n\n", "a", sse.Options{MaxLine: 1000}, "limit:line@9", 1002 + 9, 64 << 10},
		{"endless-line-default-limit", "", "a", sse.Options{}, "limit:line@0", sse.DefaultMaxLine + 2, 2*sse.DefaultMaxLine + 64<<10},
		{"endless-line-of-cr-free-bytes", "data: ", "\xFF", sse.Options{MaxLine: 4096}, "limit:line@0", 4098, 64 << 10},
		{"endless-event", "", "data: aaaaaaaaaaaaaaaaaaaaaaaaa\n", sse.Options{MaxEvent: 1 << 16}, "", 0, 1 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := &repeatReader{pattern: []byte(tc.pattern)}
			var ms0, ms1 runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&ms0)
			rd := sse.NewReader(io.MultiReader(strings.NewReader(tc.prefix), src), &tc.opts)
			var err error
			for err == nil {
				_, err = rd.Next()
			}
			runtime.ReadMemStats(&ms1)
			if !errors.Is(err, sse.ErrLimit) {
				t.Fatalf("got %v, want a *LimitError", err)
			}
			if tc.want != "" && endString(err) != tc.want {
				t.Errorf("got %s, want %s", endString(err), tc.want)
			}
			maxLine := tc.opts.MaxLine
			if maxLine == 0 {
				maxLine = sse.DefaultMaxLine
			}
			if c := sse.BufCap(rd); c > maxLine+2 {
				t.Errorf("read buffer grew to %d bytes, limit %d", c, maxLine+2)
			}
			if tc.opts.MaxEvent != 0 {
				if c := sse.DataCap(rd); c > tc.opts.MaxEvent {
					t.Errorf("data buffer grew to %d bytes, limit %d", c, tc.opts.MaxEvent)
				}
			}
			if tc.maxRead != 0 && src.n > tc.maxRead {
				t.Errorf("read %d bytes of the endless line, want at most %d", src.n, tc.maxRead)
			}
			if a := ms1.TotalAlloc - ms0.TotalAlloc; a > tc.maxHeap {
				t.Errorf("allocated %d bytes, want at most %d", a, tc.maxHeap)
			}
		})
	}
}

// A8, edge-36: big events pass when the limits allow them, in one read, two
// reads, or many random ones.
func TestLargeEvents(t *testing.T) {
	raw := make([]byte, 5<<20*3/4)
	for i := range raw {
		raw[i] = byte(i * 7)
	}
	payload := base64.StdEncoding.EncodeToString(raw) // 5 MiB
	in := []byte("data: " + payload + "\n\n")
	sum := sha256.Sum256([]byte(payload))
	opts := sse.Options{MaxLine: 6 << 20}
	for _, c := range []struct {
		name string
		src  func() (io.Reader, func())
	}{
		{"one-read", func() (io.Reader, func()) { return bytes.NewReader(in), noop }},
		{"two-writes", func() (io.Reader, func()) { return pipeWrites(in[:len(in)/2], in[len(in)/2:]) }},
		{"random-reads", func() (io.Reader, func()) {
			return &randomReader{data: in, rng: rand.New(rand.NewPCG(1, 2)), max: 70000}, noop
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			src, done := c.src()
			defer done()
			rd := sse.NewReader(src, &opts)
			e, err := rd.Next()
			if err != nil {
				t.Fatal(err)
			}
			if sha256.Sum256([]byte(e.Data)) != sum {
				t.Fatalf("data of %d bytes does not match the %d sent", len(e.Data), len(payload))
			}
			if _, err := rd.Next(); err != io.EOF {
				t.Fatalf("got %v after the event, want io.EOF", err)
			}
		})
	}
	t.Run("default-line-limit", func(t *testing.T) {
		// DefaultMaxLine is 1 MiB: a 5 MiB one-line event needs a larger
		// MaxLine, and without it the Reader says so instead of growing.
		_, err := sse.NewReader(bytes.NewReader(in), nil).Next()
		if endString(err) != "limit:line@0" {
			t.Fatalf("got %v, want limit:line@0", err)
		}
	})
}

// Errors of the source come back as they are (not as ErrEOFMidEvent, even
// in the middle of an event), and stay.
func TestSourceErrors(t *testing.T) {
	reset := errors.New("connection reset")
	src := io.MultiReader(strings.NewReader("data: a\n\ndata: b"), errReader{err: reset})
	rd := sse.NewReader(src, nil)
	if e, err := rd.Next(); err != nil || e.Data != "a" {
		t.Fatalf("got %+q, %v", e, err)
	}
	for range 2 {
		if _, err := rd.Next(); err != reset {
			t.Fatalf("got %v, want the source's error", err)
		}
	}

	// A source that keeps returning 0, nil.
	_, err := sse.NewReader(errReader{}, nil).Next()
	if err != io.ErrNoProgress {
		t.Errorf("empty reads: got %v, want io.ErrNoProgress", err)
	}
	// A source that claims more bytes than it was given.
	_, err = sse.NewReader(badCount{}, nil).Next()
	if err == nil || err == io.EOF {
		t.Errorf("invalid count: got %v, want an error", err)
	}
}

// errReader returns err (or 0, nil forever when err is nil).
type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

type badCount struct{}

func (badCount) Read(p []byte) (int, error) { return len(p) + 1, nil }

// A7: the error for a discarded event says where it started and what it
// held.
func TestEOFMidEventError(t *testing.T) {
	rd := sse.NewReader(strings.NewReader("id: abc\ndata: Hello\n\n: c\nid: def\ndata: Goodbye"), nil)
	rd.Next()
	_, err := rd.Next()
	var mid *sse.EOFMidEventError
	if !errors.As(err, &mid) || !errors.Is(err, sse.ErrEOFMidEvent) {
		t.Fatalf("got %v, want *EOFMidEventError", err)
	}
	if mid.Offset != 25 || string(mid.Pending) != "id: def\ndata: Goodbye" {
		t.Errorf("got offset %d, pending %q", mid.Offset, mid.Pending)
	}
	want := `sse: stream ended in the middle of an event starting at byte 25: "id: def\ndata: Goodbye"`
	if err.Error() != want {
		t.Errorf("Error() = %s\nwant      %s", err, want)
	}
	lim := &sse.LimitError{What: "line", Limit: 8, Offset: 9}
	if lim.Error() != "sse: line at byte 9 exceeds the 8-byte limit" || errors.Is(lim, sse.ErrEOFMidEvent) {
		t.Errorf("LimitError: %v", lim)
	}
}

// Every diagnostic kind, with its offset, line, event count and text.
func TestDiagnostics(t *testing.T) {
	long := "foo:" + strings.Repeat("x", 300)
	for _, tc := range []struct {
		name string
		in   string
		want sse.Diagnostic
		text string
	}{
		{"invalid-utf8", "data: a\n\ndata: \xE4\xBD\n\n",
			sse.Diagnostic{Kind: sse.DiagInvalidUTF8, Offset: 15, Line: []byte("data: \xE4\xBD"), Event: 1},
			`invalid-utf8 at byte 15: "data: \xe4\xbd"`},
		{"bom-not-at-start", "\xEF\xBB\xBFdata: a\n\ndata: \xEF\xBB\xBF\n\n",
			sse.Diagnostic{Kind: sse.DiagBOM, Offset: 18, Line: []byte("data: \xEF\xBB\xBF"), Event: 1},
			`bom-not-at-start at byte 18: "data: \ufeff"`},
		{"unknown-field", "data: a\n\nDATA: b\n\n",
			sse.Diagnostic{Kind: sse.DiagUnknownField, Offset: 9, Line: []byte("DATA: b"), Event: 1},
			`unknown-field at byte 9: "DATA: b"`},
		{"unknown-field-long-line", long + "\n\n",
			sse.Diagnostic{Kind: sse.DiagUnknownField, Offset: 0, Line: []byte(long[:256])},
			`unknown-field at byte 0: "` + long[:256] + `"`},
		{"bad-retry", "data: a\n\nretry: 1x\ndata: b\n\n",
			sse.Diagnostic{Kind: sse.DiagBadRetry, Offset: 9, Line: []byte("retry: 1x"), Event: 1},
			`bad-retry at byte 9: "retry: 1x"`},
		{"nul-in-id", "id: a\x00\ndata: b\n\n",
			sse.Diagnostic{Kind: sse.DiagNulInID, Offset: 0, Line: []byte("id: a\x00")},
			`nul-in-id at byte 0: "id: a\x00"`},
		{"block-without-data", ": c\nevent: x\nid: 1\n\n",
			sse.Diagnostic{Kind: sse.DiagNoData, Offset: 4, Line: []byte{}},
			`block-without-data at byte 4: ""`},
		{"eof-mid-event", "data: a\n\ndata: b\n",
			sse.Diagnostic{Kind: sse.DiagEOFMidEvent, Offset: 9, Line: []byte("data: b\n"), Event: 1},
			`eof-mid-event at byte 9: "data: b\n"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []sse.Diagnostic
			rd := sse.NewReader(strings.NewReader(tc.in), &sse.Options{OnDiagnostic: func(d sse.Diagnostic) { got = append(got, d) }})
			for {
				if _, err := rd.Next(); err != nil {
					break
				}
			}
			if len(got) != 1 {
				t.Fatalf("got %d diagnostics %v, want 1", len(got), got)
			}
			d := got[0]
			if d.Kind != tc.want.Kind || d.Offset != tc.want.Offset || !bytes.Equal(d.Line, tc.want.Line) || d.Event != tc.want.Event {
				t.Errorf("got %+v\nwant %+v", d, tc.want)
			}
			if d.String() != tc.text {
				t.Errorf("String() = %s\nwant       %s", d, tc.text)
			}
		})
	}
	if s := sse.DiagnosticKind(200).String(); s != "diagnostic(200)" {
		t.Errorf("unknown kind: %q", s)
	}
	for k := sse.DiagInvalidUTF8; k <= sse.DiagEOFMidEvent; k++ {
		if strings.HasPrefix(k.String(), "diagnostic(") {
			t.Errorf("kind %d has no name", k)
		}
	}
}

// A diagnostic's Line is a copy: it must survive the Reader's next call.
func TestDiagnosticLineIsACopy(t *testing.T) {
	var lines [][]byte
	rd := sse.NewReader(strings.NewReader("foo: 1\nbar: 2\n\n"), &sse.Options{
		OnDiagnostic: func(d sse.Diagnostic) { lines = append(lines, d.Line) },
	})
	rd.Next()
	if len(lines) != 2 || string(lines[0]) != "foo: 1" || string(lines[1]) != "bar: 2" {
		t.Errorf("lines: %q", lines)
	}
}

// Next allocates at most once per event, NextView never (after warm-up),
// even when the type and the id change every event.
func TestAllocations(t *testing.T) {
	stream := "event: a\nid: 1\ndata: {\"x\":1}\n\nevent: b\nid: 2\ndata: {\"x\":2}\n\n: ping\ndata: same\n\n"
	rd := sse.NewReader(&repeatReader{pattern: []byte(stream)}, nil)
	for range 10 {
		rd.Next()
	}
	if n := testing.AllocsPerRun(1000, func() {
		if _, err := rd.Next(); err != nil {
			t.Fatal(err)
		}
	}); n > 1 {
		t.Errorf("Next: %.2f allocations per event, want <= 1", n)
	}
	if n := testing.AllocsPerRun(1000, func() {
		if _, err := rd.NextView(); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("NextView: %.2f allocations per event, want 0", n)
	}
}

// The strings Next returns do not alias the Reader's buffers.
func TestNextStringsAreStable(t *testing.T) {
	rd := sse.NewReader(strings.NewReader("event: a\nid: 1\ndata: one\n\nevent: b\nid: 2\ndata: two\n\n"), &sse.Options{BufferSize: 8})
	e1, _ := rd.Next()
	e2, _ := rd.Next()
	if e1 != ev("a", "one", "1") || e2 != ev("b", "two", "2") {
		t.Errorf("got %+q, %+q", e1, e2)
	}
	if !utf8.ValidString(e1.Data + e2.Data) {
		t.Error("invalid UTF-8 from Next")
	}
}

// TestViewTypeSeq: TypeSeq stays while the type does (whether an event
// field repeats it or, for "message", no event field sets one), and
// changes with it, blocks without data included.
func TestViewTypeSeq(t *testing.T) {
	in := "event: add\ndata: 1\n\nevent: add\ndata: 2\n\n" + // add, add
		"data: 3\n\ndata: 4\n\nevent:\ndata: 5\n\n" + // message x3 (an empty event field is "message")
		"event: add\ndata: 6\n\nevent: other\n\nevent: add\ndata: 7\n\n" + // add; a block without data sets other; add
		"event: add\nevent: x\ndata: 8\n\nevent: x\ndata: 9\n\n" // x, x
	rd := sse.NewReader(strings.NewReader(in), nil)
	var types []string
	var seqs []uint64
	for {
		v, err := rd.NextView()
		if err != nil {
			break
		}
		types = append(types, string(v.Type))
		seqs = append(seqs, v.TypeSeq)
	}
	want := []string{"add", "add", "message", "message", "message", "add", "add", "x", "x"}
	if !slices.Equal(types, want) {
		t.Fatalf("types %q, want %q", types, want)
	}
	for i := 1; i < len(seqs); i++ {
		same := types[i] == types[i-1]
		if same && i != 6 && seqs[i] != seqs[i-1] {
			t.Errorf("event %d (%s after %s): TypeSeq %d -> %d, want it kept", i, types[i], types[i-1], seqs[i-1], seqs[i])
		}
		if !same && seqs[i] == seqs[i-1] {
			t.Errorf("event %d (%s after %s): TypeSeq %d kept, want a change", i, types[i], types[i-1], seqs[i])
		}
	}
}
