package reports

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/ssebench/ssebench/scenarios"
)

// Bounds on the failure reasons a File keeps, whatever a hostile server
// sends: per error class at most MaxFailureMessages messages (the rest are
// counted under OtherMessages), each Detail clipped to MaxDetailBytes and
// each Sample to MaxSampleBytes. While a run goes on the aggregator tracks
// the first trackedMessages distinct messages of each class exactly (later
// new ones are counted under OtherMessages at once), so its memory is
// bounded too: about 14 classes × 64 × (200 + 512) bytes at worst.
const (
	MaxFailureMessages = 10
	MaxDetailBytes     = 200
	MaxSampleBytes     = 512
	trackedMessages    = 64
)

// OtherMessages is the Detail of the entry that counts the failures whose
// message did not make the list.
const OtherMessages = "(other messages)"

// noMessage is the Detail of failures that came without one.
const noMessage = "(no message)"

// FailureClass explains the failures of one error class: how many attempts
// failed with it, how many streams it ended, and the most frequent
// messages.
type FailureClass struct {
	Class    string           `json:"class"`    // error class, e.g. "http_status", "tls" (see Counters.Errors)
	Attempts int64            `json:"attempts"` // failed attempts of this class, recovered by a reconnect or not
	Streams  int64            `json:"streams"`  // streams whose final attempt failed with it
	Messages []FailureMessage `json:"messages"` // most frequent first; at most MaxFailureMessages, then OtherMessages
}

// FailureMessage is one message of a FailureClass with its counts and the
// first sample of evidence seen with it.
type FailureMessage struct {
	Detail   string `json:"detail"`           // the stable message, e.g. "HTTP 401 Unauthorized" (at most 200 bytes)
	Attempts int64  `json:"attempts"`         // failed attempts with this message
	Streams  int64  `json:"streams"`          // of them, the streams' final attempts
	Sample   string `json:"sample,omitempty"` // the first sample: body bytes, error text or event data (at most 512 bytes)
}

// failureTable accumulates failure reasons while a run goes on. It is
// owned by the aggregator's consumer goroutine.
type failureTable struct {
	classes [scenarios.NumErrorClasses]*failureAcc
}

type failureAcc struct {
	attempts, streams int64
	byDetail          map[string]*FailureMessage
	other             FailureMessage
}

// add records one failed attempt.
func (t *failureTable) add(class scenarios.ErrorClass, detail, sample string, final bool) {
	if class >= scenarios.NumErrorClasses {
		class = scenarios.ErrOther
	}
	acc := t.classes[class]
	if acc == nil {
		acc = &failureAcc{byDetail: map[string]*FailureMessage{}, other: FailureMessage{Detail: OtherMessages}}
		t.classes[class] = acc
	}
	var s int64
	if final {
		s = 1
	}
	acc.attempts++
	acc.streams += s
	detail = cleanDetail(detail)
	m := acc.byDetail[detail]
	if m == nil {
		if len(acc.byDetail) >= trackedMessages {
			acc.other.Attempts++
			acc.other.Streams += s
			return
		}
		m = &FailureMessage{Detail: detail}
		acc.byDetail[detail] = m
	}
	m.Attempts++
	m.Streams += s
	if m.Sample == "" && sample != "" {
		m.Sample = clipUTF8(sample, MaxSampleBytes)
	}
}

// list returns the table as the File's Failures.
func (t *failureTable) list() []FailureClass {
	var out []FailureClass
	for c, acc := range t.classes {
		if acc == nil {
			continue
		}
		msgs := make([]FailureMessage, 0, len(acc.byDetail)+1)
		for _, m := range acc.byDetail {
			msgs = append(msgs, *m)
		}
		if acc.other.Attempts > 0 {
			msgs = append(msgs, acc.other)
		}
		out = append(out, FailureClass{
			Class:    scenarios.ErrorClass(c).String(),
			Attempts: acc.attempts,
			Streams:  acc.streams,
			Messages: boundMessages(msgs),
		})
	}
	sortFailures(out)
	return out
}

// boundMessages sorts msgs, most frequent first, and folds every message
// past MaxFailureMessages (and any OtherMessages entry) into one
// OtherMessages entry at the end.
func boundMessages(msgs []FailureMessage) []FailureMessage {
	other := FailureMessage{Detail: OtherMessages}
	kept := msgs[:0:0]
	for _, m := range msgs {
		if m.Detail == OtherMessages {
			other.Attempts += m.Attempts
			other.Streams += m.Streams
			continue
		}
		kept = append(kept, m)
	}
	slices.SortFunc(kept, func(a, b FailureMessage) int {
		return cmp.Or(cmp.Compare(b.Attempts, a.Attempts), cmp.Compare(b.Streams, a.Streams), strings.Compare(a.Detail, b.Detail))
	})
	if len(kept) > MaxFailureMessages {
		for _, m := range kept[MaxFailureMessages:] {
			other.Attempts += m.Attempts
			other.Streams += m.Streams
		}
		kept = kept[:MaxFailureMessages]
	}
	if other.Attempts > 0 || other.Streams > 0 {
		kept = append(kept, other)
	}
	return kept
}

// sortFailures orders classes by the streams they failed, then attempts,
// then name.
func sortFailures(fs []FailureClass) {
	slices.SortFunc(fs, func(a, b FailureClass) int {
		return cmp.Or(cmp.Compare(b.Streams, a.Streams), cmp.Compare(b.Attempts, a.Attempts), strings.Compare(a.Class, b.Class))
	})
}

// mergeFailures combines the failure reasons of several Files: counts of
// the same class and message add, the first file's sample of a message is
// kept, and the bounds are applied again (a message that one shard already
// counted under OtherMessages stays there).
func mergeFailures(files []*File) []FailureClass {
	type acc struct {
		fc    FailureClass
		index map[string]int
	}
	byClass := map[string]*acc{}
	var order []string
	for _, f := range files {
		for _, fc := range f.Failures {
			a := byClass[fc.Class]
			if a == nil {
				a = &acc{fc: FailureClass{Class: fc.Class}, index: map[string]int{}}
				byClass[fc.Class] = a
				order = append(order, fc.Class)
			}
			a.fc.Attempts += fc.Attempts
			a.fc.Streams += fc.Streams
			for _, m := range fc.Messages {
				i, ok := a.index[m.Detail]
				if !ok {
					a.index[m.Detail] = len(a.fc.Messages)
					a.fc.Messages = append(a.fc.Messages, m)
					continue
				}
				got := &a.fc.Messages[i]
				got.Attempts += m.Attempts
				got.Streams += m.Streams
				if got.Sample == "" {
					got.Sample = m.Sample
				}
			}
		}
	}
	out := make([]FailureClass, 0, len(order))
	for _, c := range order {
		a := byClass[c]
		a.fc.Messages = boundMessages(a.fc.Messages)
		out = append(out, a.fc)
	}
	sortFailures(out)
	return out
}

// cleanDetail makes a Detail fit the File: clipped to MaxDetailBytes, and
// "(no message)" when empty.
func cleanDetail(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return noMessage
	}
	return clipUTF8(s, MaxDetailBytes)
}

// clipUTF8 returns s cut to at most n bytes, at a rune boundary, with "…"
// at the end when it was cut.
func clipUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const ell = "…"
	cut := n - len(ell)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + ell
}

// Escape returns s fit for a terminal, a log or a page: printable text as
// it is, and every control byte, invalid UTF-8 byte or invisible format
// character (such as a bidirectional override) as a Go escape (\n, \x1b,
// \u202e), so that what a server sent can neither move the cursor nor hide
// text. Backslashes are doubled, so the escaping is unambiguous.
func Escape(s string) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || r == '\\' || !strconv.IsPrint(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	q := strconv.Quote(s)
	q = q[1 : len(q)-1]
	return strings.ReplaceAll(q, `\"`, `"`)
}

// TopFailure names the error that ended the most streams of f and its most
// frequent message: "http_status:401 (1000 streams): HTTP 401
// Unauthorized". It returns "" when no stream failed.
func TopFailure(f *File) string {
	key, n := "", int64(0)
	for k, c := range f.Counters.Errors {
		if c > n || (c == n && k < key) {
			key, n = k, c
		}
	}
	if n == 0 {
		return ""
	}
	s := key + " (" + strconv.FormatInt(n, 10) + " streams)"
	class, status, _ := strings.Cut(key, ":")
	for _, fc := range f.Failures {
		if fc.Class != class {
			continue
		}
		// Messages come most frequent first; for "http_status:401" prefer
		// one that names the status.
		best := ""
		for _, m := range fc.Messages {
			if m.Streams == 0 || m.Detail == OtherMessages {
				continue
			}
			if status == "" || strings.Contains(m.Detail, status) {
				best = m.Detail
				break
			}
			if best == "" {
				best = m.Detail
			}
		}
		if best != "" {
			return s + ": " + Escape(best)
		}
	}
	return s
}
