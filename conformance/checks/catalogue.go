package checks

import (
	"fmt"
	"path"
	"strings"
	"time"
)

// Level is how binding a check is.
type Level string

// The levels.
const (
	// Must: a violation fails the run (exit 1).
	Must Level = "MUST"
	// Should: a violation is reported as a warning.
	Should Level = "SHOULD"
)

// Status is a check's outcome.
type Status string

// The statuses.
const (
	Pass Status = "pass"
	Fail Status = "fail"
	Warn Status = "warn"
	Skip Status = "skip"
)

// Finding is the outcome of one check: a status, a one-line message and,
// unless it passed, the evidence.
type Finding struct {
	// Status is the outcome.
	Status Status
	// Message is the one-line reason.
	Message string
	// Evidence locates what a fail or warn is about.
	Evidence *Evidence
}

// SpecBase is the multipage HTML standard's server-sent events section;
// Check.Spec values are anchors in it.
const SpecBase = "https://html.spec.whatwg.org/multipage/server-sent-events.html"

// Groups, in report order.
const (
	GroupHTTP      = "http"
	GroupStream    = "stream"
	GroupFraming   = "framing"
	GroupResume    = "resume"
	GroupReconnect = "reconnect"
	GroupLifecycle = "lifecycle"
)

// Groups returns the group names in report order. A check's group is the
// part of its ID before the slash.
func Groups() []string {
	return []string{GroupHTTP, GroupStream, GroupFraming, GroupResume, GroupReconnect, GroupLifecycle}
}

// Check is one entry of the catalogue. It is immutable data.
type Check struct {
	// ID is the stable identifier, "group/name".
	ID string
	// Level is MUST or SHOULD.
	Level Level
	// Group is the report group: http, stream, framing, resume, reconnect,
	// lifecycle; the part of ID before the slash.
	Group string
	// Rule states what a conforming server does, in one line.
	Rule string
	// Why says what breaks for clients when the rule is broken.
	Why string
	// Spec is the URL of the section of the standard the rule rests on.
	Spec string
	// Needs lists the probes the check reads.
	Needs []Probe
	// judge decides; it returns Fail for a violation whatever the level.
	judge func(in *Input) Finding
}

// Run judges in. A violation of a SHOULD is reported as Warn. Run never
// panics on partial input: a probe that did not run gives Skip.
func (c *Check) Run(in *Input) (f Finding) {
	defer func() {
		if r := recover(); r != nil {
			f = Finding{Status: Fail, Message: fmt.Sprintf("internal error in check %s: %v", c.ID, r)}
		}
	}()
	if in == nil {
		return Finding{Status: Skip, Message: "nothing captured"}
	}
	f = c.judge(in)
	if f.Status == Fail && c.Level == Should {
		f.Status = Warn
	}
	return f
}

func anchor(a string) string { return SpecBase + "#" + a }

var catalogue = []*Check{
	{ID: "http/status", Level: Must, Group: GroupHTTP,
		Rule:  "the stream request answers 200",
		Why:   "any other status makes a browser fail the connection for good: EventSource never retries it",
		Spec:  anchor("the-eventsource-interface"),
		Needs: []Probe{ProbeMain}, judge: checkStatus},
	{ID: "http/content-type", Level: Must, Group: GroupHTTP,
		Rule:  "Content-Type is text/event-stream (charset, if any, utf-8)",
		Why:   "a browser fails the connection on any other type; the stream is always decoded as UTF-8",
		Spec:  anchor("the-eventsource-interface"),
		Needs: []Probe{ProbeMain}, judge: checkContentType},
	{ID: "http/cache-control", Level: Should, Group: GroupHTTP,
		Rule:  "Cache-Control has no-cache or no-store",
		Why:   "caches and proxies may store, coalesce or replay a cacheable stream",
		Spec:  anchor("the-eventsource-interface"),
		Needs: []Probe{ProbeMain}, judge: checkCacheControl},
	{ID: "http/body-framing", Level: Must, Group: GroupHTTP,
		Rule:  "every response body is framed as its headers say: valid chunked encoding, the declared Content-Length, a whole gzip stream",
		Why:   "a client fails the connection where the framing breaks and loses what the rest of the body held",
		Spec:  "https://www.rfc-editor.org/rfc/rfc9112#section-6.3",
		Needs: []Probe{ProbeMain}, judge: checkBodyFraming},
	{ID: "http/redirect", Level: Should, Group: GroupHTTP,
		Rule:  "the stream URL answers without a redirect",
		Why:   "a browser follows redirects but reconnects to the URL it was given, so every reconnect repeats them; a hop to another origin loses the request's credentials",
		Spec:  "https://fetch.spec.whatwg.org/#http-redirect-fetch",
		Needs: []Probe{ProbeMain}, judge: checkRedirect},
	{ID: "http/cors", Level: Must, Group: GroupHTTP,
		Rule:  "with --origin: Access-Control-Allow-Origin admits the origin",
		Why:   "without it a cross-origin browser EventSource fails the connection and never sees an event",
		Spec:  anchor("the-eventsource-interface"),
		Needs: []Probe{ProbeMain}, judge: checkCORS},

	{ID: "stream/first-event", Level: Must, Group: GroupStream,
		Rule:  "the first event arrives within the deadline (default 10s)",
		Why:   "clients, proxies and users give up on a stream that stays silent",
		Spec:  anchor("sse-processing-model"),
		Needs: []Probe{ProbeMain}, judge: checkFirstEvent},
	{ID: "stream/incremental", Level: Must, Group: GroupStream,
		Rule:  "events arrive as produced, not held back until the end by buffering or compression",
		Why:   "a buffered stream delivers every event at once when it closes: no streaming at all",
		Spec:  anchor("parsing-an-event-stream"),
		Needs: []Probe{ProbeMain}, judge: checkIncremental},
	{ID: "stream/heartbeat", Level: Should, Group: GroupStream,
		Rule:  "no silence longer than the idle window (default 15s; comments count)",
		Why:   "proxies and load balancers drop idle connections (AWS ALB 60s, CloudFront 30s); the standard suggests a comment every 15s",
		Spec:  anchor("authoring-notes"),
		Needs: []Probe{ProbeMain}, judge: checkHeartbeat},
	{ID: "stream/headers-early", Level: Should, Group: GroupStream,
		Rule:  "response headers arrive before the first event is ready",
		Why:   "headers held until the first token make fetch() block and EventSource never fire open; proxies time out",
		Spec:  anchor("sse-processing-model"),
		Needs: []Probe{ProbeMain, ProbeControl}, judge: checkHeadersEarly},

	{ID: "framing/utf8", Level: Must, Group: GroupFraming,
		Rule:  "the byte stream is valid UTF-8",
		Why:   "clients decode as UTF-8 and show U+FFFD for invalid bytes: the data is corrupted",
		Spec:  anchor("parsing-an-event-stream"),
		Needs: []Probe{ProbeMain}, judge: checkUTF8},
	{ID: "framing/bom", Level: Must, Group: GroupFraming,
		Rule:  "no U+FEFF except as the very first character",
		Why:   "a BOM anywhere else is data: at a line start it renames the field (\\ufeffdata) and the event is lost",
		Spec:  anchor("parsing-an-event-stream"),
		Needs: []Probe{ProbeMain}, judge: checkBOM},
	{ID: "framing/terminated", Level: Must, Group: GroupFraming,
		Rule:  "every event ends with its empty line before the stream closes",
		Why:   "a conforming client discards an event that has not seen its empty line when the stream ends",
		Spec:  anchor("event-stream-interpretation"),
		Needs: []Probe{ProbeMain}, judge: checkTerminated},
	{ID: "framing/retry", Level: Must, Group: GroupFraming,
		Rule:  "every retry value is ASCII digits only",
		Why:   "clients silently ignore any other value (3000ms, 1.5, -1, empty)",
		Spec:  anchor("event-stream-interpretation"),
		Needs: []Probe{ProbeMain}, judge: checkRetry},
	{ID: "framing/id", Level: Must, Group: GroupFraming,
		Rule:  "no id contains U+0000",
		Why:   "clients ignore such an id field, so the next reconnect resumes from an older id",
		Spec:  anchor("event-stream-interpretation"),
		Needs: []Probe{ProbeMain}, judge: checkNulID},
	{ID: "framing/known-fields", Level: Should, Group: GroupFraming,
		Rule:  "only data, event, id, retry and comments",
		Why:   "clients silently drop unknown fields: a typo such as dat: loses the data",
		Spec:  anchor("event-stream-interpretation"),
		Needs: []Probe{ProbeMain}, judge: checkKnownFields},
	{ID: "framing/dispatchable", Level: Should, Group: GroupFraming,
		Rule:  "no block sets event or id without data",
		Why:   "a block without data dispatches nothing: the named event never reaches a listener",
		Spec:  anchor("dispatchMessage"),
		Needs: []Probe{ProbeMain}, judge: checkDispatchable},
	{ID: "framing/line-endings", Level: Should, Group: GroupFraming,
		Rule:  "one line-ending style, LF or CRLF",
		Why:   "bare CR and mixed endings are legal but break common hand-written parsers that split on \\n\\n",
		Spec:  anchor("parsing-an-event-stream"),
		Needs: []Probe{ProbeMain}, judge: checkLineEndings},
	{ID: "framing/event-size", Level: Should, Group: GroupFraming,
		Rule:  "no single event over 64 KiB (and none over 1 MiB)",
		Why:   "common clients cap a line or event at 64 KiB (bufio.Scanner's default) and fail on larger ones",
		Spec:  anchor("parsing-an-event-stream"),
		Needs: []Probe{ProbeMain}, judge: checkEventSize},

	{ID: "resume/ids-present", Level: Should, Group: GroupResume,
		Rule:  "every event has an id, so a client can resume",
		Why:   "without an id a reconnecting client sends no Last-Event-ID and the server cannot resume",
		Spec:  anchor("the-last-event-id-header"),
		Needs: []Probe{ProbeMain}, judge: checkIDsPresent},
	{ID: "resume/ids-unique", Level: Must, Group: GroupResume,
		Rule:  "when ids are present: no id repeats within a stream",
		Why:   "a repeated id makes a resume ambiguous: events are replayed or lost",
		Spec:  anchor("the-last-event-id-header"),
		Needs: []Probe{ProbeMain}, judge: checkIDsUnique},
	{ID: "resume/last-event-id", Level: Must, Group: GroupResume,
		Rule:  "when ids are present: after a drop at event k, Last-Event-ID: id(k) continues with exactly the event that followed k",
		Why:   "browsers reconnect with Last-Event-ID after every drop: a duplicate or a gap corrupts the client's state",
		Spec:  anchor("reestablish-the-connection"),
		Needs: []Probe{ProbeMain, ProbeBoundary}, judge: checkLastEventID},
	{ID: "resume/mid-event", Level: Must, Group: GroupResume,
		Rule:  "when ids are present: after a drop inside an event, resuming with the last complete id re-sends that event whole",
		Why:   "the client discarded the half event; a server that resumes from what it wrote loses it or sends a fragment",
		Spec:  anchor("reestablish-the-connection"),
		Needs: []Probe{ProbeMain, ProbeBoundary, ProbeMidEvent, ProbeServerDrop}, judge: checkMidEvent},
	{ID: "resume/unknown-id", Level: Should, Group: GroupResume,
		Rule:  "an unknown Last-Event-ID gets a defined answer: a full replay or one marked as a reset, or a 4xx",
		Why:   "a silent partial stream leaves the client with a gap it cannot see",
		Spec:  anchor("the-last-event-id-header"),
		Needs: []Probe{ProbeMain, ProbeUnknownID, ProbeBoundary}, judge: checkUnknownID},

	{ID: "reconnect/accepted", Level: Must, Group: GroupReconnect,
		Rule:  "a reconnect after a client-side drop is answered 200 with a stream",
		Why:   "a browser reconnects after every drop; any other answer ends the EventSource for good",
		Spec:  anchor("reestablish-the-connection"),
		Needs: []Probe{ProbeMain, ProbeBoundary}, judge: checkReconnectAccepted},
	{ID: "reconnect/retry-advertised", Level: Should, Group: GroupReconnect,
		Rule:  "the server sends a retry field",
		Why:   "without it clients use their own default (3s in browsers, 500ms in some libraries): reconnect storms or slow recovery",
		Spec:  anchor("concept-event-stream-reconnection-time"),
		Needs: []Probe{ProbeMain}, judge: checkRetryAdvertised},
	{ID: "lifecycle/finite-end", Level: Should, Group: GroupLifecycle,
		Rule:  "after a finite stream's final event, a browser-style reconnect (with its last id, or without Last-Event-ID when it has none) gets 204 or no new event",
		Why:   "a browser reconnects after every clean end: a server that answers with a fresh run re-generates (and re-bills) the whole stream in a loop",
		Spec:  anchor("server-sent-events-intro"),
		Needs: []Probe{ProbeMain, ProbeFiniteEnd}, judge: checkFiniteEnd},
}

// All returns the catalogue in report order. The checks are shared: do not
// modify them.
func All() []*Check { return append([]*Check(nil), catalogue...) }

// Select returns the checks whose ID matches any of the globs (path.Match
// syntax, so "framing/*" selects a group; a bare group name selects it
// too), in catalogue order. No glob selects everything. A glob that matches
// nothing, or is malformed, is an error.
func Select(globs []string) ([]*Check, error) {
	if len(globs) == 0 {
		return All(), nil
	}
	picked := make(map[string]bool)
	var bad []string
	for _, g := range globs {
		g = strings.TrimSpace(g)
		if g == "" {
			continue
		}
		n := 0
		for _, c := range catalogue {
			ok, err := path.Match(g, c.ID)
			if err != nil {
				return nil, fmt.Errorf("--checks %q: %w", g, err)
			}
			if ok || g == c.Group || g == c.Group+"/" {
				picked[c.ID] = true
				n++
			}
		}
		if n == 0 {
			bad = append(bad, g)
		}
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("--checks %s matches no check (see --list-checks)", strings.Join(bad, ", "))
	}
	var out []*Check
	for _, c := range catalogue {
		if picked[c.ID] {
			out = append(out, c)
		}
	}
	return out, nil
}

// NeededProbes returns the probes the given checks need, in probe order.
func NeededProbes(cs []*Check) []Probe {
	var need [numProbes]bool
	for _, c := range cs {
		for _, p := range c.Needs {
			need[p] = true
		}
	}
	var out []Probe
	for p, ok := range need {
		if ok {
			out = append(out, Probe(p))
		}
	}
	return out
}

// Markdown returns the catalogue as a Markdown table: id, level, rule, why,
// spec section.
func Markdown() string {
	var b strings.Builder
	b.WriteString("| check | level | rule | what breaks otherwise | spec |\n|---|---|---|---|---|\n")
	for _, c := range catalogue {
		sec := strings.TrimPrefix(c.Spec, SpecBase)
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | [%s](%s) |\n", c.ID, c.Level,
			mdEscape(c.Rule), mdEscape(c.Why), sec, c.Spec)
	}
	return b.String()
}

func mdEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// dur formats a duration for messages: "850ms", "1.25s".
func dur(d time.Duration) string {
	switch {
	case d < 0:
		return "-" + dur(-d)
	case d >= time.Second:
		return d.Round(10 * time.Millisecond).String()
	case d >= time.Millisecond:
		return d.Round(time.Millisecond).String()
	}
	return d.Round(time.Microsecond).String()
}

// skipf, failf and passf build findings.
func skipf(format string, a ...any) Finding {
	return Finding{Status: Skip, Message: fmt.Sprintf(format, a...)}
}

func passf(format string, a ...any) Finding {
	return Finding{Status: Pass, Message: fmt.Sprintf(format, a...)}
}

func failf(ev *Evidence, format string, a ...any) Finding {
	return Finding{Status: Fail, Message: fmt.Sprintf(format, a...), Evidence: ev}
}

// mainStream returns the main capture's stream when the main probe got a
// 200 response, or the skip finding that says why not.
func mainStream(in *Input) (*Stream, *Finding) {
	c := in.Main
	switch {
	case c == nil:
		f := skipf("the main probe did not run")
		return nil, &f
	case c.Err != nil:
		f := skipf("no response to the stream request (see http/status)")
		return nil, &f
	case c.Status != 200:
		f := skipf("the stream request answered %d, not 200 (see http/status)", c.Status)
		return nil, &f
	}
	return c.Stream(), nil
}
