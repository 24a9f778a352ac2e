package sse_test

import (
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/ssebench/ssebench/conformance/sse"
)

// Without OnDiagnostic the Reader parses the lines of buffered bytes it
// knows to hold valid UTF-8 in a fast path, and everything else in the
// general one; with OnDiagnostic set every line takes the general path. The
// tests below hold the fast path to the general one: the same input, cut
// into reads of every size, must give what the general path gives one byte
// at a time, down to the offsets and the pending head of a lost event.

// fastOutcome is everything observable about one parse, the pending head of
// an EOFMidEventError and the final Offset included.
type fastOutcome struct {
	Events     []sse.Event
	Retries    []time.Duration
	Comments   []string
	End        string
	Pending    string
	LastID     string
	Offset     int64
	Dispatched int64
}

// parseFast reads src to its end with opts; diag installs an OnDiagnostic
// (which turns the fast path off), bare leaves OnComment and OnRetry nil,
// and view reads through NextView instead of Next.
func parseFast(t *testing.T, src io.Reader, opts sse.Options, diag, bare, view bool) fastOutcome {
	t.Helper()
	var o fastOutcome
	if !bare {
		opts.OnRetry = func(d time.Duration) { o.Retries = append(o.Retries, d) }
		opts.OnComment = func(b []byte) { o.Comments = append(o.Comments, string(b)) }
	}
	if diag {
		opts.OnDiagnostic = func(sse.Diagnostic) {}
	}
	rd := sse.NewReader(src, &opts)
	var err error
	var prevSeq uint64
	var prevType string
	for len(o.Events) < 10000 {
		var e sse.Event
		if view {
			var v sse.View
			v, err = rd.NextView()
			e = sse.Event{Type: string(v.Type), Data: string(v.Data), ID: string(v.ID)}
			if err == nil {
				// TypeSeq's promise: the same seq, the same type.
				if len(o.Events) > 0 && v.TypeSeq == prevSeq && e.Type != prevType {
					t.Fatalf("event %d: type %q after %q with the same TypeSeq %d", len(o.Events), e.Type, prevType, v.TypeSeq)
				}
				prevSeq, prevType = v.TypeSeq, e.Type
			}
		} else {
			e, err = rd.Next()
		}
		if err != nil {
			break
		}
		o.Events = append(o.Events, e)
	}
	o.End = endString(err)
	var mid *sse.EOFMidEventError
	if errors.As(err, &mid) {
		o.Pending = string(mid.Pending)
	}
	o.LastID, o.Offset, o.Dispatched = rd.LastEventID(), rd.Offset(), rd.Dispatched()
	if errors.Is(err, sse.ErrLimit) {
		// Where a read stops after a limit error depends on the reads
		// (whether the LF of a CRLF had arrived), in either path.
		o.Offset = 0
	}
	return o
}

// chunkReader returns its data in reads of exactly n bytes (fewer at the
// end).
type chunkReader struct {
	data []byte
	n    int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), r.n)], r.data)
	r.data = r.data[n:]
	return n, nil
}

// fastPathInputs are streams that exercise where the fast path must hand
// over to the general one: CR and CRLF line ends (also cut between CR and
// LF), a BOM, invalid and split UTF-8, lines and events around the limits,
// comments, retry, unknown fields, several data lines, blocks without data,
// and streams that end mid-event.
func fastPathInputs() []string {
	llm := llmPayloads()
	in := []string{
		llm["openai"][:1200], llm["eventsource"][:900],
		"data: a\ndata: b\n\nevent: e\nid: 1\ndata: c\n\n",
		"data: a\r\ndata: b\r\n\r\nevent: e\r\nid: 1\r\ndata: c\r\n\r\n",
		"data: a\rdata: b\r\revent: e\rid: 1\rdata: c\r\r",
		"data: one\n\ndata: two\r\n\r\ndata: three\n\ndata: four\r\rdata: five\n\n",
		"data: x\r\n\ndata: y\n\r\ndata: z\r\r\n\r\n",
		"\xEF\xBB\xBFdata: bom\n\ndata: \xEF\xBB\xBFinner\n\n",
		"\xEF\xBB\xBF\xEF\xBB\xBFdata: two boms\n\n",
		"data: é€😀 ok\n\ndata: bad \xE4\xBD here\n\ndata: after\n\n",
		"data: \xFF\ndata: \xF0\x80\x80\n\nevent: \xC3\nid: \xED\xA0\x80\ndata: x\n\n",
		"data: 你好\r\n\r\ndata: \xE4\xBD\xA0\xE5\xA5\n\n",
		":comment\ndata: a\n: another\n\n:\n\ndata: b\n\n",
		"retry: 1500\ndata: a\n\nretry: x1\nretry:\nretry: 99999999999999999999\ndata: b\n\n",
		"foo: bar\nData: no\n data: no\ndata\n\ndata:\n\ndata:  two spaces\n\n",
		"event\ndata: a\n\nevent:\ndata: b\n\nevent: x\n\ndata: c\n\n",
		"id: 1\ndata: a\n\nid\ndata: b\n\nid: 3\n\ndata: c\n\nid: a\x00b\ndata: d\n\nid:\ndata: e\n\n",
		// A NUL at every place of an id value's 8-byte words, and just past
		// the value (in the next line), which must not count.
		"id: 0123456\x00\ndata: a\n\nid: 01234567\x00\ndata: b\n\nid: \x00\ndata: c\n\nid: 0123456789abcde\x00f\ndata: d\n\nid: 42\n\x00: x\ndata: e\n\nid: 7\ndata: \x00\n\n",
		"data: a\ndata: b\ndata: c\ndata:\ndata\n\ndata: single\n\n",
		// scanShort's edges: types and ids of 8 and 9 bytes, with and
		// without the space, a type that changes at the same length, a
		// second data line, lines whose LF is the 15th and 16th byte.
		"event: abcdefgh\nid: 12345678\ndata: a\n\nevent: abcdefgh\nid: 123456789\ndata: b\n\n" +
			"event: abcdefghi\nid:12345678\ndata:c\n\nevent:abcdefgh\nid:\ndata:\n\nevent:  x\nid:  y\ndata:  z\n\n" +
			"event: add\ndata: d\n\nevent: adc\ndata: e\n\nevent: adc\ndata: f\ndata: g\n\nevent:\ndata: h\n\n" +
			"event: b\ndata: x\n\nevent: c\ndata: y\n\nevent: bcdefgh\ndata: z\n\nevent: ccdefgh\ndata: z\n\n" + // types one bit apart
			"data: 012345678\n\ndata: 0123456789\n\ndata:0123456789\n\nid: 1\n\ndata: i\n\n",
		// Long data lines after a first event (so that, read in chunks,
		// one lands at the start of the buffer, and fills it): values of
		// 15 to 17 bytes, and lines of 25 and 26 bytes.
		"data: a\n\ndata: 0123456789abcde\n\n", "data: a\n\ndata: 0123456789abcdef\n\n", "data: a\n\ndata: 0123456789abcdefg\n\n",
		"data: a\n\ndata:0123456789abcde\n\n", "data: a\n\ndata:0123456789abcdef\n\n", "data: a\n\ndata:0123456789abcdefg\n\n",
		"data: a\n\ndata: 0123456789abcdefghi\n\n", "data: a\n\ndata: 0123456789abcdefghij\n\n",
		"data: a\n\ndata: 0123456789abcdefghij\ndata: second\n\n", "data: a\n\nevent: e\nid: 1\ndata: 0123456789abcdefghij\n\n",
		"data: 0123456789abc\n\ndata: 0123456789abcd\n\ndata: 0123456789abcdef\n\n",
		"data: 0123456789abcdefghijk\n\n",
		"data: 0123456789abcdefghijk\r\n\r\n",
		": 0123456789abcdefghijklmnopqrstuvwxyz\n\n",
		"data: 12345678901234567\n\n",
		"data: 1234567890\ndata: 123456789012\n\n",
		"data: a\n\ndata: unfinished",
		"data: a\n\nid: 9\ndata: b\n: c\n",
		"data: a\n\nid: 9\r\ndata: \xFFb\r: c\rdata",
		"data: a\n\n:unterminated comment",
		"event: e\n" + strings.Repeat("data: 0123456789\n", 20),
		"id: x\n\n\n\r\n\r\rdata: after blanks\n\n",
		"\n\n\r\n\r\r",
		"",
		"data",
		"\xEF\xBB",
	}
	for _, vs := range [][]vector{wptVectors, cpVectors, ldVectors, ruleVectors} {
		for _, v := range vs {
			if len(v.in) <= 600 {
				in = append(in, v.in)
			}
		}
	}
	return in
}

// TestFastPathAgrees feeds every input in reads of every size from 1 to its
// length (or to 64 and then its length, for long inputs) with several
// buffer sizes and limits, through Next and NextView, with and without
// OnComment and OnRetry, and wants what the general path gives one byte
// at a time.
func TestFastPathAgrees(t *testing.T) {
	optSets := []sse.Options{
		{},
		{BufferSize: 1},
		{BufferSize: 7, LastEventID: "seed"},
		{MaxLine: 16, MaxEvent: 20, BufferSize: 8},
		{MaxLine: 24, MaxEvent: 16},
		// A long data line that fits the buffer (MaxLine+2 bytes) but
		// not MaxEvent, and one that is exactly MaxLine+1 bytes long.
		{MaxLine: 40, MaxEvent: 16},
		{MaxLine: 25},
	}
	for i, in := range fastPathInputs() {
		for j, opts := range optSets {
			for _, bare := range []bool{false, true} {
				want := parseFast(t, iotest.OneByteReader(strings.NewReader(in)), opts, true, bare, false)
				sizes := []int{len(in) + 1}
				for k := 1; k <= min(len(in), 64) || k <= len(in) && len(in) <= 600; k++ {
					sizes = append(sizes, k)
				}
				for _, k := range sizes {
					for _, view := range []bool{false, true} {
						got := parseFast(t, &chunkReader{data: []byte(in), n: k}, opts, false, bare, view)
						if !reflect.DeepEqual(got, want) {
							t.Fatalf("input %d %q, options %d, reads of %d bytes, bare %v, view %v:\n got %#v\nwant %#v",
								i, in, j, k, bare, view, got, want)
						}
					}
				}
			}
		}
	}
}

// TestFastPathAgreesOnStreams does the same over long streams: the LLM
// payloads repeated, and with a CR, a BOM or an invalid byte dropped in
// every few hundred bytes, so that the fast path stops and resumes in the
// middle of the read buffer and across its refills.
func TestFastPathAgreesOnStreams(t *testing.T) {
	llm := llmPayloads()
	base := strings.Repeat(llm["eventsource"], 3) + strings.Repeat(llm["openai"], 2)
	for _, ins := range []struct{ name, what string }{
		{"plain", ""}, {"cr", "\r"}, {"crlf", "\r\n"}, {"lf-cr", "\n\r"}, {"bom", "\xEF\xBB\xBF"},
		{"invalid", "\xFF"}, {"cut", "\xE4\xBD"}, {"comment", "\n:ping\n"}, {"blank", "\n\n"},
	} {
		var sb strings.Builder
		for i := 0; i < len(base); i += 313 {
			sb.WriteString(base[i:min(i+313, len(base))])
			sb.WriteString(ins.what)
		}
		in := sb.String()
		for _, opts := range []sse.Options{{}, {BufferSize: 64}, {BufferSize: 300, MaxLine: 400}} {
			want := parseFast(t, iotest.OneByteReader(strings.NewReader(in)), opts, true, false, false)
			for _, k := range []int{1, 2, 3, 5, 17, 64, 100, 313, 1000, 4096, len(in)} {
				for _, view := range []bool{false, true} {
					got := parseFast(t, &chunkReader{data: []byte(in), n: k}, opts, false, false, view)
					if !reflect.DeepEqual(got, want) {
						t.Fatalf("%s, buffer %d, reads of %d bytes, view %v: outcomes differ\n%s", ins.name, opts.BufferSize, k, view, diffOutcomes(got, want))
					}
				}
			}
		}
	}
}

// diffOutcomes says where two long outcomes first differ.
func diffOutcomes(got, want fastOutcome) string {
	for i := range min(len(got.Events), len(want.Events)) {
		if got.Events[i] != want.Events[i] {
			return fmt.Sprintf("event %d: got %+q, want %+q", i, got.Events[i], want.Events[i])
		}
	}
	n, m := len(got.Events), len(want.Events)
	got.Events, want.Events = nil, nil
	return fmt.Sprintf("%d events, want %d\n got %#v\nwant %#v", n, m, got, want)
}
