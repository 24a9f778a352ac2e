package mockserver

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestMetrics(t *testing.T) {
	s, ts := newTestServer(t, fastConfig())
	a := get(t, ts.URL+"/v1/stream?tokens=3", nil)
	b := do(t, "POST", ts.URL+"/v1/chat/completions?tokens=2&fault=crlf", chatBody, nil)
	get(t, ts.URL+"/v1/stream?tokens=abc", nil)
	m := get(t, ts.URL+"/metrics", nil)
	if m.status != 200 || !strings.HasPrefix(m.header.Get("Content-Type"), "text/plain") {
		t.Fatalf("/metrics: %d %q", m.status, m.header.Get("Content-Type"))
	}
	text := string(m.body)
	for series, want := range map[string]string{
		`ssebench_mock_streams_total{endpoint="stream"}`:             "1",
		`ssebench_mock_streams_total{endpoint="chat"}`:               "1",
		`ssebench_mock_streams_active{endpoint="stream"}`:            "0",
		`ssebench_mock_events_total{endpoint="stream"}`:              "5",
		`ssebench_mock_events_total{endpoint="chat"}`:                "5",
		`ssebench_mock_bytes_total{endpoint="stream"}`:               strconv.Itoa(len(a.body)),
		`ssebench_mock_bytes_total{endpoint="chat"}`:                 strconv.Itoa(len(b.body)),
		`ssebench_mock_faults_injected_total{fault="crlf"}`:          "1",
		`ssebench_mock_faults_injected_total{fault="no-ids"}`:        "0",
		`ssebench_mock_requests_total{code="400",endpoint="stream"}`: "1",
		`ssebench_mock_queue_depth`:                                  "0",
		`ssebench_mock_slots_busy`:                                   "0",
	} {
		if got := metricLine(text, series); got != want {
			t.Errorf("%s = %q, want %s", series, got, want)
		}
	}
	for _, name := range []string{"process_resident_memory_bytes", "go_goroutines", "# HELP ssebench_mock_queue_depth"} {
		if !strings.Contains(text, name) {
			t.Errorf("/metrics lacks %s", name)
		}
	}
	// Each Server has its own registry.
	s2, err := New(fastConfig())
	if err != nil {
		t.Fatal(err)
	}
	if got := metricLine(scrape(t, s2), `ssebench_mock_streams_total{endpoint="stream"}`); got != "0" {
		t.Errorf("a new server starts at %s", got)
	}
	if s.Registry() == s2.Registry() {
		t.Errorf("registries shared")
	}
}

func TestParseDist(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"200ms", "200ms"}, {"0", "0s"}, {"150", "150ms"}, {"fixed(1s)", "1s"},
		{"200ms~50ms", "uniform(150ms,250ms)"}, {"200ms+-50ms", "uniform(150ms,250ms)"}, {"200ms±50ms", "uniform(150ms,250ms)"},
		{"200ms -50ms", "uniform(150ms,250ms)"}, {"10ms~50ms", "uniform(0s,60ms)"},
		{"uniform(1ms, 3ms)", "uniform(1ms,3ms)"}, {"lognormal(200ms,0.5)", "lognormal(200ms,0.5)"},
		{"LogNormal(200ms,0.5,2s)", "lognormal(200ms,0.5,2s)"},
	} {
		d, err := ParseDist(tc.in)
		if err != nil || d.String() != tc.want {
			t.Errorf("ParseDist(%q) = %v, %v; want %s", tc.in, d, err, tc.want)
			continue
		}
		if back, err := ParseDist(d.String()); err != nil || back != d {
			t.Errorf("%q does not round-trip: %v %v", d.String(), back, err)
		}
	}
	for _, bad := range []string{"", "-1ms", "2h", "soon", "uniform(3ms,1ms)", "uniform(1ms)", "lognormal(1ms,-1)", "lognormal(1ms,x)",
		"lognormal(1ms,NaN)", "lognormal(1ms,1e400)", "poisson(1ms)", "fixed()", "1ms~x", "99999999999999999999"} {
		if _, err := ParseDist(bad); err == nil {
			t.Errorf("ParseDist(%q) accepted", bad)
		}
	}
	d, _ := ParseDist("uniform(10ms,20ms)")
	for i := 0; i < 1000; i++ {
		if v := d.Sample(); v < 10*time.Millisecond || v > 20*time.Millisecond {
			t.Fatalf("uniform sample %v", v)
		}
	}
	if Fixed(7).Sample() != 7 {
		t.Error("fixed")
	}
}

func TestFaultsTable(t *testing.T) {
	seen := map[string]bool{}
	for _, f := range Faults() {
		if f.Name == "" || f.Description == "" || seen[f.Name] {
			t.Errorf("bad or duplicate entry %+v", f)
		}
		seen[f.Name] = true
		if f.Check != "" && !strings.Contains(f.Check, "/") {
			t.Errorf("%s: check %q is not a check id", f.Name, f.Check)
		}
	}
	// Every profile the brief asks for is there.
	for _, name := range strings.Fields(`buffered gzip-buffered wrong-content-type no-ids ignore-last-event-id skip-on-resume
		unterminated-final bad-retry nul-id invalid-utf8 bom-middle unknown-field crlf cr drop-after stall status huge-event
		no-cache-control late-headers no-retry dup-ids no-data-block mixed-endings rerun-on-reconnect unknown-id-silent
		refuse-reconnect no-cors resume-partial`) {
		if !seen[name] {
			t.Errorf("profile %s missing", name)
		}
	}
	var fs faultSet
	if err := fs.add("drop-after=3, stall=2s ,status=503,huge-event=70000,error-after=4,cr"); err != nil {
		t.Fatal(err)
	}
	if got := fs.String(); got != "cr,drop-after=3,stall=2s,status=503,huge-event=70000,error-after=4" {
		t.Errorf("String() = %q", got)
	}
}

func TestListenReuseport(t *testing.T) {
	ctx := context.Background()
	a, err := Listen(ctx, "127.0.0.1:0", true)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Listen(ctx, a.Addr().String(), true)
	if err != nil {
		t.Fatalf("second reuseport listener on %s: %v", a.Addr(), err)
	}
	b.Close()
	if c, err := Listen(ctx, a.Addr().String(), false); err == nil {
		c.Close()
		t.Errorf("a plain listener shared the port")
	}
}

func TestStartStop(t *testing.T) {
	r, err := Start(fastConfig(), "")
	if err != nil {
		t.Fatal(err)
	}
	host, _, _ := net.SplitHostPort(r.Addr.String())
	if host != "127.0.0.1" || !strings.HasPrefix(r.URL, "http://127.0.0.1:") {
		t.Errorf("not on loopback: %s", r.URL)
	}
	resp, err := http.Get(r.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if err := r.Stop(); err != nil {
		t.Errorf("Stop: %v", err)
	}
	if err := r.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	if _, err := http.Get(r.URL + "/healthz"); err == nil {
		t.Errorf("still serving after Stop")
	}
	if _, err := Start(Config{Tokens: -1}, ""); err == nil {
		t.Errorf("Start accepted a bad config")
	}
}

// FuzzParams: no query string, Last-Event-ID or session body makes the
// parameter and resume logic panic, and whatever it accepts is in range.
func FuzzParams(f *testing.F) {
	for _, seed := range []string{"tokens=5&ttft=1ms~2ms&fault=drop-after=2,resume-partial", "itl=lognormal(1ms,9,1s)&chunk=3",
		"fault=status=204", "seed=18446744073709551615", "fault=none,crlf", "%zz", "tokens=1e3"} {
		f.Add(seed, "3", `{"tokens":2}`)
	}
	base := fastConfig()
	s, err := New(base)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, query, lei, body string) {
		v, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		p := s.base
		if p.applyValues(v) != nil {
			return
		}
		if p.tokens < 0 || p.tokens > MaxTokens || p.chunk < 1 || p.chunk > MaxChunk {
			t.Fatalf("accepted out-of-range params %+v", p)
		}
		for _, k := range []kind{kindNamed, kindChat} {
			l := newLayout(&p, k)
			req, _ := http.NewRequest("GET", "/", nil)
			req.Header["Last-Event-Id"] = []string{lei}
			start, status, _ := resume(req, &p, &l)
			if status == 200 && (start < 0 || start > l.n) {
				t.Fatalf("start %d outside 0..%d", start, l.n)
			}
		}
		if v, err := decodeSession(body); err == nil {
			q := s.base
			_ = q.applyValues(v)
		}
		var raw map[string]json.RawMessage
		if json.Unmarshal([]byte(body), &raw) == nil {
			if v, err := sessionValues(raw); err == nil {
				q := s.base
				_ = q.applyValues(v)
			}
		}
		if d, err := ParseDist(query); err == nil && (d.Sample() < 0 || d.Sample() > MaxDelay) {
			t.Fatalf("%q samples out of range", query)
		}
	})
}
