package mockserver

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// nodeFixture returns node and the fixture folder testdata/NAME once its
// npm dependency pkg is installed. Without them the test skips, except
// under CI=true, where it fails.
func nodeFixture(t *testing.T, name, pkg string) (node, dir string) {
	t.Helper()
	dir = filepath.Join("testdata", name)
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(filepath.Join(dir, "node_modules", pkg, "package.json"))
	}
	if err != nil {
		msg := "node or testdata/" + name + "/node_modules is missing (" + err.Error() + "); run: npm ci --prefix mockserver/testdata/" + name
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return node, dir
}

// TestOpenAINodeClient streams a chat completion from the mock with the
// official npm "openai" package (pinned in testdata/openai/package-lock.json),
// used as its README shows: every chunk arrives, in order, under one
// completion id; the content joins to the text the mock generated; the
// usage chunk is read. Bearer auth is on, as with the real API.
func TestOpenAINodeClient(t *testing.T) {
	node, dir := nodeFixture(t, "openai", "openai")
	const tokens, seed = 9, 4242
	cfg := fastConfig()
	cfg.Token = "sk-ssebench-test"
	cfg.ITL = Fixed(2 * time.Millisecond)
	_, ts := newTestServer(t, cfg)

	// What the mock generates for these parameters, from a plain request.
	auth := map[string]string{"Authorization": "Bearer " + cfg.Token}
	ref := do(t, "POST", ts.URL+"/v1/chat/completions", `{"max_tokens":9,"seed":4242,"messages":[]}`, auth)
	var whole struct {
		Choices []struct {
			Message struct{ Content string } `json:"message"`
		} `json:"choices"`
	}
	if err := json.Unmarshal(ref.body, &whole); err != nil || len(whole.Choices) != 1 {
		t.Fatalf("reference completion %d %q: %v", ref.status, ref.body, err)
	}
	want := whole.Choices[0].Message.Content

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "client.mjs", "9", "4242")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "OPENAI_BASE_URL="+ts.URL+"/v1", "OPENAI_API_KEY="+cfg.Token)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\nstdout:\n%s\nstderr:\n%s", err, out, stderr.String())
	}

	type line struct {
		Kind, ID, Object, Message string
		Created                   int64
		Role, Content             *string
		FinishReason              *string `json:"finish_reason"`
		Usage                     *struct {
			Prompt     int `json:"prompt_tokens"`
			Completion int `json:"completion_tokens"`
			Total      int `json:"total_tokens"`
		}
	}
	var chunks []line
	done := false
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var l line
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("bad line %q: %v", sc.Text(), err)
		}
		switch l.Kind {
		case "chunk":
			chunks = append(chunks, l)
		case "done":
			done = true
		default:
			t.Fatalf("the client failed: %s", sc.Text())
		}
	}
	// role chunk, 9 content chunks, the finish chunk, the usage chunk.
	if !done || len(chunks) != tokens+3 {
		t.Fatalf("done %v, %d chunks, want %d:\n%s", done, len(chunks), tokens+3, out)
	}
	var text strings.Builder
	for i, c := range chunks {
		if c.ID != chunks[0].ID || c.Created != chunks[0].Created || c.Object != "chat.completion.chunk" {
			t.Errorf("chunk %d: id %q created %d object %q; chunk 0: %q %d", i, c.ID, c.Created, c.Object, chunks[0].ID, chunks[0].Created)
		}
		if c.Content != nil {
			text.WriteString(*c.Content)
		}
		if (c.Usage != nil) != (i == len(chunks)-1) {
			t.Errorf("chunk %d: usage %v", i, c.Usage)
		}
	}
	if chunks[0].Role == nil || *chunks[0].Role != "assistant" {
		t.Errorf("chunk 0 has no assistant role: %+v", chunks[0])
	}
	if f := chunks[len(chunks)-2].FinishReason; f == nil || *f != "length" {
		t.Errorf("finish_reason %v, want length (max_tokens)", f)
	}
	if text.String() != want {
		t.Errorf("content joins to %q, want the mock's %q", text.String(), want)
	}
	if u := chunks[len(chunks)-1].Usage; u == nil || u.Completion != tokens || u.Total != u.Prompt+u.Completion || u.Prompt <= 0 {
		t.Errorf("usage %+v, want %d completion tokens", u, tokens)
	}
	if ref := jsonField(t, ref.body, "id"); ref == chunks[0].ID {
		t.Errorf("two completions share the id %s", ref)
	}
}
