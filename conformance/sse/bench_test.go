package sse_test

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/ssebench/ssebench/conformance/sse"
)

// cycleReader returns its payload over and over, in reads as large as the
// caller asks for, like a fast socket.
type cycleReader struct {
	payload []byte
	pos     int
}

func (r *cycleReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], r.payload[r.pos:])
		n += c
		r.pos = (r.pos + c) % len(r.payload)
	}
	return n, nil
}

// llmPayloads are streams of 64 events each, shaped like the two kinds of
// traffic ssebench measures most: OpenAI chat-completion chunks (one data
// line of JSON per token, no type, no id) and EventSource-style events with
// a type and an id that changes every event.
func llmPayloads() map[string]string {
	words := strings.Fields("The quick brown fox jumps over the lazy dog while streaming tokens one by one to a patient client that measures every gap")
	var openai, es strings.Builder
	for i := range 64 {
		w := " " + words[i%len(words)]
		fmt.Fprintf(&openai, `data: {"id":"chatcmpl-9xYzAbCdEfGhIjKlMnOpQrStUvWx","object":"chat.completion.chunk","created":1718000000,"model":"gpt-4o-mini-2024-07-18","system_fingerprint":"fp_0123456789","choices":[{"index":0,"delta":{"content":%q},"logprobs":null,"finish_reason":null}]}`+"\n\n", w)
		fmt.Fprintf(&es, "event: add\nid: %d\ndata: {\"seq\":%d,\"text\":%q,\"done\":false}\n\n", 1000+i, 1000+i, w)
	}
	return map[string]string{"openai": openai.String(), "eventsource": es.String()}
}

// BenchmarkReaderLLM reads LLM-shaped streams; one op is one event, so
// ns/op is the time per event, allocs/op the allocations per event and MB/s
// the parse throughput. Targets (reported, not asserted): >= 200
// MB/s, <= 1 allocation per event for Next, 0 for NextView.
func BenchmarkReaderLLM(b *testing.B) {
	payloads := llmPayloads()
	for _, name := range []string{"openai", "eventsource"} {
		p := payloads[name]
		perEvent := int64(len(p) / 64)
		for _, api := range []string{"Next", "NextView"} {
			b.Run(name+"/"+api, func(b *testing.B) {
				rd := sse.NewReader(&cycleReader{payload: []byte(p)}, nil)
				for range 128 { // warm the buffers up
					rd.Next()
				}
				b.SetBytes(perEvent)
				b.ReportAllocs()
				if api == "Next" {
					for b.Loop() {
						if _, err := rd.Next(); err != nil {
							b.Fatal(err)
						}
					}
				} else {
					for b.Loop() {
						if _, err := rd.NextView(); err != nil {
							b.Fatal(err)
						}
					}
				}
			})
		}
	}
}

// BenchmarkBareScanner is the comparison point for BenchmarkReaderLLM: the
// least a Go client can do with the same payloads, the loop of
// cmd/sse-bare (bufio.Scanner lines; an empty line, or a lone "\r", ends an
// event that had a "data:" or "data" line). It is not a parser (no CR line
// ends, no UTF-8 decoding, no fields), so it only bounds what NextView
// costs. One op is one event. Reported, not asserted.
func BenchmarkBareScanner(b *testing.B) {
	payloads := llmPayloads()
	for _, name := range []string{"openai", "eventsource"} {
		p := payloads[name]
		b.Run(name, func(b *testing.B) {
			sc := bufio.NewScanner(&cycleReader{payload: []byte(p)})
			sc.Buffer(make([]byte, 0, 4096), 1<<20)
			next := func() {
				hasData := false
				for sc.Scan() {
					line := sc.Bytes()
					switch {
					case len(line) == 0 || (len(line) == 1 && line[0] == '\r'):
						if hasData {
							return
						}
					case bytes.HasPrefix(line, []byte("data:")) || bytes.Equal(line, []byte("data")):
						hasData = true
					}
				}
				b.Fatal(sc.Err())
			}
			for range 128 { // as BenchmarkReaderLLM warms up
				next()
			}
			b.SetBytes(int64(len(p) / 64))
			b.ReportAllocs()
			for b.Loop() {
				next()
			}
		})
	}
}
