package swarm

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssebench/ssebench/mockserver"
	"github.com/ssebench/ssebench/scenarios"
)

// These tests use real loopback sockets (bounded in count and time).

// TestCancelNoLeak cancels a run on loopback mid-stream: every stream
// sends its KindEnd, the channel closes promptly, and no goroutine is left
// once the server is gone.
func TestCancelNoLeak(t *testing.T) {
	base := runtime.NumGoroutine()
	h := &sseHandler{ttft: 10 * time.Millisecond, itl: 20 * time.Millisecond, tokens: 100000}
	srv := httptest.NewServer(h)
	sc := scenario(t, `
url: `+srv.URL+`/v1/stream
load: {connections: 20}
duration: 1h
reconnect: {max: 3}
`)
	s, err := New(sc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	out := s.Run(ctx)
	time.AfterFunc(300*time.Millisecond, cancel)
	c := &collected{}
	var closedAt time.Time
	for r := range out {
		c.all = append(c.all, *r)
		r.Release()
	}
	closedAt = time.Now()
	c.checkWellFormed(t)
	ends := c.ends()
	if len(ends) != 20 {
		t.Errorf("ends %d, want 20", len(ends))
	}
	for _, e := range ends {
		if e.Err != scenarios.ErrNone || e.Detail != detailCancelled || !e.Cancelled {
			t.Errorf("stream %d: %v %q", e.Stream, e.Err, e.Detail)
		}
	}
	if n := sum(c.all, func(r *scenarios.Result) int64 { return r.Content }); n < 20 {
		t.Errorf("content %d: the streams did not stream", n)
	}
	if st := s.Status(); !st.Done || st.Active != 0 || st.InFlight != 0 {
		t.Errorf("status after the run: %+v", st)
	}
	_ = closedAt
	srv.Close()
	waitGoroutines(t, base)
}

// TestRunEndsAfterGrace: streams still open when the duration ends get
// the grace period, then are cancelled; the channel closes.
func TestRunEndsAfterGrace(t *testing.T) {
	base := runtime.NumGoroutine()
	h := &sseHandler{ttft: 10 * time.Millisecond, itl: 20 * time.Millisecond, tokens: 100000}
	srv := httptest.NewServer(h)
	sc := scenario(t, `
url: `+srv.URL+`/v1/stream
load: {connections: 5}
duration: 200ms
grace: 100ms
`)
	s, err := New(sc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	c := collect(t, context.Background(), s)
	if d := time.Since(start); d < 300*time.Millisecond || d > 3*time.Second {
		t.Errorf("run took %v, want about 300ms (duration + grace)", d)
	}
	c.checkWellFormed(t)
	if n := len(c.ends()); n != 5 {
		t.Errorf("ends %d, want 5", n)
	}
	srv.Close()
	waitGoroutines(t, base)
}

// TestTLS: an untrusted certificate fails with class tls; insecure or a
// trusted CA succeeds; http2 negotiates h2 over TLS.
func TestTLS(t *testing.T) {
	var protos sync.Map
	h := &sseHandler{tokens: 3}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		protos.Store(r.Proto, true)
		h.ServeHTTP(w, r)
	}))
	srv.EnableHTTP2 = true
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the untrusted case's handshake error
	srv.StartTLS()
	defer srv.Close()
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())

	for _, tc := range []struct {
		name  string
		extra string
		opts  Options
		class scenarios.ErrorClass
		proto string
	}{
		{name: "untrusted", class: scenarios.ErrTLS},
		{name: "insecure", extra: "insecure: true", proto: "HTTP/1.1"},
		{name: "trusted", opts: Options{TLSConfig: &tls.Config{RootCAs: pool}}, proto: "HTTP/1.1"},
		{name: "trusted_transport", opts: Options{TLSConfig: &tls.Config{RootCAs: pool}, SharedTransport: true}, proto: "HTTP/1.1"},
		{name: "untrusted_transport", opts: Options{SharedTransport: true}, class: scenarios.ErrTLS},
		{name: "h2", extra: "http2: true", opts: Options{TLSConfig: &tls.Config{RootCAs: pool}}, proto: "HTTP/2.0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			protos.Clear()
			sc := scenario(t, "url: "+srv.URL+"/v1/stream\nload: {rate: 1/m}\nduration: 50ms\n"+tc.extra)
			s, err := New(sc, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			c := collect(t, t.Context(), s)
			c.checkWellFormed(t)
			e := c.ends()[0]
			if e.Err != tc.class {
				t.Fatalf("class %v (%q), want %v", e.Err, e.Detail, tc.class)
			}
			if tc.class == scenarios.ErrNone {
				if _, ok := protos.Load(tc.proto); !ok {
					t.Errorf("server saw no %s request", tc.proto)
				}
				if v, ok := e.Get(scenarios.Connect); ok && v <= 0 {
					t.Errorf("connect %v", v)
				}
				if _, ok := c.all[1].Get(scenarios.Connect); !ok && tc.proto == "HTTP/1.1" {
					// Connect is reported with the first progress or the end.
					if _, ok := e.Get(scenarios.Connect); !ok {
						t.Errorf("no connect time")
					}
				}
			}
		})
	}
}

// TestH2C: http2 over plain http speaks h2c with prior knowledge.
func TestH2C(t *testing.T) {
	var h2 atomic.Int64
	h := &sseHandler{tokens: 3}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor == 2 {
			h2.Add(1)
		}
		h.ServeHTTP(w, r)
	}))
	srv.Config.Protocols = new(http.Protocols)
	srv.Config.Protocols.SetHTTP1(true)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	srv.Start()
	defer srv.Close()
	sc := scenario(t, "url: "+srv.URL+"/v1/stream\nload: {connections: 4}\nduration: 100ms\nhttp2: true\n")
	s, err := New(sc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := collect(t, t.Context(), s)
	c.checkWellFormed(t)
	for _, e := range c.ends() {
		if e.Err != scenarios.ErrNone {
			t.Fatalf("stream %d: %v %q", e.Stream, e.Err, e.Detail)
		}
	}
	if h2.Load() == 0 || h2.Load() != int64(len(c.ends())) {
		t.Errorf("h2 requests %d of %d", h2.Load(), len(c.ends()))
	}
}

// TestSourceIPs spreads streams over loopback source addresses, and a
// shard's streams over all of its addresses: a shard's stream numbers step
// by the shard count, so with 6 shards a round robin over the numbers
// would give every shard one of its two addresses.
func TestSourceIPs(t *testing.T) {
	for _, c := range []struct {
		name         string
		yaml         string
		index, count int
		want         []string
	}{
		{"one process", "load: {connections: 6}\nsource_ips: 127.0.0.1-127.0.0.3\n", 0, 0, []string{"127.0.0.1", "127.0.0.2", "127.0.0.3"}},
		{"shard 2 of 6", "load: {connections: 24}\nsource_ips: 127.0.0.2-127.0.0.3\n", 2, 6, []string{"127.0.0.2", "127.0.0.3"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			seen := sourceIPsSeen(t, c.yaml, c.index, c.count)
			for _, ip := range c.want {
				if seen[ip] == 0 {
					t.Errorf("no request from %s: %v", ip, seen)
				}
			}
		})
	}
}

// sourceIPsSeen runs the scenario (yaml after its url) as shard
// index/count (0/0: unsharded) and returns the requests per source address.
func sourceIPsSeen(t *testing.T, yaml string, index, count int) map[string]int {
	var mu sync.Mutex
	seen := map[string]int{}
	h := &sseHandler{tokens: 2}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		mu.Lock()
		seen[host]++
		mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	defer srv.Close()
	sc := scenario(t, "url: "+srv.URL+"/v1/stream\nduration: 50ms\n"+yaml)
	sc.ShardIndex, sc.ShardCount = index, count
	s, err := New(sc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := collect(t, t.Context(), s)
	for _, e := range c.ends() {
		if e.Err != scenarios.ErrNone {
			t.Fatalf("stream %d: %v %q (can this host bind 127.0.0.2?)", e.Stream, e.Err, e.Detail)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	return maps.Clone(seen)
}

// TestProbe tells a refused target from a reachable one.
func TestProbe(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	mk := func() *Swarm {
		s, err := New(scenario(t, "url: http://"+addr+"/v1/stream?token=secret\nload: {connections: 1}\n"), Options{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if err := mk().Probe(t.Context()); err != nil {
		t.Errorf("probe of a listening port: %v", err)
	}
	ln.Close()
	err = mk().Probe(t.Context())
	var ue *UnreachableError
	if !errors.As(err, &ue) {
		t.Fatalf("probe of a closed port: %v, want *UnreachableError", err)
	}
	if strings.Contains(err.Error(), "secret") || !strings.Contains(err.Error(), addr) {
		t.Errorf("message %q: want the host, not the query", err)
	}
}

// TestResources: a plan past the open-file limit is refused with a
// *ResourceError saying how to shard; HTTP/2 needs far fewer files.
func TestResources(t *testing.T) {
	limit, err := raiseNoFile()
	if err != nil || limit < 0 {
		t.Skip("no open-file limit here")
	}
	need := limit * 5 / 2
	_, err = New(scenario(t, "url: http://127.0.0.1:1/\nload: {connections: "+itoa(need)+"}\n"), Options{})
	var re *ResourceError
	if !errors.As(err, &re) {
		t.Fatalf("New with %d connections (limit %d): %v, want *ResourceError", need, limit, err)
	}
	if re.Resource != "files" || re.Shards != 3 || re.Need != need {
		t.Errorf("%+v", re)
	}
	msg := err.Error()
	for _, want := range []string{"plan needs " + thousands(need) + " connections", "run it as 3 shards", "--shard 1/3", "--shard 3/3"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
	// With the server in this process, a connection costs two files.
	half := limit * 3 / 4
	_, err = New(scenario(t, "url: http://127.0.0.1:1/\nload: {connections: "+itoa(half)+"}\n"), Options{FilesPerConn: 2})
	if !errors.As(err, &re) || re.Shards != 2 || !strings.Contains(err.Error(), "costs 2 files") {
		t.Errorf("FilesPerConn 2: %v", err)
	}
	if _, err := New(scenario(t, "url: http://127.0.0.1:1/\nload: {connections: "+itoa(half)+"}\n"), Options{}); err != nil {
		t.Errorf("FilesPerConn 1: %v", err)
	}
	// The open model's cap counts likewise.
	_, err = New(scenario(t, "url: http://127.0.0.1:1/\nload: {rate: 10/s, max_connections: "+itoa(need)+"}\n"), Options{})
	if !errors.As(err, &re) {
		t.Errorf("open model: %v, want *ResourceError", err)
	}
	// Over HTTP/2 the same streams share connections.
	if _, err := New(scenario(t, "url: http://127.0.0.1:1/\nhttp2: true\nload: {connections: "+itoa(need)+"}\n"), Options{}); err != nil && !strings.Contains(err.Error(), "ports") {
		t.Errorf("http2: %v", err)
	}
	// Ephemeral ports: more connections than one source address has.
	if p := ephemeralPorts(); p > 0 {
		err := portPlan(2*p+1, 1)
		if !errors.As(err, &re) || re.Resource != "ports" || re.Shards != 3 || !strings.Contains(err.Error(), "source_ips") {
			t.Errorf("ports: %v", err)
		}
		if err := portPlan(2*p, 2); err != nil {
			t.Errorf("ports with 2 sources: %v", err)
		}
	}
}

func itoa(n int) string { return strings.ReplaceAll(thousands(n), ",", "") }

// TestMockLoopback runs against the real mock on a loopback port, with
// loose timing bounds (the fake-clock tests check exact values).
func TestMockLoopback(t *testing.T) {
	base := runtime.NumGoroutine()
	cfg := mockserver.DefaultConfig()
	ms, err := mockserver.Start(cfg, "")
	if err != nil {
		t.Fatal(err)
	}
	sc := scenario(t, `
url: `+ms.URL+`/v1/stream?ttft=100ms&itl=5ms&tokens=20&retry=50&fault=drop-after=7
load: {connections: 10}
duration: 500ms
reconnect: {max: 5}
`)
	s, err := New(sc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := collect(t, t.Context(), s)
	c.checkWellFormed(t)
	var ok, streams int
	for _, no := range c.streams() {
		rs := c.stream(no)
		streams++
		e := rs[len(rs)-1]
		if e.Err == scenarios.ErrNone && e.Detail == "" {
			ok++
		} else {
			t.Logf("stream %d attempt %d: %v %q", no, e.Attempt, e.Err, e.Detail)
		}
		if lost := sum(rs, func(r *scenarios.Result) int64 { return r.IDsLost + r.IDsDup }); lost != 0 {
			t.Errorf("stream %d: ids lost+dup %d", no, lost)
		}
		for _, v := range values(rs, scenarios.TTFT) {
			if v < 100*time.Millisecond || v > 2*time.Second {
				t.Errorf("stream %d: ttft %v, want about 100ms", no, v)
			}
		}
	}
	if ok < 10 {
		t.Errorf("%d of %d streams ok", ok, streams)
	}
	if err := ms.Stop(); err != nil {
		t.Error(err)
	}
	waitGoroutines(t, base)
}
