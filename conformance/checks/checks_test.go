package checks

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

// ms is a shorthand for durations in tables.
func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

// capOpt modifies a synthetic capture.
type capOpt func(*Capture)

// stream builds a 200 text/event-stream capture of body, delivered in one
// read at 10ms with headers at 1ms, ended by a clean EOF.
func stream(body string, opts ...capOpt) *Capture {
	c := &Capture{
		Label:  "main",
		Method: "GET",
		URL:    "http://127.0.0.1/stream",
		Status: 200,
		Header: http.Header{
			"Content-Type":  {"text/event-stream"},
			"Cache-Control": {"no-cache"},
		},
		Headers: ms(1),
		Body:    []byte(body),
		Reads:   []Read{{At: ms(10), N: len(body)}},
		End:     EndEOF,
		EndAt:   ms(10),
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

func header(k string, v ...string) capOpt {
	return func(c *Capture) {
		if len(v) == 0 {
			c.Header.Del(k)
		} else {
			c.Header[http.CanonicalHeaderKey(k)] = v
		}
	}
}

func status(code int) capOpt { return func(c *Capture) { c.Status = code } }
func ended(e End) capOpt     { return func(c *Capture) { c.End = e } }
func label(l string) capOpt  { return func(c *Capture) { c.Label = l } }
func lastID(id string) capOpt {
	return func(c *Capture) { c.LastEventID = id }
}
func cut(n int) capOpt { return func(c *Capture) { c.Cut = int64(n); c.End = EndCut } }

// paced delivers the body as the given chunks, at the given times (ms).
func paced(headers int, chunks []string, at []int) capOpt {
	return func(c *Capture) {
		c.Headers = ms(headers)
		c.Body = []byte(strings.Join(chunks, ""))
		c.Reads = nil
		for i, ch := range chunks {
			c.Reads = append(c.Reads, Read{At: ms(at[i]), N: len(ch)})
		}
		c.EndAt = ms(at[len(at)-1])
	}
}

// events renders n events "id: i\ndata: e<i>\n\n" from index from.
func events(from, n int) string {
	var b strings.Builder
	for i := from; i < from+n; i++ {
		b.WriteString("id: " + itoa(i) + "\ndata: e" + itoa(i) + "\n\n")
	}
	return b.String()
}

// typed renders n events "event: add\nid: i\ndata: e<i>\n\n".
func typed(from, n int) string {
	var b strings.Builder
	for i := from; i < from+n; i++ {
		b.WriteString("event: add\nid: " + itoa(i) + "\ndata: e" + itoa(i) + "\n\n")
	}
	return b.String()
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var d []byte
	for ; i > 0; i /= 10 {
		d = append([]byte{byte('0' + i%10)}, d...)
	}
	return string(d)
}

func eventChunks(n int) []string {
	var out []string
	for i := range n {
		out = append(out, events(i, 1))
	}
	return out
}

func evenly(n, first, step int) []int {
	var out []int
	for i := range n {
		out = append(out, first+i*step)
	}
	return out
}

type checkCase struct {
	name string
	in   *Input
	want Status
	msg  string // substring of the message
}

func mainOnly(c *Capture) *Input { return &Input{Config: DefaultConfig(), Main: c} }

func withOrigin(in *Input, o string) *Input { in.Config.Origin = o; return in }

func withIdle(in *Input, d time.Duration) *Input { in.Config.Idle = d; return in }

func runCases(t *testing.T, id string, cases []checkCase) {
	t.Helper()
	c := Lookup(id)
	if c == nil {
		t.Fatalf("no check %s", id)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := c.Run(tc.in)
			if f.Status != tc.want || !strings.Contains(f.Message, tc.msg) {
				t.Errorf("%s: got %s %q (evidence %+v), want %s containing %q", id, f.Status, f.Message, f.Evidence, tc.want, tc.msg)
			}
			if (f.Status == Fail || f.Status == Warn) && f.Evidence == nil {
				t.Errorf("%s: %s without evidence", id, f.Status)
			}
		})
	}
}

const ok3 = "retry: 1000\nid: 0\ndata: a\n\nid: 1\ndata: b\n\nid: 2\ndata: c\n\n"

func TestHTTPStatus(t *testing.T) {
	runCases(t, "http/status", []checkCase{
		{"200", mainOnly(stream(ok3)), Pass, "200"},
		{"503", mainOnly(stream("data: status 503\n\n", status(503))), Fail, "503"},
		{"204", mainOnly(stream("", status(204))), Fail, "stop"},
		{"no response", mainOnly(&Capture{Label: "main", Err: errors.New("connection refused")}), Fail, "refused"},
		{"not run", &Input{}, Skip, ""},
	})
}

func TestHTTPContentType(t *testing.T) {
	runCases(t, "http/content-type", []checkCase{
		{"plain", mainOnly(stream(ok3)), Pass, ""},
		{"charset utf-8", mainOnly(stream(ok3, header("Content-Type", "text/event-stream; charset=UTF-8"))), Pass, ""},
		{"upper case, trailing semicolon", mainOnly(stream(ok3, header("Content-Type", "Text/Event-Stream;"))), Pass, ""},
		{"text/plain", mainOnly(stream(ok3, header("Content-Type", "text/plain; charset=utf-8"))), Fail, "text/plain"},
		{"missing", mainOnly(stream(ok3, header("Content-Type"))), Fail, "no Content-Type"},
		{"latin1", mainOnly(stream(ok3, header("Content-Type", "text/event-stream;charset=windows-1252"))), Fail, "windows-1252"},
		{"two different", mainOnly(stream(ok3, header("Content-Type", "text/event-stream", "application/json"))), Fail, "different"},
		{"non-200 skips", mainOnly(stream(ok3, status(500))), Skip, "500"},
	})
}

func TestHTTPCacheControl(t *testing.T) {
	runCases(t, "http/cache-control", []checkCase{
		{"no-cache", mainOnly(stream(ok3)), Pass, ""},
		{"no-store among others", mainOnly(stream(ok3, header("Cache-Control", "private, No-Store"))), Pass, ""},
		{"missing", mainOnly(stream(ok3, header("Cache-Control"))), Warn, "no Cache-Control"},
		{"cacheable", mainOnly(stream(ok3, header("Cache-Control", "public, max-age=60"))), Warn, "neither"},
	})
}

func TestHTTPCORS(t *testing.T) {
	o := "https://app.example"
	runCases(t, "http/cors", []checkCase{
		{"no origin given", mainOnly(stream(ok3)), Skip, "--origin"},
		{"star", withOrigin(mainOnly(stream(ok3, header("Access-Control-Allow-Origin", "*"))), o), Pass, "*"},
		{"echo", withOrigin(mainOnly(stream(ok3, header("Access-Control-Allow-Origin", o))), o), Pass, o},
		{"missing", withOrigin(mainOnly(stream(ok3)), o), Fail, "no Access-Control-Allow-Origin"},
		{"other origin", withOrigin(mainOnly(stream(ok3, header("Access-Control-Allow-Origin", "https://evil.example"))), o), Fail, "evil"},
	})
}

func TestStreamFirstEvent(t *testing.T) {
	slow := paced(1, []string{": hi\n\n", "data: x\n\n"}, []int{5, 11000})
	runCases(t, "stream/first-event", []checkCase{
		{"fast", mainOnly(stream(ok3)), Pass, "10ms"},
		{"no event", mainOnly(stream(": only a comment\n\n")), Fail, "no event"},
		{"too slow", mainOnly(stream("", slow)), Fail, "deadline"},
	})
}

func TestStreamIncremental(t *testing.T) {
	// 20 events every 20ms after a 1s first token: spread.
	spread := paced(1, eventChunks(20), evenly(20, 1000, 20))
	// The same events all delivered in the last read, at the end.
	buffered := paced(1, []string{events(0, 20)}, []int{1380})
	// A few events early, the bulk at the end: still held back (95%).
	mostly := paced(1, []string{events(0, 1), events(1, 19)}, []int{5, 1380})
	tooFast := paced(1, []string{events(0, 20)}, []int{60})
	// A stall, then the rest at the production pace: not buffering.
	stallThenPace := paced(1, append([]string{events(0, 1), events(1, 1)}, eventChunks(20)[2:]...),
		append([]int{5, 1000}, evenly(18, 3500, 20)...))
	// A buffered body that crosses a slow network in two bursts.
	wan := paced(1, []string{events(0, 14), events(14, 6)}, []int{1380, 1430})
	runCases(t, "stream/incremental", []checkCase{
		{"spread", mainOnly(stream("", spread)), Pass, "spread"},
		{"buffered", mainOnly(stream("", buffered)), Fail, "held back"},
		{"gzip buffered", mainOnly(stream("", buffered, header("Content-Encoding", "gzip"))), Fail, "held back"},
		{"mostly at the end", mainOnly(stream("", mostly)), Fail, "19 of 20"},
		{"too fast to tell", mainOnly(stream("", tooFast)), Pass, "too fast"},
		{"stall then production pace", mainOnly(stream("", stallThenPace)), Pass, "spread"},
		{"buffered across a slow network", mainOnly(stream("", wan)), Fail, "within 50ms"},
		{"two events", mainOnly(stream(events(0, 2))), Skip, "too few"},
		{"buffered, but the client was starved", starvedBy(mainOnly(stream("", buffered)), ms(900)), Skip, "starved of CPU"},
		{"buffered, the client a little late", starvedBy(mainOnly(stream("", buffered)), ms(30)), Fail, "held back"},
	})
}

// starvedBy records that the client's timer woke up as much as d late.
func starvedBy(in *Input, d time.Duration) *Input {
	in.Client = Lateness{Measured: true, TimerMax: d, TimerP99: d, SchedP99: d}
	return in
}

func TestStreamHeartbeat(t *testing.T) {
	quiet := paced(1, []string{events(0, 1), ": ping\n", events(1, 1)}, []int{5, 400, 800})
	stall := paced(1, []string{events(0, 1), events(1, 1)}, []int{5, 2605})
	runCases(t, "stream/heartbeat", []checkCase{
		{"comments keep it alive", withIdle(mainOnly(stream("", quiet)), ms(500)), Pass, "longest silence"},
		{"stall", withIdle(mainOnly(stream("", stall)), ms(2000)), Warn, "silent for 2.6s"},
		{"silent until the read stops", withIdle(mainOnly(stream("", paced(1, []string{events(0, 1)}, []int{5}), func(c *Capture) {
			c.End, c.EndAt = EndTimeout, ms(3000)
		})), ms(2000)), Warn, "silent"},
	})
}

func TestStreamHeadersEarly(t *testing.T) {
	early := paced(2, []string{events(0, 1), events(1, 1)}, []int{3, 1000})
	held := paced(1000, []string{events(0, 2)}, []int{1001})
	slowHeaders := paced(800, []string{events(0, 1)}, []int{1900})
	control := func(c *Capture, tth int) *Input {
		in := mainOnly(c)
		in.Control = stream("", status(404), header("Content-Type", "text/plain"), func(u *Capture) { u.Headers = ms(tth); u.Reads = nil })
		return in
	}
	// A control that is itself a held stream (a server that sends every
	// method to the stream handler, like node:http without flushHeaders)
	// excuses nothing, however slow it is.
	heldControl := func(c *Capture) *Input {
		in := mainOnly(c)
		in.Control = stream("", held, label("headers control (OPTIONS)"))
		return in
	}
	runCases(t, "stream/headers-early", []checkCase{
		{"held, the control answers at once", control(stream("", held), 2), Warn, "answered 404 after 2ms"},
		{"slow server: the control is as slow", control(stream("", held), 900), Pass, "as slow"},
		{"held, and the control is held the same way", heldControl(stream("", held)), Warn, "held the same way"},
		{"early", mainOnly(stream("", early)), Pass, ""},
		{"held until the first event", mainOnly(stream("", held)), Warn, "held"},
		{"slow headers but before the event", mainOnly(stream("", slowHeaders)), Pass, "before the first body"},
		{"quick server", mainOnly(stream("", paced(100, []string{events(0, 1)}, []int{100}))), Pass, ""},
	})
}

func TestFramingUTF8(t *testing.T) {
	runCases(t, "framing/utf8", []checkCase{
		{"valid multi-byte", mainOnly(stream("data: café 日本語 😀\n\n")), Pass, ""},
		{"0xff", mainOnly(stream("data: a\n\ndata: b\xff\n\n")), Fail, "byte 16"},
	})
	f := Lookup("framing/utf8").Run(mainOnly(stream("data: a\n\ndata: b\xff\n\n")))
	if f.Evidence.Bytes != `\xff\n\n` || *f.Evidence.Offset != 16 || *f.Evidence.Event != 1 {
		t.Errorf("evidence %+v", f.Evidence)
	}
}

func TestFramingBOM(t *testing.T) {
	runCases(t, "framing/bom", []checkCase{
		{"leading BOM is legal", mainOnly(stream("\xEF\xBB\xBFdata: a\n\n")), Pass, "leading"},
		{"BOM in a value", mainOnly(stream("data: a\n\ndata: \xEF\xBB\xBFb\n\n")), Fail, "inside a line"},
		{"BOM at a line start", mainOnly(stream("data: a\n\n\xEF\xBB\xBFdata: b\n\n")), Fail, "renames"},
		{"second leading BOM", mainOnly(stream("\xEF\xBB\xBF\xEF\xBB\xBFdata: a\n\n")), Fail, "byte 3"},
	})
}

func TestFramingTerminated(t *testing.T) {
	runCases(t, "framing/terminated", []checkCase{
		{"terminated", mainOnly(stream(ok3)), Pass, ""},
		{"final event unterminated", mainOnly(stream("data: a\n\ndata: [DONE]\n")), Fail, "byte 9"},
		{"final line without newline", mainOnly(stream("data: a\n\ndata: b")), Fail, "discards"},
		{"trailing comment is fine", mainOnly(stream("data: a\n\n: bye")), Pass, ""},
		{"abort mid-event is a drop", mainOnly(stream("data: a\n\nid: 2\nda", ended(EndAbort))), Pass, "network drop"},
		{"prober cut", mainOnly(stream("data: a\n\nda", ended(EndCut))), Pass, "stopped"},
	})
}

func TestFramingFields(t *testing.T) {
	runCases(t, "framing/retry", []checkCase{
		{"digits", mainOnly(stream("retry: 03000\ndata: a\n\n")), Pass, ""},
		{"unit", mainOnly(stream("retry: 3000ms\ndata: a\n\n")), Fail, "not ASCII digits"},
		{"two spaces", mainOnly(stream("retry:  3000\ndata: a\n\n")), Fail, ""},
	})
	runCases(t, "framing/id", []checkCase{
		{"ok", mainOnly(stream(ok3)), Pass, ""},
		{"nul", mainOnly(stream("id: 1\x00\ndata: a\n\n")), Fail, "U+0000"},
	})
	runCases(t, "framing/known-fields", []checkCase{
		{"ok", mainOnly(stream("event: x\nid: 1\nretry: 5\ndata: a\n: c\n\n")), Pass, ""},
		{"typo", mainOnly(stream("data: a\ndat: typo\n\n")), Warn, `"dat"`},
		{"capitalised", mainOnly(stream("Data: a\ndata: b\n\n")), Warn, `"Data"`},
		{"data without space is known", mainOnly(stream("data:a\n\n")), Pass, ""},
	})
	runCases(t, "framing/dispatchable", []checkCase{
		{"ok", mainOnly(stream(ok3)), Pass, ""},
		{"event without data", mainOnly(stream("event: noop\nid: 0\n\ndata: a\n\n")), Warn, "no data"},
		{"empty data dispatches", mainOnly(stream("event: ping\ndata\n\n")), Pass, ""},
		{"comment-only block", mainOnly(stream(": hb\n\ndata: a\n\n")), Pass, ""},
	})
}

func TestFramingLineEndings(t *testing.T) {
	runCases(t, "framing/line-endings", []checkCase{
		{"LF", mainOnly(stream(ok3)), Pass, "LF"},
		{"CRLF", mainOnly(stream(strings.ReplaceAll(ok3, "\n", "\r\n"))), Pass, "CRLF"},
		{"CR", mainOnly(stream(strings.ReplaceAll(ok3, "\n", "\r"))), Warn, "bare CR"},
		{"mixed", mainOnly(stream("data: a\n\ndata: b\r\n\r\n")), Warn, "mixed"},
	})
	f := Lookup("framing/line-endings").Run(mainOnly(stream("data: a\n\ndata: b\r\n\r\n")))
	if *f.Evidence.Offset != 9 || *f.Evidence.Event != 1 || f.Evidence.Bytes != `data: b\r\n` {
		t.Errorf("evidence %+v", f.Evidence)
	}
}

func TestFramingEventSize(t *testing.T) {
	big := "data: " + strings.Repeat("x", 70<<10) + "\n\n"
	huge := "data: " + strings.Repeat("x", 1100<<10) + "\n\n"
	runCases(t, "framing/event-size", []checkCase{
		{"small", mainOnly(stream(ok3)), Pass, ""},
		{"over 64 KiB", mainOnly(stream("data: a\n\n" + big)), Warn, "over 64 KiB"},
		{"over 1 MiB", mainOnly(stream(huge)), Warn, "over 1 MiB"},
	})
}

func TestResumeIDs(t *testing.T) {
	runCases(t, "resume/ids-present", []checkCase{
		{"all", mainOnly(stream(ok3)), Pass, ""},
		{"persisting id counts", mainOnly(stream("id: 1\ndata: a\n\ndata: b\n\n")), Pass, ""},
		{"none", mainOnly(stream("data: a\n\ndata: b\n\n")), Warn, "no event has an id"},
		{"first lacks", mainOnly(stream("data: a\n\nid: 1\ndata: b\n\n")), Warn, "1 of 2"},
		{"nul ids are ignored by clients", mainOnly(stream("id: 1\x00\ndata: a\n\n")), Warn, "no event"},
	})
	runCases(t, "resume/ids-unique", []checkCase{
		{"unique", mainOnly(stream(ok3)), Pass, "3 ids"},
		{"dup", mainOnly(stream("id: 0\ndata: a\n\nid: 1\ndata: b\n\nid: 1\ndata: c\n\n")), Fail, "repeats id \"1\""},
		{"no ids", mainOnly(stream("data: a\n\n")), Skip, "no ids"},
		{"a dataless block does not count", mainOnly(stream("id: 0\ndata: a\n\nevent: noop\nid: 0\n\nid: 1\ndata: b\n\n")), Pass, ""},
	})
}

// boundary builds a resume probe: the first connection read k events of
// body and was cut, then the reconnect delivered resumed.
func boundary(body string, k int, resumed *Capture) *ResumeProbe {
	s := ParseStream([]byte(body), "", nil)
	first := stream(body, label("first"), cut(int(s.Events[k-1].End)))
	resumed.LastEventID = first.Stream().LastEventID
	return &ResumeProbe{First: first, After: k, Resumed: resumed}
}

func TestResumeLastEventID(t *testing.T) {
	ref := events(0, 8)
	in := func(resumed *Capture) *Input {
		return &Input{Config: DefaultConfig(), Main: stream(ref), Boundary: boundary(ref, 3, resumed)}
	}
	// Data differs between requests but ids are positional.
	var other strings.Builder
	for i := range 8 {
		other.WriteString("id: " + itoa(i) + "\ndata: other" + itoa(i) + "\n\n")
	}
	runCases(t, "resume/last-event-id", []checkCase{
		{"exact continuation", in(stream(events(3, 5), label("resumed"))), Pass, "resumed at event 3"},
		{"continuation that drops again", in(stream(events(3, 2), label("resumed"), ended(EndAbort))), Pass, "2 events match"},
		{"replay from the start", in(stream(events(0, 8), label("resumed"))), Fail, "duplicate"},
		{"gap", in(stream(events(4, 4), label("resumed"))), Fail, "gap"},
		{"diverges later", in(stream(events(3, 1)+events(5, 3), label("resumed"))), Fail, "differs"},
		{"nothing", in(stream("", label("resumed"))), Fail, "no event"},
		{"refused", in(stream(`{"error":"no"}`, label("resumed"), status(503))), Skip, "reconnect/accepted"},
		{"no ids", &Input{Config: DefaultConfig(), Main: stream("data: a\n\n")}, Skip, "no ids"},
		{"positional ids, other data", &Input{Config: DefaultConfig(), Main: stream(other.String()),
			Boundary: boundary(ref, 3, stream(events(3, 5), label("resumed")))}, Pass, ""},
		// Ids made up per request: the same events are told by their
		// content and position.
		{"per-request ids", &Input{Config: DefaultConfig(), Main: stream(strings.ReplaceAll(ref, "id: ", "id: x")),
			Boundary: boundary(ref, 3, stream(events(3, 5), label("resumed")))}, Pass, "ids differ between requests"},
		{"per-request ids, replayed from the start", &Input{Config: DefaultConfig(), Main: stream(strings.ReplaceAll(ref, "id: ", "id: x")),
			Boundary: boundary(ref, 3, stream(strings.ReplaceAll(ref, "id: ", "id: y"), label("resumed")))}, Fail, "re-sent 3 event(s)"},
		{"nothing in common", &Input{Config: DefaultConfig(), Main: stream(strings.ReplaceAll(ref, "data: e", "data: other")),
			Boundary: boundary(strings.ReplaceAll(ref, "id: ", "id: z"), 3, stream(events(3, 5), label("resumed")))}, Skip, "share no event"},
		// 100 events replayed before the right one: the message counts them.
		{"long replay", &Input{Config: DefaultConfig(), Main: stream(events(0, 200)),
			Boundary: boundary(events(0, 200), 100, stream(events(0, 200), label("resumed")))}, Fail, "re-sent 100 event(s) the client already had (events 0..99"},
		// A live feed: the resume probe joined later; its drop point is
		// found by id in the uninterrupted read.
		{"live feed, resumed right", &Input{Config: DefaultConfig(), Main: stream(events(0, 12)),
			Boundary: boundary(events(5, 7), 2, stream(events(7, 5), label("resumed")))}, Pass, "resumed at event 7"},
		{"live feed, resumed with the live stream", &Input{Config: DefaultConfig(), Main: stream(events(0, 12)),
			Boundary: boundary(events(5, 7), 2, stream(events(9, 3), label("resumed")))}, Fail, "gap"},
	})
}

// midCut builds a mid-event probe: the first connection delivered body
// whole, and the client saw k events plus half of event k.
func midCut(body string, k int, resumed *Capture) *ResumeProbe {
	s := ParseStream([]byte(body), "", nil)
	e := s.Events[k]
	first := stream(body, label("first"), cut(int(e.Start+(e.End-e.Start)/2)))
	resumed.LastEventID = first.Stream().LastEventID
	return &ResumeProbe{First: first, After: k, Resumed: resumed}
}

func TestResumeMidEvent(t *testing.T) {
	ref := events(0, 8)
	in := func(resumed *Capture) *Input {
		return &Input{Config: DefaultConfig(), Main: stream(ref), MidEvent: midCut(ref, 3, resumed)}
	}
	// The server aborted the main read inside event 5; its resume follows.
	dropped := events(0, 5) + "id: 5\nda"
	drop := func(resumed string) *Input {
		r := stream(resumed, label("resumed"), lastID("4"))
		return &Input{Config: DefaultConfig(), Main: stream(dropped, ended(EndAbort)),
			MidEvent:   midCut(ref, 3, stream(events(3, 5), label("resumed"))),
			ServerDrop: &ResumeProbe{First: stream(dropped, ended(EndAbort)), After: 5, Resumed: r}}
	}
	// The server aborted inside event 5 before its id line was complete.
	droppedTyped := typed(0, 5) + "event: add\nid: 5"
	dropTyped := func(resumed string) *Input {
		r := stream(resumed, label("resumed"), lastID("4"))
		return &Input{Config: DefaultConfig(), Main: stream(droppedTyped, ended(EndAbort)),
			ServerDrop: &ResumeProbe{First: stream(droppedTyped, ended(EndAbort)), After: 5, Resumed: r}}
	}
	// Every event carries an unknown field: legal, and not a fragment.
	odd := strings.ReplaceAll(events(0, 6), "\ndata:", "\nx-trace: 1\ndata:")
	runCases(t, "resume/mid-event", []checkCase{
		{"re-sent whole", in(stream(events(3, 5), label("resumed"))), Pass, "re-sent it whole"},
		{"skipped the cut event", in(stream(events(4, 4), label("resumed"))), Fail, "lost"},
		{"replayed", in(stream(events(0, 8), label("resumed"))), Fail, "already had"},
		{"fragment", in(stream("ta: e3\n\n"+events(4, 4), label("resumed"))), Fail, "fragment"},
		{"server drop, resumed whole", drop(events(5, 3)), Pass, "inside event 5"},
		{"an unknown field the stream always carries is no fragment", &Input{Config: DefaultConfig(),
			Main: stream(odd), MidEvent: midCut(odd, 3, stream(strings.SplitN(odd, "id: 3\n", 2)[1], label("resumed")))}, Fail, "resumed with"},
		{"an unknown field the stream always carries is no fragment (whole)", &Input{Config: DefaultConfig(),
			Main: stream(odd), MidEvent: midCut(odd, 3, stream("id: 3\n"+strings.SplitN(odd, "id: 3\n", 2)[1], label("resumed")))}, Pass, "re-sent it whole"},
		{"server drop, byte-offset resume", drop("ta: e5\n\n" + events(6, 2)), Fail, "fragment"},
		{"server drop, event lost", drop(events(6, 2)), Fail, "id \"5\""},
		{"server drop before the id, byte-offset resume that parses", dropTyped("\ndata: tail\n\n" + typed(6, 2)), Fail, "instead"},
		{"server drop before the id, resumed whole", dropTyped(typed(5, 3)), Pass, "re-sent it whole"},
	})
}

func TestResumeUnknownID(t *testing.T) {
	ref := events(0, 8)
	in := func(c *Capture) *Input {
		c.Label, c.LastEventID = "unknown-id", "nope"
		return &Input{Config: DefaultConfig(), Main: stream(ref), UnknownID: c,
			Boundary: boundary(ref, 2, stream(events(2, 6), label("resumed")))}
	}
	// A live feed: the resume probe, opened after the main read's first
	// event, began at event 4. An unknown id that gets the live stream is
	// no full replay, even when it starts where the main read did.
	live := func(c *Capture) *Input {
		c.Label, c.LastEventID = "unknown-id", "nope"
		return &Input{Config: DefaultConfig(), Main: stream(ref), UnknownID: c,
			Boundary: boundary(events(4, 4), 2, stream(events(6, 2), label("resumed")))}
	}
	random := strings.ReplaceAll(ref, "id: ", "id: r")
	runCases(t, "resume/unknown-id", []checkCase{
		{"4xx json", in(stream(`{"error":"unknown id"}`, status(400), header("Content-Type", "application/json"))), Pass, "JSON"},
		{"204", in(stream("", status(204))), Pass, "204"},
		{"full replay", in(stream(events(0, 8))), Pass, "full replay"},
		{"marked", in(stream("event: reset\ndata: x\n\n" + events(0, 2))), Pass, "reset"},
		{"silent partial", in(stream(events(4, 4))), Warn, "silent partial"},
		{"5xx", in(stream("", status(500))), Warn, "500"},
		{"empty 200", in(stream(": nothing\n\n")), Warn, "no event"},
		{"live feed that started with the main read", live(stream(ref)), Warn, "live feed"},
		{"full replay with fresh per-request ids", &Input{Config: DefaultConfig(), Main: stream(strings.ReplaceAll(ref, "id: ", "id: x")),
			UnknownID: stream(random, label("unknown-id"), lastID("nope")),
			Boundary:  boundary(strings.ReplaceAll(ref, "id: ", "id: y"), 2, stream(events(2, 6), label("resumed")))}, Pass, "full replay"},
	})
}

func TestReconnect(t *testing.T) {
	ref := events(0, 8)
	in := func(resumed *Capture) *Input {
		return &Input{Config: DefaultConfig(), Main: stream(ref), Boundary: boundary(ref, 3, resumed)}
	}
	runCases(t, "reconnect/accepted", []checkCase{
		{"200", in(stream(events(3, 5), label("resumed"))), Pass, "Last-Event-ID: 2"},
		{"503", in(stream(`{"error":"busy"}`, status(503), header("Content-Type", "application/json"))), Fail, "503"},
		{"wrong type", in(stream(ref, header("Content-Type", "text/html"))), Fail, "text/html"},
		{"no response", in(&Capture{Label: "resumed", Err: errors.New("reset")}), Fail, "no response"},
	})
	runCases(t, "reconnect/retry-advertised", []checkCase{
		{"valid", mainOnly(stream(ok3)), Pass, ""},
		{"none", mainOnly(stream(events(0, 2))), Warn, "no valid retry"},
		{"only invalid", mainOnly(stream("retry: 1s\n" + events(0, 2))), Warn, "no valid retry"},
	})
	finite := func(c *Capture, reason string) *Input {
		if c != nil {
			c.Label, c.LastEventID = "after-end", "7"
		}
		return &Input{Config: DefaultConfig(), Main: stream(ref), FiniteEnd: c, FiniteEndReason: reason}
	}
	runCases(t, "lifecycle/finite-end", []checkCase{
		{"204", finite(stream("", status(204)), ""), Pass, "204"},
		{"404", finite(stream("", status(404)), ""), Pass, "404"},
		{"no new event", finite(stream(": bye\n\n"), ""), Pass, "no new event"},
		{"rerun", finite(stream(ref), ""), Warn, "fresh run"},
		{"new events", finite(stream(events(8, 2)), ""), Warn, "new events"},
		{"not finite", finite(nil, "the stream did not end"), Skip, "did not end"},
	})
}

func TestRunTurnsShouldViolationsIntoWarnings(t *testing.T) {
	for _, c := range All() {
		violated := *c
		violated.judge = func(*Input) Finding { return Finding{Status: Fail, Message: "violated"} }
		want := Fail
		if c.Level == Should {
			want = Warn
		}
		if f := violated.Run(&Input{}); f.Status != want {
			t.Errorf("%s: level %s, a violation is %s, want %s", c.ID, c.Level, f.Status, want)
		}
	}
}

func TestCatalogue(t *testing.T) {
	seen := map[string]bool{}
	groups := map[string]bool{}
	for _, g := range Groups() {
		groups[g] = true
	}
	for _, c := range All() {
		if seen[c.ID] {
			t.Errorf("duplicate id %s", c.ID)
		}
		seen[c.ID] = true
		if g, _, _ := strings.Cut(c.ID, "/"); g != c.Group {
			t.Errorf("%s is in group %s: a check's group is its ID's prefix", c.ID, c.Group)
		}
		if !groups[c.Group] || c.Rule == "" || c.Why == "" || !strings.HasPrefix(c.Spec, "https://") || !strings.Contains(c.Spec, "#") || len(c.Needs) == 0 || c.judge == nil {
			t.Errorf("incomplete check %+v", c)
		}
		// Every check copes with an empty input.
		if f := c.Run(&Input{Config: DefaultConfig()}); f.Status != Skip {
			t.Errorf("%s on empty input: %s %q", c.ID, f.Status, f.Message)
		}
	}
	// The catalogue's minimum: these ids are stable.
	for _, id := range []string{"http/status", "http/content-type", "http/cache-control", "stream/first-event",
		"stream/incremental", "stream/heartbeat", "framing/utf8", "framing/bom", "framing/terminated",
		"framing/retry", "framing/id", "framing/known-fields", "framing/dispatchable", "framing/line-endings",
		"resume/ids-present", "resume/ids-unique", "resume/last-event-id", "reconnect/accepted",
		"reconnect/retry-advertised", "stream/headers-early", "framing/event-size", "resume/mid-event",
		"resume/unknown-id", "lifecycle/finite-end", "http/cors"} {
		if !seen[id] {
			t.Errorf("catalogue lacks %s", id)
		}
	}
}

func TestSelect(t *testing.T) {
	tests := []struct {
		globs []string
		want  int
		err   bool
	}{
		{nil, len(All()), false},
		{[]string{"framing/*"}, 9, false},
		{[]string{"framing"}, 9, false},
		{[]string{"http/status", "resume/*"}, 6, false},
		{[]string{"*/id*"}, 3, false},
		{[]string{"nope/*"}, 0, true},
		{[]string{"[x"}, 0, true},
	}
	for _, tt := range tests {
		got, err := Select(tt.globs)
		if (err != nil) != tt.err || len(got) != tt.want {
			t.Errorf("Select(%q) = %d checks, %v; want %d, error %v", tt.globs, len(got), err, tt.want, tt.err)
		}
	}
	cs, _ := Select([]string{"framing/utf8"})
	if p := NeededProbes(cs); len(p) != 1 || p[0] != ProbeMain {
		t.Errorf("NeededProbes = %v", p)
	}
}
