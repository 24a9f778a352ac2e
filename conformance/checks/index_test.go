package checks

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/ssebench/ssebench/conformance/sse"
)

// parsed is what a parser made of a body, in a form both the reference
// parser (sse.Reader) and the Index give.
type parsed struct {
	Events   []string // type, id and data digest
	Diags    map[sse.DiagnosticKind][]int64
	Counts   map[sse.DiagnosticKind]int
	LastID   string
	Pending  int64 // -1 for none
	Comments int
	Retries  int
}

func (p parsed) String() string {
	return fmt.Sprintf("events %q\ndiags %v counts %v\nlast %q pending %d comments %d retries %d",
		p.Events, p.Diags, p.Counts, p.LastID, p.Pending, p.Comments, p.Retries)
}

func eventKey(typ, id string, d Digest) string {
	return fmt.Sprintf("%s|%s|%d:%x", typ, id, d.Len, d.Sum)
}

// byReader parses body with the reference parser, fed in reads of the
// given sizes.
func byReader(t testing.TB, body []byte, seed string, chunks []int) parsed {
	p := parsed{Diags: map[sse.DiagnosticKind][]int64{}, Counts: map[sse.DiagnosticKind]int{}, Pending: -1}
	opts := &sse.Options{
		MaxLine: len(body) + 8, MaxEvent: 3*len(body) + 16, LastEventID: seed,
		OnComment: func([]byte) { p.Comments++ },
		OnRetry:   func(time.Duration) { p.Retries++ },
		OnDiagnostic: func(d sse.Diagnostic) {
			if d.Kind == sse.DiagEOFMidEvent {
				return
			}
			p.Counts[d.Kind]++
			if len(p.Diags[d.Kind]) < MaxDiags {
				p.Diags[d.Kind] = append(p.Diags[d.Kind], d.Offset)
			}
		},
	}
	rd := sse.NewReader(&chunked{b: body, sizes: chunks}, opts)
	for {
		ev, err := rd.Next()
		if err != nil {
			var mid *sse.EOFMidEventError
			switch {
			case errors.As(err, &mid):
				p.Pending = mid.Offset
			case !errors.Is(err, io.EOF):
				t.Fatalf("reader: %v", err)
			}
			break
		}
		p.Events = append(p.Events, eventKey(ev.Type, ev.ID, DigestOf(ev.Data)))
	}
	p.LastID = rd.LastEventID()
	return p
}

// byIndex indexes body with an Index fed the body growing by the given
// chunk sizes.
func byIndex(body []byte, seed string, chunks []int) parsed {
	x := NewIndex(seed)
	n := 0
	for i := 0; n < len(body); i++ {
		step := len(body)
		if len(chunks) > 0 {
			step = chunks[i%len(chunks)]
		}
		n = min(len(body), n+max(step, 1))
		x.Advance(body[:n], nil)
	}
	return fromStream(x.Finish(body, nil))
}

func fromStream(s *Stream) parsed {
	p := parsed{Diags: map[sse.DiagnosticKind][]int64{}, Counts: map[sse.DiagnosticKind]int{}, Pending: -1,
		LastID: s.LastEventID, Comments: s.Comments, Retries: s.ValidRetries}
	for _, e := range s.Events {
		p.Events = append(p.Events, eventKey(e.Type, e.ID, e.Data))
	}
	for _, d := range s.Diags {
		p.Diags[d.Kind] = append(p.Diags[d.Kind], d.Offset)
	}
	for k, n := range s.counts {
		p.Counts[k] = n
	}
	if s.Pending != nil {
		p.Pending = s.Pending.Offset
	}
	return p
}

// chunked delivers b in reads of the given sizes (cycling; all at once
// when sizes is empty).
type chunked struct {
	b     []byte
	sizes []int
	i     int
}

func (c *chunked) Read(p []byte) (int, error) {
	if len(c.b) == 0 {
		return 0, io.EOF
	}
	n := len(c.b)
	if len(c.sizes) > 0 {
		n = max(1, c.sizes[c.i%len(c.sizes)])
		c.i++
	}
	n = copy(p[:min(len(p), n)], c.b)
	c.b = c.b[n:]
	return n, nil
}

// tokens are the pieces random streams are made of: every field, line
// ending, BOM and UTF-8 case the parser distinguishes.
var tokens = []string{
	"data", "data:", "data: ", "data:x", "event", "event: ", "event:a", "id", "id: ", "id:1", "id: 2", "id:\x00",
	"retry:", "retry: 10", "retry:1x", "retry:5", ":", ": c", "dat", "Data:", " data:", "x", "é", "日本",
	"\n", "\n", "\n", "\r", "\r\n", "\r\n", "\xEF\xBB\xBF", "\xEF\xBB", "\xff", "\xc3", "\xe4\xbd", "\xf0\x80\x80",
	"\xed\xa0\x80", ":\xff", "data:\xEF\xBB\xBFv",
}

func randomStream(r *rand.Rand) []byte {
	var b bytes.Buffer
	if r.IntN(8) == 0 {
		b.WriteString("\xEF\xBB\xBF")
	}
	for range r.IntN(40) {
		b.WriteString(tokens[r.IntN(len(tokens))])
	}
	return b.Bytes()
}

// TestIndexMatchesReader holds the Index to the reference parser: the same
// events (type, id, data), diagnostics, last event ID, pending event,
// comments and retries on every input, whole or fed in pieces of any size.
func TestIndexMatchesReader(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	inputs := [][]byte{
		[]byte(""), []byte("\xEF\xBB"), []byte("\xEF\xBB\xBF"), []byte("data: a\r"), []byte("data: a\r\r\n"),
		[]byte("\xEF\xBB\xBF: hello\r\n\r\nretry: 10\r\nid: 7\r\nevent: a\r\ndata: x\r\n\r\ndata:y\rdata\r\r: c\nevent: noop\n\ndata: z\n"),
		[]byte("data: " + strings.Repeat("\xff\x80\x80\x80\x80", 20000) + "\n\n"),
		[]byte("data: " + strings.Repeat("é", 40000) + "\xe4\xbd\n\n"),
	}
	for range 3000 {
		inputs = append(inputs, randomStream(r))
	}
	for i, body := range inputs {
		seed := ""
		if i%5 == 0 {
			seed = "s"
		}
		want := byReader(t, body, seed, nil)
		for _, chunks := range [][]int{nil, {1}, {2, 1, 3}, {7}} {
			got := byIndex(body, seed, chunks)
			if got.String() != want.String() {
				t.Fatalf("input %q (seed %q, chunks %v):\nindex:\n%s\nreader:\n%s", body, seed, chunks, got, want)
			}
		}
	}
}

// FuzzIndex is TestIndexMatchesReader on fuzzed input.
func FuzzIndex(f *testing.F) {
	for _, s := range []string{"data: a\n\n", "id: 1\r\ndata\r\n\r\n", "data:x\rdata:y\r\r", "\xEF\xBB\xBFdata: a\n\n",
		"event: e\n\ndata: \xff\n\n", ": c\n\nretry: x\ndata: a\n\ndata", "id: a\x00\ndata: b\n\n"} {
		f.Add([]byte(s), uint8(0))
	}
	f.Fuzz(func(t *testing.T, body []byte, step uint8) {
		want := byReader(t, body, "", nil)
		got := byIndex(body, "", []int{int(step%9) + 1})
		if got.String() != want.String() {
			t.Fatalf("input %q:\nindex:\n%s\nreader:\n%s", body, got, want)
		}
	})
}

// TestIndexStopsAfterEvent: Advance stops right after the event the
// predicate picks, at its empty line, whatever else the buffer holds.
func TestIndexStopsAfterEvent(t *testing.T) {
	body := []byte("id: 1\ndata: a\n\nid: 2\ndata: b\r\n\r\nid: 3\ndata: c\n\n")
	x := NewIndex("")
	if !x.Advance(body, func(e *Event) bool { return e.Index == 1 }) {
		t.Fatal("did not stop")
	}
	if got := string(body[:x.Pos()]); got != "id: 1\ndata: a\n\nid: 2\ndata: b\r\n\r\n" || x.LastEventID() != "2" || len(x.Events()) != 2 {
		t.Errorf("stopped at %q, last id %q, %d events", got, x.LastEventID(), len(x.Events()))
	}
	// A CR that ends the stop line waits for the next byte no longer.
	y := NewIndex("")
	cr := []byte("data: a\r\rdata: b\r\r")
	if !y.Advance(cr, func(*Event) bool { return true }) || y.Pos() != 9 {
		t.Errorf("CR stream stopped at %d", y.Pos())
	}
}

// TestIndexCostsNothingForFloods: a flood of empty lines or comments costs
// no memory beyond the body, and the lines are not scanned twice.
func TestIndexCostsNothingForFloods(t *testing.T) {
	for _, flood := range []string{"\n", ":\n", "\r", ": keep-alive\r\n"} {
		body := bytes.Repeat([]byte(flood), 1<<16)
		x := NewIndex("")
		for n := 0; n < len(body); n += 4096 {
			x.Advance(body[:min(len(body), n+4096)], nil)
		}
		s := x.Finish(body, nil)
		if x.Cost() != 0 || len(s.Events) != 0 || len(s.Diags) != 0 {
			t.Errorf("flood %q: cost %d, %d events, %d diags", flood, x.Cost(), len(s.Events), len(s.Diags))
		}
	}
}

// TestSafeCut: decoding a long invalid line in pieces gives what decoding
// it whole does.
func TestSafeCut(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	alphabet := []byte{0x80, 0xBF, 0xC2, 0xE0, 0xED, 0xF0, 0xF4, 0xFF, 'a', 0xA0, 0x90}
	for range 500 {
		b := make([]byte, 5+r.IntN(60))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		want := sse.AppendDecodeUTF8(nil, b)
		for limit := 5; limit < len(b); limit++ {
			cut := safeCut(b, limit)
			got := sse.AppendDecodeUTF8(sse.AppendDecodeUTF8(nil, b[:cut]), b[cut:])
			if !bytes.Equal(got, want) {
				t.Fatalf("%x cut at %d (limit %d): %x, want %x", b, cut, limit, got, want)
			}
		}
	}
}
