package checks

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestBodyFraming(t *testing.T) {
	broken := func(err string, opts ...capOpt) *Capture {
		c := stream(events(0, 2), append(opts, ended(EndBroken))...)
		c.EndErr = errors.New(err)
		c.Proto, c.Chunked = "HTTP/1.1", true
		return c
	}
	f := Lookup("http/body-framing").Run(mainOnly(broken("malformed chunked encoding after 30 body bytes: invalid byte in chunk length")))
	if f.Status != Fail || !strings.Contains(f.Message, "invalid byte in chunk length") {
		t.Fatalf("broken chunked: %s %q", f.Status, f.Message)
	}
	if ev := f.Evidence; ev == nil || *ev.Offset != int64(len(events(0, 2))) || !strings.HasSuffix(ev.Bytes, `data: e1\n\n`) || !strings.Contains(ev.Detail, "chunked") {
		t.Errorf("evidence %+v", f.Evidence)
	}
	// A resumed connection with a broken body fails the check too.
	in := mainOnly(stream(ok3, func(c *Capture) { c.Proto, c.Chunked = "HTTP/1.1", true }))
	in.UnknownID = broken("the body ended after 10 of the 100 bytes its Content-Length declared", label("unknown-id"))
	runCases(t, "http/body-framing", []checkCase{
		{"chunked, whole", mainOnly(stream(ok3, func(c *Capture) { c.Proto, c.Chunked = "HTTP/1.1", true })), Pass, "chunked"},
		{"close-delimited", mainOnly(stream(ok3, func(c *Capture) { c.Proto, c.ContentLength = "HTTP/1.1", -1 })), Pass, "close"},
		{"a network drop is no framing error", mainOnly(stream(ok3, ended(EndAbort))), Pass, ""},
		{"another connection broke", in, Fail, "unknown-id: the body's framing broke"},
	})
}

func TestRedirect(t *testing.T) {
	hop := func(cross bool, dropped ...string) Redirect {
		return Redirect{Status: 302, From: "http://127.0.0.1:1/a", To: "http://127.0.0.1:2/b", Method: "GET", CrossOrigin: cross, Dropped: dropped}
	}
	redirected := func(hs ...Redirect) *Input {
		return mainOnly(stream(ok3, func(c *Capture) { c.Redirects = hs }))
	}
	runCases(t, "http/redirect", []checkCase{
		{"none", mainOnly(stream(ok3)), Pass, "no redirect"},
		{"same origin", redirected(hop(false)), Warn, "1 redirect(s)"},
		{"cross-origin, credentials dropped", redirected(hop(true, "Authorization", "X-Api-Key")), Warn, "Authorization, X-Api-Key were not sent"},
	})
	f := Lookup("http/redirect").Run(redirected(hop(true, "Cookie")))
	if !strings.Contains(f.Evidence.Detail, "302 http://127.0.0.1:1/a -> GET http://127.0.0.1:2/b (cross-origin; not sent: Cookie)") {
		t.Errorf("chain %q", f.Evidence.Detail)
	}
}

func TestStatusWithoutHeaders(t *testing.T) {
	held := &Capture{Label: "main", Connected: true, Err: fmt.Errorf("%w: read time limit reached", ErrNoHeaders), EndAt: ms(30000)}
	refused := &Capture{Label: "main", Err: errors.New("connection refused")}
	runCases(t, "http/status", []checkCase{
		{"held everything", mainOnly(held), Fail, "proxy_buffering off"},
		{"refused", mainOnly(refused), Fail, "refused"},
	})
}

func TestFirstEventHints(t *testing.T) {
	silent := stream("", ended(EndTimeout), func(c *Capture) { c.Reads, c.EndAt, c.Headers = nil, ms(30000), ms(2) })
	gz := stream("", header("Content-Encoding", "gzip"), func(c *Capture) { c.WireBytes = 20; c.Reads = nil })
	runCases(t, "stream/first-event", []checkCase{
		{"not one byte after the headers", mainOnly(silent), Fail, "X-Accel-Buffering: no"},
		{"gzip that decodes to nothing", mainOnly(gz), Fail, "gzip body (20 bytes on the wire, eof) decoded to nothing"},
	})
}

func TestEventSizeOfAnUnfinishedEvent(t *testing.T) {
	open := "data: a\n\ndata: " + strings.Repeat("x", 2<<20)
	limited := stream(open, ended(EndLimit), func(c *Capture) { c.Share = 2 << 20 })
	timedOut := stream("data: a\n\n"+strings.Repeat("data: x\n", 10000), ended(EndTimeout))
	runCases(t, "framing/event-size", []checkCase{
		{"larger than the capture's share", mainOnly(limited), Warn, "event 1 is at least 2097158 bytes"},
		{"never ends", mainOnly(timedOut), Warn, "event 1 is at least 80000 bytes"},
		{"small and unfinished", mainOnly(stream("data: a\n\ndata: b", ended(EndTimeout))), Pass, "largest"},
	})
	f := Lookup("framing/event-size").Run(mainOnly(limited))
	if !strings.Contains(f.Evidence.Detail, "raise --max-memory") {
		t.Errorf("detail %q", f.Evidence.Detail)
	}
}

func TestFiniteEndWithoutIDs(t *testing.T) {
	ref := "retry: 2000\ndata: a\n\ndata: b\n\n"
	in := func(c *Capture) *Input {
		c.Label = "reconnect after the end"
		return &Input{Config: DefaultConfig(), Main: stream(ref), FiniteEnd: c}
	}
	runCases(t, "lifecycle/finite-end", []checkCase{
		{"re-run from the start", in(stream(ref)), Warn, "without Last-Event-ID (the stream has no id) got a fresh run"},
		{"204", in(stream("", status(204))), Pass, "204"},
	})
	f := Lookup("lifecycle/finite-end").Run(in(stream(ref)))
	if !strings.Contains(f.Evidence.Detail, "2s (the stream's retry)") {
		t.Errorf("detail %q", f.Evidence.Detail)
	}
}

// TestSkipReasonsSayHowTheReadEnded: a read that timed out is not
// reported as a stream that ended by itself.
func TestSkipReasonsSayHowTheReadEnded(t *testing.T) {
	first := stream(events(0, 1), ended(EndTimeout), label("resume: first connection"), func(c *Capture) { c.EndAt = ms(30000) })
	in := &Input{Config: DefaultConfig(), Main: stream(events(0, 1)), Boundary: &ResumeProbe{First: first, After: 1, Reason: "timed out"}}
	for _, id := range []string{"reconnect/accepted", "resume/last-event-id"} {
		f := Lookup(id).Run(in)
		if f.Status != Skip || !strings.Contains(f.Message, "timed out after 30s") || strings.Contains(f.Message, "by itself") {
			t.Errorf("%s: %s %q", id, f.Status, f.Message)
		}
	}
}
