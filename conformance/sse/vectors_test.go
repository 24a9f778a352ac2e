package sse_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ssebench/ssebench/conformance/sse"
)

// The vectors below come from four places, and each name says which:
//   - format-*, event-data: the web-platform-tests files in eventsource/
//     (https://github.com/web-platform-tests/wpt/tree/master/eventsource),
//     with the bytes their resources/message.py serves (message, then
//     "\n\n" unless newline=none, then "\n");
//   - edge-nn: byte-level edge cases collected from the bugs of common SSE
//     libraries (numbered in this file; the comment beside each says
//     which rule it exercises);
//   - ld/...: LaunchDarkly sse-contract-tests parsing cases;
//   - An/...: rule An of the package doc, for what the others leave out.
// Every vector runs through every chunking of chunkings() and through the
// reference parser of reference_test.go.

// wptVectors are the web-platform-tests stream format cases.
var wptVectors = []vector{
	{ // A1: a second BOM mid-stream is data: "\uFEFFdata" is an unknown field (edge-19).
		name:  "format-bom",
		in:    "\xEF\xBB\xBFdata:1\n\n\xEF\xBB\xBFdata:2\n\ndata:3\n\n\n",
		want:  []sse.Event{msg("1"), msg("3")},
		diags: []string{"bom-not-at-start@11", "unknown-field@11"},
	},
	{ // A1: only one BOM is removed; the second kills event 1 (edge-18).
		name:  "format-bom-2",
		in:    "\xEF\xBB\xBF\xEF\xBB\xBFdata:1\n\ndata:2\n\ndata:3\n\n\n",
		want:  []sse.Event{msg("2"), msg("3")},
		diags: []string{"bom-not-at-start@3", "unknown-field@3"},
	},
	{ // A2, A3: CR, LF and CRLF mixes; NUL and 2049-character comments (edge-15).
		name:     "format-comments",
		in:       "data:1\r:\x00\n:\r\ndata:2\n:" + strings.Repeat("x", 2049) + "\rdata:3\n:data:fail\r:" + strings.Repeat("x", 2049) + "\ndata:4\n\n",
		want:     []sse.Event{msg("1\n2\n3\n4")},
		comments: []string{"\x00", "", strings.Repeat("x", 2049), "data:fail", strings.Repeat("x", 2049)},
	},
	{ // A7: the unfinished event is dropped and its id never applied (edge-66).
		name:    "format-data-before-final-empty-line",
		in:      "retry:1000\ndata:test1\n\nid:test\ndata:test2\n",
		want:    []sse.Event{msg("test1")},
		end:     "eof-mid-event@23",
		retries: []time.Duration{ms(1000)},
		diags:   []string{"eof-mid-event@23"},
	},
	{ // A5, A6c: "data:" gives ""; two bare "data" lines give "\n" (edge-30).
		name: "format-field-data",
		in:   "data:\n\ndata\ndata\n\ndata:test\n\n\n",
		want: []sse.Event{msg(""), msg("\n"), msg("test")},
	},
	{ // A5, A6e: a named event, then the type resets (edge-39).
		name: "format-field-event",
		in:   "event:test\ndata:x\n\ndata:x\n\n\n",
		want: []sse.Event{ev("test", "x", ""), msg("x")},
	},
	{ // A6d: an empty event type means "message" (edge-40).
		name: "format-field-event-empty",
		in:   "event: \ndata:data\n\n\n",
		want: []sse.Event{msg("data")},
	},
	{ // A5: first connection of format-field-id (resources/last-event-id.py).
		name:    "format-field-id",
		in:      "id: 1\nretry: 200\ndata: hello\n\n",
		want:    []sse.Event{ev("", "hello", "1")},
		lastID:  "1",
		retries: []time.Duration{ms(200)},
	},
	{ // A6: the reconnect (Last-Event-ID: 1 echoed as data) keeps the id.
		name:   "format-field-id/reconnect",
		opts:   sse.Options{LastEventID: "1"},
		in:     "data: 1\n\n",
		want:   []sse.Event{ev("", "1", "1")},
		lastID: "1",
	},
	{ // A1, A5: a UTF-8 id (U+2026) (edge-52).
		name:    "format-field-id-2",
		in:      "id: \xE2\x80\xA6\nretry: 200\ndata: hello\n\n",
		want:    []sse.Event{ev("", "hello", "…")},
		lastID:  "…",
		retries: []time.Duration{ms(200)},
	},
	{
		name:   "format-field-id-2/reconnect",
		opts:   sse.Options{LastEventID: "…"},
		in:     "data: \xE2\x80\xA6\n\n",
		want:   []sse.Event{ev("", "…", "…")},
		lastID: "…",
	},
	{ // A6e: the id persists (resources/last-event-id2.py type 1).
		name:   "format-field-id-3/persists",
		in:     "id: 1\ndata: 1\n\ndata:2\n\n",
		want:   []sse.Event{ev("", "1", "1"), ev("", "2", "1")},
		lastID: "1",
	},
	{ // type 2
		name:   "format-field-id-3/changes-and-persists",
		in:     "id: 1\ndata: 1\n\nid: 2\ndata:2\n\ndata:3\n\n",
		want:   []sse.Event{ev("", "1", "1"), ev("", "2", "2"), ev("", "3", "2")},
		lastID: "2",
	},
	{ // A5: type 3, "id:" resets the id (edge-47).
		name: "format-field-id-3/resets",
		in:   "id: 1\ndata: 1\n\nid:\ndata:2\n\ndata:3\n\n",
		want: []sse.Event{ev("", "1", "1"), ev("", "2", ""), ev("", "3", "")},
	},
	{ // A5: format-field-id-null parses the parameter into these five ids.
		name: "format-field-id-null/nul-nul", in: "id: \x00\x00\nretry: 200\ndata: hello\n\n",
		want: []sse.Event{msg("hello")}, retries: []time.Duration{ms(200)}, diags: []string{"nul-in-id@0"},
	},
	{
		name: "format-field-id-null/x-nul", in: "id: x\x00\nretry: 200\ndata: hello\n\n",
		want: []sse.Event{msg("hello")}, retries: []time.Duration{ms(200)}, diags: []string{"nul-in-id@0"},
	},
	{
		name: "format-field-id-null/nul-x", in: "id: \x00x\nretry: 200\ndata: hello\n\n",
		want: []sse.Event{msg("hello")}, retries: []time.Duration{ms(200)}, diags: []string{"nul-in-id@0"},
	},
	{
		name: "format-field-id-null/x-nul-x", in: "id: x\x00x\nretry: 200\ndata: hello\n\n",
		want: []sse.Event{msg("hello")}, retries: []time.Duration{ms(200)}, diags: []string{"nul-in-id@0"},
	},
	{
		name: "format-field-id-null/nul", in: "id: \x00\nretry: 200\ndata: hello\n\n",
		want: []sse.Event{msg("hello")}, retries: []time.Duration{ms(200)}, diags: []string{"nul-in-id@0"},
	},
	{ // A4: NUL, case, space and hyphen variants of "data" (edge-61).
		name:  "format-field-parsing",
		in:    "data:\x00\ndata:  2\rData:1\ndata\x00:2\ndata:1\r\x00data:4\nda-ta:3\rdata_5\ndata:3\rdata:\r\n data:32\ndata:4\n\n",
		want:  []sse.Event{msg("\x00\n 2\n1\n3\n\n4")},
		diags: []string{"unknown-field@16", "unknown-field@23", "unknown-field@38", "unknown-field@46", "unknown-field@54", "unknown-field@75"},
	},
	{ // A5: "03000" is 3000 ms, not octal (edge-54).
		name:    "format-field-retry",
		in:      "retry:03000\ndata:x\n\n",
		want:    []sse.Event{msg("x")},
		retries: []time.Duration{ms(3000)},
	},
	{ // A5: "1000x" is ignored, 3000 stays (edge-55).
		name:    "format-field-retry-bogus",
		in:      "retry:3000\nretry:1000x\ndata:x\n\n",
		want:    []sse.Event{msg("x")},
		retries: []time.Duration{ms(3000)},
		diags:   []string{"bad-retry@11"},
	},
	{ // A5: a bare "retry" has an empty value: ignored (edge-56).
		name:  "format-field-retry-empty",
		in:    "retry\ndata:test\n\n",
		want:  []sse.Event{msg("test")},
		diags: []string{"bad-retry@0"},
	},
	{ // A3, A4, A5 (edge-62).
		name:     "format-field-unknown",
		in:       "data:test\n data\ndata\nfoobar:xxx\njustsometext\n:thisisacommentyay\ndata:test\n\n",
		want:     []sse.Event{msg("test\n\ntest")},
		diags:    []string{"unknown-field@10", "unknown-field@21", "unknown-field@32"},
		comments: []string{"thisisacommentyay"},
	},
	{ // A4: one space stripped, a tab kept (edge-04).
		name: "format-leading-space",
		in:   "data:\ttest\rdata: \ndata:test\n\n",
		want: []sse.Event{msg("\ttest\n\ntest")},
	},
	{ // A2: CRLF and LF mixed (edge-08).
		name: "format-newlines",
		in:   "data:test\r\ndata\ndata:test\r\n\r\n",
		want: []sse.Event{msg("test\n\ntest")},
	},
	{ // A1: NUL in data is kept (edge-24).
		name: "format-null-character",
		in:   "data:\x00\n\n\n",
		want: []sse.Event{msg("\x00")},
	},
	{ // A1: always UTF-8, whatever the charset parameter said (edge-23).
		name: "format-utf-8",
		in:   "data:ok\xE2\x80\xA6\n\n\n",
		want: []sse.Event{msg("ok…")},
	},
	{ // A4: event-data.any.js with resources/message2.py (edge-38).
		name:  "event-data",
		in:    "data:msg\ndata:msg\n\n:\nfalsefield:msg\n\nfalsefield:msg\nData:data\n\ndata\n\ndata:end\n\n",
		want:  []sse.Event{msg("msg\nmsg"), msg(""), msg("end")},
		diags: []string{"unknown-field@21", "unknown-field@37", "unknown-field@52"},
	},
}

// cpVectors are the research note's client-side byte vectors that the wpt
// cases above do not already cover.
var cpVectors = func() []vector {
	comments2049 := "data:1\r\r:\x00\n:\r\ndata:2\n\n:" + strings.Repeat("x", 2049) + "\rdata:3\n\n:data:fail\r:" + strings.Repeat("x", 2049) + "\ndata:4\n\ndata:5"
	vs := []vector{
		{name: "edge-01", in: "data: hello\n\n", want: []sse.Event{msg("hello")}},
		{name: "edge-02", in: "data:hello\n\n", want: []sse.Event{msg("hello")}},
		{name: "edge-03", in: "data:  hello\n\n", want: []sse.Event{msg(" hello")}},
		{name: "edge-05", in: "data: a\ndata: b\n\n", want: []sse.Event{msg("a\nb")}},
		{name: "edge-06", in: "data: a\rdata: b\r\r", want: []sse.Event{msg("a\nb")}},
		{name: "edge-07", in: "data: a\r\ndata: b\r\n\r\n", want: []sse.Event{msg("a\nb")}},
		{name: "edge-09/A2-lf-then-cr-is-two-line-ends", in: "data: x\n\rdata: y\n\n", want: []sse.Event{msg("x"), msg("y")}},
		{name: "edge-10", in: "data: x\r\n\rdata: y\n\n", want: []sse.Event{msg("x"), msg("y")}},
		{name: "edge-11", in: "\n\n\n\ndata: x\n\n\n\n", want: []sse.Event{msg("x")}},
		{
			name:   "edge-12/A2-crlf-split-across-reads",
			in:     "data: Hello\r\ndata: World\r\n\r\ndata: OK\r\n\r\n",
			chunks: []string{"data: Hello\r", "\ndata: World\r", "\n\r\ndata: OK\r", "\n", "\r", "\n"},
			want:   []sse.Event{msg("Hello\nWorld"), msg("OK")},
		},
		{
			name:   "edge-13",
			in:     "data: A\r\ndata: B\r\ndata: C\r\n\n",
			chunks: []string{"data: A\r\n", "data: B\r", "\n", "data: C\r\n", "\n"},
			want:   []sse.Event{msg("A\nB\nC")},
		},
		{name: "edge-16/A1-bom-stripped", in: "\xEF\xBB\xBFdata: x\n\n", want: []sse.Event{msg("x")}},
		{
			name:   "edge-17/A1-bom-split-across-reads",
			in:     "\xEF\xBB\xBFdata: Hello\n\n",
			chunks: []string{"\xEF\xBB", "\xBFdata: Hello\n\n"},
			want:   []sse.Event{msg("Hello")},
		},
		{
			name:   "edge-17/bom-byte-by-byte",
			in:     "\xEF\xBB\xBFdata: Hello\n\n",
			chunks: []string{"\xEF", "\xBB", "\xBF", "data: Hello\n\n"},
			want:   []sse.Event{msg("Hello")},
		},
		{
			name:  "edge-20/A1-second-bom-is-data",
			in:    "\xEF\xBB\xBFdata: \xEF\xBB\xBFHello\n\n",
			want:  []sse.Event{msg("\uFEFFHello")},
			diags: []string{"bom-not-at-start@9"},
		},
		{
			name:   "edge-21/A1-multibyte-split-across-reads",
			in:     "data: €豆腐\n\n",
			chunks: []string{"data: \xE2", "\x82", "\xAC\xE8\xB1", "\x86\xE8\x85\x90\n\n"},
			want:   []sse.Event{msg("€豆腐")},
		},
		{name: "edge-22/ff", in: "data: \xFF\n\n", want: []sse.Event{msg("\uFFFD")}, diags: []string{"invalid-utf8@6"}},
		{name: "edge-22/A1-truncated-is-one-fffd", in: "data: \xE2\x82\n\n", want: []sse.Event{msg("\uFFFD")}, diags: []string{"invalid-utf8@6"}},
		{name: "edge-25/comment", in: ": hello\n\n", comments: []string{" hello"}},
		{name: "edge-25/colon-only", in: ":\n", comments: []string{""}},
		{name: "edge-25/colons", in: ":" + strings.Repeat(":", 300) + "\n", comments: []string{strings.Repeat(":", 300)}},
		{name: "edge-26/A3-comment-does-not-end-event", in: "data: a\n: c\ndata: b\n\n", want: []sse.Event{msg("a\nb")}, comments: []string{" c"}},
		{
			name:     "edge-27/heartbeats",
			in:       strings.Repeat(": ♥\ndata: A\n\n", 3),
			want:     []sse.Event{msg("A"), msg("A"), msg("A")},
			comments: []string{" ♥", " ♥", " ♥"},
		},
		{name: "edge-28/A3-leading-colon-is-comment", in: ":data: x\n\n", comments: []string{"data: x"}},
		{name: "edge-29/A6-empty-data-dispatches", in: "data:\n\n", want: []sse.Event{msg("")}},
		{name: "edge-31", in: "data:\ndata: line2\ndata: line3\n\n", want: []sse.Event{msg("\nline2\nline3")}},
		{name: "edge-32", in: "data: line1\ndata:\ndata: line3\n\n", want: []sse.Event{msg("line1\n\nline3")}},
		{name: "edge-33/A6c-one-trailing-lf-removed", in: "data: a\ndata:\n\n", want: []sse.Event{msg("a\n")}},
		{name: "edge-34", in: "data: YHOO\ndata: +2\ndata: 10\n\n", want: []sse.Event{msg("YHOO\n+2\n10")}},
		{name: "edge-35/A4-first-colon-splits", in: "data:a:b: c\n\n", want: []sse.Event{msg("a:b: c")}},
		{name: "edge-40/event-colon", in: "event:\ndata: Hello 1\n\n", want: []sse.Event{msg("Hello 1")}},
		{name: "edge-41", in: "event:  greeting\ndata:  Hello\n\n", want: []sse.Event{ev(" greeting", " Hello", "")}},
		{
			name:  "edge-42/A6b-type-cleared-without-dispatch",
			in:    "event: foo\n\ndata: x\n\n",
			want:  []sse.Event{msg("x")},
			diags: []string{"block-without-data@0"},
		},
		{name: "edge-43", in: "data: Hello\nid: abc\nevent: greeting\n\n", want: []sse.Event{ev("greeting", "Hello", "abc")}, lastID: "abc"},
		{name: "edge-44", in: "event\ndata: x\n\n", want: []sse.Event{msg("x")}},
		{name: "edge-45", in: "event: open\ndata: x\n\n", want: []sse.Event{ev("open", "x", "")}},
		{
			name:   "edge-46",
			in:     "id: 1\ndata: 1\n\ndata: 2\n\nid: 2\ndata:3\n\ndata:4\n\n",
			want:   []sse.Event{ev("", "1", "1"), ev("", "2", "1"), ev("", "3", "2"), ev("", "4", "2")},
			lastID: "2",
		},
		{
			name: "edge-47/A5-bare-id-resets",
			in:   "id: 1\ndata: 1\n\nid\ndata:2\n\ndata:3\n\n",
			want: []sse.Event{ev("", "1", "1"), ev("", "2", ""), ev("", "3", "")},
		},
		{
			name:   "edge-48/A5-id-with-nul-ignored",
			in:     "id: 123\nid: bad\x00id\ndata: hello\n\n",
			want:   []sse.Event{ev("", "hello", "123")},
			lastID: "123",
			diags:  []string{"nul-in-id@8"},
		},
		{name: "edge-49", in: "id: a\x00bc\ndata: Hello\n\n", want: []sse.Event{msg("Hello")}, diags: []string{"nul-in-id@0"}},
		{
			name:   "edge-50/A6a-id-only-block-sets-last-id",
			in:     "id: 42\n\ndata: x\n\n",
			want:   []sse.Event{ev("", "x", "42")},
			lastID: "42",
			diags:  []string{"block-without-data@0"},
		},
		{name: "edge-51/two-spaces", in: "id:  x\ndata: y\n\n", want: []sse.Event{ev("", "y", " x")}, lastID: " x"},
		{name: "edge-51/trailing-space", in: "id: 1 \ndata: y\n\n", want: []sse.Event{ev("", "y", "1 ")}, lastID: "1 "},
		{
			name:   "edge-53/A7-partial-event-discarded",
			in:     "id: abc\ndata: Hello\n\nid: def\ndata: Goodbye",
			want:   []sse.Event{ev("", "Hello", "abc")},
			lastID: "abc",
			end:    "eof-mid-event@21",
			diags:  []string{"eof-mid-event@21"},
		},
		{
			name:    "edge-56/empty-retry-value",
			in:      "id:2\nretry:\ndata:🧹\n\n",
			want:    []sse.Event{ev("", "🧹", "2")},
			lastID:  "2",
			diags:   []string{"bad-retry@5"},
			retries: nil,
		},
		{name: "edge-58/retry-zero", in: "retry: 0\ndata: x\n\n", want: []sse.Event{msg("x")}, retries: []time.Duration{0}},
		{
			name:    "edge-59/A5-retry-overflow-saturates",
			in:      "retry: 99999999999999999999\ndata: x\n\n",
			want:    []sse.Event{msg("x")},
			retries: []time.Duration{time.Duration(int64(1<<63-1)/int64(time.Millisecond)) * time.Millisecond},
		},
		{name: "edge-60/A5-retry-without-dispatch", in: "retry: 500\n\n", retries: []time.Duration{ms(500)}},
		{
			name:  "edge-64/A5-unknown-field-ignored",
			in:    "color: blue\nevent: greeting\ndata: Hello\n\n",
			want:  []sse.Event{ev("greeting", "Hello", "")},
			diags: []string{"unknown-field@0"},
		},
		{name: "edge-65/A7-eof-without-line-end", in: "data: x", end: "eof-mid-event@0", diags: []string{"eof-mid-event@0"}},
		{name: "edge-65/A7-eof-without-empty-line", in: "data: x\n", end: "eof-mid-event@0", diags: []string{"eof-mid-event@0"}},
		{
			name:     "edge-67/spec-example",
			in:       ": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n\n",
			want:     []sse.Event{ev("", "first event", "1"), ev("", "second event", ""), ev("", " third event", "")},
			comments: []string{" test stream"},
		},
		{
			name:  "edge-68/spec-example",
			in:    "data\n\ndata\ndata\n\ndata:",
			want:  []sse.Event{msg(""), msg("\n")},
			end:   "eof-mid-event@17",
			diags: []string{"eof-mid-event@17"},
		},
		{name: "edge-69/spec-example", in: "data:test\n\ndata: test\n\n", want: []sse.Event{msg("test"), msg("test")}},
		{
			name:  "edge-70",
			in:    comments2049,
			want:  []sse.Event{msg("1"), msg("2"), msg("3"), msg("4")},
			end:   fmt.Sprintf("eof-mid-event@%d", len(comments2049)-len("data:5")),
			diags: []string{fmt.Sprintf("eof-mid-event@%d", len(comments2049)-len("data:5"))},
		},
	}
	var lines []string
	var want []sse.Event
	for i := range 100 {
		lines = append(lines, fmt.Sprintf("data: message %d\n\n", i))
		want = append(want, msg(fmt.Sprintf("message %d", i)))
	}
	vs = append(vs, vector{name: "edge-37/many-messages", in: strings.Join(lines, ""), want: want})
	// edge-57: retry values that are not ASCII digits only.
	for _, v := range []string{"-1", "+500", "1.5", "1e3", "500ms", " 500", "５００", "0x10", "5 "} {
		vs = append(vs, vector{
			name:  fmt.Sprintf("edge-57/A5-retry-digits-only/%q", v),
			in:    "retry: " + v + "\ndata:x\n\n",
			want:  []sse.Event{msg("x")},
			diags: []string{"bad-retry@0"},
		})
	}
	// edge-63: field names are compared literally.
	for _, name := range []string{"Data", "DATA", "data ", " data", "dаta"} {
		vs = append(vs, vector{
			name:  fmt.Sprintf("edge-63/A4-case-sensitive/%q", name),
			in:    name + ":x\n\n",
			diags: []string{"unknown-field@0"},
		})
	}
	return vs
}()

// ldVectors follow the parsing cases of LaunchDarkly's sse-contract-tests
// (ssetests/tests_basic_parsing.go, tests_bom.go, tests_linefeeds.go).
var ldVectors = func() []vector {
	vs := []vector{
		{name: "ld/two-messages-in-one-chunk", in: "data: a\n\ndata: b\n\n", want: []sse.Event{msg("a"), msg("b")}},
		{
			name: "ld/message-split-across-chunks", in: "data: hello\n\n",
			chunks: []string{"data: hel", "lo\n\n"}, want: []sse.Event{msg("hello")},
		},
		{
			name: "ld/two-messages-across-three-chunks", in: "data: one\n\ndata: two\n\n",
			chunks: []string{"data: one\n\nda", "ta: tw", "o\n\n"}, want: []sse.Event{msg("one"), msg("two")},
		},
		{name: "ld/A5-named-event", in: "event: greeting\ndata: Hello\n\n", want: []sse.Event{ev("greeting", "Hello", "")}},
		{name: "ld/event-with-id", in: "id: abc\ndata: Hello\n\n", want: []sse.Event{ev("", "Hello", "abc")}, lastID: "abc"},
		{
			name: "ld/event-with-type-and-id", in: "event: greeting\nid: abc\ndata: Hello\n\n",
			want: []sse.Event{ev("greeting", "Hello", "abc")}, lastID: "abc",
		},
		{
			name: "ld/A6e-last-id-persists", in: "id: abc\ndata: Hello\n\ndata: World\n\n",
			want: []sse.Event{ev("", "Hello", "abc"), ev("", "World", "abc")}, lastID: "abc",
		},
		{
			name: "ld/empty-id-overrides", in: "id: abc\ndata: Hello\n\nid:\ndata: World\n\n",
			want: []sse.Event{ev("", "Hello", "abc"), ev("", "World", "")},
		},
		{
			name: "ld/bom-before-typed-event-with-id", in: "\xEF\xBB\xBFevent: greeting\nid: 1\ndata: Hello\n\n",
			want: []sse.Event{ev("greeting", "Hello", "1")}, lastID: "1",
		},
		{name: "ld/bom-once-before-several-events", in: "\xEF\xBB\xBFdata: a\n\ndata: b\n\n", want: []sse.Event{msg("a"), msg("b")}},
		{name: "ld/bom-then-comment", in: "\xEF\xBB\xBF: hi\ndata: x\n\n", want: []sse.Event{msg("x")}, comments: []string{" hi"}},
		{name: "ld/bom-then-empty-data", in: "\xEF\xBB\xBFdata:\n\n", want: []sse.Event{msg("")}},
		{name: "ld/bom-then-multiline-data", in: "\xEF\xBB\xBFdata: a\ndata: b\n\n", want: []sse.Event{msg("a\nb")}},
	}
	for _, eol := range []struct{ name, s string }{{"LF", "\n"}, {"CRLF", "\r\n"}, {"CR", "\r"}} {
		e := eol.s
		for _, c := range []struct {
			name string
			in   string
			want []sse.Event
		}{
			{"one-line", "data: x" + e + e, []sse.Event{msg("x")}},
			{"one-and-two-line", "data: x" + e + e + "data: y" + e + "data: z" + e + e, []sse.Event{msg("x"), msg("y\nz")}},
			{"empty-first-line", "data:" + e + "data: y" + e + e, []sse.Event{msg("\ny")}},
			{"empty-middle-line", "data: a" + e + "data:" + e + "data: b" + e + e, []sse.Event{msg("a\n\nb")}},
			{"one-extra-blank-line", "data: a" + e + e + e + "data: b" + e + e, []sse.Event{msg("a"), msg("b")}},
			{"two-extra-blank-lines", "data: a" + e + e + e + e + "data: b" + e + e, []sse.Event{msg("a"), msg("b")}},
		} {
			vs = append(vs, vector{name: "ld/linefeeds/A2-" + eol.name + "/" + c.name, in: c.in, want: c.want})
		}
	}
	return vs
}()

// ruleVectors cover what the package doc's rules A1 to A8 require beyond the cases above;
// the prefix is the rule number.
var ruleVectors = []vector{
	// A1: UTF-8 decoding, one U+FFFD per maximal invalid subpart.
	{name: "A1/utf8-truncated-3byte-is-one", in: "data: \xE4\xBD\n\n", want: []sse.Event{msg("\uFFFD")}, diags: []string{"invalid-utf8@6"}},
	{name: "A1/utf8-truncated-before-ascii", in: "data: \xE4\xBDx\n\n", want: []sse.Event{msg("\uFFFDx")}, diags: []string{"invalid-utf8@6"}},
	{name: "A1/utf8-truncated-before-crlf", in: "data: \xE4\xBD\r\n\r\n", want: []sse.Event{msg("\uFFFD")}, diags: []string{"invalid-utf8@6"}},
	{name: "A1/utf8-truncated-4byte-is-one", in: "data: \xF0\x9F\x98\n\n", want: []sse.Event{msg("\uFFFD")}, diags: []string{"invalid-utf8@6"}},
	{name: "A1/utf8-overlong-f0-80-80-is-three", in: "data: \xF0\x80\x80\n\n", want: []sse.Event{msg("\uFFFD\uFFFD\uFFFD")}, diags: []string{"invalid-utf8@6"}},
	{name: "A1/utf8-surrogate-ed-a0-80-is-three", in: "data: \xED\xA0\x80\n\n", want: []sse.Event{msg("\uFFFD\uFFFD\uFFFD")}, diags: []string{"invalid-utf8@6"}},
	{name: "A1/utf8-above-10ffff-is-four", in: "data: \xF4\x90\x80\x80\n\n", want: []sse.Event{msg("\uFFFD\uFFFD\uFFFD\uFFFD")}, diags: []string{"invalid-utf8@6"}},
	{name: "A1/utf8-overlong-c0-af-is-two", in: "data: \xC0\xAF\n\n", want: []sse.Event{msg("\uFFFD\uFFFD")}, diags: []string{"invalid-utf8@6"}},
	{name: "A1/utf8-lone-continuations", in: "data: \x80\xBF\n\n", want: []sse.Event{msg("\uFFFD\uFFFD")}, diags: []string{"invalid-utf8@6"}},
	{name: "A1/utf8-lead-then-lead", in: "data: \xE4\xE4\xBD\xA0\n\n", want: []sse.Event{msg("\uFFFD你")}, diags: []string{"invalid-utf8@6"}},
	{name: "A1/utf8-encoded-fffd-is-valid", in: "data: \xEF\xBF\xBD\n\n", want: []sse.Event{msg("\uFFFD")}},
	{name: "A1/utf8-4byte", in: "data: 😀\n\n", want: []sse.Event{msg("😀")}},
	{
		name: "A1/utf8-invalid-in-field-name", in: "d\xFFta: x\n\n",
		diags: []string{"invalid-utf8@1", "unknown-field@0"},
	},
	{
		name: "A1/utf8-invalid-in-id", in: "id: \xFF\ndata: x\n\n",
		want: []sse.Event{ev("", "x", "\uFFFD")}, lastID: "\uFFFD", diags: []string{"invalid-utf8@4"},
	},
	{
		name: "A1/utf8-invalid-in-comment", in: ":\xFF\ndata: x\n\n",
		want: []sse.Event{msg("x")}, diags: []string{"invalid-utf8@1"}, comments: []string{"\uFFFD"},
	},
	{
		name: "A1/utf8-invalid-and-bom", in: "data: \xFF\xEF\xBB\xBF\n\n",
		want: []sse.Event{msg("\uFFFD\uFEFF")}, diags: []string{"invalid-utf8@6", "bom-not-at-start@7"},
	},
	{name: "A1/bom-only", in: "\xEF\xBB\xBF"},
	{name: "A1/empty-stream", in: ""},
	{
		name: "A1/partial-bom-is-invalid-utf8", in: "\xEF\xBBdata: x\n\n",
		diags: []string{"invalid-utf8@0", "unknown-field@0"},
	},
	{name: "A1/partial-bom-at-eof", in: "\xEF\xBB", end: "eof-mid-event@0", diags: []string{"eof-mid-event@0"}},
	{
		name: "A1/bom-in-later-comment", in: "\xEF\xBB\xBF:\xEF\xBB\xBF\n",
		diags: []string{"bom-not-at-start@4"}, comments: []string{"\uFEFF"},
	},
	// A2: line ends.
	{name: "A2/cr-cr", in: "data: a\r\rdata: b\r\r", want: []sse.Event{msg("a"), msg("b")}},
	{name: "A2/lf-cr-lf", in: "data: a\n\r\ndata: b\n\n", want: []sse.Event{msg("a"), msg("b")}},
	{name: "A2/cr-at-eof-is-a-line-end", in: "data: a\r\r", want: []sse.Event{msg("a")}},
	{name: "A2/lone-cr-at-eof", in: "data: a\r", end: "eof-mid-event@0", diags: []string{"eof-mid-event@0"}},
	{
		name: "A2/crlf-split-every-way", in: "data: a\r\n\r\ndata: b\r\n\r\n",
		chunks: []string{"data: a\r", "\n", "\r", "\n", "data: b", "\r", "\n\r", "\n"},
		want:   []sse.Event{msg("a"), msg("b")},
	},
	// A3: empty lines and comments.
	{
		name: "A3/comment-only-tail-is-clean", in: "data: a\n\n: keep-alive\n",
		want: []sse.Event{msg("a")}, comments: []string{" keep-alive"},
	},
	{name: "A3/unterminated-comment-tail-is-clean", in: "data: a\n\n: keep", want: []sse.Event{msg("a")}},
	{
		name: "A3/comment-inside-pending-event", in: "data: a\n: c\n",
		end: "eof-mid-event@0", diags: []string{"eof-mid-event@0"},
	},
	{name: "A3/blank-lines-only", in: "\n\r\n\r\n\n"},
	// A4: field and value.
	{name: "A4/tab-kept", in: "data:\tx\n\n", want: []sse.Event{msg("\tx")}},
	{name: "A4/trailing-space-kept", in: "data: x \n\n", want: []sse.Event{msg("x ")}},
	{name: "A4/no-colon-whole-line-is-field", in: "data\n\n", want: []sse.Event{msg("")}},
	{name: "A4/name-only-event", in: "event:\ndata\n\n", want: []sse.Event{msg("")}},
	{name: "A4/colon-in-id", in: "id: a:b\ndata\n\n", want: []sse.Event{ev("", "", "a:b")}, lastID: "a:b"},
	// A5: fields.
	{
		name: "A5/id-no-colon-resets", in: "id: x\ndata: a\n\nid\ndata: b\n\n",
		want: []sse.Event{ev("", "a", "x"), ev("", "b", "")},
	},
	{name: "A5/later-event-field-wins", in: "event: a\nevent: b\ndata\n\n", want: []sse.Event{ev("b", "", "")}},
	{name: "A5/later-id-field-wins", in: "id: a\nid: b\ndata\n\n", want: []sse.Event{ev("", "", "b")}, lastID: "b"},
	{name: "A5/retry-leading-zeros", in: "retry: 03000\n\n", retries: []time.Duration{ms(3000)}},
	{name: "A5/retry-no-colon", in: "retry\n\n", diags: []string{"bad-retry@0"}},
	{name: "A5/retry-two-spaces", in: "retry:  500\n\n", diags: []string{"bad-retry@0"}},
	// A6: dispatch.
	{name: "A6b/event-only-block-dispatches-nothing", in: "event: x\n\n", diags: []string{"block-without-data@0"}},
	{name: "A6b/unknown-only-block-is-not-no-data", in: "foo: x\n\n", diags: []string{"unknown-field@0"}},
	{
		name: "A6a/last-id-changes-only-at-dispatch", in: "id: 1\ndata: a\n\nid: 2\n",
		want: []sse.Event{ev("", "a", "1")}, lastID: "1",
		end: "eof-mid-event@15", diags: []string{"eof-mid-event@15"},
	},
	{
		name: "A6/seeded-last-event-id", opts: sse.Options{LastEventID: "41"}, in: "data: x\n\n",
		want: []sse.Event{ev("", "x", "41")}, lastID: "41",
	},
	{
		name: "A6/seeded-last-event-id-reset", opts: sse.Options{LastEventID: "41"}, in: "id\ndata: x\n\n",
		want: []sse.Event{ev("", "x", "")},
	},
	{name: "A6d/type-and-id-reused", in: "event: t\nid: 9\ndata: a\n\nevent: t\ndata: b\n\n",
		want: []sse.Event{ev("t", "a", "9"), ev("t", "b", "9")}, lastID: "9"},
	// A7: end of stream.
	{
		name: "A7/unknown-field-tail", in: "data: a\n\nfoo\n",
		want: []sse.Event{msg("a")}, end: "eof-mid-event@9", diags: []string{"unknown-field@9", "eof-mid-event@9"},
	},
	{name: "A7/complete-event-then-eof", in: "data: a\n\n", want: []sse.Event{msg("a")}},
	// A8: limits.
	{name: "A8/line-limit", opts: sse.Options{MaxLine: 8}, in: "data: 12345\n\n", end: "limit:line@0"},
	{name: "A8/line-limit-exact", opts: sse.Options{MaxLine: 11}, in: "data: 12345\n\n", want: []sse.Event{msg("12345")}},
	{name: "A8/line-limit-line-end-not-counted", opts: sse.Options{MaxLine: 7}, in: "data: a\r\n\r\n", want: []sse.Event{msg("a")}},
	{name: "A8/line-limit-comment", opts: sse.Options{MaxLine: 4}, in: ": hello\n", end: "limit:line@0"},
	{
		name: "A8/line-limit-after-events", opts: sse.Options{MaxLine: 8}, in: "data: a\n\ndata: 123456789\n\n",
		want: []sse.Event{msg("a")}, end: "limit:line@9",
	},
	{
		name: "A8/line-limit-unterminated", opts: sse.Options{MaxLine: 8}, in: "data: a\n\ndata: 123456789",
		want: []sse.Event{msg("a")}, end: "limit:line@9",
	},
	{
		name: "A8/line-limit-counts-raw-bytes", opts: sse.Options{MaxLine: 8}, in: "data:\xFF\xFF\xFF\n\n",
		want: []sse.Event{msg("\uFFFD\uFFFD\uFFFD")}, diags: []string{"invalid-utf8@5"},
	},
	{name: "A8/event-limit", opts: sse.Options{MaxEvent: 8}, in: "data: 1234\ndata: 567\n\n", end: "limit:event@11"},
	{name: "A8/event-limit-exact", opts: sse.Options{MaxEvent: 9}, in: "data: 1234\ndata: 567\n\n", want: []sse.Event{msg("1234\n567")}},
	{
		name: "A8/event-limit-per-event", opts: sse.Options{MaxEvent: 6}, in: "data: 12345\n\ndata: 12345\n\n",
		want: []sse.Event{msg("12345"), msg("12345")},
	},
	{
		name: "A8/event-limit-counts-decoded-bytes", opts: sse.Options{MaxEvent: 6}, in: "data: \xFF\xFF\n\n",
		end: "limit:event@0", diags: []string{"invalid-utf8@6"},
	},
}

func TestReaderWPT(t *testing.T)          { runVectors(t, wptVectors) }
func TestReaderCP(t *testing.T)           { runVectors(t, cpVectors) }
func TestReaderLaunchDarkly(t *testing.T) { runVectors(t, ldVectors) }
func TestReaderRules(t *testing.T)        { runVectors(t, ruleVectors) }
