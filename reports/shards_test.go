package reports

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// attemptShards builds shards 1/3..3/3 of one run (run id "run-1"), each
// with its attempt id and start offset, and a first attempt of shard 2/3
// ("pod-2a") that started 30 s earlier and saw other streams.
func attemptShards(t *testing.T) (s1, s2a, s2b, s3 *File) {
	t.Helper()
	s := synth{streams: 90, every: 10 * time.Millisecond, events: 5, failEach: 7}
	startAt := fixedStart
	mk := func(shard, id string, start time.Time, keep func(int) bool) *File {
		f := buildSynth(s, start, time.Second, keep, shard)
		off := float64(start.Sub(startAt)) / float64(time.Millisecond)
		f.Attempt = &Attempt{RunID: "run-1", ID: id, StartAt: &startAt, StartOffsetMS: &off}
		return f
	}
	s1 = mk("1/3", "pod-1", fixedStart.Add(3*time.Millisecond), func(i int) bool { return i%3 == 0 })
	s2a = mk("2/3", "pod-2a", fixedStart, func(i int) bool { return i%3 == 1 && i < 40 })
	s2b = mk("2/3", "pod-2b", fixedStart.Add(30*time.Second), func(i int) bool { return i%3 == 1 })
	s3 = mk("3/3", "pod-3", fixedStart.Add(time.Millisecond), func(i int) bool { return i%3 == 2 })
	return s1, s2a, s2b, s3
}

func TestMergeKeepsTheLastAttempt(t *testing.T) {
	s1, s2a, s2b, s3 := attemptShards(t)
	want, err := Merge(s1, s2b, s3)
	if err != nil {
		t.Fatal(err)
	}
	for _, order := range [][]*File{{s1, s2a, s2b, s3}, {s2b, s3, s2a, s1}} {
		m, err := Merge(order...)
		if err != nil {
			t.Fatal(err)
		}
		if m.Shard != "merged:1/3,2/3,3/3" {
			t.Errorf("shard %q", m.Shard)
		}
		// The first attempt is not counted: the result is the merge
		// of the three kept attempts, exactly.
		if d := cmp.Diff(want.Counters, m.Counters); d != "" {
			t.Errorf("counters (-without the retry +with it):\n%s", d)
		}
		if m.Metrics["ttft"].HDR != want.Metrics["ttft"].HDR {
			t.Error("ttft histogram differs from the merge without the superseded attempt")
		}
		notes := strings.Join(m.Notes, "\n")
		for _, w := range []string{"shard 2/3 ran 2 times", "merged only the last attempt, pod-2b (started", "left out pod-2a (started"} {
			if !strings.Contains(notes, w) {
				t.Errorf("notes lack %q:\n%s", w, notes)
			}
		}
		if len(m.Shards) != 3 {
			t.Fatalf("shards: %+v", m.Shards)
		}
		got := m.Shards[1]
		if got.Shard != "2/3" || got.Attempt != "pod-2b" || !cmp.Equal(got.Superseded, []string{"pod-2a"}) || got.RunID != "run-1" {
			t.Errorf("shard 2/3 summary: %+v", got)
		}
		if got.StartOffsetMS == nil || *got.StartOffsetMS != 30000 || got.Streams != s2b.Counters.StreamsStarted {
			t.Errorf("shard 2/3 offset/streams: %+v", got)
		}
		if !strings.Contains(notes, "shards began late against the agreed start (--start-at): 2/3 by 30.0 s") {
			t.Errorf("notes lack the late start of 2/3:\n%s", notes)
		}
		if strings.Contains(notes, "1/3 by") {
			t.Errorf("a shard 3 ms late is reported late:\n%s", notes)
		}
	}
	// The inputs are unchanged.
	if s2a.Attempt.ID != "pod-2a" || len(s2a.Shards) != 0 {
		t.Error("Merge changed an input")
	}
}

func TestMergeAttemptErrors(t *testing.T) {
	s1, s2a, s2b, s3 := attemptShards(t)
	if _, err := Merge(s1, s2a, s2a, s3); err == nil || !errors.Is(err, ErrMerge) || !strings.Contains(err.Error(), "shard 2/3: attempt pod-2a given twice") {
		t.Errorf("same attempt twice: %v", err)
	}
	// A repeated shard without attempt ids is refused, as before.
	old := *s2b
	old.Attempt = nil
	if _, err := Merge(s1, s2a, &old); err == nil || !strings.Contains(err.Error(), "shard 2/3 appears twice") {
		t.Errorf("repeat without attempt ids: %v", err)
	}
	other := *s3
	other.Attempt = &Attempt{RunID: "run-2", ID: "pod-x"}
	_, err := Merge(s1, s2b, &other)
	if !errors.Is(err, ErrRunMismatch) || !strings.Contains(err.Error(), "run run-1 (shard 1/3, 2/3) and run run-2 (shard 3/3)") {
		t.Errorf("different runs: %v", err)
	}
	m, err := MergeOptions{Force: true}.Merge(s1, s2b, &other)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(m.Notes, "\n"), "merged results of different runs (--force)") {
		t.Errorf("forced merge notes: %q", m.Notes)
	}
}

func TestMergeOfMergedKeepsShardSummaries(t *testing.T) {
	s1, s2a, s2b, s3 := attemptShards(t)
	ab, err := Merge(s1, s2a, s2b)
	if err != nil {
		t.Fatal(err)
	}
	all, err := Merge(ab, s3)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range all.Shards {
		names = append(names, s.Shard+"="+s.Attempt)
	}
	if !cmp.Equal(names, []string{"1/3=pod-1", "2/3=pod-2b", "3/3=pod-3"}) {
		t.Errorf("shards %v", names)
	}
	if all.Shards[1].Superseded[0] != "pod-2a" {
		t.Errorf("superseded lost: %+v", all.Shards[1])
	}
	// One attempt of one shard merged alone keeps its identity.
	one, err := Merge(s3)
	if err != nil || one.Attempt == nil || one.Attempt.ID != "pod-3" || one.Shards != nil {
		t.Errorf("merge of one file: %v %+v", err, one)
	}
}

func TestMergeDifferentStartTimes(t *testing.T) {
	s1, _, s2b, s3 := attemptShards(t)
	other := fixedStart.Add(time.Hour)
	c := *s3
	c.Attempt = &Attempt{RunID: "run-1", ID: "pod-3", StartAt: &other}
	m, err := Merge(s1, s2b, &c)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Join(m.Notes, "\n"); !strings.Contains(n, "the shards were given different start times (--start-at)") {
		t.Errorf("notes:\n%s", n)
	}
}

func TestShardsRendered(t *testing.T) {
	s1, s2a, s2b, s3 := attemptShards(t)
	m, err := Merge(s1, s2a, s2b, s3)
	if err != nil {
		t.Fatal(err)
	}
	var text, junit, html, js strings.Builder
	if err := WriteText(&text, m); err != nil {
		t.Fatal(err)
	}
	if err := WriteJUnit(&junit, m); err != nil {
		t.Fatal(err)
	}
	if err := WriteHTML(&html, m); err != nil {
		t.Fatal(err)
	}
	if err := WriteJSON(&js, m); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"\nshards  ", "  2/3   2025-03-14 15:09:56.000   +30.000 s", "attempt pod-2b; left out pod-2a", "ok (not measured)"} {
		if !strings.Contains(text.String(), w) {
			t.Errorf("text lacks %q:\n%s", w, text.String())
		}
	}
	for _, w := range []string{`<property name="shard.2/3.attempt" value="pod-2b">`, `<property name="shard.2/3.start_offset_ms" value="30000.000">`,
		`<property name="attempts_left_out" value="2/3:pod-2a">`, `<property name="start_offset_max_ms" value="30000.000">`, `<property name="shards_merged" value="3">`} {
		if !strings.Contains(junit.String(), w) {
			t.Errorf("junit lacks %q:\n%s", w, junit.String())
		}
	}
	for _, w := range []string{`<section id="shards">`, `href="#shards"`, "left out: pod-2a", "30.000 s"} {
		if !strings.Contains(html.String(), w) {
			t.Errorf("html lacks %q", w)
		}
	}
	back, err := decodeFile([]byte(js.String()))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(m.Shards, back.Shards); d != "" {
		t.Errorf("shards after a JSON round trip (-want +got):\n%s", d)
	}
	// One shard's own File shows its attempt.
	text.Reset()
	if err := WriteText(&text, s2b); err != nil {
		t.Fatal(err)
	}
	if w := "attempt    pod-2b of run run-1, began +30.000 s after the agreed start 2025-03-14T15:09:26Z"; !strings.Contains(text.String(), w) {
		t.Errorf("text lacks %q:\n%s", w, text.String())
	}
}

func TestMissingShards(t *testing.T) {
	for _, tt := range []struct {
		shard string
		want  []string
		n     int
	}{
		{"1/1", nil, 1},
		{"2/3", []string{"1/3", "3/3"}, 3},
		{"merged:1/3,3/3", []string{"2/3"}, 3},
		{"merged:1/2,2/2", nil, 2},
		{"merged:1/1,1/1", nil, 1},
	} {
		got, n := MissingShards(&File{Shard: tt.shard})
		if !cmp.Equal(got, tt.want) || n != tt.n {
			t.Errorf("%s: %v of %d, want %v of %d", tt.shard, got, n, tt.want, tt.n)
		}
	}
}
