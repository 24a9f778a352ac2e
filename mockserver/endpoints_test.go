package mockserver

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

const chatBody = `{"model":"m1","messages":[{"role":"user","content":"hello"}],"stream":true}`
const chatUsageBody = `{"model":"m1","messages":[{"role":"user","content":"hello"}],"stream":true,"stream_options":{"include_usage":true}}`

// chatChunk is the part of an OpenAI chunk the tests look at.
type chatChunk struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	Model   string `json:"model"`
	Choices []struct {
		Index int `json:"index"`
		Delta struct {
			Role    *string `json:"role"`
			Content *string `json:"content"`
		} `json:"delta"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
	Usage *struct {
		Prompt     int `json:"prompt_tokens"`
		Completion int `json:"completion_tokens"`
		Total      int `json:"total_tokens"`
	} `json:"usage"`
}

func TestEndpointsExactBytes(t *testing.T) {
	_, ts := newTestServer(t, fastConfig())
	sess := do(t, "POST", ts.URL+"/v1/sessions", `{"tokens":3,"seed":11,"chunk":2}`, nil)
	if sess.status != 200 {
		t.Fatalf("POST /v1/sessions: %d %s", sess.status, sess.body)
	}
	var created struct{ ID, StreamURL string }
	created.ID = jsonField(t, sess.body, "id")
	created.StreamURL = jsonField(t, sess.body, "stream_url")
	if created.StreamURL != "/v1/sessions/"+created.ID+"/stream" {
		t.Errorf("stream_url %q does not match id %q", created.StreamURL, created.ID)
	}
	for _, tc := range []struct {
		name, method, path, body string
		ctype                    string
	}{
		{"stream.golden", "GET", "/v1/stream?tokens=3&seed=7", "", "text/event-stream; charset=utf-8"},
		{"stream-chunk2.golden", "GET", "/v1/stream?tokens=5&chunk=2&seed=9&retry=1500", "", "text/event-stream; charset=utf-8"},
		{"chat.golden", "POST", "/v1/chat/completions?tokens=3", chatBody, "text/event-stream; charset=utf-8"},
		{"chat-usage.golden", "POST", "/v1/chat/completions", `{"model":"m1","messages":[{"role":"user","content":"hello"}],"stream":true,"stream_options":{"include_usage":true},"max_tokens":2}`, "text/event-stream; charset=utf-8"},
		{"chat-nostream.golden", "POST", "/v1/chat/completions", `{"model":"m1","messages":[{"role":"user","content":"hello"}],"max_tokens":3}`, "application/json"},
		{"session.golden", "GET", created.StreamURL, "", "text/event-stream; charset=utf-8"},
		{"models.golden", "GET", "/v1/models", "", "application/json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := do(t, tc.method, ts.URL+tc.path, tc.body, nil)
			if r.status != 200 || r.readErr != nil {
				t.Fatalf("status %d, read error %v, body %q", r.status, r.readErr, r.body)
			}
			if got := r.header.Get("Content-Type"); got != tc.ctype {
				t.Errorf("Content-Type %q, want %q", got, tc.ctype)
			}
			if got := r.header.Get("Access-Control-Allow-Origin"); got != "*" {
				t.Errorf("Access-Control-Allow-Origin %q, want *", got)
			}
			if strings.HasPrefix(tc.ctype, "text/event-stream") {
				for k, v := range map[string]string{"Cache-Control": "no-cache", "X-Accel-Buffering": "no"} {
					if got := r.header.Get(k); got != v {
						t.Errorf("%s %q, want %q", k, got, v)
					}
				}
				if r.header.Get("Connection") == "keep-alive" || r.header.Get("Content-Encoding") != "" {
					t.Errorf("unexpected headers %v", r.header)
				}
			}
			golden(t, tc.name, anyCompletion(r.body))
		})
	}
}

func jsonField(t *testing.T, b []byte, key string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("not JSON: %q: %v", b, err)
	}
	s, _ := m[key].(string)
	return s
}

// TestNamedStreamStructure checks /v1/stream against the contract without
// golden bytes: retry first, info id 0, add ids 1..T, finish T+1 whose text
// is the concatenation of the adds.
func TestNamedStreamStructure(t *testing.T) {
	_, ts := newTestServer(t, fastConfig())
	for _, q := range []string{"tokens=0", "tokens=1", "tokens=10&chunk=3", "tokens=64&seed=123", "tokens=7&chunk=7"} {
		t.Run(q, func(t *testing.T) {
			r := get(t, ts.URL+"/v1/stream?"+q, nil)
			if !strings.HasPrefix(string(r.body), "retry: 3000\nevent: info\nid: 0\ndata: {") {
				t.Fatalf("stream does not start with the info block carrying retry: %q", r.body[:min(60, len(r.body))])
			}
			ps := parseSSE(r.body)
			if ps.pendingAtEOF || len(ps.unknown) > 0 || ps.dataless > 0 {
				t.Fatalf("malformed: %+v", ps)
			}
			var info struct {
				Tokens, Chunk, Events int
				LastID                int `json:"last_id"`
			}
			if err := json.Unmarshal([]byte(ps.events[0].Data), &info); err != nil {
				t.Fatalf("info data: %v", err)
			}
			n := len(ps.events)
			if info.LastID != n-1 {
				t.Errorf("info last_id %d, stream has %d events", info.LastID, n)
			}
			var text strings.Builder
			for i, ev := range ps.events {
				if ev.ID != strconv.Itoa(i) {
					t.Errorf("event %d has id %q", i, ev.ID)
				}
				want := "add"
				switch i {
				case 0:
					want = "info"
				case n - 1:
					want = "finish"
				}
				if ev.Type != want {
					t.Errorf("event %d type %q, want %q", i, ev.Type, want)
				}
				if want == "add" {
					if ev.Data == "" {
						t.Errorf("add %d is empty", i)
					}
					text.WriteString(ev.Data)
				}
			}
			var fin struct {
				Text  string
				Usage struct {
					Completion int `json:"completion_tokens"`
				}
			}
			if err := json.Unmarshal([]byte(ps.events[n-1].Data), &fin); err != nil {
				t.Fatalf("finish data: %v", err)
			}
			if fin.Text != text.String() {
				t.Errorf("finish text %q != concatenated adds %q", fin.Text, text.String())
			}
			if got := len(strings.Fields(fin.Text)); got != fin.Usage.Completion {
				t.Errorf("finish text has %d words, usage says %d tokens", got, fin.Usage.Completion)
			}
		})
	}
}

// TestChatStreamStructure: role chunk (id 0), content chunks, the
// finish_reason chunk, the usage chunk when asked, then [DONE] last; ids
// 0..n-1 throughout.
func TestChatStreamStructure(t *testing.T) {
	_, ts := newTestServer(t, fastConfig())
	for _, tc := range []struct {
		name, body, query string
		usage             bool
		tokens            int
		finish            string
	}{
		{"plain", chatBody, "", false, 4, "stop"},
		{"include_usage", chatUsageBody, "", true, 4, "stop"},
		{"max_tokens", `{"messages":[],"stream":true,"max_tokens":6}`, "", false, 6, "length"},
		{"max_completion_tokens", `{"messages":[],"stream":true,"max_completion_tokens":2,"stream_options":{"include_usage":true}}`, "", true, 2, "length"},
		{"query beats max_tokens", `{"messages":[],"stream":true,"max_tokens":6}`, "?tokens=3", false, 3, "stop"},
		{"chunked", chatBody, "?tokens=5&chunk=2", false, 5, "stop"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := do(t, "POST", ts.URL+"/v1/chat/completions"+tc.query, tc.body, map[string]string{"Content-Type": "application/json"})
			if r.status != 200 {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			ps := parseSSE(r.body)
			n := len(ps.events)
			if n < 3 || ps.events[n-1].Data != "[DONE]" {
				t.Fatalf("stream does not end with [DONE]: %q", r.body)
			}
			var text strings.Builder
			content, sawFinish, sawUsage := 0, false, false
			for i, ev := range ps.events {
				if ev.ID != strconv.Itoa(i) || ev.Type != "message" {
					t.Errorf("event %d: id %q type %q", i, ev.ID, ev.Type)
				}
				if i == n-1 {
					break
				}
				var c chatChunk
				if err := json.Unmarshal([]byte(ev.Data), &c); err != nil {
					t.Fatalf("event %d: %v: %q", i, err, ev.Data)
				}
				if c.Object != "chat.completion.chunk" || !strings.HasPrefix(c.ID, "chatcmpl-") {
					t.Errorf("event %d: object %q id %q", i, c.Object, c.ID)
				}
				switch {
				case i == 0:
					if len(c.Choices) != 1 || c.Choices[0].Delta.Role == nil || *c.Choices[0].Delta.Role != "assistant" {
						t.Errorf("first chunk is not the role chunk: %s", ev.Data)
					}
				case len(c.Choices) == 0:
					sawUsage = true
					if !tc.usage || c.Usage == nil || c.Usage.Completion != tc.tokens || c.Usage.Total != c.Usage.Prompt+c.Usage.Completion || c.Usage.Prompt == 0 {
						t.Errorf("usage chunk %s", ev.Data)
					}
					if i != n-2 {
						t.Errorf("usage chunk at %d, want just before [DONE]", i)
					}
				case c.Choices[0].FinishReason != nil:
					sawFinish = true
					if *c.Choices[0].FinishReason != tc.finish || c.Choices[0].Delta.Content != nil {
						t.Errorf("finish chunk %s", ev.Data)
					}
				default:
					if sawFinish || c.Choices[0].Delta.Content == nil || *c.Choices[0].Delta.Content == "" {
						t.Errorf("content chunk %d out of place or empty: %s", i, ev.Data)
					}
					content++
					text.WriteString(*c.Choices[0].Delta.Content)
				}
				if tc.usage != strings.Contains(ev.Data, `"usage":`) {
					t.Errorf("event %d: usage field presence wrong with include_usage=%v: %s", i, tc.usage, ev.Data)
				}
			}
			if !sawFinish || sawUsage != tc.usage {
				t.Errorf("finish chunk %v, usage chunk %v", sawFinish, sawUsage)
			}
			if got := len(strings.Fields(text.String())); got != tc.tokens {
				t.Errorf("%d tokens of content (%q), want %d", got, text.String(), tc.tokens)
			}
		})
	}
}

func TestChatNonStream(t *testing.T) {
	_, ts := newTestServer(t, fastConfig())
	r := do(t, "POST", ts.URL+"/v1/chat/completions", `{"model":"gpt-x","messages":[{"role":"user","content":"hi"}],"stream":false,"max_tokens":5}`, nil)
	if r.status != 200 || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("status %d, type %q", r.status, r.header.Get("Content-Type"))
	}
	var c struct {
		Object, Model string
		Choices       []struct {
			Message      struct{ Role, Content string }
			FinishReason string `json:"finish_reason"`
		}
		Usage struct {
			Completion int `json:"completion_tokens"`
		}
	}
	if err := json.Unmarshal(r.body, &c); err != nil {
		t.Fatalf("%v: %s", err, r.body)
	}
	if c.Object != "chat.completion" || c.Model != "gpt-x" || len(c.Choices) != 1 || c.Choices[0].Message.Role != "assistant" ||
		len(strings.Fields(c.Choices[0].Message.Content)) != 5 || c.Usage.Completion != 5 || c.Choices[0].FinishReason != "length" {
		t.Errorf("completion %s", r.body)
	}
	// The same text as the streamed content chunks.
	s := do(t, "POST", ts.URL+"/v1/chat/completions", `{"model":"gpt-x","messages":[{"role":"user","content":"hi"}],"stream":true,"max_tokens":5}`, nil)
	var text strings.Builder
	for _, ev := range parseSSE(s.body).events {
		var ch chatChunk
		if json.Unmarshal([]byte(ev.Data), &ch) == nil && len(ch.Choices) == 1 && ch.Choices[0].Delta.Content != nil {
			text.WriteString(*ch.Choices[0].Delta.Content)
		}
	}
	if text.String() != c.Choices[0].Message.Content {
		t.Errorf("streamed text %q != non-streamed %q", text.String(), c.Choices[0].Message.Content)
	}
}

func TestChatBadRequests(t *testing.T) {
	cfg := fastConfig()
	cfg.MaxBodyBytes = 1024
	_, ts := newTestServer(t, cfg)
	for _, tc := range []struct {
		name, body string
		status     int
	}{
		{"invalid JSON", `{"stream":true,`, 400},
		{"empty body", ``, 400},
		{"not an object", `[1,2]`, 400},
		{"trailing garbage", `{"stream":true} x`, 400},
		{"wrong type", `{"stream":"yes"}`, 400},
		{"messages not array", `{"messages":"hi","stream":true}`, 400},
		{"negative max_tokens", `{"stream":true,"max_tokens":-1}`, 400},
		{"bad model", `{"stream":true,"model":"` + strings.Repeat("m", 300) + `"}`, 400},
		{"too large", `{"messages":[{"content":"` + strings.Repeat("a", 2000) + `"}]}`, 413},
		{"bad query", `{"stream":true}`, 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := ""
			if tc.name == "bad query" {
				q = "?ttft=soon"
			}
			r := do(t, "POST", ts.URL+"/v1/chat/completions"+q, tc.body, nil)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			assertJSONError(t, r)
		})
	}
}

func assertJSONError(t *testing.T, r response) {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("error Content-Type %q", ct)
	}
	var e struct {
		Error struct{ Message, Type, Code string } `json:"error"`
	}
	if err := json.Unmarshal(r.body, &e); err != nil || e.Error.Message == "" || e.Error.Code == "" {
		t.Errorf("not a JSON error body: %q (%v)", r.body, err)
	}
}

func TestAuth(t *testing.T) {
	cfg := fastConfig()
	cfg.Token = "s3cret"
	_, ts := newTestServer(t, cfg)
	type req struct{ method, path, body string }
	for _, rq := range []req{{"GET", "/v1/stream", ""}, {"POST", "/v1/chat/completions", chatBody}, {"POST", "/v1/chat/completions", `{"stream":false}`},
		{"POST", "/v1/sessions", `{}`}, {"GET", "/v1/models", ""}} {
		for _, tc := range []struct {
			auth   string
			status int
		}{{"", 401}, {"Bearer wrong", 401}, {"Basic s3cret", 401}, {"Bearer s3cret-and-more", 401}, {"Bearer s3cret", 200}, {"bearer s3cret", 200}} {
			t.Run(fmt.Sprintf("%s %s %q", rq.method, rq.path, tc.auth), func(t *testing.T) {
				h := map[string]string{}
				if tc.auth != "" {
					h["Authorization"] = tc.auth
				}
				r := do(t, rq.method, ts.URL+rq.path, rq.body, h)
				if r.status != tc.status {
					t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
				}
				if tc.status == 401 {
					assertJSONError(t, r)
					if strings.Contains(string(r.body), "data:") || r.header.Get("WWW-Authenticate") == "" {
						t.Errorf("401 must carry WWW-Authenticate and no stream: %q", r.body)
					}
				}
			})
		}
	}
	// Preflight, /metrics and /healthz need no token.
	for _, p := range []string{"/metrics", "/healthz"} {
		if r := get(t, ts.URL+p, nil); r.status != 200 {
			t.Errorf("%s without token: %d", p, r.status)
		}
	}
	if r := do(t, "OPTIONS", ts.URL+"/v1/stream", "", map[string]string{"Origin": "http://x", "Access-Control-Request-Headers": "authorization,last-event-id"}); r.status != 204 {
		t.Errorf("preflight without token: %d", r.status)
	}
}

func TestCORSPreflight(t *testing.T) {
	cfg := fastConfig()
	cfg.CORSOrigin = "https://app.example"
	_, ts := newTestServer(t, cfg)
	r := do(t, "OPTIONS", ts.URL+"/v1/chat/completions", "", map[string]string{"Origin": "https://app.example", "Access-Control-Request-Method": "POST"})
	if r.status != 204 {
		t.Fatalf("preflight status %d", r.status)
	}
	if got := r.header.Get("Access-Control-Allow-Origin"); got != "https://app.example" {
		t.Errorf("Allow-Origin %q", got)
	}
	allowed := strings.ToLower(r.header.Get("Access-Control-Allow-Headers"))
	for _, h := range []string{"last-event-id", "authorization", "content-type"} {
		if !strings.Contains(allowed, h) {
			t.Errorf("Allow-Headers %q lacks %s", allowed, h)
		}
	}
	if m := r.header.Get("Access-Control-Allow-Methods"); !strings.Contains(m, "GET") || !strings.Contains(m, "POST") {
		t.Errorf("Allow-Methods %q", m)
	}
	// Disabled CORS: no header at all.
	cfg.CORSOrigin = ""
	_, ts2 := newTestServer(t, cfg)
	if r := get(t, ts2.URL+"/v1/stream", nil); r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("CORS disabled but header sent")
	}
}

func TestBadParameters(t *testing.T) {
	_, ts := newTestServer(t, fastConfig())
	for _, q := range []string{
		"tokens=-1", "tokens=100001", "tokens=abc", "chunk=0", "chunk=10001", "ttft=soon", "ttft=-5ms", "itl=2h",
		"itl=uniform(5ms,1ms)", "itl=lognormal(5ms,-1)", "itl=normal(1ms)", "seed=-3", "retry=-1", "heartbeat=1ms",
		"fault=nope", "fault=drop-after", "fault=drop-after=0", "fault=status=99", "fault=status=600", "fault=huge-event=999999999",
		"fault=crlf,cr", "fault=resume-partial", "fault=buffered,huge-event=2000000", "fault=buffered=1", "fault=stall=forever", "tokens=1&ttft=x&itl=y",
		"model=" + strings.Repeat("x", 300),
	} {
		t.Run(q, func(t *testing.T) {
			for _, path := range []string{"/v1/stream?", "/v1/chat/completions?"} {
				method, body := "GET", ""
				if strings.Contains(path, "chat") {
					method, body = "POST", chatBody
				}
				r := do(t, method, ts.URL+path+q, body, nil)
				if r.status != 400 {
					t.Fatalf("%s: status %d, want 400: %s", path, r.status, r.body)
				}
				assertJSONError(t, r)
			}
		})
	}
	// Every bad parameter is reported at once.
	r := get(t, ts.URL+"/v1/stream?tokens=x&ttft=y&fault=z", nil)
	for _, name := range []string{"tokens", "ttft", "fault"} {
		if !strings.Contains(string(r.body), "parameter "+name) {
			t.Errorf("error does not name %s: %s", name, r.body)
		}
	}
}

func TestRoutingErrors(t *testing.T) {
	_, ts := newTestServer(t, fastConfig())
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{"GET", "/nope", 404}, {"GET", "/v1/sessions/x/y/stream", 404}, {"POST", "/v1/stream", 405},
		{"GET", "/v1/chat/completions", 405}, {"GET", "/v1/sessions", 405}, {"DELETE", "/v1/stream", 405},
	} {
		r := do(t, tc.method, ts.URL+tc.path, "", nil)
		if r.status != tc.status {
			t.Errorf("%s %s: %d, want %d", tc.method, tc.path, r.status, tc.status)
		}
		assertJSONError(t, r)
	}
	if r := get(t, ts.URL+"/", nil); r.status != 200 || !strings.Contains(string(r.body), "/v1/stream") {
		t.Errorf("index: %d %q", r.status, r.body)
	}
}

func TestSessions(t *testing.T) {
	cfg := fastConfig()
	_, ts := newTestServer(t, cfg)
	r := do(t, "POST", ts.URL+"/v1/sessions", `{"tokens":5,"chunk":2,"seed":99,"itl":"0ms","fault":["no-retry"],"retry":1000,"unknown":true}`, nil)
	if r.status != 200 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	id := jsonField(t, r.body, "id")
	if !strings.HasPrefix(id, "s1_") {
		t.Fatalf("id %q", id)
	}
	s1 := get(t, ts.URL+"/v1/sessions/"+id+"/stream", nil)
	want := get(t, ts.URL+"/v1/stream?tokens=5&chunk=2&seed=99&fault=no-retry", nil)
	if s1.status != 200 || string(s1.body) != string(want.body) {
		t.Errorf("session stream differs from the equivalent /v1/stream:\n%q\n%q", s1.body, want.body)
	}
	// Stateless: another server with the same config serves the same id.
	_, ts2 := newTestServer(t, cfg)
	if s2 := get(t, ts2.URL+"/v1/sessions/"+id+"/stream", nil); string(s2.body) != string(s1.body) {
		t.Errorf("a fresh server serves a different stream for the same id")
	}
	// The query overrides the session's parameters.
	if s3 := get(t, ts.URL+"/v1/sessions/"+id+"/stream?tokens=1", nil); len(parseSSE(s3.body).events) != 3 {
		t.Errorf("query override ignored: %q", s3.body)
	}
	// Chat-style body: max_tokens and messages.
	r = do(t, "POST", ts.URL+"/v1/sessions", `{"messages":[{"role":"user","content":"hello there"}],"max_tokens":2}`, nil)
	s4 := get(t, ts.URL+"/v1/sessions/"+jsonField(t, r.body, "id")+"/stream", nil)
	if ev := parseSSE(s4.body).events; len(ev) != 4 || !strings.Contains(ev[3].Data, `"prompt_tokens":`) || strings.Contains(ev[3].Data, `"prompt_tokens":0`) {
		t.Errorf("chat-style session: %q", s4.body)
	}
	for _, tc := range []struct {
		body   string
		status int
	}{{`{"tokens":"many"}`, 400}, {`{"fault":"bogus"}`, 400}, {`{"fault":{"a":1}}`, 400}, {`nope`, 400}, {`[]`, 400},
		{`{"messages":"x"}`, 400}, {`{"model":"` + strings.Repeat("é", 120) + `","fault":"` + strings.Repeat("crlf,", 400) + `"}`, 400}} {
		if r := do(t, "POST", ts.URL+"/v1/sessions", tc.body, nil); r.status != tc.status {
			t.Errorf("POST %s: %d, want %d", tc.body, r.status, tc.status)
		} else {
			assertJSONError(t, r)
		}
	}
	for _, bad := range []string{"nope", "s1_!!!", "s1_" + strings.Repeat("A", 3000), "s1_JQ"} {
		r := get(t, ts.URL+"/v1/sessions/"+bad+"/stream", nil)
		if r.status != 404 && r.status != 400 {
			t.Errorf("session %q: %d", bad, r.status)
		}
		assertJSONError(t, r)
	}
}

func TestHealthzAndIndex(t *testing.T) {
	s, ts := newTestServer(t, fastConfig())
	if r := get(t, ts.URL+"/healthz", nil); r.status != 200 || string(r.body) != "ok\n" {
		t.Errorf("healthz %d %q", r.status, r.body)
	}
	s.Close()
	if r := get(t, ts.URL+"/healthz", nil); r.status != 503 {
		t.Errorf("healthz after Close: %d", r.status)
	}
	if r := get(t, ts.URL+"/v1/stream", nil); r.status != 503 {
		t.Errorf("stream after Close: %d", r.status)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Tokens, cfg.Slots, cfg.Heartbeat, cfg.Faults = -1, -2, time.Millisecond, []string{"nope"}
	_, err := New(cfg)
	if err == nil {
		t.Fatal("New accepted a bad config")
	}
	for _, want := range []string{"tokens", "slots", "heartbeat", "nope"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
	if _, err := New(Config{}); err != nil {
		t.Errorf("zero Config: %v", err)
	}
}
