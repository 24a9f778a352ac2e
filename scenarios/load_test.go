package scenarios

import (
	"encoding/json"
	"errors"
	"net/netip"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestExamples(t *testing.T) {
	files, err := filepath.Glob("examples/*.yaml")
	if err != nil || len(files) < 5 {
		t.Fatalf("examples: %v %v", files, err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			s, err := load(f)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(s.URL, "http://127.0.0.1:8080/") {
				t.Errorf("url %q: examples target the mock's default address", s.URL)
			}
			if _, err := s.PrepareRequest(); err != nil {
				t.Errorf("PrepareRequest: %v", err)
			}
			if s.Load.Model == Open {
				if _, err := s.Pacer(); err != nil {
					t.Errorf("Pacer: %v", err)
				}
			}
		})
	}
}

func TestDefault(t *testing.T) {
	s := Default()
	if s.Method != "GET" || !strings.HasPrefix(s.URL, "http://127.0.0.1:8080/v1/stream") {
		t.Errorf("default request = %s %s", s.Method, s.URL)
	}
	if s.Load.Model != Closed || s.Load.Connections != 1000 || s.Duration != 10*time.Second {
		t.Errorf("default load = %+v for %v, want closed 1000 for 10s", s.Load, s.Duration)
	}
	if s.Events.Preset != PresetEventSource {
		t.Errorf("preset %q", s.Events.Preset)
	}
	s.Load.Connections = 5 // a copy: the next Default is unchanged
	if Default().Load.Connections != 1000 {
		t.Error("Default returned shared state")
	}
}

func TestDefaults(t *testing.T) {
	s, err := parse("d.yaml", []byte("url: http://h/x\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := &Scenario{
		Name: "d", File: "d.yaml",
		Request:   Request{Method: "GET", URL: "http://h/x"},
		Events:    Events{Preset: PresetGeneric},
		Load:      Workload{Model: Closed, Connections: 1, Seed: 1},
		Duration:  DefaultDuration,
		Grace:     DefaultGrace,
		Deadlines: Deadlines{FirstByte: DefaultFirstByte, Idle: DefaultIdle},
		Reconnect: Reconnect{Delay: DefaultReconnectDelay, HonorRetry: true, LastEventID: true},
		MaxLine:   DefaultMaxLine, MaxEvent: DefaultMaxEvent,
		ShardIndex: 1, ShardCount: 1,
	}
	s.pos = nil
	if !reflect.DeepEqual(s, want) {
		t.Errorf("defaults:\n got %+v\nwant %+v", s, want)
	}
}

func TestParseFull(t *testing.T) {
	src := `
name: full
method: POST
url: http://127.0.0.1:8080/v1/chat/completions?x={{stream}}
headers:
  Authorization: Bearer abc
  X-Multi: [a, b]
body: "@testdata/body.json"
events:
  preset: openai
  terminal_data: ["[DONE]", "[END]"]
load:
  rate: 6000/m
  arrival: poisson
  seed: 9
  max_connections: 50
  stages:
    - {duration: 10s, target: 200/s}
    - duration: 5s
      target: 0
duration: 20s
grace: 1s
deadlines: {first_byte: 1s, idle: 2s, total: 3s}
reconnect: {max: 3, delay: 250ms, honor_retry: false, last_event_id: false}
abort: {fraction: 25%, after_events: 5, after: 2s}
thresholds:
  - ttft.p99.9 < 1.5s
  - errors.rate < 1%
http2: true
insecure: yes
source_ips: [127.0.0.1-4, "10.0.0.1"]
max_line: 64KiB
max_event: 2MiB
`
	s, err := parse("scenarios.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if s.Load.Model != Open || s.Load.Rate != 100 || s.Load.Arrival != Poisson || s.Load.Seed != 9 || s.Load.MaxConnections != 50 {
		t.Errorf("load = %+v", s.Load)
	}
	if want := []Stage{{Duration: 10 * time.Second, Target: 200}, {Duration: 5 * time.Second, Target: 0}}; !reflect.DeepEqual(s.Load.Stages, want) {
		t.Errorf("stages = %+v", s.Load.Stages)
	}
	if want := []Header{{"Authorization", "Bearer abc"}, {"X-Multi", "a"}, {"X-Multi", "b"}}; !reflect.DeepEqual(s.Headers, want) {
		t.Errorf("headers = %+v", s.Headers)
	}
	if !strings.Contains(s.Body, "stream {{stream}}") || s.BodyFile != "testdata/body.json" {
		t.Errorf("body = %q from %q", s.Body, s.BodyFile)
	}
	if s.Abort != (Abort{Fraction: 0.25, AfterEvents: 5, After: 2 * time.Second}) {
		t.Errorf("abort = %+v", s.Abort)
	}
	if s.Reconnect != (Reconnect{Max: 3, Delay: 250 * time.Millisecond}) {
		t.Errorf("reconnect = %+v", s.Reconnect)
	}
	if s.Deadlines != (Deadlines{time.Second, 2 * time.Second, 3 * time.Second}) {
		t.Errorf("deadlines = %+v", s.Deadlines)
	}
	if len(s.Thresholds) != 2 || s.Thresholds[0].Quantile != 99.9 || s.Thresholds[0].Value != 1500 {
		t.Errorf("thresholds = %+v", s.Thresholds)
	}
	if !s.HTTP2 || !s.Insecure || s.MaxLine != 64<<10 || s.MaxEvent != 2<<20 {
		t.Errorf("client = %v %v %d %d", s.HTTP2, s.Insecure, s.MaxLine, s.MaxEvent)
	}
	if len(s.SourceIPs) != 5 || s.SourceIPs[3] != netip.MustParseAddr("127.0.0.4") || s.SourceIPs[4] != netip.MustParseAddr("10.0.0.1") {
		t.Errorf("source_ips = %v", s.SourceIPs)
	}
	if s.Duration != 20*time.Second || s.Grace != time.Second {
		t.Errorf("duration %v grace %v", s.Duration, s.Grace)
	}
}

func TestBodyMappingIsJSON(t *testing.T) {
	s, err := parse("b.yaml", []byte("url: http://h/\nbody:\n  stream: true\n  n: 3\n  msg: \"hi {{stream}}\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(s.Body), &v); err != nil || v["stream"] != true || v["n"] != 3.0 || v["msg"] != "hi {{stream}}" {
		t.Errorf("body %q: %v %v", s.Body, v, err)
	}
	if s.Method != "POST" {
		t.Errorf("method %q, want POST when a body is given", s.Method)
	}
}

func TestHeadersList(t *testing.T) {
	s, err := parse("h.yaml", []byte("url: http://h/\nheaders:\n  - 'X-A: 1'\n  - 'X-A: 2'\n"))
	if err != nil {
		t.Fatal(err)
	}
	if want := []Header{{"X-A", "1"}, {"X-A", "2"}}; !reflect.DeepEqual(s.Headers, want) {
		t.Errorf("headers = %+v", s.Headers)
	}
}

func TestExtensionKeysAndAnchors(t *testing.T) {
	s, err := parse("x.yaml", []byte("x-common: &d {first_byte: 1s, idle: 2s}\nurl: http://h/\ndeadlines: *d\n"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Deadlines.FirstByte != time.Second || s.Deadlines.Idle != 2*time.Second {
		t.Errorf("deadlines from an anchor: %+v", s.Deadlines)
	}
}

func TestStagesDefaultDuration(t *testing.T) {
	s, err := parse("r.yaml", []byte("url: http://h/\nload:\n  stages:\n    - {duration: 10s, target: 100}\n    - {duration: 20s, target: 0}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Duration != 30*time.Second || s.Load.Model != Closed || s.Load.Connections != 0 {
		t.Errorf("duration %v, load %+v", s.Duration, s.Load)
	}
}

// TestProblems checks that every problem is reported, with file:line.
func TestProblems(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string // each a substring of one problem, in order
	}{
		{"rate", "url: http://h/\nload:\n  rate: ten/s\n", []string{`p.yaml:3: load.rate: "ten/s" is not a rate (want e.g. 100/s)`}},
		{"unknown key with suggestion", "url: http://h/\nduraton: 10s\n", []string{`p.yaml:2: duraton: unknown key "duraton" (did you mean "duration"?)`}},
		{"unknown nested key", "url: http://h/\nload:\n  conections: 5\n", []string{`p.yaml:3: load.conections: unknown key "conections" (did you mean "connections"?)`}},
		{"unknown key without suggestion", "url: http://h/\nzzz: 1\n", []string{`p.yaml:2: zzz: unknown key "zzz" (known: name, url`}},
		{"bad duration", "url: http://h/\nduration: 10\n", []string{`p.yaml:2: duration: "10" has no unit (want e.g. 10s or 10ms)`}},
		{"bad duration word", "url: http://h/\ndeadlines:\n  idle: soon\n", []string{`p.yaml:3: deadlines.idle: "soon" is not a duration`}},
		{"negative duration", "url: http://h/\nduration: -5s\n", []string{`p.yaml:2: duration: "-5s" is negative`}},
		{"bad threshold", "url: http://h/\nthresholds:\n  - ttft.p99 < 500ms\n  - ttft.p99 < fast\n", []string{`p.yaml:4: thresholds[1]: bad threshold "ttft.p99 < fast": "fast" is not a duration`}},
		{"yaml syntax", "url: http://h/\nload:\n  rate: [1, 2\n", []string{`p.yaml:2: YAML syntax:`}},
		{"yaml tab", "url: http://h/\nload:\n\trate: 1/s\n", []string{`p.yaml:3: YAML syntax: found character that cannot start any token`}},
		{"duplicate key", "url: http://h/\nurl: http://g/\n", []string{`p.yaml:2: url: duplicate key "url"`}},
		{"missing url", "duration: 1s\n", []string{`url: is required`}},
		{"ftp url", "url: ftp://h/\n", []string{`p.yaml:1: url: "ftp://h/" is not an http or https URL`}},
		{"closed with rate", "url: http://h/\nload:\n  model: closed\n  rate: 5/s\n", []string{`p.yaml:4: load.rate: applies to the open model`}},
		{"open with connections", "url: http://h/\nload:\n  rate: 5/s\n  connections: 3\n", []string{`p.yaml:4: load.connections: applies to the closed model`}},
		{"no load", "url: http://h/\nload:\n  connections: 0\n", []string{`p.yaml:3: load.connections: no load`}},
		{"bad model", "url: http://h/\nload:\n  model: sideways\n", []string{`p.yaml:3: load.model: "sideways" is not a load model (want closed or open)`}},
		{"bad arrival", "url: http://h/\nload:\n  rate: 1/s\n  arrival: bursty\n", []string{`p.yaml:4: load.arrival: "bursty" is not an arrival process`}},
		{"closed target rate", "url: http://h/\nload:\n  stages:\n    - duration: 1s\n      target: 5/s\n", []string{`p.yaml:5: load.stages[0].target: is a rate, but this load is closed`}},
		{"fractional connections", "url: http://h/\nload:\n  stages:\n    - duration: 1s\n      target: 2.5\n", []string{`p.yaml:5: load.stages[0].target: 2.5 is not a whole number of connections`}},
		{"stage unknown key", "url: http://h/\nload:\n  stages:\n    - duration: 1s\n      taget: 5\n", []string{`p.yaml:5: load.stages[0].taget: unknown key "taget" (did you mean "target"?)`}},
		{"bad preset", "url: http://h/\nevents: openia\n", []string{`p.yaml:2: events.preset: "openia" is not a preset`}},
		{"event in two lists", "url: http://h/\nevents:\n  terminal: [done]\n  error: [done]\n", []string{`p.yaml:4: events.error[0]: event type "done" is also listed in events.terminal`}},
		{"unknown template", "url: http://h/{{strem}}\n", []string{`p.yaml:1: url: {{strem}} is not a template value (did you mean {{stream}}?)`}},
		{"unclosed template", "url: http://h/{{stream\n", []string{`p.yaml:1: url: unclosed "{{stream"`}},
		{"setup without extract", "url: http://h/{{s}}\nsetup:\n  url: http://h/new\n", []string{`p.yaml:2: setup.extract: is required`, `p.yaml:1: url: {{s}} is not a template value`}},
		{"unset env", "url: http://h/\nheaders:\n  Authorization: Bearer {{env.SSEBENCH_TEST_SURELY_UNSET}}\n", []string{`p.yaml:3: headers.Authorization: {{env.SSEBENCH_TEST_SURELY_UNSET}}: environment variable SSEBENCH_TEST_SURELY_UNSET is not set`}},
		{"body file missing", "url: http://h/\nbody: '@nope.json'\n", []string{`p.yaml:2: body: cannot read body file: nope.json: no such file or directory`}},
		{"abort without when", "url: http://h/\nabort:\n  fraction: 10%\n", []string{`p.yaml:2: abort: set after_events or after`}},
		{"abort fraction", "url: http://h/\nabort:\n  fraction: 150%\n  after: 1s\n", []string{`p.yaml:3: abort.fraction: "150%" is not between 0 and 100%`}},
		{"source ips", "url: http://h/\nsource_ips: 127.0.0.9-127.0.0.1\n", []string{`p.yaml:2: source_ips: "127.0.0.9-127.0.0.1" is not an ascending range`}},
		{"size", "url: http://h/\nmax_line: lots\n", []string{`p.yaml:2: max_line: "lots" is not a size in bytes`}},
		{"bool", "url: http://h/\nhttp2: maybe\n", []string{`p.yaml:2: http2: "maybe" is not a boolean`}},
		{"mapping expected", "url: http://h/\nload: 5\n", []string{`p.yaml:2: load: load must be a mapping`}},
		{"not a mapping", "- a\n- b\n", []string{`p.yaml:1: scenario must be a mapping`}},
		{"empty", "", []string{`p.yaml:1: empty scenario`}},
		{"header name", "url: http://h/\nheaders:\n  'Bad Name': x\n", []string{`p.yaml:3: headers.Bad Name: "Bad Name" is not a header name`}},
		{"method", "url: http://h/\nmethod: 'GE T'\n", []string{`p.yaml:2: method: "GE T" is not an HTTP method`}},
		{"many at once", "url: http://h/\nload:\n  rate: ten/s\nduration: 10\nthresholds: [ttft.p99 < x]\nfoo: 1\n", []string{
			`p.yaml:3: load.rate`, `p.yaml:4: duration`, `p.yaml:5: thresholds[0]`, `p.yaml:6: foo`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse("p.yaml", []byte(tt.src))
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("err = %v, want a *ValidationError", err)
			}
			if len(ve.Problems) < len(tt.want) {
				t.Fatalf("%d problems, want at least %d:\n%v", len(ve.Problems), len(tt.want), err)
			}
			msg := err.Error()
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("problems do not mention %q:\n%v", w, msg)
				}
			}
			for _, p := range ve.Problems {
				if p.File != "p.yaml" {
					t.Errorf("problem without file: %v", p)
				}
			}
		})
	}
}

func TestDecodeOverrideValidate(t *testing.T) {
	s, err := Decode("o.yaml", []byte("url: http://127.0.0.1:8080/v1/stream?x=1\nsetup:\n  url: http://127.0.0.1:8080/v1/sessions\n  extract: {id: id}\nload:\n  connections: 10\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetTarget("https://api.example.com:8443"); err != nil {
		t.Fatal(err)
	}
	if s.URL != "https://api.example.com:8443/v1/stream?x=1" || s.Setup.URL != "https://api.example.com:8443/v1/sessions" {
		t.Errorf("after SetTarget: %q, %q", s.URL, s.Setup.URL)
	}
	s.UseRate(50)
	s.Duration = time.Minute
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	if s.Load.Model != Open || s.Load.Rate != 50 || s.Load.Arrival != Constant {
		t.Errorf("after UseRate: %+v", s.Load)
	}
	s.UseConnections(3)
	s.Duration = -1
	err = s.Validate()
	if err == nil || !strings.Contains(err.Error(), "o.yaml: duration: must be positive") {
		t.Errorf("Validate after a bad override: %v", err)
	}
}

func TestSetTarget(t *testing.T) {
	for _, tt := range []struct{ url, target, want string }{
		{"http://127.0.0.1:8080/v1/stream?ttft=1ms", "https://api.example.com", "https://api.example.com/v1/stream?ttft=1ms"},
		{"http://127.0.0.1:8080/v1/stream?ttft=1ms", "https://api.example.com/", "https://api.example.com/v1/stream?ttft=1ms"},
		{"http://127.0.0.1:8080/v1/stream?ttft=1ms", "http://h:9/other", "http://h:9/other"},
		{"http://127.0.0.1:8080/v1/stream?ttft=1ms", "http://h:9/other?x=1", "http://h:9/other?x=1"},
		{"http://127.0.0.1:8080/s/{{stream}}?n={{stream}}", "http://h:9", "http://h:9/s/{{stream}}?n={{stream}}"},
		{"http://127.0.0.1:8080/v1/stream", "http://h:9?x=2", "http://h:9/v1/stream?x=2"},
		{"", "http://h:9/v1/x?y=1", "http://h:9/v1/x?y=1"},
	} {
		s := Default()
		s.URL = tt.url
		if err := s.SetTarget(tt.target); err != nil {
			t.Errorf("SetTarget(%s) on %s: %v", tt.target, tt.url, err)
			continue
		}
		if s.URL != tt.want {
			t.Errorf("SetTarget(%s) on %s = %s, want %s", tt.target, tt.url, s.URL, tt.want)
		}
	}
	s := Default()
	for _, bad := range []string{"ftp://x", "http://u:SECRET@h:9/", "not a url"} {
		if err := s.SetTarget(bad); err == nil || strings.Contains(err.Error(), "SECRET") {
			t.Errorf("SetTarget(%q): err %v, want an error without the secret", bad, err)
		}
	}
}

func TestMarshalJSONRoundTrip(t *testing.T) {
	files, _ := filepath.Glob("examples/*.yaml")
	for _, f := range files {
		s, err := load(f)
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		back, err := parse(s.File, b)
		if err != nil {
			t.Fatalf("%s: JSON does not load back: %v\n%s", f, err, b)
		}
		back.pos, s.pos = nil, nil
		back.Events, s.Events = nonNil(back.Events.Resolved()), nonNil(s.Events.Resolved())
		back.BodyFile, s.BodyFile = "", ""
		if !reflect.DeepEqual(back, s) {
			t.Errorf("%s: round trip differs:\n got %+v\nwant %+v", f, back, s)
		}
	}
}

func TestRedaction(t *testing.T) {
	s, err := parse("r.yaml", []byte(`url: http://user:pw@h/x?api_key=SECRET1&tokens=64&access_token=SECRET2
headers:
  Authorization: Bearer SECRET3
  X-Api-Key: SECRET4
  X-Trace: keep
`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(s)
	out := string(b)
	for _, secret := range []string{"SECRET", "pw@"} {
		if strings.Contains(out, secret) {
			t.Errorf("JSON leaks %q: %s", secret, out)
		}
	}
	for _, keep := range []string{"tokens=64", "keep", "REDACTED@h"} {
		if !strings.Contains(out, keep) {
			t.Errorf("JSON lost %q: %s", keep, out)
		}
	}
	if s.Headers[0].Value != "Bearer SECRET3" {
		t.Error("Redacted changed the original")
	}
}

func TestParseAddrs(t *testing.T) {
	tests := []struct {
		in      string
		n       int
		first   string
		last    string
		wantErr bool
	}{
		{"127.0.0.1-127.0.0.16", 16, "127.0.0.1", "127.0.0.16", false},
		{"127.0.0.1-16", 16, "127.0.0.1", "127.0.0.16", false},
		{"127.0.0.0/30", 4, "127.0.0.0", "127.0.0.3", false},
		{"::1", 1, "::1", "::1", false},
		{"10.0.0.0/8", 0, "", "", true},
		{"127.0.0.1-::1", 0, "", "", true},
		{"nonsense", 0, "", "", true},
	}
	for _, tt := range tests {
		got, err := ParseAddrs(tt.in, maxSourceIPs)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseAddrs(%q) error = %v", tt.in, err)
			continue
		}
		if err == nil && (len(got) != tt.n || got[0].String() != tt.first || got[len(got)-1].String() != tt.last) {
			t.Errorf("ParseAddrs(%q) = %d addrs %v..%v", tt.in, len(got), got[0], got[len(got)-1])
		}
	}
}

func TestParseValues(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want float64
	}{{"100/s", 100}, {"6000/m", 100}, {"3600/h", 1}, {"0.5/s", 0.5}, {"7", 7}, {"1_000/s", 1000}} {
		if got, err := ParseRate(tt.in); err != nil || got != tt.want {
			t.Errorf("ParseRate(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"ten/s", "5/fortnight", "-1/s", "NaN/s", ""} {
		if _, err := ParseRate(bad); err == nil {
			t.Errorf("ParseRate(%q) accepted", bad)
		}
	}
	for _, tt := range []struct {
		in   string
		want int
	}{{"65536", 65536}, {"64KiB", 65536}, {"1MiB", 1 << 20}, {"1 MiB", 1 << 20}, {"2KB", 2000}, {"512B", 512}} {
		if got, err := ParseSize(tt.in); err != nil || got != tt.want {
			t.Errorf("ParseSize(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	for _, tt := range []struct {
		in   string
		want float64
	}{{"10%", 0.1}, {"0.25", 0.25}, {"100%", 1}, {"0", 0}} {
		if got, err := ParseFraction(tt.in); err != nil || got != tt.want {
			t.Errorf("ParseFraction(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

// nonNil replaces nil lists by empty ones: both mean "none" once resolved.
func nonNil(e Events) Events {
	for _, l := range []*[]string{&e.Content, &e.Terminal, &e.Error, &e.Meta, &e.TerminalData} {
		if *l == nil {
			*l = []string{}
		}
	}
	return e
}

// TestDecodeReportsAllAfterOverrides checks the CLI flow: Decode, apply
// flags, Validate once, and see every problem of the file and the flags.
func TestDecodeReportsAllAfterOverrides(t *testing.T) {
	s, err := Decode("d.yaml", []byte("url: http://h/\nload:\n  conections: 5\n  rate: ten/s\n"))
	var ve *ValidationError
	if !errors.As(err, &ve) || len(ve.Problems) != 2 || s == nil {
		t.Fatalf("Decode = %v, %v; want the scenario and 2 problems of form", s, err)
	}
	s.Duration = 0 // a bad flag
	err = s.Validate()
	for _, want := range []string{`d.yaml:3: load.conections: unknown key`, `d.yaml:4: load.rate: "ten/s" is not a rate`, `d.yaml: duration: must be positive`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate does not report %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "no load") {
		t.Errorf("a problem caused by the undecodable rate is reported:\n%v", err)
	}
	if _, err := Decode("d.yaml", []byte("url: [")); err == nil {
		t.Error("syntax error accepted")
	}
}

func TestRedactBody(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{`{"model":"m","api_key":"sk-1","max_tokens":5}`, `{"api_key":"REDACTED","max_tokens":5,"model":"m"}`},
		{`{"auth":{"password":"p"},"messages":[{"content":"hi"}]}`, `{"auth":"REDACTED","messages":[{"content":"hi"}]}`},
		{`{"n":1}`, `{"n":1}`},
		{`plain text token=abc`, `plain text token=abc`},
		{`{broken`, `{broken`},
	} {
		if got := redactBody(tt.in); got != tt.want {
			t.Errorf("redactBody(%s) = %s, want %s", tt.in, got, tt.want)
		}
	}
	// Through the scenario's JSON, which every output uses.
	s := Default()
	s.Body = `{"api_key":"sk-SECRET","max_tokens":5}`
	b, err := json.Marshal(s)
	if err != nil || strings.Contains(string(b), "SECRET") || !strings.Contains(string(b), "max_tokens") {
		t.Errorf("scenario JSON: %s (%v)", b, err)
	}
}

// TestForTarget: without a scenario file, a target is the whole URL (path
// "/" when it has none) read with the generic preset; nothing of the
// embedded default's mock URL or its finish convention is inherited.
func TestForTarget(t *testing.T) {
	for _, tt := range []struct{ target, want string }{
		{"https://api.example.com", "https://api.example.com/"},
		{"http://127.0.0.1:9000/", "http://127.0.0.1:9000/"},
		{"http://h:9/events", "http://h:9/events"},
		{"http://h:9/events?topic=a&b=1", "http://h:9/events?topic=a&b=1"},
		{"http://h:9?x=2", "http://h:9/?x=2"},
	} {
		s, err := ForTarget(tt.target)
		if err != nil {
			t.Errorf("ForTarget(%s): %v", tt.target, err)
			continue
		}
		if s.URL != tt.want {
			t.Errorf("ForTarget(%s).URL = %s, want %s", tt.target, s.URL, tt.want)
		}
		if r := s.Events.Resolved(); r.Preset != PresetGeneric || len(r.Terminal) != 0 || len(r.Error) != 0 || len(r.Meta) != 0 {
			t.Errorf("ForTarget(%s).Events = %+v, want the generic preset", tt.target, r)
		}
		if err := s.Validate(); err != nil {
			t.Errorf("ForTarget(%s): %v", tt.target, err)
		}
	}
	for _, bad := range []string{"ftp://x", "http://u:SECRET@h:9/", "not a url"} {
		if _, err := ForTarget(bad); err == nil || strings.Contains(err.Error(), "SECRET") {
			t.Errorf("ForTarget(%q): err %v, want an error without the secret", bad, err)
		}
	}
	// A scenario file without events reads them generically too: the
	// finish convention is the embedded default's only.
	s, err := parse("g.yaml", []byte("url: http://h/x\n"))
	if err != nil || s.Events.Preset != PresetGeneric {
		t.Errorf("a file without events: preset %q (%v), want generic", s.Events.Preset, err)
	}
	if Default().Events.Preset != PresetEventSource {
		t.Errorf("the embedded default's preset is %q, want eventsource", Default().Events.Preset)
	}
}

// TestGenericClassify: the generic preset makes every event with data
// content, whatever its type (finish and error included), and nothing
// terminal.
func TestGenericClassify(t *testing.T) {
	c := (&Events{Preset: PresetGeneric}).Classifier()
	for _, tt := range []struct {
		typ, data string
		want      Class
	}{
		{"", "hello", ClassContent},
		{"finish", `{"usage":{"completion_tokens":3}}`, ClassContent},
		{"error", "oops", ClassContent},
		{"info", "x", ClassContent},
		{"", "", ClassMeta},
		{"", "[DONE]", ClassContent},
	} {
		if got := c.Classify([]byte(tt.typ), []byte(tt.data)); got != tt.want {
			t.Errorf("Classify(%q, %q) = %v, want %v", tt.typ, tt.data, got, tt.want)
		}
	}
}
