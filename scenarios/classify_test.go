package scenarios

import (
	"strings"
	"testing"
)

func TestClassifyEventSource(t *testing.T) {
	c := (&Events{Preset: PresetEventSource}).Classifier()
	tests := []struct {
		typ, data string
		want      Class
	}{
		{"info", `{"id":"mock-1","tokens":64}`, ClassMeta},
		{"add", "hello", ClassContent},
		{"add", "", ClassMeta},
		{"", "plain message", ClassContent},
		{"message", "plain message", ClassContent},
		{"finish", `{"text":"..","usage":{"completion_tokens":64}}`, ClassTerminal | ClassUsage},
		{"finish", `bye`, ClassTerminal},
		{"error", `{"error":{"message":"x"}}`, ClassError},
		{"custom", "x", ClassContent},
		{"", "[DONE]", ClassContent}, // not terminal unless listed
	}
	for _, tt := range tests {
		if got := c.Classify([]byte(tt.typ), []byte(tt.data)); got != tt.want {
			t.Errorf("Classify(%q, %q) = %v, want %v", tt.typ, tt.data, got, tt.want)
		}
	}
}

func TestClassifyOverrides(t *testing.T) {
	c := (&Events{Preset: PresetEventSource, Terminal: []string{"done"}, Content: []string{"delta"}, TerminalData: []string{"EOF"}}).Classifier()
	tests := []struct {
		typ, data string
		want      Class
	}{
		{"done", "", ClassTerminal},
		{"finish", "x", ClassMeta}, // terminal list replaced
		{"delta", "x", ClassContent},
		{"add", "x", ClassMeta}, // content is only what is listed
		{"info", "x", ClassMeta},
		{"error", "x", ClassError},
		{"delta", "EOF", ClassTerminal},
	}
	for _, tt := range tests {
		if got := c.Classify([]byte(tt.typ), []byte(tt.data)); got != tt.want {
			t.Errorf("Classify(%q, %q) = %v, want %v", tt.typ, tt.data, got, tt.want)
		}
	}
	custom := (&Events{Preset: PresetCustom}).Classifier()
	if got := custom.Classify([]byte("finish"), []byte("x")); got != ClassContent {
		t.Errorf("custom preset: finish = %v, want content (no lists)", got)
	}
	emptyErr := (&Events{Preset: PresetEventSource, Error: []string{}}).Classifier()
	if got := emptyErr.Classify([]byte("error"), []byte("x")); got != ClassContent {
		t.Errorf("error: [] = %v, want content (an empty list means none)", got)
	}
}

// openAICases are chunks as real servers send them, with their class.
var openAICases = []struct {
	name, data string
	want       Class
}{
	{"role only", `{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}`, ClassMeta},
	{"role only, no content", `{"choices":[{"index":0,"delta":{"role":"assistant"},"finish_reason":null}]}`, ClassMeta},
	{"content", `{"id":"c1","choices":[{"index":0,"delta":{"content":"Hello"},"logprobs":null,"finish_reason":null}]}`, ClassContent},
	{"content with usage null", `{"choices":[{"index":0,"delta":{"content":"Hi"}}],"usage":null}`, ClassContent},
	{"content escaped", `{"choices":[{"delta":{"content":"\"\\n\u00e9"}}]}`, ClassContent},
	{"content null", `{"choices":[{"delta":{"content":null}}]}`, ClassMeta},
	{"reasoning_content", `{"choices":[{"delta":{"content":null,"reasoning_content":"think"}}]}`, ClassContent},
	{"reasoning", `{"choices":[{"delta":{"reasoning":"think"}}]}`, ClassContent},
	{"tool calls", `{"choices":[{"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"f","arguments":""}}]}}]}`, ClassContent},
	{"tool calls empty", `{"choices":[{"delta":{"tool_calls":[]}}]}`, ClassMeta},
	{"refusal", `{"choices":[{"delta":{"refusal":"no"}}]}`, ClassContent},
	{"finish chunk", `{"choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null}`, ClassMeta},
	{"usage chunk", `{"id":"c1","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":64,"total_tokens":73}}`, ClassMeta | ClassUsage},
	{"continuous usage", `{"choices":[{"delta":{"content":"x"}}],"usage":{"completion_tokens":3}}`, ClassContent | ClassUsage},
	{"legacy completions", `{"choices":[{"text":"Hello","index":0}]}`, ClassContent},
	{"legacy completions empty", `{"choices":[{"text":"","index":0,"finish_reason":"stop"}]}`, ClassMeta},
	{"second choice has content", `{"choices":[{"delta":{}},{"delta":{"content":"b"}}]}`, ClassContent},
	{"error object", `{"error":{"message":"overloaded","type":"server_error"}}`, ClassError},
	{"error null", `{"choices":[{"delta":{"content":"x"}}],"error":null}`, ClassContent},
	{"content key elsewhere", `{"choices":[{"message":{"content":"x"},"delta":{}}],"content":"y"}`, ClassMeta},
	{"nested noise", `{"x":[1,2.5e3,{"a":[true,false,null]}],"choices":[{"logprobs":{"content":[{"token":"a"}]},"delta":{"content":"z"}}]}`, ClassContent},
	{"whitespace", " {\n \"choices\" : [ { \"delta\" : { \"content\" : \"a\" } } ] }\n", ClassContent},
	{"escaped key", `{"choices":[{"delta":{"\u0063ontent":"x"}}]}`, ClassContent},
	{"not json", `hello`, ClassMeta},
	{"truncated", `{"choices":[{"delta":{"content":"x"}`, ClassMeta},
	{"trailing garbage", `{"choices":[{"delta":{"content":"x"}}]} x`, ClassMeta},
	{"array top", `[1,2]`, ClassMeta},
	{"empty", ``, ClassMeta},
	{"mismatched brackets", `{"a":[1},"choices":[{"delta":{"content":"x"}}]}`, ClassMeta},
	{"duplicate content key", `{"choices":[{"delta":{"content":"x","content":""}}]}`, ClassMeta},
	{"duplicate usage key", `{"usage":{"completion_tokens":5},"usage":null}`, ClassMeta},
	{"choices not array", `{"choices":"x","usage":{"completion_tokens":1}}`, ClassMeta | ClassUsage},
}

func TestClassifyOpenAI(t *testing.T) {
	c := (&Events{Preset: PresetOpenAI}).Classifier()
	for _, tt := range openAICases {
		if got := c.Classify(nil, []byte(tt.data)); got != tt.want {
			t.Errorf("%s: Classify = %v, want %v", tt.name, got, tt.want)
		}
		// The fast path must agree with the full decode wherever it answers.
		if got := openAIChunkSlow([]byte(tt.data)); got != tt.want {
			t.Errorf("%s: slow path = %v, want %v", tt.name, got, tt.want)
		}
	}
	if got := c.Classify(nil, []byte("[DONE]")); got != ClassTerminal {
		t.Errorf("[DONE] = %v", got)
	}
	if got := c.Classify([]byte("error"), []byte(`{"message":"x"}`)); got != ClassError {
		t.Errorf("event: error = %v", got)
	}
}

func TestUsage(t *testing.T) {
	c := (&Events{Preset: PresetOpenAI}).Classifier()
	tests := []struct {
		data string
		n    int
		ok   bool
	}{
		{`{"choices":[],"usage":{"prompt_tokens":9,"completion_tokens":64,"total_tokens":73}}`, 64, true},
		{`{"usage":{"input_tokens":9,"output_tokens":12}}`, 12, true},
		{`{"usage":{"output_tokens":12,"completion_tokens":7}}`, 7, true},
		{`{"completion_tokens":5}`, 5, true},
		{`{"text":"..","finish_reason":"stop","usage":{"prompt_tokens":0,"completion_tokens":64,"total_tokens":64}}`, 64, true},
		{`{"usage":null}`, 0, false},
		{`{"usage":{"completion_tokens":null}}`, 0, false},
		{`{"usage":{"completion_tokens":-1}}`, 0, false},
		{`{"usage":{"completion_tokens":6.5}}`, 0, false},
		{`{"usage":{"completion_tokens":"64"}}`, 0, false},
		{`{"usage":{"\u0063ompletion_tokens":8}}`, 8, true},
		{`{"choices":[{"delta":{"content":"x"}}]}`, 0, false},
		{`not json`, 0, false},
		{`{"usage":{"completion_tokens":5},"usage":null}`, 0, false},
		{`{"usage":{"completion_tokens":5,"completion_tokens":6}}`, 6, true},
		{`{"usage":{"completion_tokens":64}`, 0, false},
	}
	for _, tt := range tests {
		n, ok := c.Usage([]byte(tt.data))
		if n != tt.n || ok != tt.ok {
			t.Errorf("Usage(%s) = %d, %v; want %d, %v", tt.data, n, ok, tt.n, tt.ok)
		}
	}
}

func TestClassifyAllocs(t *testing.T) {
	c := (&Events{Preset: PresetOpenAI}).Classifier()
	es := (&Events{Preset: PresetEventSource}).Classifier()
	chunk := []byte(openAICases[2].data)
	usageChunk := []byte(openAICases[12].data)
	add, typ := []byte("some tokens"), []byte("add")
	allocs := testing.AllocsPerRun(200, func() {
		c.Classify(nil, chunk)
		c.Classify(nil, usageChunk)
		c.Usage(usageChunk)
		es.Classify(typ, add)
	})
	if allocs != 0 {
		t.Errorf("Classify/Usage allocate %v times per call on the common path", allocs)
	}
}

// FuzzOpenAIChunk checks that the scanner agrees with encoding/json.
func FuzzOpenAIChunk(f *testing.F) {
	for _, tt := range openAICases {
		f.Add([]byte(tt.data))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var sc jscan
		sc.b = data
		if fast, ok := sc.chunk(); ok {
			if slow := openAIChunkSlow(data); fast != slow {
				t.Errorf("chunk %q: scanner says %v, encoding/json %v", data, fast, slow)
			}
		}
		sc = jscan{b: data}
		if n, found, sure := sc.usage(); sure {
			if sn, sfound := usageSlow(data); n != sn || found != sfound {
				t.Errorf("usage %q: scanner says %d, %v; encoding/json %d, %v", data, n, found, sn, sfound)
			}
		}
	})
}

func BenchmarkClassifyOpenAIContent(b *testing.B) {
	c := (&Events{Preset: PresetOpenAI}).Classifier()
	chunk := []byte(`{"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini","system_fingerprint":"fp_44709d6fcb","choices":[{"index":0,"delta":{"content":" Hello"},"logprobs":null,"finish_reason":null}]}`)
	b.SetBytes(int64(len(chunk)))
	for b.Loop() {
		c.Classify(nil, chunk)
	}
}

func BenchmarkClassifyOpenAISlowPath(b *testing.B) {
	chunk := []byte(`{"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini","system_fingerprint":"fp_44709d6fcb","choices":[{"index":0,"delta":{"content":" Hello"},"logprobs":null,"finish_reason":null}]}`)
	b.SetBytes(int64(len(chunk)))
	for b.Loop() {
		openAIChunkSlow(chunk)
	}
}

func BenchmarkClassifyEventSource(b *testing.B) {
	c := (&Events{Preset: PresetEventSource}).Classifier()
	typ, data := []byte("add"), []byte(" token")
	for b.Loop() {
		c.Classify(typ, data)
	}
}

func BenchmarkUsage(b *testing.B) {
	c := (&Events{Preset: PresetOpenAI}).Classifier()
	data := []byte(`{"id":"c1","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":64,"total_tokens":73}}`)
	for b.Loop() {
		c.Usage(data)
	}
}

// strByBytes is jscan.str as it was before plain: one byte at a time. The
// test below holds str to it.
func strByBytes(b []byte) (raw []byte, escaped, ok bool, end int) {
	if len(b) == 0 || b[0] != '"' {
		return nil, false, false, 0
	}
	for i := 1; i < len(b); {
		switch c := b[i]; {
		case c == '"':
			return b[1:i], escaped, true, i + 1
		case c == '\\':
			escaped = true
			if i+1 >= len(b) {
				return nil, false, false, 0
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) {
					return nil, false, false, 0
				}
				for _, h := range b[i+2 : i+6] {
					if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
						return nil, false, false, 0
					}
				}
				i += 6
			default:
				return nil, false, false, 0
			}
		case c < 0x20:
			return nil, false, false, 0
		default:
			i++
		}
	}
	return nil, false, false, 0
}

// TestJScanStr: str, which skips plain bytes eight at a time, reads every
// string as the byte-by-byte loop does: a quote, a backslash escape, a
// control byte or a byte of 0x80 and up at every position of strings of
// 0 to 24 bytes, cut or not.
func TestJScanStr(t *testing.T) {
	specials := []string{`"`, `\"`, `\\`, `\u00e9`, `\x`, "\x00", "\x1f", "\x7f", "\x80", "\xff", " ", `\`}
	for n := 0; n <= 24; n++ {
		for at := 0; at <= n; at++ {
			for _, sp := range specials {
				body := strings.Repeat("a", at) + sp + strings.Repeat("b", n-at)
				for _, in := range []string{`"` + body + `"`, `"` + body, `"` + body + `",1`} {
					s := jscan{b: []byte(in)}
					raw, esc, ok := s.str()
					wraw, wesc, wok, wend := strByBytes([]byte(in))
					if string(raw) != string(wraw) || esc != wesc || ok != wok || ok && s.i != wend {
						t.Fatalf("str(%q) = %q, %v, %v at %d; byte by byte %q, %v, %v at %d", in, raw, esc, ok, s.i, wraw, wesc, wok, wend)
					}
				}
			}
		}
	}
}
