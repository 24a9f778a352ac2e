package scenarios

import (
	"context"
	"encoding/json"
	"io"
	"testing"
)

// TestJSONBodyEscapesValues: in a JSON body, env and setup values inside a
// string literal are JSON-escaped (a quote, a backslash, a newline, a
// control byte still make a valid body carrying the value exactly); a value
// outside a string is inserted as it is; a body sent as another type is
// not touched.
func TestJSONBodyEscapesValues(t *testing.T) {
	const evil = "he said \"hi\"\nthen \\left\t\x01 é \xff"
	t.Setenv("JB_Q", evil)
	t.Setenv("JB_N", "7")
	for _, tt := range []struct {
		name, yaml string
		json       bool
	}{
		{"mapping body", `
body:
  n: "{{stream}}"
  max_tokens: 5
  messages: [{role: user, content: "ask: {{env.JB_Q}}"}, {role: user, content: "{{session}}"}]
`, true},
		{"string body with raw number", `
body: '{"max_tokens": {{env.JB_N}}, "messages": [{"role": "user", "content": "ask: {{env.JB_Q}}"}, {"content": "{{session}}"}], "q": "a \"quoted {{env.JB_Q}}\" b"}'
`, true},
		{"explicit JSON type", `
headers: {Content-Type: application/vnd.api+json}
body: ' {"content": "ask: {{env.JB_Q}}", "s": "{{session}}"}'
`, true},
		{"plain text", `
headers: {Content-Type: text/plain}
body: '{"content": "ask: {{env.JB_Q}}"}'
`, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, err := parse("b.yaml", []byte("url: http://127.0.0.1:8080/v1/chat/completions\n"+tt.yaml+`
setup:
  url: http://127.0.0.1:8080/v1/sessions
  extract: {session: id}
`))
			if err != nil {
				t.Fatal(err)
			}
			p, err := s.PrepareRequest()
			if err != nil {
				t.Fatal(err)
			}
			vars := s.Vars(s.StreamNumber(3))
			vars.Values = map[string]string{"session": `s"1\`}
			req, err := p.New(context.Background(), &vars)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(req.Body)
			if !tt.json {
				if string(body) != `{"content": "ask: `+evil+`"}` {
					t.Errorf("plain body changed: %q", body)
				}
				return
			}
			if !json.Valid(body) {
				t.Fatalf("invalid JSON body: %s", body)
			}
			var doc map[string]any
			if err := json.Unmarshal(body, &doc); err != nil {
				t.Fatal(err)
			}
			want := "ask: he said \"hi\"\nthen \\left\t\x01 é \ufffd"
			found := false
			var walk func(v any)
			walk = func(v any) {
				switch x := v.(type) {
				case map[string]any:
					for _, y := range x {
						walk(y)
					}
				case []any:
					for _, y := range x {
						walk(y)
					}
				case string:
					if x == want {
						found = true
					}
				}
			}
			walk(doc)
			if !found {
				t.Errorf("the value did not arrive exactly: %s", body)
			}
			if n, ok := doc["max_tokens"]; ok && n != 7.0 && n != 5.0 {
				t.Errorf("max_tokens = %v", n)
			}
		})
	}
}
