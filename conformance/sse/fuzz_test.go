package sse_test

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/ssebench/ssebench/conformance/sse"
)

// FuzzReader feeds random bytes in random chunks, with random limits, and
// holds the Reader to the reference parser of reference_test.go: the same
// events, retries, comments, diagnostics (kind and offset), final error
// (kind and offset) and last event ID. It also checks that nothing the
// Reader hands out, and none of its buffers, exceeds the limits.
//
// Arguments: the stream; a seed for the chunk sizes (and, when divisible by
// 3, a last event ID seed); MaxLine and MaxEvent (0: the defaults); and the
// initial buffer size (0: the default).
func FuzzReader(f *testing.F) {
	for _, vs := range [][]vector{wptVectors, cpVectors, ldVectors, ruleVectors} {
		for _, v := range vs {
			if len(v.in) <= 4096 {
				f.Add([]byte(v.in), uint64(len(v.name)), uint16(v.opts.MaxLine), uint16(v.opts.MaxEvent), uint8(0))
			}
		}
	}
	f.Fuzz(func(t *testing.T, in []byte, seed uint64, maxLine, maxEvent uint16, bufSize uint8) {
		opts := sse.Options{MaxLine: int(maxLine), MaxEvent: int(maxEvent), BufferSize: int(bufSize)}
		if seed%3 == 0 {
			opts.LastEventID = "prev"
		}
		effLine, effEvent := opts.MaxLine, opts.MaxEvent
		if effLine == 0 {
			effLine = sse.DefaultMaxLine
		}
		if effEvent == 0 {
			effEvent = sse.DefaultMaxEvent
		}
		want := refParse(in, opts.MaxLine, opts.MaxEvent, opts.LastEventID)

		src := &randomReader{data: in, rng: rand.New(rand.NewPCG(seed, seed>>32)), max: 1 + int(seed%23)}
		got, rd := readAllReader(t, src, opts, false, len(in))
		if !sameOutcome(got, want, true) {
			t.Fatalf("Next with chunks of up to %d bytes:\n got %+q\nwant %+q", src.max, got, want)
		}
		if got := readAll(t, bytes.NewReader(in), opts, true, len(in)); !sameOutcome(got, want, true) {
			t.Fatalf("NextView in one read:\n got %+q\nwant %+q", got, want)
		}

		// Without OnDiagnostic the fast path parses what it can: it gives
		// what the general path gives one byte at a time (fastpath_test.go).
		fast := parseFast(t, &randomReader{data: in, rng: rand.New(rand.NewPCG(seed>>7, seed)), max: 1 + int(seed%61)}, opts, false, false, seed%2 == 0)
		if general := parseFast(t, iotest.OneByteReader(bytes.NewReader(in)), opts, true, false, false); !reflect.DeepEqual(fast, general) {
			t.Fatalf("without diagnostics:\n got %#v\nwant %#v", fast, general)
		}

		// The limits hold for everything handed out and everything held.
		for _, e := range got.Events {
			if len(e.Data) > effEvent-1 {
				t.Errorf("event data of %d bytes, MaxEvent %d", len(e.Data), effEvent)
			}
			if len(e.Type) > 3*effLine || len(e.ID) > 3*effLine {
				t.Errorf("type or id longer than a decoded line can be: %d, %d", len(e.Type), len(e.ID))
			}
		}
		for _, c := range got.Comments {
			if len(c) > 3*effLine {
				t.Errorf("comment of %d bytes, MaxLine %d", len(c), effLine)
			}
		}
		if c := sse.BufCap(rd); c > max(effLine+2, opts.BufferSize) {
			t.Errorf("read buffer of %d bytes, MaxLine %d", c, effLine)
		}
		if c := sse.DataCap(rd); c > effEvent {
			t.Errorf("data buffer of %d bytes, MaxEvent %d", c, effEvent)
		}
	})
}

// encodeSteps turns fuzz bytes into Encoder calls: records separated by
// 0x1E; a record starting with 0x1D is a comment, one starting with 0x1C a
// retry of (its length × 37) ms, any other an event whose type, data and id
// are separated by 0x1F.
func encodeSteps(raw []byte) []encStep {
	var steps []encStep
	for _, rec := range strings.Split(string(raw), "\x1E") {
		switch {
		case strings.HasPrefix(rec, "\x1D"):
			steps = append(steps, encComment(rec[1:]))
		case strings.HasPrefix(rec, "\x1C"):
			steps = append(steps, encRetry(time.Duration(len(rec)*37)*time.Millisecond))
		default:
			f := strings.SplitN(rec, "\x1F", 3)
			f = append(f, "", "")
			steps = append(steps, encEvent(f[0], f[1], f[2]))
		}
	}
	return steps
}

// splitLines splits s at CRLF, CR and LF.
func splitLines(s string) []string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	return strings.Split(s, "\n")
}

// FuzzRoundTrip checks Read(Encode(events)) == events: the Reader gets every
// event back (data with CR and CRLF normalised to LF, "" type as "message",
// UTF-8 decoded), every retry and every comment line, ends cleanly, and
// notices nothing but encoding matters (invalid UTF-8, a BOM in a value).
// Values the Encoder refuses must be the ones the format cannot carry.
func FuzzRoundTrip(f *testing.F) {
	for _, s := range []string{
		"",
		"\x1Fhello",
		"add\x1Fa\nb\x1F123\x1Eadd\x1Fc\x1F123\x1E\x1Fd\x1F",
		"\x1Fa\rb\r\nc\n\x1F",
		"\x1F\n\x1E\x1F\r\x1E\x1F\r\n",
		"message\x1F data\x1F id",
		"\x1Dcomment\nwith lines\r\n\x1E\x1C12345",
		"bad\ntype\x1Fx\x1E\x1Fx\x1Fbad\x00id",
		"\x1F\xEF\xBB\xBFbom\x1F\xEF\xBB\xBF",
		"\x1F\xE4\xBD\x1F\xF0\x80\x80",
		"t\x1Fdata: x\n\nevent: injected\x1F1\x1E\x1F\x1F",
		"\x1D\x1E\x1D\n\n\x1E\x1Fafter",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var wire bytes.Buffer
		enc := sse.NewEncoder(&wire)
		var want outcome
		for _, s := range encodeSteps(raw) {
			before := wire.Len()
			err := s.run(enc)
			if err != nil {
				if !errors.Is(err, sse.ErrInvalidField) || s.ev == nil ||
					!strings.ContainsAny(s.ev.Type, "\r\n") && !strings.ContainsAny(s.ev.ID, "\r\n\x00") {
					t.Fatalf("%+v: unexpected error %v", s, err)
				}
				if wire.Len() != before {
					t.Fatalf("%+v: refused, but wrote %q", s, wire.Bytes()[before:])
				}
				continue
			}
			switch {
			case s.ev != nil:
				e := sse.Event{
					Type: refDecodeString(s.ev.Type),
					Data: refDecodeString(strings.Join(splitLines(s.ev.Data), "\n")),
					ID:   refDecodeString(s.ev.ID),
				}
				if e.Type == "" {
					e.Type = "message"
				}
				want.Events = append(want.Events, e)
				want.LastID = e.ID
			case s.retry != nil:
				want.Retries = append(want.Retries, s.retry.Truncate(time.Millisecond))
			default:
				for _, l := range splitLines(*s.comment) {
					if l != "" {
						l = " " + l
					}
					want.Comments = append(want.Comments, refDecodeString(l))
				}
			}
		}
		got := readAll(t, bytes.NewReader(wire.Bytes()), sse.Options{}, false, wire.Len())
		var structural []string
		for _, d := range got.Diags {
			if !strings.HasPrefix(d, "invalid-utf8@") && !strings.HasPrefix(d, "bom-not-at-start@") {
				structural = append(structural, d)
			}
		}
		got.Diags = nil
		want.End = "eof"
		if !sameOutcome(got, want, true) || structural != nil {
			t.Fatalf("wire %q\n got %+q\nwant %+q\ndiagnostics %q", wire.Bytes(), got, want, structural)
		}
	})
}
