package scenarios

import (
	"context"
	"io"
	"strings"
	"testing"
)

func TestPrepareRequest(t *testing.T) {
	_, err := parse("r.yaml", []byte(`url: http://127.0.0.1:8080/v1/sessions/{{session}}/stream?n={{stream}}
headers:
  X-Stream: "{{stream}}"
  Authorization: Bearer {{env.SSEBENCH_TEST_KEY}}
  Host: example.com
body:
  n: "{{stream}}"
setup:
  url: http://127.0.0.1:8080/v1/sessions
  body: '{"tokens": 3}'
  extract: {session: id, count: data.items.1}
`))
	if err == nil {
		t.Fatal("unset env accepted")
	}
	t.Setenv("SSEBENCH_TEST_KEY", "k")
	s, err := parse("r.yaml", []byte(`url: http://127.0.0.1:8080/v1/sessions/{{session}}/stream?n={{stream}}
headers:
  X-Stream: "{{stream}}"
  Authorization: Bearer {{env.SSEBENCH_TEST_KEY}}
  Host: example.com
body:
  n: "{{stream}}"
setup:
  url: http://127.0.0.1:8080/v1/sessions
  body: '{"tokens": 3}'
  extract: {session: id, count: data.items.1}
`))
	if err != nil {
		t.Fatal(err)
	}
	setup, err := s.PrepareSetup()
	if err != nil {
		t.Fatal(err)
	}
	vars := s.Vars(s.StreamNumber(5))
	sreq, err := setup.New(context.Background(), &vars)
	if err != nil {
		t.Fatal(err)
	}
	if sreq.Method != "POST" || sreq.Header.Get("Content-Type") != "application/json" || sreq.Header.Get("Accept") != "application/json" {
		t.Errorf("setup request %s %v", sreq.Method, sreq.Header)
	}
	vals, err := s.Setup.Values([]byte(`{"id":"s1_x","data":{"items":[1,22.5]}}`))
	if err != nil {
		t.Fatal(err)
	}
	if vals["session"] != "s1_x" || vals["count"] != "22.5" {
		t.Errorf("values %v", vals)
	}
	if _, err := s.Setup.Values([]byte(`{"nope":1}`)); err == nil || !strings.Contains(err.Error(), `field "data" not found`) {
		t.Errorf("missing field: %v", err)
	}
	if _, err := s.Setup.Values([]byte(`<html>`)); err == nil {
		t.Error("non-JSON response accepted")
	}

	p, err := s.PrepareRequest()
	if err != nil {
		t.Fatal(err)
	}
	vars.Values = vals
	req, err := p.New(context.Background(), &vars)
	if err != nil {
		t.Fatal(err)
	}
	if got := req.URL.String(); got != "http://127.0.0.1:8080/v1/sessions/s1_x/stream?n=5" {
		t.Errorf("url %s", got)
	}
	if req.Method != "POST" || req.Host != "example.com" {
		t.Errorf("method %s host %s", req.Method, req.Host)
	}
	for k, want := range map[string]string{"X-Stream": "5", "Authorization": "Bearer k", "Accept": "text/event-stream", "Cache-Control": "no-cache", "Content-Type": "application/json"} {
		if got := req.Header.Get(k); got != want {
			t.Errorf("header %s = %q, want %q", k, got, want)
		}
	}
	body, _ := io.ReadAll(req.Body)
	again, _ := req.GetBody()
	body2, _ := io.ReadAll(again)
	if string(body) != `{"n":"5"}` || string(body2) != string(body) || req.ContentLength != int64(len(body)) {
		t.Errorf("body %q / %q, length %d", body, body2, req.ContentLength)
	}
}
