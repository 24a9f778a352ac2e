package mockserver

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"
	"unicode/utf8"
)

// faultTests holds one test per fault profile. TestFaults fails when a
// profile in Faults() has none, so a new profile cannot land untested.
// Each asserts the misbehaviour at the byte level, against a control
// request without the fault where that makes the point.
var faultTests = map[string]func(t *testing.T, url string){
	"buffered":      func(t *testing.T, url string) { timedBuffering(t, "buffered") },
	"gzip-buffered": testGzipBuffered,
	"wrong-content-type": func(t *testing.T, url string) {
		r := get(t, url+"/v1/stream?fault=wrong-content-type", nil)
		if ct := r.header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
			t.Errorf("Content-Type %q", ct)
		}
		if len(parseSSE(r.body).events) != 6 {
			t.Errorf("the body should still be the stream")
		}
	},
	"no-cache-control": func(t *testing.T, url string) {
		if r := get(t, url+"/v1/stream?fault=no-cache-control", nil); r.header.Get("Cache-Control") != "" {
			t.Errorf("Cache-Control %q", r.header.Get("Cache-Control"))
		}
		if r := get(t, url+"/v1/stream", nil); r.header.Get("Cache-Control") != "no-cache" {
			t.Errorf("control lacks Cache-Control")
		}
	},
	"late-headers": func(t *testing.T, url string) { testLateHeaders(t) },
	"no-cors": func(t *testing.T, url string) {
		for _, r := range []response{
			get(t, url+"/v1/stream?fault=no-cors", nil),
			do(t, "OPTIONS", url+"/v1/stream?fault=no-cors", "", map[string]string{"Origin": "http://o", "Access-Control-Request-Headers": "last-event-id"}),
			do(t, "POST", url+"/v1/chat/completions?fault=no-cors", chatBody, nil),
		} {
			if v, ok := r.header["Access-Control-Allow-Origin"]; ok {
				t.Errorf("status %d has Access-Control-Allow-Origin %q", r.status, v)
			}
		}
		if r := get(t, url+"/v1/stream", nil); r.header.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("control lacks CORS")
		}
	},
	"no-ids": func(t *testing.T, url string) {
		for _, r := range []response{get(t, url+"/v1/stream?fault=no-ids", nil), do(t, "POST", url+"/v1/chat/completions?fault=no-ids", chatBody, nil)} {
			if bytes.Contains(r.body, []byte("\nid:")) || bytes.HasPrefix(r.body, []byte("id:")) {
				t.Errorf("an id line is present: %q", r.body)
			}
			for _, ev := range parseSSE(r.body).events {
				if ev.HasID {
					t.Errorf("event with id")
				}
			}
		}
	},
	"dup-ids": func(t *testing.T, url string) {
		r := get(t, url+"/v1/stream?fault=dup-ids", nil)
		if got := strings.Join(parseSSE(r.body).ids(), ","); got != "0,1,1,3,4,5" {
			t.Errorf("ids %s, want 0,1,1,3,4,5", got)
		}
	},
	"nul-id": func(t *testing.T, url string) {
		r := get(t, url+"/v1/stream?fault=nul-id", nil)
		if !bytes.Contains(r.body, []byte("id: 1\x00\n")) || !bytes.Contains(r.body, []byte("id: 0\x00\n")) {
			t.Errorf("no NUL in ids: %q", r.body)
		}
		for _, ev := range parseSSE(r.body).events {
			if ev.ID != "" {
				t.Errorf("a spec parser kept id %q", ev.ID)
			}
		}
	},
	"ignore-last-event-id": func(t *testing.T, url string) {
		full := get(t, url+"/v1/stream?fault=ignore-last-event-id", nil)
		r := get(t, url+"/v1/stream?fault=ignore-last-event-id", map[string]string{"Last-Event-ID": "2"})
		if r.status != 200 || !bytes.Equal(r.body, full.body) {
			t.Errorf("resume did not replay from the start: %q", r.body)
		}
	},
	"skip-on-resume": func(t *testing.T, url string) {
		r := get(t, url+"/v1/stream?fault=skip-on-resume", map[string]string{"Last-Event-ID": "2"})
		if ids := parseSSE(r.body).ids(); len(ids) == 0 || ids[0] != "4" {
			t.Errorf("resumed ids %v, want 4 first (3 skipped)", ids)
		}
		control := get(t, url+"/v1/stream", map[string]string{"Last-Event-ID": "2"})
		if ids := parseSSE(control.body).ids(); ids[0] != "3" {
			t.Errorf("control resumed at %v", ids)
		}
	},
	"resume-partial": func(t *testing.T, url string) {
		q := url + "/v1/stream?fault=drop-after=3,resume-partial"
		full := get(t, url+"/v1/stream", nil)
		fp := parseSSE(full.body)
		// Mid-event: drop-after=3 cut event 3 in half; Last-Event-ID 2.
		r := get(t, q, map[string]string{"Last-Event-ID": "2"})
		ev3 := full.body[fp.events[3].Start:fp.events[3].End]
		tail := ev3[len(ev3)/2:]
		if !bytes.HasPrefix(r.body, tail) || bytes.HasPrefix(r.body, ev3) {
			t.Errorf("mid-event resume should start with the second half of event 3 %q, got %q", tail, r.body)
		}
		for _, ev := range parseSSE(r.body).events {
			if ev.ID == "3" {
				t.Errorf("event 3 arrived whole")
			}
		}
		// Boundary: Last-Event-ID 1 (event 2 was not cut) resumes correctly.
		r = get(t, q, map[string]string{"Last-Event-ID": "1"})
		if !bytes.HasPrefix(r.body, full.body[fp.events[2].Start:fp.events[2].End]) {
			t.Errorf("boundary resume broken: %q", r.body)
		}
	},
	"rerun-on-reconnect": func(t *testing.T, url string) {
		full := get(t, url+"/v1/stream?fault=rerun-on-reconnect", nil)
		r := get(t, url+"/v1/stream?fault=rerun-on-reconnect", map[string]string{"Last-Event-ID": "5"})
		if r.status != 200 || !bytes.Equal(r.body, full.body) {
			t.Errorf("final id: status %d, want a fresh 200 run", r.status)
		}
		if c := get(t, url+"/v1/stream", map[string]string{"Last-Event-ID": "5"}); c.status != 204 {
			t.Errorf("control: %d", c.status)
		}
	},
	"unknown-id-silent": func(t *testing.T, url string) {
		for _, id := range []string{"bogus", "77"} {
			r := get(t, url+"/v1/stream?fault=unknown-id-silent", map[string]string{"Last-Event-ID": id})
			ids := parseSSE(r.body).ids()
			if r.status != 200 || len(ids) == 0 || ids[0] != "3" || bytes.Contains(r.body, []byte("error")) {
				t.Errorf("Last-Event-ID %s: status %d ids %v, want a silent 200 from event 3", id, r.status, ids)
			}
		}
		if c := get(t, url+"/v1/stream", map[string]string{"Last-Event-ID": "bogus"}); c.status != 400 {
			t.Errorf("control: %d", c.status)
		}
	},
	"refuse-reconnect": func(t *testing.T, url string) {
		r := get(t, url+"/v1/stream?fault=refuse-reconnect", map[string]string{"Last-Event-ID": "1"})
		if r.status != 503 {
			t.Errorf("status %d, want 503", r.status)
		}
		assertJSONError(t, r)
		if r := get(t, url+"/v1/stream?fault=refuse-reconnect", nil); r.status != 200 {
			t.Errorf("first connection: %d", r.status)
		}
	},
	"unterminated-final": func(t *testing.T, url string) {
		for _, r := range []response{get(t, url+"/v1/stream?fault=unterminated-final", nil), do(t, "POST", url+"/v1/chat/completions?fault=unterminated-final", chatBody, nil)} {
			ps := parseSSE(r.body)
			if !ps.pendingAtEOF || bytes.HasSuffix(r.body, []byte("\n\n")) || !bytes.HasSuffix(r.body, []byte("\n")) {
				t.Errorf("stream ends %q", r.body[len(r.body)-20:])
			}
			if r.readErr != nil {
				t.Errorf("the body should end cleanly: %v", r.readErr)
			}
		}
	},
	"bad-retry": func(t *testing.T, url string) {
		r := get(t, url+"/v1/stream?fault=bad-retry&retry=2500", nil)
		if !bytes.HasPrefix(r.body, []byte("retry: 2500ms\n")) {
			t.Errorf("starts %q", r.body[:20])
		}
	},
	"no-retry": func(t *testing.T, url string) {
		if r := get(t, url+"/v1/stream?fault=no-retry", nil); bytes.Contains(r.body, []byte("retry")) {
			t.Errorf("retry present")
		}
	},
	"invalid-utf8": func(t *testing.T, url string) {
		r := get(t, url+"/v1/stream?fault=invalid-utf8", nil)
		if utf8.Valid(r.body) {
			t.Fatalf("body is valid UTF-8")
		}
		ev := parseSSE(r.body).events[1]
		if !strings.HasSuffix(ev.Data, "\xff") {
			t.Errorf("event 1 data %q", ev.Data)
		}
		if c := get(t, url+"/v1/stream?tokens=64", nil); !utf8.Valid(c.body) {
			t.Errorf("control is not valid UTF-8")
		}
	},
	"bom-middle": func(t *testing.T, url string) {
		r := get(t, url+"/v1/stream?fault=bom-middle", nil)
		if i := bytes.Index(r.body, []byte("\xEF\xBB\xBF")); i <= 0 {
			t.Errorf("BOM at %d", i)
		}
		if ev := parseSSE(r.body).events[1]; !strings.HasPrefix(ev.Data, "\uFEFF") {
			t.Errorf("event 1 data %q", ev.Data)
		}
	},
	"unknown-field": func(t *testing.T, url string) {
		r := get(t, url+"/v1/stream?fault=unknown-field", nil)
		if u := parseSSE(r.body).unknown; len(u) != 1 || u[0] != "dat" {
			t.Errorf("unknown fields %v", u)
		}
	},
	"no-data-block": func(t *testing.T, url string) {
		r := get(t, url+"/v1/stream?fault=no-data-block", nil)
		ps := parseSSE(r.body)
		if ps.dataless != 1 || !bytes.Contains(r.body, []byte("\n\nevent: noop\nid: 0\n\n")) {
			t.Errorf("dataless blocks %d in %q", ps.dataless, r.body)
		}
		if len(ps.events) != 6 {
			t.Errorf("events %d", len(ps.events))
		}
	},
	"crlf": func(t *testing.T, url string) {
		r := get(t, url+"/v1/stream?fault=crlf&heartbeat=0", nil)
		ps := parseSSE(r.body)
		if len(ps.endings) != 1 || ps.endings["\r\n"] == 0 {
			t.Errorf("line endings %v", ps.endings)
		}
		sameEvents(t, url, ps)
	},
	"cr": func(t *testing.T, url string) {
		r := get(t, url+"/v1/stream?fault=cr", nil)
		if bytes.Contains(r.body, []byte("\n")) {
			t.Errorf("an LF in a CR stream")
		}
		sameEvents(t, url, parseSSE(r.body))
	},
	"mixed-endings": func(t *testing.T, url string) {
		r := get(t, url+"/v1/stream?fault=mixed-endings", nil)
		ps := parseSSE(r.body)
		if ps.endings["\n"] == 0 || ps.endings["\r\n"] == 0 || len(ps.endings) != 2 {
			t.Errorf("line endings %v", ps.endings)
		}
		sameEvents(t, url, ps)
	},
	"drop-after": func(t *testing.T, url string) {
		full := get(t, url+"/v1/stream", nil)
		fp := parseSSE(full.body)
		r := get(t, url+"/v1/stream?fault=drop-after=2", nil)
		if r.readErr == nil {
			t.Errorf("the body ended cleanly; want an aborted connection")
		}
		ev2 := full.body[fp.events[2].Start:fp.events[2].End]
		want := append(append([]byte(nil), full.body[:fp.events[2].Start]...), ev2[:len(ev2)/2]...)
		if !bytes.Equal(r.body, want) {
			t.Errorf("got %q\nwant %q (2 events, then half of event 2)", r.body, want)
		}
		// The resumed connection cuts again after 2 more complete events.
		r = get(t, url+"/v1/stream?fault=drop-after=2", map[string]string{"Last-Event-ID": "1"})
		if ids := parseSSE(r.body).ids(); r.readErr == nil || strings.Join(ids, ",") != "2,3" {
			t.Errorf("resumed: ids %v err %v", ids, r.readErr)
		}
	},
	"stall":  func(t *testing.T, url string) { testStall(t) },
	"status": testStatusFault,
	"huge-event": func(t *testing.T, url string) {
		const size = 200_000
		r := get(t, url+"/v1/stream?fault=huge-event="+strconv.Itoa(size), nil)
		ps := parseSSE(r.body)
		ev := ps.events[1]
		if len(ev.Data) != size || strings.Trim(ev.Data[len(ev.Data)-1000:], "x") != "" {
			t.Errorf("event 1 data is %d bytes, want %d", len(ev.Data), size)
		}
		if len(ps.events) != 6 {
			t.Errorf("%d events", len(ps.events))
		}
		// Resume and drop-after see the padded bytes as one event.
		r2 := get(t, url+"/v1/stream?fault=huge-event="+strconv.Itoa(size)+",drop-after=1", nil)
		if len(r2.body) != ev.Start+(ev.End-ev.Start)/2 || r2.readErr == nil {
			t.Errorf("drop inside the huge event: %d bytes, want %d", len(r2.body), ev.Start+(ev.End-ev.Start)/2)
		}
		r3 := get(t, url+"/v1/stream?fault=huge-event="+strconv.Itoa(size), map[string]string{"Last-Event-ID": "0"})
		if !bytes.Equal(r3.body, r.body[ev.Start:]) {
			t.Errorf("resume after 0 differs")
		}
	},
	"error-after": func(t *testing.T, url string) {
		r := get(t, url+"/v1/stream?fault=error-after=2", nil)
		ps := parseSSE(r.body)
		if len(ps.events) != 4 || ps.events[3].Type != "error" || ps.events[3].ID != "3" || !strings.Contains(ps.events[3].Data, `"error"`) {
			t.Errorf("events %+v", ps.events)
		}
		c := do(t, "POST", url+"/v1/chat/completions?fault=error-after=1", chatBody, nil)
		cp := parseSSE(c.body)
		last := cp.events[len(cp.events)-1]
		if len(cp.events) != 3 || !strings.HasPrefix(last.Data, `{"error":`) || bytes.Contains(c.body, []byte("[DONE]")) {
			t.Errorf("chat: %q", c.body)
		}
	},
}

// sameEvents checks that a stream with other line endings carries the same
// events as the plain one.
func sameEvents(t *testing.T, url string, ps parsedStream) {
	t.Helper()
	want := parseSSE(get(t, url+"/v1/stream", nil).body)
	if len(ps.events) != len(want.events) {
		t.Fatalf("%d events, want %d", len(ps.events), len(want.events))
	}
	for i := range ps.events {
		if ps.events[i].Data != want.events[i].Data || ps.events[i].ID != want.events[i].ID {
			t.Errorf("event %d differs", i)
		}
	}
}

func TestFaults(t *testing.T) {
	s, ts := newTestServer(t, fastConfig())
	for _, f := range Faults() {
		t.Run(f.Name, func(t *testing.T) {
			fn := faultTests[f.Name]
			if fn == nil {
				t.Fatalf("fault %s has no test", f.Name)
			}
			fn(t, ts.URL)
		})
	}
	// Every profile was counted in /metrics.
	text := scrape(t, s)
	for _, f := range Faults() {
		v := metricLine(text, `ssebench_mock_faults_injected_total{fault="`+f.Name+`"}`)
		if f.Name == "buffered" || f.Name == "late-headers" || f.Name == "stall" {
			continue // exercised on their own servers, in a bubble
		}
		if v == "" || v == "0" {
			t.Errorf("faults_injected_total for %s is %q", f.Name, v)
		}
	}
}

func TestServerWideFaults(t *testing.T) {
	cfg := fastConfig()
	cfg.Faults = []string{"no-retry,crlf", "dup-ids"}
	_, ts := newTestServer(t, cfg)
	r := get(t, ts.URL+"/v1/stream", nil)
	if bytes.Contains(r.body, []byte("retry")) || !bytes.Contains(r.body, []byte("\r\n")) || strings.Join(parseSSE(r.body).ids(), ",") != "0,1,1,3,4,5" {
		t.Errorf("server-wide faults not applied: %q", r.body)
	}
	// A request adds to them; "none" clears them.
	r = get(t, ts.URL+"/v1/stream?fault=none", nil)
	if !bytes.HasPrefix(r.body, []byte("retry: 3000\n")) || bytes.Contains(r.body, []byte("\r")) {
		t.Errorf("fault=none did not clear: %q", r.body[:30])
	}
	r = get(t, ts.URL+"/v1/stream?fault=no-ids", nil)
	if bytes.Contains(r.body, []byte("id:")) || !bytes.Contains(r.body, []byte("\r\n")) {
		t.Errorf("request fault did not add to the server's")
	}
}

func testGzipBuffered(t *testing.T, url string) {
	r := get(t, url+"/v1/stream?fault=gzip-buffered", map[string]string{"Accept-Encoding": "identity"})
	if r.header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("Content-Encoding %q", r.header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(bytes.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if want := get(t, url+"/v1/stream", nil).body; !bytes.Equal(plain, want) {
		t.Errorf("decompressed body differs from the plain stream")
	}
	timedBuffering(t, "gzip-buffered")
}

// timedBuffering checks, on a fake clock, that the fault holds every body
// byte until the end while the headers go out at once, and that the
// control flushes each event as it is produced.
func timedBuffering(t *testing.T, fault string) {
	synctest.Test(t, func(t *testing.T) {
		cfg := fastConfig()
		cfg.TTFT, cfg.ITL, cfg.Tokens = Fixed(100*time.Millisecond), Fixed(100*time.Millisecond), 3
		s, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		w, done := serveAsync(t, s, httptest.NewRequest("GET", "/v1/stream?fault="+fault, nil))
		wc, donec := serveAsync(t, s, httptest.NewRequest("GET", "/v1/stream", nil))
		<-done
		<-donec
		body, fl := w.snapshot()
		if len(fl) == 0 || fl[0].at != 0 || fl[0].n != 0 {
			t.Errorf("%s: the headers were not flushed at once without body: %+v", fault, fl)
		}
		for _, f := range fl[:len(fl)-1] {
			if f.n != 0 {
				t.Errorf("%s: %d body bytes flushed at %v, before the end", fault, f.n, f.at)
			}
		}
		if last := fl[len(fl)-1]; last.at != 300*time.Millisecond || last.n != len(body) {
			t.Errorf("%s: last flush %+v, want all %d bytes at 300ms", fault, last, len(body))
		}
		_, cfl := wc.snapshot()
		if len(cfl) < 5 || cfl[1].n == 0 || cfl[1].at != 0 || cfl[2].at != 100*time.Millisecond {
			t.Errorf("control: flushes %+v, want the info event at 0 and a token at 100ms", cfl)
		}
	})
}

func testLateHeaders(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := fastConfig()
		cfg.TTFT, cfg.Heartbeat = Fixed(time.Second), 200*time.Millisecond
		s, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		w, done := serveAsync(t, s, httptest.NewRequest("GET", "/v1/stream?fault=late-headers", nil))
		wc, donec := serveAsync(t, s, httptest.NewRequest("GET", "/v1/stream", nil))
		<-done
		<-donec
		body, fl := w.snapshot()
		if fl[0].at != time.Second {
			t.Errorf("first flush (headers) at %v, want 1s (the first token)", fl[0].at)
		}
		ps := parseSSE(body[:fl[0].n])
		if len(ps.events) != 2 || ps.events[1].Type != "add" || ps.comments != 0 {
			t.Errorf("first flush carries %+v, want info and add 1 and no heartbeat", ps.events)
		}
		cbody, cfl := wc.snapshot()
		if cfl[0].at != 0 || cfl[1].at != 0 || parseSSE(cbody[:cfl[1].n]).events[0].Type != "info" {
			t.Errorf("control: headers and info not at 0: %+v", cfl)
		}
		if parseSSE(cbody).comments != 4 { // heartbeats at 200..800ms while waiting for the first token
			t.Errorf("control: %d heartbeats, want 4", parseSSE(cbody).comments)
		}
	})
}

func testStall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := fastConfig()
		cfg.TTFT, cfg.ITL, cfg.Heartbeat, cfg.Tokens = Fixed(0), Fixed(500*time.Millisecond), 100*time.Millisecond, 3
		s, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		gap := func(q string) (time.Duration, time.Duration) {
			w, done := serveAsync(t, s, httptest.NewRequest("GET", "/v1/stream?"+q, nil))
			<-done
			body, fl := w.snapshot()
			// The flush that completed event 1, and the one after it.
			off := parseSSE(body).events[1].End
			for i, f := range fl {
				if f.n >= off {
					return fl[i].at, fl[i+1].at - fl[i].at
				}
			}
			t.Fatalf("event 1 never flushed")
			return 0, 0
		}
		if at, g := gap("fault=stall=3s"); at != 0 || g != 3*time.Second {
			t.Errorf("stall: event 1 at %v, then silence %v; want 0 and 3s", at, g)
		}
		if _, g := gap(""); g != 100*time.Millisecond {
			t.Errorf("control: first gap %v, want a heartbeat after 100ms", g)
		}
	})
}

func testStatusFault(t *testing.T, url string) {
	for _, code := range []int{500, 503, 404, 401, 301, 204, 201} {
		r := get(t, url+"/v1/stream?fault=status="+strconv.Itoa(code), nil)
		if r.status != code {
			t.Errorf("status %d, want %d", r.status, code)
		}
		if code == 204 {
			if len(r.body) != 0 {
				t.Errorf("204 with a body")
			}
			continue
		}
		if r.header.Get("Content-Type") != "text/event-stream; charset=utf-8" || string(r.body) != "data: status "+strconv.Itoa(code)+"\n\n" {
			t.Errorf("%d: %q %q", code, r.header.Get("Content-Type"), r.body)
		}
	}
	r := do(t, "POST", url+"/v1/chat/completions?fault=status=429", `{"stream":false}`, nil)
	if r.status != 429 {
		t.Errorf("non-stream chat: %d", r.status)
	}
}
