package sse_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/ssebench/ssebench/conformance/sse"
)

// TestPendingHead: the head an EOFMidEventError reports (the pending
// block's field lines, decoded, each ended by a LF, comments left out, at
// most 256 bytes) is the same through every chunking and buffer size,
// whether its lines were still in the read buffer at the end, had moved,
// or had been decoded.
func TestPendingHead(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
		off            int64
	}{
		{name: "mixed_lines",
			in:   "data: done\n\nevent: a\r\nid: 1\r:c\nfoo\ndata: x\ndata: \xffz\ndata: y\nretry: 5\ndata: z",
			want: "event: a\nid: 1\nfoo\ndata: x\ndata: \uFFFDz\ndata: y\nretry: 5\ndata: z", off: 12},
		{name: "many_short_lines",
			in:   "id: 1\nid: 2\nid: 3\nid: 4\nid: 5\nid: 6\nid: 7\nid: 8\nid: 9\ndata",
			want: "id: 1\nid: 2\nid: 3\nid: 4\nid: 5\nid: 6\nid: 7\nid: 8\nid: 9\ndata"},
		{name: "over_256_bytes",
			in:   ":hi\ndata: " + strings.Repeat("q", 300) + "\ndata: tail",
			want: "data: " + strings.Repeat("q", 249) + "\n", off: 4},
		{name: "clamped_mid_line",
			in:   strings.Repeat("data: 0123456789\n", 15) + "data: " + strings.Repeat("r", 40) + "\n",
			want: strings.Repeat("data: 0123456789\n", 15) + "\n"}, // 255 bytes, then the LF of a line with no room left
	} {
		t.Run(tc.name, func(t *testing.T) {
			if len(tc.want) > 256 {
				t.Fatalf("test case wants %d bytes", len(tc.want))
			}
			for _, c := range chunkings([]byte(tc.in)) {
				src, done := c.src([]byte(tc.in))
				rd := sse.NewReader(src, &sse.Options{BufferSize: c.bufSize})
				var err error
				for range 100 {
					if _, err = rd.NextView(); err != nil {
						break
					}
				}
				done()
				var mid *sse.EOFMidEventError
				if !errors.As(err, &mid) {
					t.Fatalf("%s: %v, want an EOFMidEventError", c.name, err)
				}
				if string(mid.Pending) != tc.want || mid.Offset != tc.off {
					t.Fatalf("%s: pending %q at %d\nwant %q at %d", c.name, mid.Pending, mid.Offset, tc.want, tc.off)
				}
			}
		})
	}
}
