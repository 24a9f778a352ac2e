package conformance

import (
	"bufio"
	"context"
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssebench/ssebench/conformance/checks"
	"github.com/ssebench/ssebench/conformance/hostile"
)

// The tests below run the probes in process, without Ginkgo: a session
// against a test server, then the checks on what it captured.

// judge runs the probes that the checks ids need against cfg and returns
// the findings, and the session's input.
func judge(t *testing.T, cfg Config, ids ...string) (map[string]checks.Finding, *checks.Input) {
	t.Helper()
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	cs, err := checks.Select(ids)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sess, err := newSession(ctx, cfg, cs)
	if err != nil {
		t.Fatal(err)
	}
	sess.start()
	if err := sess.wait(ctx, checks.NeededProbes(cs)...); err != nil {
		t.Fatal(err)
	}
	in := sess.snapshot()
	out := map[string]checks.Finding{}
	for _, c := range cs {
		out[c.ID] = c.Run(in)
	}
	return out, in
}

func want(t *testing.T, fs map[string]checks.Finding, id string, st checks.Status, substr string) {
	t.Helper()
	f := fs[id]
	if f.Status != st || !strings.Contains(f.Message, substr) {
		t.Errorf("%s: got %s %q, want %s containing %q", id, f.Status, f.Message, st, substr)
	}
}

// TestRedirectDropsCredentials: a 302 to another loopback port (another
// origin) gets no credential header; a redirect within the origin keeps
// them; the chain is the evidence of http/redirect.
func TestRedirectDropsCredentials(t *testing.T) {
	var mu sync.Mutex
	got := map[string]http.Header{}
	record := func(name string, h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			got[name] = r.Header.Clone()
			mu.Unlock()
			h.ServeHTTP(w, r)
		})
	}
	other := httptest.NewServer(record("other", legalServer{n: 3}))
	defer other.Close()
	mux := http.NewServeMux()
	mux.Handle("/start", record("start", http.RedirectHandler("/same", http.StatusFound)))
	mux.Handle("/same", record("same", http.RedirectHandler(other.URL+"/x?token=abc", http.StatusFound)))
	first := httptest.NewServer(mux)
	defer first.Close()

	cfg := Config{Target: first.URL + "/start", Header: http.Header{
		"Authorization": {"Bearer s3cret"}, "Cookie": {"sid=1"}, "X-Api-Key": {"k3y"}, "X-Trace": {"keep"},
	}}
	fs, in := judge(t, cfg, "http/redirect", "http/status")
	want(t, fs, "http/status", checks.Pass, "200")
	want(t, fs, "http/redirect", checks.Warn, "Authorization, Cookie, X-Api-Key were not sent")
	for _, name := range []string{"start", "same"} {
		if h := got[name]; h.Get("Authorization") == "" || h.Get("X-Api-Key") == "" || h.Get("Cookie") == "" {
			t.Errorf("%s (same origin) lost credentials: %v", name, h)
		}
	}
	h := got["other"]
	for _, k := range []string{"Authorization", "Cookie", "X-Api-Key"} {
		if h.Get(k) != "" {
			t.Errorf("the other origin got %s: %q", k, h.Get(k))
		}
	}
	if h.Get("X-Trace") != "keep" || h.Get("Accept") != "text/event-stream" {
		t.Errorf("the other origin lost ordinary headers: %v", h)
	}
	ev := fs["http/redirect"].Evidence
	if ev == nil || !strings.Contains(ev.Detail, "302 "+first.URL+"/same -> GET "+other.URL+"/x?token=REDACTED (cross-origin; not sent: Authorization, Cookie, X-Api-Key)") {
		t.Errorf("evidence %+v", ev)
	}
	if len(in.Main.Redirects) != 2 || in.Main.Redirects[0].CrossOrigin || !in.Main.Redirects[1].CrossOrigin {
		t.Errorf("chain %+v", in.Main.Redirects)
	}
}

// TestRedirectLoop: a server that redirects for ever fails http/status
// after MaxRedirects hops; it is reachable.
func TestRedirectLoop(t *testing.T) {
	var n int
	var mu sync.Mutex
	loop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		mu.Unlock()
		http.Redirect(w, r, "/again", http.StatusFound)
	}))
	defer loop.Close()
	fs, in := judge(t, Config{Target: loop.URL + "/"}, "http/status")
	want(t, fs, "http/status", checks.Fail, "stopped after 20 redirects")
	if !in.Main.Connected || len(in.Main.Redirects) != MaxRedirects || n != MaxRedirects+1 {
		t.Errorf("connected %v, %d redirects recorded, %d requests", in.Main.Connected, len(in.Main.Redirects), n)
	}
}

// TestHeldResponseIsAFailedCheck: a server that accepts the connection and
// reads the request but never answers (nginx buffering an endless stream)
// is reachable: http/status fails with a buffering hint, and Run does not
// call it unreachable.
func TestHeldResponseIsAFailedCheck(t *testing.T) {
	srv := hostile.StartRaw(t, hostile.Held)
	fs, in := judge(t, Config{Target: srv.URL() + "/", MaxTime: 2 * time.Second}, "http/status")
	want(t, fs, "http/status", checks.Fail, "proxy_buffering off")
	if !in.Main.Connected {
		t.Error("a server that read the request counts as unreachable")
	}
}

// TestBrokenFraming: malformed chunked encoding and a body shorter than its
// Content-Length end the capture as broken, with the transport's reason.
func TestBrokenFraming(t *testing.T) {
	for _, tt := range []struct {
		name    string
		respond func(*bufio.Writer, *http.Request, <-chan struct{})
		reason  string
	}{
		{"chunked", hostile.BrokenChunked, "malformed chunked encoding"},
		{"content-length", hostile.ShortBody, "of the"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := hostile.StartRaw(t, tt.respond)
			fs, in := judge(t, Config{Target: srv.URL() + "/"}, "http/body-framing")
			want(t, fs, "http/body-framing", checks.Fail, tt.reason)
			if in.Main.End != checks.EndBroken {
				t.Errorf("main ended %s: %v", in.Main.End, in.Main.EndErr)
			}
		})
	}
}

// TestPerRequestIDsOneVerdict: with ids made up per request and a server
// that replays everything, the resume checks agree: the resumes are
// duplicates, and an unknown id gets a full replay.
func TestPerRequestIDsOneVerdict(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(hostile.PerRequestIDs))
	defer srv.Close()
	fs, _ := judge(t, Config{Target: srv.URL}, "resume/*")
	want(t, fs, "resume/last-event-id", checks.Fail, "duplicate: after Last-Event-ID")
	want(t, fs, "resume/mid-event", checks.Fail, "re-sent 1 event(s) the client already had")
	want(t, fs, "resume/unknown-id", checks.Pass, "full replay")
}

// TestLiveFeedIsNoReplay: a live feed that serves an unknown Last-Event-ID
// from where it is now is not a full replay, even though the unknown-id
// request and the main read opened at the same moment and got the same
// first event: the resume probe, which opens only after the main read's
// first event, shows that the stream is a live feed.
func TestLiveFeedIsNoReplay(t *testing.T) {
	srv := hostile.StartLiveFeed(t)
	fs, in := judge(t, Config{Target: srv.URL, MaxEvents: 40, MaxTime: 10 * time.Second}, "resume/unknown-id")
	want(t, fs, "resume/unknown-id", checks.Warn, "live feed")
	if b := in.Boundary.First.Stream(); len(b.Events) == 0 || b.Events[0].ID == in.Main.Stream().Events[0].ID {
		t.Errorf("the resume probe's first event %+v is the main read's first", b.Events)
	}
}

// TestTLSTrust: a server with a certificate of its own CA fails without
// --insecure or --ca-cert, and passes with either.
func TestTLSTrust(t *testing.T) {
	srv := httptest.NewUnstartedServer(legalServer{n: 3})
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is expected
	srv.StartTLS()
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	fs, in := judge(t, Config{Target: srv.URL}, "http/status")
	want(t, fs, "http/status", checks.Fail, "certificate")
	if in.Main.Connected {
		t.Error("a failed TLS handshake counts as reachable")
	}
	fs, _ = judge(t, Config{Target: srv.URL, Insecure: true}, "http/status")
	want(t, fs, "http/status", checks.Pass, "200")
	fs, _ = judge(t, Config{Target: srv.URL, CACertFile: ca}, "http/status")
	want(t, fs, "http/status", checks.Pass, "200")
}
