package reports

import (
	"cmp"
	"fmt"
	"html/template"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

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
	Rule, SpecURL, SpecText                         string
	Evidence                                        []evidenceSegment
	Where, Detail                                   string
}

// evidenceSegment is a run of evidence text: printable as is, or an escape
// that stands for an invisible or invalid byte sequence.
type evidenceSegment struct {
	Text string
	Esc  bool
}

// WriteConformanceHTML renders r as one self-contained HTML page: the verdict
// and counts, the failures and warnings first, then every check in its
// group (http, stream, framing, resume, reconnect, lifecycle: the console's
// grouping and order) with its status, level, message, rule, spec
// reference and evidence bytes, events counted from 0 as everywhere else.
// Only the spec links point outside the page.
func WriteConformanceHTML(w io.Writer, r *ConformanceReport) error {
	return renderHTMLPage(w, htmlConfTemplate, newConfView(r), "WriteConformanceHTML")
}

func newConfView(r *ConformanceReport) *confView {
	target := r.Target
	if r.Method != "" && target != "" {
		target = r.Method + " " + target
	}
	v := &confView{CSS: htmlStyle, Target: target, Duration: humanSeconds(r.DurationS)}
	v.Title = "SSE conformance"
	if target != "" {
		v.Title += " · " + target
	}
	if !r.Started.IsZero() {
		v.Started = r.Started.UTC().Format("2006-01-02 15:04:05 UTC")
	}

	counts := map[string]int{}
	for _, c := range r.Checks {
		counts[normStatus(c.Status)]++
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

	verdict := "pass"
	for _, c := range r.Checks {
		if normStatus(c.Status) == "fail" && !strings.EqualFold(c.Level, "SHOULD") {
			verdict = "fail"
		}
	}
	switch {
	case r.Interrupted:
		v.Verdict = htmlVerdict{Class: "none", Label: "INTERRUPTED", Detail: fmt.Sprintf("%d checks; those not judged are skipped", len(r.Checks))}
	case verdict == "pass":
		v.Verdict = htmlVerdict{Class: "pass", Label: "PASS", Detail: fmt.Sprintf("%d checks: no MUST rule broken", len(r.Checks))}
	default:
		v.Verdict = htmlVerdict{Class: "fail", Label: "FAIL", Detail: fmt.Sprintf("%d of %d checks failed", counts["fail"], len(r.Checks))}
	}

	byArea := map[string][]confCheckView{}
	for _, c := range r.Checks {
		cv := newConfCheckView(c)
		byArea[c.group()] = append(byArea[c.group()], cv)
		if cv.Status == "fail" || cv.Status == "warn" {
			v.Problems = append(v.Problems, cv)
		}
	}
	slices.SortStableFunc(v.Problems, func(a, b confCheckView) int {
		return cmp.Compare(slices.Index(conformanceStatuses, a.Status), slices.Index(conformanceStatuses, b.Status))
	})
	// The groups in the report's order, as the console has them.
	seen := map[string]bool{}
	for _, g := range r.groups() {
		if seen[g] {
			continue
		}
		seen[g] = true
		area := confArea{ID: g, Title: g, Checks: byArea[g]}
		if g == "" {
			area.Title = "other"
		}
		for _, a := range conformanceAreas {
			if a.id == g {
				area.Title, area.About = a.title, a.about
			}
		}
		v.Areas = append(v.Areas, area)
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
		StatusLabel: statusLabel(st), Message: c.Message, Rule: c.Rule,
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
	ev := c.Evidence
	if ev == nil {
		return cv
	}
	var where []string
	if ev.Connection != "" {
		where = append(where, ev.Connection)
	}
	if ev.Offset != nil {
		where = append(where, "byte offset "+humanCount(*ev.Offset))
	}
	if ev.Event != nil {
		where = append(where, "event "+strconv.Itoa(*ev.Event))
	}
	if ev.Bytes != "" {
		raw := unquoteEvidence(ev.Bytes)
		cv.Evidence = evidenceSegments(raw)
		where = append(where, humanCount(int64(len(raw)))+" bytes")
	}
	cv.Where = strings.Join(where, " · ")
	cv.Detail = ev.Detail
	return cv
}

// unquoteEvidence turns evidence bytes, escaped as a Go string literal
// without its quotes, back into the bytes the server sent, for display;
// text that is not such a literal is shown as it is.
func unquoteEvidence(s string) string {
	if u, err := strconv.Unquote(`"` + strings.ReplaceAll(s, `"`, `\"`) + `"`); err == nil {
		return u
	}
	return s
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
