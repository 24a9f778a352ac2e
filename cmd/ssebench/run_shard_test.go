package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

func TestShardRunFlags(t *testing.T) {
	t.Parallel()
	e := func(vars map[string]string) *env {
		return &env{getenv: func(k string) string { return vars[k] }}
	}
	soon := time.Now().Add(time.Minute).UTC().Format(time.RFC3339)
	tests := []struct {
		name       string
		args       []string
		vars       map[string]string
		wantI      int
		wantN      int
		wantErr    string
		wantRunID  string
		wantDefers bool
	}{
		{name: "index", args: []string{"--shard-index", "2", "--shard-count", "3"}, wantI: 3, wantN: 3},
		{name: "index=0", args: []string{"--shard-index=0", "--shard-count=1"}, wantI: 1, wantN: 1},
		{name: "env", vars: map[string]string{"SSEBENCH_SHARD_INDEX": "0", "SSEBENCH_SHARD_COUNT": "2", "SSEBENCH_RUN_ID": "job-uid", "SSEBENCH_DEFER_VERDICT": "true"},
			wantI: 1, wantN: 2, wantRunID: "job-uid", wantDefers: true},
		{name: "flag beats env", args: []string{"--shard-index", "1"}, vars: map[string]string{"SSEBENCH_SHARD_INDEX": "0", "SSEBENCH_SHARD_COUNT": "2"}, wantI: 2, wantN: 2},
		{name: "start soon", args: []string{"--start-at", soon}, wantI: 1, wantN: 1},
		{name: "index alone", args: []string{"--shard-index", "1"}, wantErr: "--shard-index and --shard-count go together"},
		{name: "count alone", args: []string{"--shard-count", "2"}, wantErr: "--shard-index and --shard-count go together"},
		{name: "index too big", args: []string{"--shard-index", "3", "--shard-count", "3"}, wantErr: "want 0 <= I < --shard-count 3"},
		{name: "negative", args: []string{"--shard-index", "-1", "--shard-count", "3"}, wantErr: "want an integer >= 0"},
		{name: "with --shard", args: []string{"--shard", "1/2", "--shard-index", "0", "--shard-count", "2"}, wantErr: "exclude each other"},
		{name: "unexpanded", args: []string{"--shard-index", "$(JOB_COMPLETION_INDEX)", "--shard-count", "2"}, wantErr: "unexpanded variable reference"},
		{name: "start format", args: []string{"--start-at", "tomorrow"}, wantErr: "want an RFC 3339 time"},
		{name: "start long past", args: []string{"--start-at", "2020-01-01T00:00:00Z"}, wantErr: "in the past (more than 5m0s)"},
		{name: "start far ahead", args: []string{"--start-at", time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339)}, wantErr: "ahead (more than 24h0m0s)"},
		{name: "bad run id", args: []string{"--run-id", "a b"}, wantErr: "without spaces"},
		{name: "empty attempt", args: []string{"--attempt-id", ""}, wantErr: "want 1 to 253 characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseRunFlags(e(tt.vars), tt.args)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				var ee *exitError
				if !errors.As(err, &ee) || ee.code != exitUsage {
					t.Errorf("err %v is not a usage error", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.shardIndex != tt.wantI || c.shardCount != tt.wantN || c.shardRun.runID != tt.wantRunID || c.shardRun.deferVerdict != tt.wantDefers {
				t.Errorf("shard %d/%d run id %q defer %v, want %d/%d %q %v", c.shardIndex, c.shardCount, c.shardRun.runID, c.shardRun.deferVerdict,
					tt.wantI, tt.wantN, tt.wantRunID, tt.wantDefers)
			}
		})
	}
}

// TestWaitStart runs on synctest's fake clock: the wait ends exactly at
// --start-at, a start already passed does not wait and records how late it
// is, and cancelling the context ends the wait as an interruption.
func TestWaitStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		at := time.Now().Add(10 * time.Second)
		s := shardRunFlags{startAt: at, now: time.Now, runID: "r", attemptID: "pod-0"}
		var msg strings.Builder
		if err := s.waitStart(t.Context(), &msg, "1/3"); err != nil {
			t.Fatal(err)
		}
		if !time.Now().Equal(at) {
			t.Errorf("woke at %v, want %v", time.Now(), at)
		}
		if !strings.Contains(msg.String(), "shard 1/3 waits 10s for --start-at") {
			t.Errorf("message %q", msg.String())
		}
		a := s.attempt(time.Now())
		if a.StartOffsetMS == nil || *a.StartOffsetMS != 0 || !a.StartAt.Equal(at) || a.ID != "pod-0" || a.RunID != "r" {
			t.Errorf("attempt %+v", a)
		}

		time.Sleep(1500 * time.Millisecond) // now 1.5 s late
		msg.Reset()
		if err := s.waitStart(t.Context(), &msg, "1/3"); err != nil || msg.Len() != 0 {
			t.Errorf("late start waited: %v %q", err, msg.String())
		}
		if a := s.attempt(time.Now()); *a.StartOffsetMS != 1500 {
			t.Errorf("offset %v, want 1500 ms", *a.StartOffsetMS)
		}

		ctx, cancel := context.WithCancel(t.Context())
		s.startAt = time.Now().Add(time.Hour)
		go func() {
			time.Sleep(time.Second)
			cancel()
		}()
		err := s.waitStart(ctx, nil, "1/3")
		var ee *exitError
		if !errors.As(err, &ee) || ee.code != exitInterrupted {
			t.Errorf("cancelled wait: %v", err)
		}
	})
	// Without --start-at: no attempt offset, a made-up id.
	a := (&shardRunFlags{}).attempt(time.Now())
	if len(a.ID) != 12 || a.StartAt != nil || a.StartOffsetMS != nil {
		t.Errorf("attempt without flags: %+v", a)
	}
}

// TestRunDeferVerdict: a failed threshold with --defer-verdict still
// writes its verdict into the result, says the merge decides, and exits 0;
// the result carries the run and attempt ids and the start offset.
func TestRunDeferVerdict(t *testing.T) {
	t.Parallel()
	m := runStartMock(t, nil)
	out := filepath.Join(t.TempDir(), "shard-1.json")
	startAt := time.Now().UTC().Format(time.RFC3339Nano) // now: starts at once
	r := runCLI(t, t.Context(), map[string]string{"SSEBENCH_RUN_ID": "run-7", "SSEBENCH_ATTEMPT_ID": "pod-1-abcde"},
		"run", "--quiet", "--duration", "1s", "--connections", "3",
		"--events", "eventsource", "--target", m.URL+"/v1/stream?ttft=20ms&itl=5ms&tokens=3",
		"--threshold", "ttft.p50 < 1ms", "--defer-verdict", "--shard-index", "1", "--shard-count", "2", "--start-at", startAt, "--out", out)
	r.wantCode(t, exitOK)
	if !strings.Contains(r.stderr, "verdict deferred to the merge (--defer-verdict): 1 of 1 thresholds failed: ttft.p50 < 1ms") {
		t.Errorf("stderr:\n%s", r.stderr)
	}
	f := runReadResult(t, out)
	if len(f.Thresholds) != 1 || f.Thresholds[0].Pass {
		t.Errorf("thresholds %+v, want the one failed", f.Thresholds)
	}
	a := f.Attempt
	if f.Shard != "2/2" || a == nil || a.RunID != "run-7" || a.ID != "pod-1-abcde" || a.StartAt == nil || a.StartOffsetMS == nil || *a.StartOffsetMS < 0 {
		t.Errorf("shard %q attempt %+v", f.Shard, a)
	}
	// Without --defer-verdict the same run fails.
	r = runCLI(t, t.Context(), nil, "run", "--quiet", "--duration", "1s", "--connections", "2",
		"--events", "eventsource", "--target", m.URL+"/v1/stream?ttft=20ms&itl=5ms&tokens=3", "--threshold", "ttft.p50 < 1ms")
	r.wantCode(t, exitGateFailed)
	// A usage error is not deferred.
	runCLI(t, t.Context(), nil, "run", "--defer-verdict", "--shard-index", "1").wantCode(t, exitUsage)
}

func TestWriteAtomic(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, "shard-0.json")
	for _, body := range []string{"first", "second, longer"} {
		if err := writeAtomic(p, []byte(body)); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(p)
		if err != nil || string(b) != body {
			t.Errorf("read %q, %v; want %q", b, err, body)
		}
	}
	if err := writeAtomic(filepath.Join(dir, "missing", "x.json"), []byte("x")); err == nil {
		t.Error("no error for a missing directory")
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("directory holds %v, want only shard-0.json (no temporary file left)", names)
	}
	st, err := os.Stat(p)
	if err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v %v", st.Mode(), err)
	}
}
