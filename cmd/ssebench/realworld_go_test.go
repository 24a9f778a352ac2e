package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	r3sse "github.com/r3labs/sse/v2"
	gosse "github.com/tmaxmax/go-sse"
)

// publishEvery calls publish(n) for n = 0, 1, ... every gap until the test
// ends; the goroutine is stopped and waited for at cleanup.
func publishEvery(t *testing.T, gap time.Duration, publish func(n int)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(gap)
		defer tick.Stop()
		for n := 0; ; n++ {
			publish(n)
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	})
	t.Cleanup(func() { cancel(); wg.Wait() })
}

// The two Go libraries serve live feeds: an event every 50 ms for as long
// as the server runs. conform reads each for 3 s (about 60 live events; the
// event limit is only a bound, so that r3labs' replay of its log on connect
// never makes up the whole read).
const (
	liveGap   = 50 * time.Millisecond
	liveRead  = "3s"
	liveCount = "400"
)

// TestGoSSE: tmaxmax/go-sse's Server with its default provider Joe and one
// of the two replayers its README offers for resuming, the FiniteReplayer
// (the last 1000 events, the application setting each event's id). A
// reconnect with Last-Event-ID: k replays the buffered events after k, then
// goes on live: exactly the events that followed k, whole, so the resume
// checks pass. The ids are the application's counter, the same on every
// connection. A new client, and an id the replayer does not hold
// (conform's unknown id), get live events from now, with no marker and no
// error: the client cannot tell it from a resume (resume/unknown-id, a
// SHOULD, warns).
//
// go-sse v0.12.0 resumes wrongly in two cases this test avoids, because
// they depend on how many events happen to be stored when the client
// reconnects (replay.go, findIDInQueue): when the id is the newest event
// and it sits in the buffer's last slot (a ValidReplayer whose buffer is
// exactly full, after 4, 8, 16, ... events; a FiniteReplayer once it has
// wrapped), the lookup wraps to the first slot and replays the whole
// buffer; and with automatic ids (NewValidReplayer(ttl, true),
// NewFiniteReplayer(n, true)) a resume from the newest event always
// replays the whole buffer. conform reports either as a resume/last-event-id
// failure (a duplicate). Here the buffer never fills during the run.
//
// Needs the conformance fix that aligns two reads of a live feed by id and
// judges resume/unknown-id without relying on when two connections opened:
// until then the resume checks may skip ("per-request ids") and
// resume/unknown-id may pass as a "full replay" by coincidence.
func TestGoSSE(t *testing.T) {
	t.Parallel()
	rep, err := gosse.NewFiniteReplayer(1000, false)
	if err != nil {
		t.Fatal(err)
	}
	s := &gosse.Server{Provider: &gosse.Joe{Replayer: rep}}
	publishEvery(t, liveGap, func(n int) {
		m := &gosse.Message{Type: gosse.Type("tick"), ID: gosse.ID(strconv.Itoa(n))}
		m.AppendData(fmt.Sprintf(`{"n":%d}`, n))
		_ = s.Publish(m)
	})
	ts := httptest.NewServer(s)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
		ts.Close()
	})
	v := conformAgainst(t, ts.URL+"/", "--max-time", liveRead, "--max-events", liveCount)
	v.expect(t, exitOK, map[string]string{
		"stream/incremental":   "pass",
		"resume/ids-unique":    "pass",
		"resume/last-event-id": "pass",
		"resume/mid-event":     "pass",
		"resume/unknown-id":    "warn",
	})
}

// TestR3labsSSE: r3labs/sse's Server, as its README shows (CreateStream,
// ServeHTTP with ?stream=NAME, Publish). It numbers the events of a stream
// 0, 1, ... in its event log and, with AutoReplay (the default), replays
// the log to every subscriber from the id in Last-Event-ID on, that id
// included (event_log.go: id >= eventid): a resume gets event k again, a
// duplicate, so resume/last-event-id and resume/mid-event fail. An id that
// is not a number gets 400 ("Last-Event-ID must be a number!"): a defined
// answer, resume/unknown-id passes.
func TestR3labsSSE(t *testing.T) {
	t.Parallel()
	s := r3sse.New()
	s.CreateStream("messages")
	publishEvery(t, liveGap, func(n int) {
		s.Publish("messages", &r3sse.Event{Event: []byte("tick"), Data: []byte(fmt.Sprintf(`{"n":%d}`, n))})
	})
	mux := http.NewServeMux()
	mux.HandleFunc("/events", s.ServeHTTP)
	ts := httptest.NewServer(mux)
	t.Cleanup(func() {
		ts.CloseClientConnections()
		s.Close()
		ts.Close()
	})
	v := conformAgainst(t, ts.URL+"/events?stream=messages", "--max-time", liveRead, "--max-events", liveCount)
	v.expect(t, exitGateFailed, map[string]string{
		"stream/incremental":   "pass",
		"resume/ids-unique":    "pass",
		"resume/last-event-id": "fail",
		"resume/mid-event":     "fail",
		"resume/unknown-id":    "pass",
	})
}
