package mockserver

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// eventTimes maps each event id to the fake time of the flush that
// completed it.
func eventTimes(t *testing.T, w *recWriter) map[string]time.Duration {
	t.Helper()
	body, fl := w.snapshot()
	out := map[string]time.Duration{}
	for _, ev := range parseSSE(body).events {
		for _, f := range fl {
			if f.n >= ev.End {
				out[ev.ID] = f.at
				break
			}
		}
	}
	return out
}

func TestTimingFixed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := fastConfig()
		cfg.TTFT, cfg.ITL, cfg.Tokens = Fixed(200*time.Millisecond), Fixed(20*time.Millisecond), 3
		s, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name string
			req  *http.Request
			want map[string]time.Duration
		}{
			{"stream", httptest.NewRequest("GET", "/v1/stream", nil),
				map[string]time.Duration{"0": 0, "1": 200 * time.Millisecond, "2": 220 * time.Millisecond, "3": 240 * time.Millisecond, "4": 240 * time.Millisecond}},
			{"query overrides", httptest.NewRequest("GET", "/v1/stream?ttft=1s&itl=5ms&tokens=2", nil),
				map[string]time.Duration{"0": 0, "1": time.Second, "2": 1005 * time.Millisecond, "3": 1005 * time.Millisecond}},
			{"resume waits ttft again", func() *http.Request {
				r := httptest.NewRequest("GET", "/v1/stream", nil)
				r.Header.Set("Last-Event-ID", "1")
				return r
			}(), map[string]time.Duration{"2": 200 * time.Millisecond, "3": 220 * time.Millisecond, "4": 220 * time.Millisecond}},
			{"chat", httptest.NewRequest("POST", "/v1/chat/completions", strings.NewReader(chatBody)),
				map[string]time.Duration{"0": 0, "1": 200 * time.Millisecond, "2": 220 * time.Millisecond, "3": 240 * time.Millisecond, "4": 240 * time.Millisecond, "5": 240 * time.Millisecond}},
		} {
			w, done := serveAsync(t, s, tc.req)
			<-done
			got := eventTimes(t, w)
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("%s: event times %v, want %v", tc.name, got, tc.want)
			}
			if _, fl := w.snapshot(); fl[0].at != 0 {
				t.Errorf("%s: headers flushed at %v, want at once", tc.name, fl[0].at)
			}
		}
		// stream:false answers after the whole generation.
		start := time.Now()
		w, done := serveAsync(t, s, httptest.NewRequest("POST", "/v1/chat/completions", strings.NewReader(`{"max_tokens":3}`)))
		<-done
		if el := time.Since(start); el != 240*time.Millisecond || w.status != 200 {
			t.Errorf("non-stream answered after %v with %d, want 240ms", el, w.status)
		}
	})
}

func TestTimingDistributions(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, err := New(fastConfig())
		if err != nil {
			t.Fatal(err)
		}
		w, done := serveAsync(t, s, httptest.NewRequest("GET", "/v1/stream?tokens=200&ttft=uniform(100ms,300ms)&itl=10ms~5ms", nil))
		<-done
		times := eventTimes(t, w)
		if tt := times["1"]; tt < 100*time.Millisecond || tt > 300*time.Millisecond {
			t.Errorf("ttft %v outside [100ms, 300ms]", tt)
		}
		distinct := map[time.Duration]bool{}
		for i := 2; i <= 200; i++ {
			g := times[fmt.Sprint(i)] - times[fmt.Sprint(i-1)]
			if g < 5*time.Millisecond || g > 15*time.Millisecond {
				t.Errorf("gap %d = %v outside [5ms, 15ms]", i, g)
			}
			distinct[g] = true
		}
		if len(distinct) < 10 {
			t.Errorf("jittered gaps take only %d values", len(distinct))
		}
		w, done = serveAsync(t, s, httptest.NewRequest("GET", "/v1/stream?tokens=300&itl=lognormal(10ms,0.5,40ms)&ttft=0", nil))
		<-done
		times = eventTimes(t, w)
		below, above := 0, 0
		for i := 2; i <= 300; i++ {
			g := times[fmt.Sprint(i)] - times[fmt.Sprint(i-1)]
			if g > 40*time.Millisecond {
				t.Errorf("lognormal gap %v over its cap", g)
			}
			if g < 10*time.Millisecond {
				below++
			} else {
				above++
			}
		}
		if below < 75 || above < 75 { // median 10ms: about half on each side
			t.Errorf("lognormal(10ms): %d gaps below the median, %d above", below, above)
		}
	})
}

func TestHeartbeat(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := fastConfig()
		cfg.TTFT, cfg.ITL, cfg.Tokens, cfg.Heartbeat = Fixed(time.Second), Fixed(250*time.Millisecond), 2, 300*time.Millisecond
		s, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		w, done := serveAsync(t, s, httptest.NewRequest("GET", "/v1/stream", nil))
		<-done
		body, fl := w.snapshot()
		var beats []time.Duration
		prev := 0
		for _, f := range fl {
			if chunk := string(body[prev:f.n]); chunk == ": heartbeat\n\n" {
				beats = append(beats, f.at)
			}
			prev = f.n
		}
		// Idle from 0 (info) to 1s: beats at 300, 600, 900ms; none in the
		// 250ms gaps after that.
		if fmt.Sprint(beats) != "[300ms 600ms 900ms]" {
			t.Errorf("heartbeats at %v", beats)
		}
		w, done = serveAsync(t, s, httptest.NewRequest("GET", "/v1/stream?heartbeat=0", nil))
		<-done
		if parseSSE(w.buf).comments != 0 {
			t.Errorf("heartbeat=0 still sends heartbeats")
		}
	})
}

// TestSlotsQueue: with 2 slots, 5 streams: 2 generate, 3 queue (the gauge
// shows it), and the queued ones get their first token in FIFO order, later
// by exactly the time they waited.
func TestSlotsQueue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := fastConfig()
		cfg.Slots, cfg.TTFT, cfg.ITL, cfg.Tokens = 2, Fixed(time.Second), Fixed(100*time.Millisecond), 3
		s, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		var ws []*recWriter
		var dones []chan struct{}
		for i := 0; i < 5; i++ {
			w, done := serveAsync(t, s, httptest.NewRequest("GET", "/v1/stream", nil))
			ws, dones = append(ws, w), append(dones, done)
			synctest.Wait() // arrival order = queue order
		}
		m := scrape(t, s)
		for series, want := range map[string]string{
			"ssebench_mock_queue_depth": "3", "ssebench_mock_slots_busy": "2", "ssebench_mock_slots": "2",
			`ssebench_mock_streams_active{endpoint="stream"}`: "5",
		} {
			if got := metricLine(m, series); got != want {
				t.Errorf("%s = %q, want %s", series, got, want)
			}
		}
		// Queued streams already have their headers and info event.
		for i, w := range ws {
			if body, _ := w.snapshot(); len(parseSSE(body).events) != 1 {
				t.Errorf("stream %d: %d events before its slot, want the info event", i, len(parseSSE(body).events))
			}
		}
		for _, d := range dones {
			<-d
		}
		// Generation takes 1.2s (TTFT 1s + 2 gaps); the slot frees with the
		// last token.
		want := []time.Duration{time.Second, time.Second, 2200 * time.Millisecond, 2200 * time.Millisecond, 3400 * time.Millisecond}
		for i, w := range ws {
			if got := eventTimes(t, w)["1"]; got != want[i] {
				t.Errorf("stream %d: first token at %v, want %v", i, got, want[i])
			}
		}
		m = scrape(t, s)
		if metricLine(m, "ssebench_mock_queue_depth") != "0" || metricLine(m, "ssebench_mock_slots_busy") != "0" {
			t.Errorf("slots not all free at the end:\n%s", m)
		}
	})
}

func TestSlotsQueueMaxAndCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := fastConfig()
		cfg.Slots, cfg.QueueMax, cfg.TTFT = 1, 1, Fixed(time.Hour)
		s, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		ctx1, cancel1 := context.WithCancel(context.Background())
		_, done1 := serveAsync(t, s, httptest.NewRequestWithContext(ctx1, "GET", "/v1/stream", nil))
		synctest.Wait()
		ctx2, cancel2 := context.WithCancel(context.Background())
		_, done2 := serveAsync(t, s, httptest.NewRequestWithContext(ctx2, "GET", "/v1/stream", nil))
		synctest.Wait()
		w3, done3 := serveAsync(t, s, httptest.NewRequest("GET", "/v1/stream", nil))
		<-done3
		if w3.status != http.StatusTooManyRequests {
			t.Errorf("third stream: %d, want 429", w3.status)
		}
		// A queued client that leaves frees its place; the generating one
		// frees the slot.
		cancel2()
		<-done2
		if got := metricLine(scrape(t, s), "ssebench_mock_queue_depth"); got != "0" {
			t.Errorf("queue depth %s after the waiter left", got)
		}
		cancel1()
		<-done1
		if got := metricLine(scrape(t, s), "ssebench_mock_slots_busy"); got != "0" {
			t.Errorf("slots busy %s after the stream left", got)
		}
	})
}

// TestCloseEndsStreams: Close ends open streams (generating and queued)
// with a clean end of body, over real TCP.
func TestCloseEndsStreams(t *testing.T) {
	cfg := fastConfig()
	cfg.TTFT, cfg.Slots = Fixed(time.Hour), 1
	s, ts := newTestServer(t, cfg)
	type result struct {
		lines int
		err   error
	}
	results := make(chan result, 3)
	for i := 0; i < 3; i++ {
		resp, err := http.Get(ts.URL + "/v1/stream")
		if err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(resp.Body)
		if _, err := br.ReadString('\n'); err != nil { // the info event has arrived
			t.Fatal(err)
		}
		go func() {
			defer resp.Body.Close()
			n := 0
			var err error
			for err == nil {
				_, err = br.ReadString('\n')
				n++
			}
			if err.Error() == "EOF" {
				err = nil
			}
			results <- result{n, err}
		}()
	}
	s.Close()
	timeout := time.After(10 * time.Second) // a bound against hanging, not a timing assertion
	for i := 0; i < 3; i++ {
		select {
		case r := <-results:
			if r.err != nil {
				t.Errorf("stream ended with %v, want a clean EOF", r.err)
			}
		case <-timeout:
			t.Fatal("streams still open after Close")
		}
	}
}

// TestClientGone: a client that disconnects ends its stream and frees its
// metrics.
func TestClientGone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := fastConfig()
		cfg.TTFT, cfg.Heartbeat = Fixed(time.Hour), 15*time.Second
		s, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		_, done := serveAsync(t, s, httptest.NewRequestWithContext(ctx, "GET", "/v1/stream", nil))
		time.Sleep(time.Minute)
		if got := metricLine(scrape(t, s), `ssebench_mock_streams_active{endpoint="stream"}`); got != "1" {
			t.Errorf("active %s", got)
		}
		cancel()
		<-done
		if got := metricLine(scrape(t, s), `ssebench_mock_streams_active{endpoint="stream"}`); got != "0" {
			t.Errorf("active %s after the client left", got)
		}
	})
}
