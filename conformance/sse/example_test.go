package sse_test

import (
	"fmt"
	"io"
	"strings"

	"github.com/ssebench/ssebench/conformance/sse"
)

// A Reader parses a text/event-stream body into the events a browser's
// EventSource would dispatch: comments are dropped, multi-line data is
// joined with LF, an event without data is not dispatched, and the last
// event ID persists until an id field changes it.
func ExampleNewReader() {
	body := ": heartbeat\n" +
		"id: 1\nevent: token\ndata: Hel\ndata: lo\n\n" +
		"event: ignored\n\n" +
		"data: world\r\n\r\n" +
		"id: 2\ndata: [DONE]\n\n"
	rd := sse.NewReader(strings.NewReader(body), &sse.Options{MaxLine: 1 << 10, MaxEvent: 1 << 12})
	for {
		ev, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Println("error:", err)
			break
		}
		fmt.Printf("type=%s id=%s data=%q\n", ev.Type, ev.ID, ev.Data)
	}
	fmt.Println("Last-Event-ID for a reconnect:", rd.LastEventID())
	// Output:
	// type=token id=1 data="Hel\nlo"
	// type=message id=1 data="world"
	// type=message id=2 data="[DONE]"
	// Last-Event-ID for a reconnect: 2
}
