package checks

import (
	"bytes"
	"strings"
	"testing"
)

func TestParseLocatesEvents(t *testing.T) {
	body := "\xEF\xBB\xBF: hello\r\n\r\nretry: 10\r\nid: 7\r\nevent: a\r\ndata: x\r\n\r\ndata:y\rdata\r\r: c\nevent: noop\n\ndata: z\n"
	s := ParseStream([]byte(body), "seed", []Read{{At: ms(1), N: 30}, {At: ms(2), N: len(body) - 30}})
	if !s.LeadingBOM || s.Comments != 2 || s.ValidRetries != 1 || s.Pending == nil || s.LastEventID != "7" {
		t.Fatalf("stream %+v", s)
	}
	if len(s.Events) != 2 {
		t.Fatalf("events %+v", s.Events)
	}
	e0, e1 := s.Events[0], s.Events[1]
	if e0.Type != "a" || e0.Data != DigestOf("x") || e0.ID != "7" || !e0.OwnID || e0.OwnIDValue != "7" {
		t.Errorf("event 0 %+v", e0)
	}
	if got := body[e0.Start:e0.End]; got != "retry: 10\r\nid: 7\r\nevent: a\r\ndata: x\r\n\r\n" {
		t.Errorf("event 0 bytes %q", got)
	}
	if e1.Data != DigestOf("y\n") || e1.ID != "7" || e1.OwnID || body[e1.Start:e1.End] != "data:y\rdata\r\r" {
		t.Errorf("event 1 %+v %q", e1, body[e1.Start:e1.End])
	}
	if !e0.HasAt || e0.At != ms(2) {
		t.Errorf("event 0 arrival %v %v (dispatch at byte %d)", e0.At, e0.HasAt, e0.Dispatch)
	}
	lf, crlf, cr := s.Endings()
	if lf != 4 || crlf != 7 || cr != 3 {
		t.Errorf("endings LF %d CRLF %d CR %d", lf, crlf, cr)
	}
	if s.EventAt(0) != 0 || s.EventAt(e0.End) != 1 || s.EventAt(int64(len(body))) != -1 {
		t.Errorf("EventAt wrong")
	}
}

func TestParseSeedsLastEventID(t *testing.T) {
	s := ParseStream([]byte("data: a\n\nid\ndata: b\n\n"), "41", nil)
	if s.Events[0].ID != "41" || s.Events[1].ID != "" || s.LastEventID != "" {
		t.Errorf("events %+v last %q", s.Events, s.LastEventID)
	}
}

func TestQuote(t *testing.T) {
	tests := []struct{ in, want string }{
		{"data: a\n", `data: a\n`},
		{"caf\xc3\xa9 \"q\"", `café "q"`},
		{"a\x00b\xffc\r", `a\x00b\xffc\r`},
		{"\xEF\xBB\xBFdata", `\ufeffdata`},
		{"\t", `\t`},
		{strings.Repeat("a", 200), strings.Repeat("a", MaxEvidenceBytes) + "…"},
		// A character straddling the limit is dropped whole, not split.
		{strings.Repeat("a", MaxEvidenceBytes-1) + "é", strings.Repeat("a", MaxEvidenceBytes-1) + "…"},
	}
	for _, tt := range tests {
		if got := Quote([]byte(tt.in)); got != tt.want {
			t.Errorf("Quote(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzParse checks that the lint pass and the reference parser agree on
// every input: each dispatched event is located, in order, inside the body,
// and every check runs on the result without panicking.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"data: a\n\n", "id: 1\r\ndata\r\n\r\n", "data:x\rdata:y\r\r", "\xEF\xBB\xBFdata: a\n\n",
		"event: e\n\ndata: \xff\n\n", ": c\n\nretry: x\ndata: a\n\ndata", "data: \xEF\xBB\xBF\n\n",
		"\r\n\r\n\n\r", "data: a\r", "id: a\x00\ndata: b\n\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		s := ParseStream(body, "", []Read{{N: len(body)}})
		prev := int64(0)
		for i, e := range s.Events {
			if e.Index != i || e.Start < prev || e.Dispatch < e.Start || e.End <= e.Dispatch || e.End > int64(len(body)) {
				t.Fatalf("event %d misplaced: %+v (prev end %d) in %q", i, e, prev, body)
			}
			if !e.HasAt {
				t.Fatalf("event %d without arrival", i)
			}
			if !bytes.Contains(body[e.Start:e.End], []byte("data")) {
				t.Fatalf("event %d block has no data field: %q", i, body[e.Start:e.End])
			}
			prev = e.End
		}
		c := stream(string(body))
		in := &Input{Config: DefaultConfig(), Main: c, UnknownID: c, FiniteEnd: c,
			Boundary: &ResumeProbe{First: c, Resumed: c}, MidEvent: &ResumeProbe{First: c, Resumed: c},
			ServerDrop: &ResumeProbe{First: c, Resumed: c}}
		for _, ch := range All() {
			if f := ch.Run(in); strings.HasPrefix(f.Message, "internal error") {
				t.Fatalf("%s: %s", ch.ID, f.Message)
			}
		}
	})
}
