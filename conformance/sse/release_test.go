package sse_test

import (
	"io"
	"strings"
	"testing"

	"github.com/ssebench/ssebench/conformance/sse"
)

// TestReleaseLargeBuffers: a stream that met one large event (a long line,
// a large multi-line event) goes back to small buffers once the event is
// done, so a long-lived stream does not keep the memory of its largest
// event; the buffers never grew past their limits meanwhile.
func TestReleaseLargeBuffers(t *testing.T) {
	const opts = 200 << 10
	long := "data: " + strings.Repeat("x", 150<<10) + "\n\n"
	multi := strings.Repeat("data: "+strings.Repeat("y", 1000)+"\n", 150) + "\n"
	small := "data: small\n\n"
	// A single long data line is parsed in place (the read buffer grows to
	// hold it); the lines of a large multi-line event are gathered in the
	// data buffer.
	readBuf := func(rd *sse.Reader) int { return sse.BufCap(rd) }
	dataBuf := func(rd *sse.Reader) int { return sse.DataCap(rd) }
	for name, tc := range map[string]struct {
		big   string
		which func(*sse.Reader) int
	}{"line": {long, readBuf}, "lines": {multi, dataBuf}} {
		big := tc.big
		t.Run(name, func(t *testing.T) {
			rd := sse.NewReader(strings.NewReader(small+big+small+small), &sse.Options{MaxLine: opts, MaxEvent: opts, BufferSize: 1024})
			var grown bool
			for i := 0; ; i++ {
				ev, err := rd.Next()
				if err == io.EOF {
					if i != 4 {
						t.Fatalf("%d events, want 4", i)
					}
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if sse.BufCap(rd) > opts+2 || sse.DataCap(rd) > opts {
					t.Fatalf("event %d: buffers %d and %d, over the limits", i, sse.BufCap(rd), sse.DataCap(rd))
				}
				if i == 1 {
					grown = tc.which(rd) > sse.RetainMax
					if len(ev.Data) < 100<<10 {
						t.Fatalf("event 1 holds %d bytes", len(ev.Data))
					}
				}
			}
			if !grown {
				t.Errorf("the large event did not grow its buffer past RetainMax (test too weak)")
			}
			if b, d := sse.BufCap(rd), sse.DataCap(rd); b > sse.RetainMax || d > sse.RetainMax {
				t.Errorf("after the large event: read buffer %d, data buffer %d bytes, want both released (<= %d)", b, d, sse.RetainMax)
			}
		})
	}
}
