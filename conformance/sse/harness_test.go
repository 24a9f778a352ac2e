package sse_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/ssebench/ssebench/conformance/sse"
)

// A vector is one byte-level parsing case: raw stream bytes in, everything a
// Reader reports out. Cases are named after the web-platform-tests file
// (eventsource/format-*.any.js), the numbered library edge case
// ("edge-nn"), the LaunchDarkly sse-contract-tests case ("ld/..."), or the
// package doc's rule ("A5/...") they exercise.
type vector struct {
	name string
	in   string
	// opts holds limits and the last event ID seed; the harness installs the
	// callbacks.
	opts sse.Options
	want []sse.Event
	// end is how the stream ends: "" for a clean io.EOF,
	// "eof-mid-event@OFFSET" or "limit:line@OFFSET" / "limit:event@OFFSET".
	end string
	// lastID is LastEventID() after the end.
	lastID  string
	retries []time.Duration
	// diags lists every diagnostic as "kind@offset", in order.
	diags []string
	// comments, when not nil, lists the text of every comment line.
	comments []string
	// chunks, when set, is a delivery the source names explicitly (its
	// concatenation is in); it is replayed as separate pipe writes on top of
	// the standard chunkings.
	chunks []string
}

// ev builds an expected event; typ "" means "message".
func ev(typ, data, id string) sse.Event {
	if typ == "" {
		typ = "message"
	}
	return sse.Event{Type: typ, Data: data, ID: id}
}

// msg is a "message" event.
func msg(data string) sse.Event { return ev("", data, "") }

func ms(n int64) time.Duration { return time.Duration(n) * time.Millisecond }

// readAll parses src with opts (callbacks added) through Next, or NextView
// when view is set, and records the outcome. It also checks the invariants
// that hold for every stream: the final error is sticky, Dispatched counts
// the events, and a stream read to its end has had every byte consumed.
func readAll(t testing.TB, src io.Reader, opts sse.Options, view bool, size int) outcome {
	t.Helper()
	o, _ := readAllReader(t, src, opts, view, size)
	return o
}

// readAllReader is readAll that also returns the Reader.
func readAllReader(t testing.TB, src io.Reader, opts sse.Options, view bool, size int) (outcome, *sse.Reader) {
	t.Helper()
	var o outcome
	opts.OnRetry = func(d time.Duration) { o.Retries = append(o.Retries, d) }
	opts.OnComment = func(b []byte) { o.Comments = append(o.Comments, string(b)) }
	opts.OnDiagnostic = func(d sse.Diagnostic) { o.Diags = append(o.Diags, fmt.Sprintf("%s@%d", d.Kind, d.Offset)) }
	rd := sse.NewReader(src, &opts)
	var err error
	for {
		var e sse.Event
		if view {
			var v sse.View
			v, err = rd.NextView()
			e = sse.Event{Type: string(v.Type), Data: string(v.Data), ID: string(v.ID)}
		} else {
			e, err = rd.Next()
		}
		if err != nil {
			break
		}
		o.Events = append(o.Events, e)
		if int64(len(o.Events)) != rd.Dispatched() {
			t.Fatalf("Dispatched() = %d after %d events", rd.Dispatched(), len(o.Events))
		}
	}
	o.End = endString(err)
	o.LastID = rd.LastEventID()
	if _, err2 := rd.Next(); err2 != err {
		t.Errorf("error not sticky: first %v, then %v", err, err2)
	}
	if (o.End == "eof" || strings.HasPrefix(o.End, "eof-mid-event")) && rd.Offset() != int64(size) {
		t.Errorf("Offset() = %d at the end of a %d-byte stream", rd.Offset(), size)
	}
	return o, rd
}

// endString names how a stream ended, in the notation of vector.end.
func endString(err error) string {
	var mid *sse.EOFMidEventError
	var lim *sse.LimitError
	switch {
	case err == io.EOF:
		return "eof"
	case errors.As(err, &mid):
		if !errors.Is(err, sse.ErrEOFMidEvent) {
			return "EOFMidEventError does not match ErrEOFMidEvent"
		}
		return fmt.Sprintf("eof-mid-event@%d", mid.Offset)
	case errors.As(err, &lim):
		if !errors.Is(err, sse.ErrLimit) {
			return "LimitError does not match ErrLimit"
		}
		return fmt.Sprintf("limit:%s@%d", lim.What, lim.Offset)
	default:
		return "error: " + err.Error()
	}
}

// expected turns a vector's expectations into an outcome.
func (v vector) expected() outcome {
	o := outcome{Events: v.want, Retries: v.retries, Diags: v.diags, End: v.end, LastID: v.lastID}
	if o.End == "" {
		o.End = "eof"
	}
	return o
}

// sameOutcome compares two outcomes; comments are compared only when want
// has them.
func sameOutcome(got, want outcome, checkComments bool) bool {
	if !checkComments {
		got.Comments, want.Comments = nil, nil
	}
	norm := func(o *outcome) {
		if len(o.Events) == 0 {
			o.Events = nil
		}
		if len(o.Retries) == 0 {
			o.Retries = nil
		}
		if len(o.Diags) == 0 {
			o.Diags = nil
		}
		if len(o.Comments) == 0 {
			o.Comments = nil
		}
	}
	norm(&got)
	norm(&want)
	return reflect.DeepEqual(got, want)
}

// A chunking delivers a stream to the Reader in some pattern of reads.
type chunking struct {
	name string
	// src returns the reader and a function to call when done with it.
	src func(in []byte) (io.Reader, func())
	// bufSize, when set, overrides Options.BufferSize.
	bufSize int
}

func noop() {}

// chunkings returns every delivery pattern for in: one read, one-byte reads,
// half reads, data with EOF, a one-byte initial buffer, random splits, and,
// for short inputs, two writes through an io.Pipe split at every offset (a
// pipe read never spans two writes, so the split is a read boundary: CRLF,
// multi-byte characters and the BOM get cut everywhere).
func chunkings(in []byte) []chunking {
	cs := []chunking{
		{name: "one-read", src: func(in []byte) (io.Reader, func()) { return bytes.NewReader(in), noop }},
		{name: "one-byte", src: func(in []byte) (io.Reader, func()) { return iotest.OneByteReader(bytes.NewReader(in)), noop }},
		{name: "two-byte", src: func(in []byte) (io.Reader, func()) {
			return &randomReader{data: in, rng: rand.New(rand.NewPCG(0, 0)), min: 2, max: 2}, noop
		}},
		{name: "half", src: func(in []byte) (io.Reader, func()) { return iotest.HalfReader(bytes.NewReader(in)), noop }},
		{name: "data-err", src: func(in []byte) (io.Reader, func()) { return iotest.DataErrReader(bytes.NewReader(in)), noop }},
		{name: "buffer-1", bufSize: 1, src: func(in []byte) (io.Reader, func()) { return bytes.NewReader(in), noop }},
	}
	for seed := range uint64(4) {
		cs = append(cs, chunking{name: fmt.Sprintf("random-%d", seed), src: func(in []byte) (io.Reader, func()) {
			return &randomReader{data: in, rng: rand.New(rand.NewPCG(seed, 7)), max: 9}, noop
		}})
	}
	if len(in) <= 512 {
		for i := 1; i < len(in); i++ {
			cs = append(cs, chunking{name: fmt.Sprintf("split-%d", i), src: func(in []byte) (io.Reader, func()) {
				return pipeWrites(in[:i], in[i:])
			}})
		}
	}
	return cs
}

// pipeWrites returns a reader that receives each chunk as a separate write
// through an io.Pipe, then EOF.
func pipeWrites(chunks ...[]byte) (io.Reader, func()) {
	pr, pw := io.Pipe()
	go func() {
		for _, c := range chunks {
			if _, err := pw.Write(c); err != nil {
				return
			}
		}
		pw.Close()
	}()
	return pr, func() { pr.CloseWithError(errors.New("reader done")) }
}

// randomReader returns its data in reads of random sizes 0..max (a zero-byte
// read with a nil error is legal and must be retried).
type randomReader struct {
	data []byte
	rng  *rand.Rand
	min  int
	max  int
}

func (r *randomReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := min(r.min+r.rng.IntN(r.max-r.min+1), len(p), len(r.data))
	copy(p, r.data[:n])
	r.data = r.data[n:]
	return n, nil
}

// runVectors replays every vector through every chunking, through Next and
// (in one read) through NextView, and through the reference parser.
func runVectors(t *testing.T, vectors []vector) {
	t.Helper()
	seen := map[string]bool{}
	for _, v := range vectors {
		if seen[v.name] {
			t.Fatalf("duplicate vector name %q", v.name)
		}
		seen[v.name] = true
		t.Run(v.name, func(t *testing.T) {
			want := v.expected()
			want.Comments = v.comments
			check := v.comments != nil
			ref := refParse([]byte(v.in), v.opts.MaxLine, v.opts.MaxEvent, v.opts.LastEventID)
			if !sameOutcome(ref, want, check) {
				t.Errorf("reference parser disagrees with the vector:\n got %+v\nwant %+v", ref, want)
			}
			cs := chunkings([]byte(v.in))
			if v.chunks != nil {
				if strings.Join(v.chunks, "") != v.in {
					t.Fatalf("chunks do not add up to the input")
				}
				var bs [][]byte
				for _, c := range v.chunks {
					bs = append(bs, []byte(c))
				}
				cs = append(cs, chunking{name: "named-chunks", src: func([]byte) (io.Reader, func()) { return pipeWrites(bs...) }})
			}
			got := readAll(t, strings.NewReader(v.in), v.opts, true, len(v.in))
			if !sameOutcome(got, want, check) {
				t.Errorf("NextView:\n got %+v\nwant %+v", got, want)
			}
			for _, c := range cs {
				opts := v.opts
				if c.bufSize != 0 {
					opts.BufferSize = c.bufSize
				}
				src, done := c.src([]byte(v.in))
				got := readAll(t, src, opts, false, len(v.in))
				done()
				if !sameOutcome(got, want, check) {
					t.Errorf("%s:\n got %+v\nwant %+v", c.name, got, want)
					return // one failing chunking says enough
				}
			}
		})
	}
}
