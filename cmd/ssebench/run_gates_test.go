package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ssebench/ssebench/mockserver"
)

// TestRunFailsClosed: with no threshold at all, a run in which no stream
// succeeded exits 1 and names the top error and its reason; an endless
// live feed cut by the run's end is healthy (exit 0); streams cut before
// their first event did not succeed.
func TestRunFailsClosed(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/denied":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error":"invalid token"}`)
			return
		case "/silent": // headers, then nothing until the client leaves
			w.Header().Set("Content-Type", "text/event-stream")
			w.WriteHeader(http.StatusOK)
			w.(http.Flusher).Flush()
			<-r.Context().Done()
			return
		}
		w.Header().Set("Content-Type", "text/event-stream") // /live: endless
		w.WriteHeader(http.StatusOK)
		for i := 0; ; i++ {
			fmt.Fprintf(w, "id: %d\ndata: tick %d\n\n", i, i)
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}))
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	for _, tt := range []struct {
		path string
		code int
		want []string // substrings of stderr
	}{
		{"/denied", exitGateFailed, []string{"no stream succeeded", " failed; top error http_status:401 (", "401 Unauthorized"}},
		{"/silent", exitGateFailed, []string{"no stream succeeded", "cancelled at the end of the run", "before any event arrived"}},
		{"/live", exitOK, nil},
	} {
		t.Run(tt.path, func(t *testing.T) {
			t.Parallel()
			sc := runWriteScenario(t, dir, tt.path[1:]+".yaml", fmt.Sprintf("url: %s%s\nload: {connections: 3}\nduration: 1s\ngrace: 100ms\n", srv.URL, tt.path))
			out := filepath.Join(dir, tt.path[1:]+".json")
			r := runCLI(t, t.Context(), nil, "run", sc, "--quiet", "--out", out)
			r.wantCode(t, tt.code)
			for _, w := range tt.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
				}
			}
			f := runReadResult(t, out)
			if tt.code == exitOK {
				if f.Counters.CutAfterEvents == 0 || f.Counters.StreamsFailed != 0 {
					t.Errorf("live feed: counters %+v, want streams cut after events and none failed", f.Counters)
				}
				return
			}
			if !strings.Contains(r.stdout, "verdict FAIL (no stream succeeded)") {
				t.Errorf("summary verdict does not say it:\n%s", r.stdout)
			}
			// report, given the same file, agrees with run.
			code, _, errs := reportRun(t, out)
			if code != exitGateFailed || !strings.Contains(errs, "no stream succeeded") {
				t.Errorf("report: exit %d, want 1 naming it:\n%s", code, errs)
			}
		})
	}
}

// TestRunFailureReasons: the summary, the JSON and the HTML say why
// streams failed: the class, the server's status line, and the first
// bytes of its body as a sample.
func TestRunFailureReasons(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprint(w, "<h1>maintenance</h1>")
	}))
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	out, html := filepath.Join(dir, "r.json"), filepath.Join(dir, "r.html")
	r := runCLI(t, t.Context(), nil, "run", "--quiet", "--target", srv.URL+"/v1/stream", "--connections", "2",
		"--duration", "1s", "--out", out, "--html", html)
	r.wantCode(t, exitGateFailed)
	f := runReadResult(t, out)
	if len(f.Failures) != 1 || f.Failures[0].Class != "http_status" || len(f.Failures[0].Messages) == 0 ||
		!strings.Contains(f.Failures[0].Messages[0].Detail, "503") {
		t.Fatalf("failures %+v, want http_status with the 503 message", f.Failures)
	}
	if !strings.Contains(r.stdout, "why (failed attempts / streams ended, per message)") || !strings.Contains(r.stdout, "503 Service Unavailable") {
		t.Errorf("summary lacks the reasons:\n%s", r.stdout)
	}
	page, err := os.ReadFile(html)
	if err != nil || !strings.Contains(string(page), `id="why"`) || strings.Contains(string(page), "<h1>maintenance") {
		t.Errorf("HTML lacks the reasons, or shows the body's markup unescaped (err %v)", err)
	}
}

// TestRunHeader: --header and SSEBENCH_HEADER (one header per line) set
// request headers, the flag beating the variable and both beating the
// scenario; a malformed one is a usage error that never shows the value;
// no output shows a secret header's value.
func TestRunHeader(t *testing.T) {
	t.Parallel()
	const token = "tok-SECRET-header"
	m := runStartMock(t, func(c *mockserver.Config) { c.Token = token })
	target := m.URL + "/v1/stream?ttft=5ms&itl=1ms&tokens=3"
	dir := t.TempDir()
	args := func(extra ...string) []string {
		return append([]string{"run", "--quiet", "--target", target, "--connections", "2", "--duration", "500ms"}, extra...)
	}
	for _, tt := range []struct {
		name string
		vars map[string]string
		args []string
		code int
	}{
		{"flag", nil, args("--header", "Authorization: Bearer "+token), exitOK},
		{"variable, two lines", map[string]string{"SSEBENCH_HEADER": "X-Trace: 1\nAuthorization: Bearer " + token}, args(), exitOK},
		{"flag beats variable", map[string]string{"SSEBENCH_HEADER": "Authorization: Bearer wrong"}, args("--header", "Authorization: Bearer "+token), exitOK},
		{"none: 401, fails closed", nil, args(), exitGateFailed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_")+".json")
			r := runCLI(t, t.Context(), tt.vars, append(tt.args, "--out", out)...)
			r.wantCode(t, tt.code)
			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			for name, text := range map[string]string{"stdout": r.stdout, "stderr": r.stderr, "json": string(b)} {
				if strings.Contains(text, "SECRET") {
					t.Errorf("%s shows the header's value", name)
				}
			}
		})
	}
	for _, bad := range []string{"Bearer-SECRET-no-colon", "Bad Name: SECRET", "X-Ok: {{SECRET"} {
		r := runCLI(t, t.Context(), nil, args("--header", bad)...)
		r.wantCode(t, exitUsage)
		if !strings.Contains(r.stderr, "--header") || strings.Contains(r.stderr, "SECRET") {
			t.Errorf("--header %q: stderr must name the flag, not the value:\n%s", bad, r.stderr)
		}
	}
}

// TestRunJSONBodyTemplate: a template value with a quote and a newline
// inside a JSON body still makes a valid request (the mock's chat endpoint
// answers 400 to invalid JSON).
func TestRunJSONBodyTemplate(t *testing.T) {
	t.Parallel()
	m := runStartMock(t, nil)
	dir := t.TempDir()
	sc := runWriteScenario(t, dir, "chat.yaml", fmt.Sprintf(`
url: %s/v1/chat/completions?ttft=5ms&itl=1ms
body:
  model: m
  stream: true
  max_tokens: 3
  messages: [{role: user, content: "question: {{env.QUESTION}}"}]
events: openai
load: {connections: 2}
duration: 500ms
`, m.URL))
	out := filepath.Join(dir, "r.json")
	r := runCLI(t, t.Context(), map[string]string{"QUESTION": "say \"hi\"\nand \\ bye"}, "run", sc, "--quiet", "--out", out)
	r.wantCode(t, exitOK)
	c := runReadResult(t, out).Counters
	if c.StreamsOK == 0 || len(c.Errors) != 0 || len(c.AttemptErrors) != 0 {
		t.Errorf("streams ok %d, errors %v %v: want every request accepted", c.StreamsOK, c.Errors, c.AttemptErrors)
	}
}

// TestRunUnknownEnvironment: an SSEBENCH_* variable no command reads is a
// usage error naming the closest known one; another command's variable,
// and one the scenario reads, are not.
func TestRunUnknownEnvironment(t *testing.T) {
	t.Parallel()
	r := runCLI(t, t.Context(), map[string]string{"SSEBENCH_CONECTIONS": "5"}, "run", "--quiet")
	r.wantCode(t, exitUsage)
	if !strings.Contains(r.stderr, "unknown environment variable SSEBENCH_CONECTIONS (did you mean SSEBENCH_CONNECTIONS?)") {
		t.Errorf("stderr:\n%s", r.stderr)
	}
	if strings.Contains(r.stderr, "=5") {
		t.Errorf("stderr shows the value:\n%s", r.stderr)
	}
	m := runStartMock(t, nil)
	dir := t.TempDir()
	sc := runWriteScenario(t, dir, "env.yaml", fmt.Sprintf("url: %s/v1/stream?ttft=5ms&itl=1ms&tokens=2&seed={{env.SSEBENCH_MY_SEED}}\nload: {connections: 1}\nduration: 300ms\n", m.URL))
	vars := map[string]string{"SSEBENCH_MY_SEED": "3", "SSEBENCH_TOKEN": "for-the-mock", "SSEBENCH_QUIET": "true"}
	runCLI(t, t.Context(), vars, "run", sc).wantCode(t, exitOK)
	// The other commands check it before they start.
	var out, errb runSyncBuffer
	e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(string) string { return "" },
		environ: func() []string { return []string{"SSEBENCH_MAX_EVNT=1"} }}
	if code := run(context.Background(), e, []string{"parse", "--help"}); code != exitUsage ||
		!strings.Contains(errb.String(), "did you mean SSEBENCH_MAX_EVENT?") {
		t.Errorf("parse: exit %d\n%s", code, errb.String())
	}
}

// TestRunSummaryShowsPath: the summary header and the JSON name the
// target's path and query, secrets redacted.
func TestRunSummaryShowsPath(t *testing.T) {
	t.Parallel()
	m := runStartMock(t, nil)
	out := filepath.Join(t.TempDir(), "r.json")
	r := runCLI(t, t.Context(), nil, "run", "--quiet", "--connections", "1", "--duration", "300ms", "--out", out,
		"--target", m.URL+"/v1/stream?ttft=5ms&itl=1ms&tokens=2&api_key=SECRET-k")
	r.wantCode(t, exitOK)
	want := m.URL + "/v1/stream?ttft=5ms&itl=1ms&tokens=2&api_key=REDACTED"
	if !strings.Contains(r.stdout, "target "+want) || strings.Contains(r.stdout, "SECRET") {
		t.Errorf("summary header, want target %s:\n%s", want, r.stdout)
	}
	if got := runReadResult(t, out).Environment.Target; got != want {
		t.Errorf("JSON target %q, want %q", got, want)
	}
}

// TestHelpGoesToStdout: every command's --help is printed on stdout and
// exits 0; every flag it lists can be set by its SSEBENCH_* variable,
// except report's (it reads none: a CI job's SSEBENCH_OUT for run must not
// redirect a report).
func TestHelpGoesToStdout(t *testing.T) {
	t.Parallel()
	known := knownEnv()
	for name := range commands {
		if name == "report" {
			continue
		}
		var out, errb runSyncBuffer
		e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
		if code := run(context.Background(), e, []string{name, "--help"}); code != exitOK || errb.String() != "" ||
			!strings.HasPrefix(out.String(), "Usage: ssebench "+name) {
			t.Errorf("%s --help: exit %d\nstdout:\n%.200s\nstderr:\n%s", name, code, out.String(), errb.String())
		}
		for _, line := range strings.Split(out.String(), "\n") {
			flag, ok := strings.CutPrefix(line, "  -")
			if !ok {
				continue
			}
			flag, _, _ = strings.Cut(flag, " ")
			if v := envName(flag); !strings.Contains(strings.Join(known, " "), v) {
				t.Errorf("%s --%s: %s is not among the known variables", name, flag, v)
			}
		}
	}
	if len(known) < 20 {
		t.Errorf("known variables: %v", known)
	}
}
