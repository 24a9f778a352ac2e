package reports

import (
	"bytes"
	"cmp"
	"fmt"
	"html/template"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// ConformanceReport is the outcome of one `ssebench conform` run, as plain
// data for renderers: the conformance runner converts its findings into it.
// Its JSON form is the conformance result file.
type ConformanceReport struct {
	// Target is the URL that was checked (no credentials).
	Target string `json:"target"`
	// Started is when the run began.
	Started time.Time `json:"started"`
	// DurationS is how long the run took, in seconds.
	DurationS float64 `json:"duration_s"`
	// Checks holds one entry per check, in catalogue order.
	Checks []ConformanceCheck `json:"checks"`
	// Summary counts checks by status ("pass", "fail", "warn", "skip").
	// When empty, renderers count Checks themselves.
	Summary map[string]int `json:"summary"`
	// Verdict is "pass" or "fail" (a MUST check failed). When empty,
	// renderers derive it from Checks.
	Verdict string `json:"verdict"`
}

// ConformanceCheck is the result of one catalogue check.
type ConformanceCheck struct {
	// ID is the stable check ID, "area/name" (e.g. "framing/retry"); the
	// part before the slash groups checks in reports.
	ID string `json:"id"`
	// Level is the requirement level: "MUST" or "SHOULD".
	Level string `json:"level"`
	// Status is "pass", "fail", "warn" or "skip".
	Status string `json:"status"`
	// Message says what was found, or why the check was skipped.
	Message string `json:"message"`
	// Spec is the rule's reference: a URL (rendered as a link) or a section
	// name.
	Spec string `json:"spec"`
	// Evidence is the offending bytes, as received or already escaped.
	// Reports show control characters and invalid UTF-8 as escapes.
	Evidence string `json:"evidence,omitempty"`
	// Offset is the byte offset of Evidence in the response body, counted
	// from 0. It is meaningful only when Evidence is not empty.
	Offset int64 `json:"offset,omitempty"`
	// Event is the 1-based index of the event the finding concerns, or 0 when
	// it concerns no single event.
	Event int `json:"event,omitempty"`
}

// conformanceAreas are the check areas in display order, with headings.
var conformanceAreas = []struct{ id, title, about string }{
	{"http", "HTTP response", "status, headers and what a browser EventSource needs to accept the stream"},
	{"stream", "Streaming and timing", "events arrive as they are produced, first event and heartbeat deadlines"},
	{"framing", "Framing", "the event-stream wire format, byte by byte (WHATWG HTML §9.2.5–9.2.6)"},
	{"resume", "Resume", "event ids and Last-Event-ID: no gap, no duplicate after a reconnect"},
	{"reconnect", "Reconnection", "what a client gets when it comes back after a drop"},
	{"lifecycle", "Lifecycle", "how a stream ends, and what a browser-style reconnect gets afterwards"},
}

// conformanceStatuses are the statuses in display order.
var conformanceStatuses = []string{"fail", "warn", "pass", "skip"}

type confView struct {
	CSS      template.CSS
	Title    string
	Target   string
	Started  string
	Duration string
	Verdict  htmlVerdict
	Counts   []confCount
	Bar      *svgChart
	Problems []confCheckView
	Areas    []confArea
}

type confCount struct {
	Status, Label string
	N             int
}

type confArea struct {
	ID, Title, About string
	Counts           string
	Checks           []confCheckView
}

type confCheckView struct {
	Anchor, ID, Level, Status, StatusLabel, Message string
	SpecURL, SpecText                               string
	Evidence                                        []evidenceSegment
	Where                                           string
}

// evidenceSegment is a run of evidence text: printable as is, or an escape
// that stands for an invisible or invalid byte sequence.
type evidenceSegment struct {
	Text string
	Esc  bool
}

// WriteConformanceHTML renders r as one self-contained HTML page: the verdict
// and counts, the failures and warnings first, then every check grouped by
// area (http, stream, framing, resume, reconnect, lifecycle) with its status,
// level, message, spec reference and evidence bytes. Only the spec links
// point outside the page.
func WriteConformanceHTML(w io.Writer, r ConformanceReport) error {
	v := newConfView(r)
	var buf bytes.Buffer
	if err := htmlConfTemplate.Execute(&buf, v); err != nil {
		return fmt.Errorf("reports: WriteConformanceHTML: render: %w", err)
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("reports: WriteConformanceHTML: %w", err)
	}
	return nil
}

func newConfView(r ConformanceReport) *confView {
	v := &confView{CSS: htmlStyle, Target: r.Target, Duration: humanSeconds(r.DurationS)}
	v.Title = "SSE conformance"
	if r.Target != "" {
		v.Title += " · " + r.Target
	}
	if !r.Started.IsZero() {
		v.Started = r.Started.UTC().Format("2006-01-02 15:04:05 UTC")
	}

	counts := map[string]int{}
	if len(r.Summary) > 0 {
		for k, n := range r.Summary {
			counts[strings.ToLower(k)] += n
		}
	} else {
		for _, c := range r.Checks {
			counts[normStatus(c.Status)]++
		}
	}
	statuses := slices.Clone(conformanceStatuses)
	for s := range counts {
		if !slices.Contains(statuses, s) {
			statuses = append(statuses, s) // a status this renderer does not know
		}
	}
	slices.SortStableFunc(statuses[len(conformanceStatuses):], strings.Compare)
	for _, s := range statuses {
		v.Counts = append(v.Counts, confCount{Status: s, Label: statusLabel(s), N: counts[s]})
	}
	v.Bar = conformanceBar(v.Counts)

	verdict := strings.ToLower(r.Verdict)
	if verdict == "" {
		verdict = "pass"
		for _, c := range r.Checks {
			if normStatus(c.Status) == "fail" && !strings.EqualFold(c.Level, "SHOULD") {
				verdict = "fail"
			}
		}
	}
	switch verdict {
	case "pass":
		v.Verdict = htmlVerdict{Class: "pass", Label: "PASS", Detail: fmt.Sprintf("%d checks: no MUST rule broken", len(r.Checks))}
	case "fail":
		v.Verdict = htmlVerdict{Class: "fail", Label: "FAIL", Detail: fmt.Sprintf("%d of %d checks failed", counts["fail"], len(r.Checks))}
	default:
		v.Verdict = htmlVerdict{Class: "none", Label: strings.ToUpper(verdict), Detail: fmt.Sprintf("%d checks", len(r.Checks))}
	}

	byArea := map[string][]confCheckView{}
	for _, c := range r.Checks {
		cv := newConfCheckView(c)
		area, _, _ := strings.Cut(c.ID, "/")
		byArea[area] = append(byArea[area], cv)
		if cv.Status == "fail" || cv.Status == "warn" {
			v.Problems = append(v.Problems, cv)
		}
	}
	slices.SortStableFunc(v.Problems, func(a, b confCheckView) int {
		return cmp.Compare(slices.Index(conformanceStatuses, a.Status), slices.Index(conformanceStatuses, b.Status))
	})
	known := map[string]bool{}
	for _, a := range conformanceAreas {
		known[a.id] = true
		if cs := byArea[a.id]; len(cs) > 0 {
			v.Areas = append(v.Areas, confArea{ID: a.id, Title: a.title, About: a.about, Checks: cs})
		}
	}
	var other []string
	for a := range byArea {
		if !known[a] {
			other = append(other, a)
		}
	}
	slices.Sort(other)
	for _, a := range other {
		title := a
		if title == "" {
			title = "other"
		}
		v.Areas = append(v.Areas, confArea{ID: a, Title: title, Checks: byArea[a]})
	}
	for i := range v.Areas {
		n := map[string]int{}
		for _, c := range v.Areas[i].Checks {
			n[c.Status]++
		}
		var parts []string
		for _, s := range conformanceStatuses {
			if n[s] > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", n[s], s))
			}
		}
		v.Areas[i].Counts = strings.Join(parts, " · ")
	}
	return v
}

func normStatus(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return "skip"
	}
	return s
}

func statusLabel(s string) string {
	switch s {
	case "pass":
		return "✓ pass"
	case "fail":
		return "✗ fail"
	case "warn":
		return "! warn"
	case "skip":
		return "– skip"
	}
	return s
}

func newConfCheckView(c ConformanceCheck) confCheckView {
	st := normStatus(c.Status)
	cv := confCheckView{
		Anchor: checkAnchor(c.ID), ID: c.ID, Level: strings.ToUpper(c.Level), Status: st,
		StatusLabel: statusLabel(st), Message: c.Message,
	}
	switch {
	case strings.HasPrefix(c.Spec, "https://"), strings.HasPrefix(c.Spec, "http://"):
		cv.SpecURL = c.Spec
		cv.SpecText = "spec"
		if _, frag, ok := strings.Cut(c.Spec, "#"); ok && frag != "" {
			cv.SpecText = "spec: " + frag
		}
	default:
		cv.SpecText = c.Spec
	}
	if c.Evidence != "" {
		cv.Evidence = evidenceSegments(c.Evidence)
		cv.Where = "byte offset " + humanCount(c.Offset)
		if c.Event > 0 {
			cv.Where += " · event #" + strconv.Itoa(c.Event)
		}
		cv.Where += " · " + humanCount(int64(len(c.Evidence))) + " bytes"
	} else if c.Event > 0 {
		cv.Where = "event #" + strconv.Itoa(c.Event)
	}
	return cv
}

// checkAnchor makes an element id for a check: "framing/utf8" becomes
// "check-framing-utf8".
func checkAnchor(id string) string {
	b := []byte("check-" + id)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			b[i] = '-'
		}
	}
	return string(b)
}

// evidenceSegments splits evidence into printable text and escapes for what
// would otherwise be invisible or ambiguous: CR, LF, tab, other control
// characters, U+FEFF, U+FFFD, line and paragraph separators, and bytes that
// are not UTF-8. A line end (LF, CRLF or a bare CR, as the event-stream
// format reads them) also breaks the line.
func evidenceSegments(s string) []evidenceSegment {
	var out []evidenceSegment
	var text strings.Builder
	flush := func() {
		if text.Len() > 0 {
			out = append(out, evidenceSegment{Text: text.String()})
			text.Reset()
		}
	}
	esc := func(e string) {
		flush()
		out = append(out, evidenceSegment{Text: e, Esc: true})
	}
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			esc(fmt.Sprintf(`\x%02x`, s[i]))
		case r == '\n':
			esc(`\n`)
			text.WriteByte('\n')
		case r == '\r':
			esc(`\r`)
			if !strings.HasPrefix(s[i+1:], "\n") {
				text.WriteByte('\n') // a bare CR ends a line too
			}
		case r == '\t':
			esc(`\t`)
		case r == 0xFEFF, r == utf8.RuneError, r == 0x2028, r == 0x2029:
			esc(fmt.Sprintf(`\u%04X`, r))
		case r < 0x20 || r == 0x7f:
			esc(fmt.Sprintf(`\x%02x`, r))
		case !unicode.IsPrint(r) && r != ' ':
			esc(fmt.Sprintf(`\u%04X`, r))
		default:
			text.WriteString(s[i : i+size])
		}
		i += size
	}
	flush()
	return out
}

// conformanceBar draws the status counts as one stacked horizontal bar.
func conformanceBar(counts []confCount) *svgChart {
	total := 0
	for _, c := range counts {
		total += c.N
	}
	c := &svgChart{Name: "conformance-summary", Title: "Checks by status", W: 1200, H: 40, PL: 0, PT: 4, PR: 1200, PB: 32, Wide: true, NoFrame: true}
	if total == 0 {
		var z svgPath
		z.move(0, 18)
		z.line(1200, 18)
		c.Series = append(c.Series, svgSeries{D: z.String(), Kind: "zero"})
		c.Note = "no checks"
		return c
	}
	class := map[string]string{"pass": "s2", "fail": "s3", "warn": "s1", "skip": "sk"}
	x := 0.0
	for _, st := range counts {
		if st.N == 0 {
			continue
		}
		w := 1200 * float64(st.N) / float64(total)
		var p svgPath
		p.rect(x, float64(c.PT), x+w, float64(c.PB))
		cl := class[st.Status]
		if cl == "" {
			cl = "s5"
		}
		c.Series = append(c.Series, svgSeries{Label: fmt.Sprintf("%s %d", st.Status, st.N), Class: cl, D: p.String(), Kind: "bars"})
		c.Bands = append(c.Bands, svgBand{X: svgRound(x), W: svgRound(w), Title: fmt.Sprintf("%d %s (%s)", st.N, st.Status, humanPercent(float64(st.N)/float64(total)))})
		x += w
	}
	return c
}
