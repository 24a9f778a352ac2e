package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ssebench/ssebench/reports"
)

// writeAttempt writes the fixture shard as attempt id of run "run-1",
// started later by shift, as dir/shard-NAME.json.
func writeAttempt(t *testing.T, dir, fixtureName, id string, shift time.Duration) string {
	t.Helper()
	f, err := reports.ReadFile(fixture(fixtureName))
	if err != nil {
		t.Fatal(err)
	}
	f.Started = f.Started.Add(shift)
	for i := range f.Intervals {
		f.Intervals[i].At = f.Intervals[i].At.Add(shift)
	}
	f.Attempt = &reports.Attempt{RunID: "run-1", ID: id}
	p := filepath.Join(dir, "shard-"+id+".json")
	fh, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	if err := reports.WriteJSON(fh, f); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestReportCollector is what the Kubernetes collector runs: a pattern
// of shard files (one shard given twice), every output at once, and the
// all-shards gate.
func TestReportCollector(t *testing.T) {
	dir := t.TempDir()
	writeAttempt(t, dir, "shard1.json", "pod-0-a", 0)
	writeAttempt(t, dir, "shard1.json", "pod-0-b", time.Minute)
	out := t.TempDir()
	junit, js, html := filepath.Join(out, "junit.xml"), filepath.Join(out, "merged.json"), filepath.Join(out, "merged.html")
	pattern := filepath.Join(dir, "shard-*.json")

	// Shard 2/2 is missing: the gate fails, and every output says why.
	code, stdout, stderr := reportRun(t, "--require-all-shards", "--threshold", "errors.rate < 100%", "--junit", junit, "--json", js, "--html", html, pattern)
	if code != exitGateFailed {
		t.Fatalf("exit %d, want 1\n%s\n%s", code, stdout, stderr)
	}
	for _, w := range []string{"FAIL  all shards merged (--require-all-shards)", "merged 1 of 2 shards; missing 2/2",
		"shard 1/2 ran 2 times (a retried pod?): merged only the last attempt, pod-0-b", "left out pod-0-a"} {
		if !strings.Contains(stdout, w) {
			t.Errorf("stdout lacks %q:\n%s", w, stdout)
		}
	}
	if !strings.Contains(stderr, "1 of 2 thresholds failed: all shards merged") {
		t.Errorf("stderr: %s", stderr)
	}
	x, err := os.ReadFile(junit)
	if err != nil || !strings.Contains(string(x), `<testcase name="all shards merged (--require-all-shards)"`) || !strings.Contains(string(x), "missing 2/2") {
		t.Errorf("junit (%v):\n%s", err, x)
	}
	m, err := reports.ReadFile(js)
	if err != nil {
		t.Fatal(err)
	}
	if m.Shard != "1/2" || len(m.Shards) != 1 || m.Shards[0].Attempt != "pod-0-b" || m.Shards[0].Superseded[0] != "pod-0-a" {
		t.Errorf("merged shard %q shards %+v", m.Shard, m.Shards)
	}
	if h, err := os.ReadFile(html); err != nil || !strings.Contains(string(h), `id="shards"`) {
		t.Errorf("html (%v) lacks the shards section", err)
	}
	// Re-rendering the merged result keeps its verdicts; merging it again
	// does not try to parse the gate as a threshold.
	// (The fixtures recorded "errors.rate < 1%", which fails: exit 1.)
	s2 := writeAttempt(t, dir, "shard2.json", "pod-1-a", 0)
	if code, stdout, _ := reportRun(t, js, s2); code != exitGateFailed || strings.Contains(stdout, "cannot parse") || !strings.Contains(stdout, "FAIL  errors.rate < 1%") {
		t.Errorf("merge of the merged result and shard 2/2: exit %d\n%s", code, stdout)
	}

	// All shards: the gate passes.
	code, stdout, _ = reportRun(t, "--require-all-shards", "--threshold", "errors.rate < 100%", pattern)
	if code != exitOK || !strings.Contains(stdout, "PASS  all shards merged") {
		t.Errorf("complete merge: exit %d\n%s", code, stdout)
	}
	// Without the gate a partial merge is only said.
	code, stdout, _ = reportRun(t, "--threshold", "errors.rate < 100%", writeAttempt(t, t.TempDir(), "shard1.json", "x", 0))
	if code != exitOK || strings.Contains(stdout, "all shards merged") {
		t.Errorf("partial without the gate: exit %d\n%s", code, stdout)
	}
}

func TestReportCollectorErrors(t *testing.T) {
	dir := t.TempDir()
	in := writeAttempt(t, dir, "shard1.json", "pod-0-a", 0)
	other := filepath.Join(dir, "other")
	if err := os.Mkdir(other, 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no match", []string{filepath.Join(dir, "nothing-*.json")}, "nothing-*.json: no file matches"},
		{"bad pattern", []string{filepath.Join(dir, "[")}, "syntax error in pattern"},
		{"json over input", []string{"--json", in, in}, "--json " + in + ": would overwrite the input"},
		{"junit over input", []string{"--junit", in, filepath.Join(dir, "shard-*.json")}, "would overwrite the input"},
		{"unwritable", []string{"--html", filepath.Join(dir, "no", "such", "dir.html"), in}, "--html"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := reportRun(t, tt.args...)
			want := exitUsage
			if tt.name == "unwritable" {
				want = exitCannotRun
			}
			if code != want || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, want %d with %q:\n%s", code, want, tt.want, stderr)
			}
		})
	}
}
