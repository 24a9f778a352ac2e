package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ssebench/ssebench/conformance/checks"
	"github.com/ssebench/ssebench/mockserver"
)

// `ssebench conform` runs a Ginkgo suite, which can run once per process;
// the end-to-end tests below therefore run the command in a child process
// (this test binary again, told by the environment to run
// TestConformHelperProcess only). Flag handling is tested in process: it
// fails before the suite starts.

const conformHelperEnv = "SSEBENCH_CONFORM_HELPER_ARGS"

// TestConformHelperProcess is not a test of its own: it is the child of
// conformChild, and runs `ssebench ARGS...` with the real process streams.
func TestConformHelperProcess(t *testing.T) {
	spec := os.Getenv(conformHelperEnv)
	if spec == "" {
		t.Skip("the child process of the conform tests")
	}
	var args []string
	if err := json.Unmarshal([]byte(spec), &args); err != nil {
		t.Fatal(err)
	}
	e := &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: func(string) string { return "" }}
	os.Exit(run(context.Background(), e, args))
}

// conformOut is what a child run produced.
type conformOut struct {
	code           int
	stdout, stderr string
}

// conformChild runs `ssebench ARGS...` in a child process.
func conformChild(t *testing.T, args ...string) conformOut {
	t.Helper()
	spec, _ := json.Marshal(args)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestConformHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), conformHelperEnv+"="+string(spec))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	out := conformOut{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		out.code = ee.ExitCode()
	default:
		t.Fatalf("child: %v", err)
	}
	return out
}

func (o conformOut) want(t *testing.T, code int) {
	t.Helper()
	if o.code != code {
		t.Fatalf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", o.code, code, o.stdout, o.stderr)
	}
}

func conformMock(t *testing.T) *mockserver.Running {
	t.Helper()
	m, err := mockserver.Start(mockserver.DefaultConfig(), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Stop() })
	return m
}

// conformJSON is the documented shape of --json.
type conformJSON struct {
	Target string `json:"target"`
	Checks []struct {
		ID       string          `json:"id"`
		Level    string          `json:"level"`
		Status   string          `json:"status"`
		Message  string          `json:"message"`
		Evidence json.RawMessage `json:"evidence"`
		Spec     string          `json:"spec"`
	} `json:"checks"`
	Summary struct {
		Pass, Fail, Warn, Skip int
		Passed                 bool
	} `json:"summary"`
}

func TestConformCompliantMock(t *testing.T) {
	mock := conformMock(t)
	dir := t.TempDir()
	jsonFile, junitFile, htmlFile := filepath.Join(dir, "c.json"), filepath.Join(dir, "c.xml"), filepath.Join(dir, "c.html")
	start := time.Now()
	out := conformChild(t, "conform", "--target", mock.URL+"/v1/stream?ttft=100ms&itl=10ms&tokens=20",
		"--json", jsonFile, "--junit", junitFile, "--html", htmlFile)
	out.want(t, exitOK)
	t.Logf("conform against the compliant mock took %v", time.Since(start).Round(time.Millisecond))
	for _, want := range []string{"\nhttp\n", "\nframing\n", "PASS  framing/utf8", "SKIP  http/cors", "PASS: every MUST check passed"} {
		if !strings.Contains(out.stdout, want) {
			t.Errorf("console output lacks %q:\n%s", want, out.stdout)
		}
	}
	var j conformJSON
	b, err := os.ReadFile(jsonFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &j); err != nil {
		t.Fatal(err)
	}
	if len(j.Checks) != len(checks.All()) || !j.Summary.Passed || j.Summary.Fail != 0 || j.Target == "" {
		t.Errorf("JSON report %s", b)
	}
	for _, c := range j.Checks {
		if c.ID == "" || c.Level == "" || c.Status == "" || !strings.HasPrefix(c.Spec, "https://") {
			t.Errorf("incomplete check %+v", c)
		}
	}
	x, err := os.ReadFile(junitFile)
	if err != nil || !bytes.Contains(x, []byte("<testsuite")) {
		t.Errorf("JUnit: %v %.200s", err, x)
	}
	h, err := os.ReadFile(htmlFile)
	if err != nil || !bytes.Contains(h, []byte("framing/utf8")) {
		t.Errorf("HTML: %v", err)
	}
}

func TestConformFailsAMust(t *testing.T) {
	mock := conformMock(t)
	out := conformChild(t, "conform", "--target", mock.URL+"/v1/stream?ttft=50ms&itl=10ms&tokens=10&fault=invalid-utf8",
		"--checks", "framing/*", "--json", "-")
	out.want(t, exitGateFailed)
	var j conformJSON
	if err := json.Unmarshal([]byte(out.stdout), &j); err != nil {
		t.Fatalf("--json - is not JSON on stdout: %v\n%s", err, out.stdout)
	}
	if j.Summary.Passed || j.Summary.Fail != 1 || len(j.Checks) != 9 {
		t.Errorf("summary %+v", j.Summary)
	}
	// The console report went to stderr, with the evidence.
	if !strings.Contains(out.stderr, `FAIL  framing/utf8`) || !strings.Contains(out.stderr, `\xff`) {
		t.Errorf("stderr:\n%s", out.stderr)
	}
}

func TestConformPOST(t *testing.T) {
	mock := conformMock(t)
	body := filepath.Join(t.TempDir(), "body.json")
	if err := os.WriteFile(body, []byte(`{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	out := conformChild(t, "conform", "--target", mock.URL+"/v1/chat/completions?ttft=50ms&itl=10ms&tokens=10",
		"--method", "POST", "--body", "@"+body, "--header", "X-Test: 1")
	out.want(t, exitOK)
}

func TestConformUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	out := conformChild(t, "conform", "--target", "http://"+addr+"/v1/stream")
	out.want(t, exitCannotRun)
	if !strings.Contains(out.stderr, "unreachable") {
		t.Errorf("stderr:\n%s", out.stderr)
	}
}

// TestConformFlags covers the flag handling, in process: every case fails
// (or lists) before the suite would start.
func TestConformFlags(t *testing.T) {
	dir := t.TempDir()
	body := filepath.Join(dir, "b.json")
	_ = os.WriteFile(body, []byte(`{}`), 0o644)
	notPEM := filepath.Join(dir, "ca.txt")
	_ = os.WriteFile(notPEM, []byte("not a certificate"), 0o644)
	keyPEM := filepath.Join(dir, "key.pem")
	_ = os.WriteFile(keyPEM, []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), 0o644)
	tests := []struct {
		name   string
		vars   map[string]string
		args   []string
		code   int
		stdout string
		stderr string
		absent string // must not appear in stderr (a secret)
	}{
		{"malformed target with a password", nil, []string{"--target", "http://user:s3cretpw@[::1/x"}, exitUsage, "", "--target", "s3cretpw"},
		{"target with a password and a bad scheme", nil, []string{"--target", "ws://user:s3cretpw@x/"}, exitUsage, "", "REDACTED@x", "s3cretpw"},
		{"header without a colon", nil, []string{"--target", "http://127.0.0.1:1/", "--header", "Authorization Bearer s3cretTok"}, exitUsage, "", "--header number 1", "s3cretTok"},
		{"header without a colon, from the environment", map[string]string{"SSEBENCH_HEADER": "X-Api-Key s3cretKey"}, []string{"--target", "http://127.0.0.1:1/"}, exitUsage, "", "want NAME:VALUE", "s3cretKey"},
		{"missing CA file", nil, []string{"--target", "https://127.0.0.1:1/", "--ca-cert", filepath.Join(dir, "none.pem")}, exitUsage, "", "--ca-cert", ""},
		{"CA file without PEM", nil, []string{"--target", "https://127.0.0.1:1/", "--ca-cert", notPEM}, exitUsage, "", "no PEM certificate", ""},
		{"CA file with a key", nil, []string{"--target", "https://127.0.0.1:1/", "--ca-cert", keyPEM}, exitUsage, "", `is a "PRIVATE KEY", not a CERTIFICATE`, ""},
		{"bad memory budget", nil, []string{"--target", "http://127.0.0.1:1/", "--max-memory", "lots"}, exitUsage, "", "max-memory", ""},
		{"memory budget too small", nil, []string{"--target", "http://127.0.0.1:1/", "--max-memory", "64KiB"}, exitUsage, "", "at least 1 MiB", ""},
		{"no target", nil, []string{}, exitUsage, "", "--target is required", ""},
		{"bad scheme", nil, []string{"--target", "ws://x/"}, exitUsage, "", "http:// or https://", ""},
		{"bad header", nil, []string{"--target", "http://127.0.0.1:1/", "--header", "nocolon"}, exitUsage, "", "NAME:VALUE", ""},
		{"bad glob", nil, []string{"--target", "http://127.0.0.1:1/", "--checks", "nope/*"}, exitUsage, "", "matches no check", ""},
		{"missing body file", nil, []string{"--target", "http://127.0.0.1:1/", "--body", "@/does/not/exist"}, exitUsage, "", "--body", ""},
		{"stray argument", nil, []string{"http://x/"}, exitUsage, "", "unexpected argument", ""},
		{"markdown alone", nil, []string{"--target", "http://127.0.0.1:1/", "--markdown"}, exitUsage, "", "--list-checks", ""},
		{"bad method", nil, []string{"--target", "http://127.0.0.1:1/", "--method", "post"}, exitUsage, "", "upper-case", ""},
		{"bad env", map[string]string{"SSEBENCH_MAX_TIME": "soon"}, []string{"--target", "http://127.0.0.1:1/"}, exitUsage, "", "SSEBENCH_MAX_TIME", ""},
		{"help", nil, []string{"--help"}, exitOK, "Usage: ssebench conform", "", ""},
		{"list", nil, []string{"--list-checks"}, exitOK, "resume/last-event-id", "", ""},
		{"list markdown", nil, []string{"--list-checks", "--markdown"}, exitOK, "| `framing/utf8` | MUST |", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			e := &env{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr,
				getenv: func(k string) string { return tt.vars[k] }}
			code := run(context.Background(), e, append([]string{"conform"}, tt.args...))
			if code != tt.code || !strings.Contains(stdout.String(), tt.stdout) || !strings.Contains(stderr.String(), tt.stderr) ||
				tt.absent != "" && strings.Contains(stdout.String()+stderr.String(), tt.absent) {
				t.Errorf("exit %d (want %d)\nstdout:\n%s\nstderr:\n%s", code, tt.code, stdout.String(), stderr.String())
			}
		})
	}
}

func TestConformFlagsBuildConfig(t *testing.T) {
	e := &env{stdin: strings.NewReader(`{"from":"stdin"}`), stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{},
		getenv: func(k string) string {
			return map[string]string{"SSEBENCH_TARGET": "http://127.0.0.1:1/s", "SSEBENCH_HEADER": "X-Env: 1"}[k]
		}}
	f, err := parseConformFlags(e, []string{"--method", "POST", "--body", "@-", "--header", "Authorization: Bearer t",
		"--checks", "framing/*,http/status", "--max-events", "5", "--until-event", "done", "--origin", "https://o.example"})
	if err != nil {
		t.Fatal(err)
	}
	c := f.cfg
	if c.Target != "http://127.0.0.1:1/s" || c.Method != "POST" || string(c.Body) != `{"from":"stdin"}` ||
		c.Header.Get("Authorization") != "Bearer t" || c.Header.Get("X-Env") != "" ||
		len(c.Checks) != 2 || c.MaxEvents != 5 || c.UntilEvent != "done" || c.Origin != "https://o.example" {
		t.Errorf("config %+v", c)
	}
}
