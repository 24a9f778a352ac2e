package reports

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/ssebench/ssebench/scenarios"
)

// contractResults is a small run with every kind of stream the contract
// distinguishes, as hand-made Results:
//
//	stream 0: reset on attempt 0 (gzip), reconnects, ends ok on attempt 1
//	          (gzip) after one redirect; one resume_gap sample
//	stream 1: HTTP 401 on its only attempt (identity)
//	stream 2: cancelled at the end of the run after 3 events
//	stream 3: cancelled before any event
//	stream 4: reset, reconnects twice, the last attempt resets too: failed
func contractResults() []*scenarios.Result {
	var rs []*scenarios.Result
	add := func(kind scenarios.Kind, stream uint64, attempt uint32, set func(r *scenarios.Result)) {
		r := scenarios.NewResult()
		r.Kind, r.Stream, r.Attempt = kind, stream, attempt
		if set != nil {
			set(r)
		}
		rs = append(rs, r)
	}
	reset := func(final bool, sample string) func(*scenarios.Result) {
		return func(r *scenarios.Result) {
			r.Err, r.Detail, r.Sample, r.Final, r.Encoding = scenarios.ErrReset, "connection reset by peer", sample, final, scenarios.EncGzip
		}
	}
	add(scenarios.KindStart, 0, 0, func(r *scenarios.Result) { r.Redirects = 1 })
	add(scenarios.KindProgress, 0, 0, func(r *scenarios.Result) {
		r.Set(scenarios.TTFT, 20*time.Millisecond)
		r.Events, r.Content, r.Tokens = 5, 5, 5
	})
	add(scenarios.KindEnd, 0, 0, reset(false, "read tcp 127.0.0.1:40000->127.0.0.1:8080: connection reset by peer"))
	add(scenarios.KindStart, 0, 1, nil)
	add(scenarios.KindProgress, 0, 1, func(r *scenarios.Result) {
		r.Set(scenarios.ResumeGap, 30*time.Millisecond)
		r.Events, r.Content, r.Tokens = 5, 5, 5
	})
	add(scenarios.KindEnd, 0, 1, func(r *scenarios.Result) {
		r.Final, r.Encoding, r.Tokens = true, scenarios.EncGzip, -2 // the usage correction
		r.Set(scenarios.E2E, time.Second)
	})

	add(scenarios.KindStart, 1, 0, nil)
	add(scenarios.KindEnd, 1, 0, func(r *scenarios.Result) {
		r.Err, r.Status, r.Final, r.Encoding = scenarios.ErrHTTPStatus, 401, true, scenarios.EncIdentity
		r.Detail, r.Sample = "HTTP 401 Unauthorized", `{"error":"bad token"}`
	})

	add(scenarios.KindStart, 2, 0, nil)
	add(scenarios.KindProgress, 2, 0, func(r *scenarios.Result) { r.Events, r.Content, r.Tokens = 3, 3, 3 })
	add(scenarios.KindEnd, 2, 0, func(r *scenarios.Result) { r.Final, r.Cancelled, r.Encoding = true, true, scenarios.EncIdentity })

	add(scenarios.KindStart, 3, 0, nil)
	add(scenarios.KindEnd, 3, 0, func(r *scenarios.Result) { r.Final, r.Cancelled = true, true })

	add(scenarios.KindStart, 4, 0, nil)
	add(scenarios.KindEnd, 4, 0, reset(false, "first sample"))
	add(scenarios.KindStart, 4, 1, nil)
	add(scenarios.KindEnd, 4, 1, reset(false, "second sample"))
	add(scenarios.KindStart, 4, 2, nil)
	add(scenarios.KindEnd, 4, 2, reset(true, "third sample"))
	return rs
}

func finishResults(t *testing.T, rs []*scenarios.Result, shard string) *File {
	t.Helper()
	a := NewAggregator(AggregatorOptions{Start: fixedStart})
	var ts []timed
	for i, r := range rs {
		ts = append(ts, timed{time.Duration(i) * time.Millisecond, r})
	}
	playTimed(a, ts, time.Second)
	return a.Finish(Meta{Shard: shard, Plan: "p1"})
}

// TestStreamAccounting: errors count failed streams by their final class,
// attempt_errors every failed attempt; attempts, reconnected streams,
// redirects, encodings and the streams cut after events are counted
// exactly; resume_gap is a metric like the others.
func TestStreamAccounting(t *testing.T) {
	f := finishResults(t, contractResults(), "")
	want := Counters{
		StreamsStarted: 5, StreamsOK: 1, StreamsFailed: 2, Cancelled: 2, CutAfterEvents: 1,
		Attempts: 8, StreamsReconnected: 2, Reconnects: 3, Redirects: 1,
		Events: 13, ContentEvents: 13, Tokens: 11,
		Errors:          map[string]int64{"http_status:401": 1, "reset": 1},
		AttemptErrors:   map[string]int64{"http_status:401": 1, "reset": 4},
		ContentEncoding: map[string]int64{"gzip": 5, "identity": 2},
	}
	if d := cmp.Diff(want, f.Counters); d != "" {
		t.Errorf("counters (-want +got):\n%s", d)
	}
	if m := f.Metrics["resume_gap"]; m == nil || m.Count != 1 || m.P50 < 29.9 || m.P50 > 30.1 {
		t.Errorf("resume_gap = %+v, want one sample of 30 ms", m)
	}
	wantFailures := []FailureClass{
		{Class: "reset", Attempts: 4, Streams: 1, Messages: []FailureMessage{
			{Detail: "connection reset by peer", Attempts: 4, Streams: 1,
				Sample: "read tcp 127.0.0.1:40000->127.0.0.1:8080: connection reset by peer"},
		}},
		{Class: "http_status", Attempts: 1, Streams: 1, Messages: []FailureMessage{
			{Detail: "HTTP 401 Unauthorized", Attempts: 1, Streams: 1, Sample: `{"error":"bad token"}`},
		}},
	}
	if d := cmp.Diff(wantFailures, f.Failures); d != "" {
		t.Errorf("failures (-want +got):\n%s", d)
	}
	if got := Unserved(f); got != "" {
		t.Errorf("Unserved = %q for a run with an ok stream", got)
	}
	if got, want := TopFailure(f), "http_status:401 (1 streams): HTTP 401 Unauthorized"; got != want {
		t.Errorf("TopFailure = %q, want %q", got, want)
	}
}

// TestFailureBounds: a hostile server that sends a new message on every
// stream cannot grow the table: at most MaxFailureMessages per class plus
// one OtherMessages entry that holds the rest, exactly; details and
// samples are clipped at a rune boundary.
func TestFailureBounds(t *testing.T) {
	var tab failureTable
	long := strings.Repeat("é", 400) // 800 bytes
	const n = 500
	for i := range n {
		tab.add(scenarios.ErrTerminalErrorEvent, fmt.Sprintf("error event %q%s", fmt.Sprint(i%100), long), long, i%2 == 0)
	}
	// The most frequent message: 3 more of message "7".
	for range 3 {
		tab.add(scenarios.ErrTerminalErrorEvent, fmt.Sprintf("error event %q%s", "7", long), "", false)
	}
	tab.add(scenarios.ErrorClass(200), "", "", true) // an unknown class counts as other
	fs := tab.list()
	if len(fs) != 2 {
		t.Fatalf("%d classes, want 2: %+v", len(fs), fs)
	}
	fc := fs[1]
	if fc.Class != "terminal_error_event" {
		fc = fs[0]
	}
	if len(fc.Messages) != MaxFailureMessages+1 || fc.Messages[MaxFailureMessages].Detail != OtherMessages {
		t.Fatalf("%d messages, want %d and %q last", len(fc.Messages), MaxFailureMessages+1, OtherMessages)
	}
	var att, str int64
	for _, m := range fc.Messages {
		att += m.Attempts
		str += m.Streams
		if len(m.Detail) > MaxDetailBytes || len(m.Sample) > MaxSampleBytes || !utf8.ValidString(m.Detail) || !utf8.ValidString(m.Sample) {
			t.Errorf("message not clipped to valid UTF-8: detail %d bytes, sample %d bytes", len(m.Detail), len(m.Sample))
		}
	}
	if att != n+3 || str != n/2 || fc.Attempts != n+3 || fc.Streams != n/2 {
		t.Errorf("counts: messages sum to %d/%d, class %d/%d; want %d/%d", att, str, fc.Attempts, fc.Streams, n+3, n/2)
	}
	if !strings.HasPrefix(fc.Messages[0].Detail, `error event "7"`) || fc.Messages[0].Attempts != 8 {
		t.Errorf("most frequent first: got %q with %d", fc.Messages[0].Detail[:20], fc.Messages[0].Attempts)
	}
	other := fs[0]
	if other.Class != "other" {
		other = fs[1]
	}
	if other.Class != "other" || other.Messages[0].Detail != "(no message)" {
		t.Errorf("unknown class: %+v", other)
	}
}

// TestMergeStreamAccounting: the new counters and the failure reasons of
// two shards add up exactly, samples come from the first file, and the
// message bound holds after the merge.
func TestMergeStreamAccounting(t *testing.T) {
	a := finishResults(t, contractResults(), "1/2")
	b := finishResults(t, contractResults(), "2/2")
	// b also has 12 other messages of class dial.
	for i := range 12 {
		b.Failures = append(b.Failures, FailureClass{Class: "dial", Attempts: 1, Streams: 1,
			Messages: []FailureMessage{{Detail: fmt.Sprintf("connect: refused %02d", i), Attempts: 1, Streams: 1}}})
	}
	b.Failures[0].Messages[0].Sample = "b's sample"
	m, err := Merge(a, b)
	if err != nil {
		t.Fatal(err)
	}
	c := m.Counters
	if c.Attempts != 16 || c.StreamsReconnected != 4 || c.Redirects != 2 || c.CutAfterEvents != 2 ||
		c.AttemptErrors["reset"] != 8 || c.Errors["reset"] != 2 || c.ContentEncoding["gzip"] != 10 || c.Tokens != 22 {
		t.Errorf("merged counters %+v", c)
	}
	byClass := map[string]FailureClass{}
	for _, fc := range m.Failures {
		byClass[fc.Class] = fc
	}
	if r := byClass["reset"]; r.Attempts != 8 || r.Streams != 2 || r.Messages[0].Attempts != 8 ||
		r.Messages[0].Sample != a.Failures[0].Messages[0].Sample {
		t.Errorf("merged reset reasons %+v", r)
	}
	d := byClass["dial"]
	if len(d.Messages) != MaxFailureMessages+1 || d.Messages[MaxFailureMessages].Detail != OtherMessages ||
		d.Messages[MaxFailureMessages].Attempts != 2 || d.Attempts != 12 {
		t.Errorf("merged dial reasons not bounded: %+v", d)
	}
	if m.Metrics["resume_gap"].Count != 2 {
		t.Errorf("resume_gap count %d, want 2", m.Metrics["resume_gap"].Count)
	}
}

// TestUnserved: the fail-closed rule.
func TestUnserved(t *testing.T) {
	tests := []struct {
		name string
		c    Counters
		want string // substring; "" means served
	}{
		{"ok stream", Counters{StreamsStarted: 3, StreamsOK: 1, StreamsFailed: 2}, ""},
		{"live feed cut by the end", Counters{StreamsStarted: 3, Cancelled: 3, CutAfterEvents: 3}, ""},
		{"aborted after events", Counters{StreamsStarted: 3, Aborted: 3, CutAfterEvents: 3}, ""},
		{"all failed", Counters{StreamsStarted: 3, StreamsFailed: 3, Errors: map[string]int64{"http_status:401": 3}},
			"no stream succeeded: of 3 started, 3 failed; top error http_status:401 (3 streams)"},
		{"cancelled before any event", Counters{StreamsStarted: 2, Cancelled: 2},
			"2 were cut (2 cancelled at the end of the run, 0 aborted) before any event arrived"},
		{"nothing started", Counters{}, "no stream started"},
		{"every arrival dropped", Counters{ArrivalsDropped: 7}, "all 7 arrivals were dropped"},
	}
	for _, tt := range tests {
		got := Unserved(&File{Counters: tt.c, Generator: &Generator{}})
		if tt.want == "" && got != "" || tt.want != "" && !strings.Contains(got, tt.want) {
			t.Errorf("%s: Unserved = %q, want %q", tt.name, got, tt.want)
		}
	}
	// A file of an earlier version, without cut_after_events: cut streams
	// are not judged; failed ones are.
	if got := Unserved(&File{Counters: Counters{StreamsStarted: 2, Cancelled: 2}}); got != "" {
		t.Errorf("old file with cancelled streams: Unserved = %q", got)
	}
	if got := Unserved(&File{Counters: Counters{StreamsStarted: 2, StreamsFailed: 2}}); got == "" {
		t.Error("old file with failed streams only is served")
	}
}

// TestMergePlans: files of different plans are refused unless forced; the
// merged file keeps the plan and its whole scenario; notes appear once.
func TestMergePlans(t *testing.T) {
	s := synth{streams: 20, every: 10 * time.Millisecond, events: 2}
	mk := func(shard, plan string) *File {
		f := buildSynth(s, fixedStart, time.Second, nil, shard)
		f.Plan = plan
		f.Scenario = []byte(`{"name":"whole","load":{"connections":51}}`)
		f.Notes = append(f.Notes, "interrupted after 1.0s of 10s: partial results")
		return f
	}
	a, b := mk("1/2", "aaaa"), mk("2/2", "bbbb")
	_, err := Merge(a, b)
	if !errors.Is(err, ErrPlanMismatch) || !errors.Is(err, ErrMerge) || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("different plans: err %v, want ErrPlanMismatch naming --force", err)
	}
	m, err := MergeOptions{Force: true}.Merge(a, b)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(m.Notes, "\n"), "merged results of different plans (--force): plan aaaa (shard 1/2) and plan bbbb (shard 2/2)") {
		t.Errorf("forced merge notes %q", m.Notes)
	}
	b.Plan = "aaaa"
	m, err = Merge(a, b)
	if err != nil {
		t.Fatal(err)
	}
	if m.Plan != "aaaa" || !bytes.Equal(m.Scenario, a.Scenario) {
		t.Errorf("merged plan %q scenario %s", m.Plan, m.Scenario)
	}
	want := []string{"interrupted after 1.0s of 10s: partial results"}
	if d := cmp.Diff(want, m.Notes); d != "" {
		t.Errorf("merged notes (-want +got):\n%s", d)
	}
	b.Notes = b.Notes[:len(b.Notes)-1]
	m, err = Merge(a, b)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"shard 1/2: interrupted after 1.0s of 10s: partial results"}, m.Notes); d != "" {
		t.Errorf("a note of one shard (-want +got):\n%s", d)
	}
	if PlanID([]byte(`{"a":1}`)) == PlanID([]byte(`{"a":2}`)) || len(PlanID(nil)) != 16 {
		t.Errorf("PlanID: %q %q", PlanID([]byte(`{"a":1}`)), PlanID(nil))
	}
}

// TestEscape: control bytes, invalid UTF-8 and invisible format characters
// are escaped; printable text (non-ASCII included) is kept.
func TestEscape(t *testing.T) {
	for in, want := range map[string]string{
		"HTTP 401 Unauthorized":     "HTTP 401 Unauthorized",
		"café ✓":                    "café ✓",
		"a\nb\tc":                   `a\nb\tc`,
		"\x1b[2Jgone":               `\x1b[2Jgone`,
		"evil\u202egnp.exe":         `evil\u202egnp.exe`,
		"bad \xff byte":             `bad \xff byte`,
		`back\slash and "quotes"`:   `back\\slash and "quotes"`,
		"<script>alert(1)</script>": "<script>alert(1)</script>", // markup is the renderer's job
	} {
		if got := Escape(in); got != want {
			t.Errorf("Escape(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestRenderersShowFailures: the text summary and the HTML report show
// every class's messages, counts and sample, escaped.
func TestRenderersShowFailures(t *testing.T) {
	rs := contractResults()
	for _, r := range rs {
		if r.Err == scenarios.ErrHTTPStatus {
			r.Sample = "<script>alert(1)</script>\x1b[31mred\n"
		}
	}
	f := finishResults(t, rs, "")
	var text, page bytes.Buffer
	if err := WriteText(&text, f); err != nil {
		t.Fatal(err)
	}
	if err := WriteHTML(&page, f); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"http_status:401", "HTTP 401 Unauthorized", `sample: "<script>alert(1)</script>\x1b[31mred\n"`,
		"reset: 4 / 1", "connection reset by peer", "attempts"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, text.String())
		}
	}
	for name, out := range map[string]string{"text": text.String(), "html": page.String()} {
		if strings.Contains(out, "\x1b") {
			t.Errorf("%s: a raw escape byte reached the output", name)
		}
	}
	h := page.String()
	if strings.Contains(h, "<script>alert") {
		t.Errorf("html: the sample's markup is not escaped")
	}
	for _, want := range []string{`id="why"`, "HTTP 401 Unauthorized", "&lt;script&gt;alert(1)&lt;/script&gt;\\x1b[31mred\\n", "connection reset by peer"} {
		if !strings.Contains(h, want) {
			t.Errorf("html lacks %q", want)
		}
	}
}

// TestJUnitRunFailsWhenUnserved: the run testcase fails when no stream
// succeeded, so JUnit agrees with the exit code; degraded reasons are a
// property.
func TestJUnitRunFailsWhenUnserved(t *testing.T) {
	var rs []*scenarios.Result
	for i := range 3 {
		s, e := scenarios.NewResult(), scenarios.NewResult()
		s.Kind, s.Stream = scenarios.KindStart, uint64(i)
		e.Kind, e.Stream, e.Final, e.Err, e.Status, e.Detail = scenarios.KindEnd, uint64(i), true, scenarios.ErrHTTPStatus, 401, "HTTP 401 Unauthorized"
		rs = append(rs, s, e)
	}
	f := finishResults(t, rs, "")
	f.Generator.Reasons = []string{"the generator used 2.00 of 2 CPUs"}
	var b bytes.Buffer
	if err := WriteJUnit(&b, f); err != nil {
		t.Fatal(err)
	}
	x := b.String()
	for _, want := range []string{`type="no-stream-succeeded"`, `message="no stream succeeded: of 3 started, 3 failed; top error http_status:401 (3 streams): HTTP 401 Unauthorized"`,
		`<testsuites name="ssebench" tests="1" failures="1"`, `name="degraded_reasons" value="the generator used 2.00 of 2 CPUs"`} {
		if !strings.Contains(x, want) {
			t.Errorf("JUnit lacks %s:\n%s", want, x)
		}
	}
}
