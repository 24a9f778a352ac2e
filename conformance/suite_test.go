package conformance

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ssebench/ssebench/reports/golden"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"

	"github.com/ssebench/ssebench/conformance/checks"
	"github.com/ssebench/ssebench/conformance/hostile"
	"github.com/ssebench/ssebench/mockserver"
)

// The stream every mock profile serves: the first token after 1s (so that
// headers held until it are visible), 20 tokens 20ms apart (so that a
// buffered stream is told from an incremental one by a wide margin), a
// heartbeat comment after 100ms of silence. A read takes about 1.5s.
const mockStream = "/v1/stream?ttft=1s&itl=20ms&tokens=20&heartbeat=100ms&seed=7"

// The thresholds of the negative-control run. The idle window is shorter
// than the spec's 15s so that a stall fault is seen in seconds, and longer
// than the whole of a buffered stream (about 1.4s, all of it silent), so
// that a buffering fault trips stream/incremental alone: by more than 2s,
// because a loaded machine delays the mock's timers (a buffered stream
// took 2.38s under the whole suite with -race on 2 cores, which a 2s
// window called a missing heartbeat). The stall outlasts the window.
const (
	testIdle    = 4 * time.Second
	testStall   = "5s"
	testOrigin  = "https://app.example"
	testMaxTime = 15 * time.Second
)

// profile is one target of the negative-control run: a mock fault profile
// (or a legal variant) and the set of checks it must make fail (MUST) or
// warn (SHOULD). Every other check must pass, or skip with a reason; the
// compliant and legal profiles must pass every check.
type profile struct {
	// name is the fault profile as ?fault= takes it ("" for none), or a
	// legal variant's name.
	name string
	// fault is the mockserver fault this profile exercises ("" for none).
	fault string
	// path is the request path and query (mock profiles) or the legal
	// server's path.
	path   string
	method string
	body   string
	legal  bool // served by legalServer
	// srv names the suite's own misbehaving server that serves it
	// ("chunked", "length", "redirect"; see package hostile).
	srv    string
	what   string
	strict bool // every check must pass
	// firstEvent overrides the first-event deadline.
	firstEvent time.Duration
	expect     []string
	// why explains an expected set with more than the fault's own check.
	why string
}

// profiles is the negative-control table. It is the source of the README's
// "fault profile → check that fails" table (TestFaultTable).
func profiles() []profile {
	p := func(fault string, expect ...string) profile {
		return profile{name: fault, fault: strings.SplitN(fault, "=", 2)[0], path: mockStream + "&fault=" + fault, expect: expect}
	}
	withWhy := func(pr profile, why string) profile { pr.why = why; return pr }
	partial := func(n int) profile {
		pr := p(fmt.Sprintf("drop-after=%d,resume-partial", n), "resume/mid-event")
		pr.fault = "resume-partial"
		return pr
	}
	return []profile{
		{name: "compliant", path: mockStream, strict: true},
		{name: "compliant POST /v1/chat/completions", path: "/v1/chat/completions?ttft=1s&itl=20ms&tokens=20&heartbeat=100ms&seed=7", method: "POST",
			body: `{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}`, strict: true},
		{name: "leading BOM", path: "/bom", legal: true, strict: true,
			what: "a U+FEFF before the first line (legal: clients strip one)"},
		{name: "data: without the space", path: "/nospace", legal: true, strict: true,
			what: "`id:0`, `event:tick`, `data:{...}`: fields without the optional space"},
		{name: "multi-line data, event split over writes", path: "/multiline", legal: true, strict: true,
			what: "three data lines (one empty, one with two leading spaces) and a comment inside the block, written in three flushes"},
		{name: "slow first event (deadline 1s)", path: "/slow", legal: true, firstEvent: time.Second, expect: []string{"stream/first-event"},
			what: "headers at once, a comment every 200ms, the first event after 1.2s; the run's first-event deadline is lowered to 1s"},
		{name: "broken chunked encoding", srv: "chunked", expect: []string{"http/body-framing"},
			what: "one event in a valid chunk, then a chunk whose size line is `zz`"},
		{name: "body shorter than its Content-Length", srv: "length", expect: []string{"http/body-framing"},
			what: "a resumable five-event stream under a Content-Length 100 bytes too long, then the connection closes"},
		{name: "302 to another port", path: "/redirected", srv: "redirect", expect: []string{"http/redirect"},
			what: "every request is redirected (302) to the legal server on another port: another origin"},
		p("crlf"),
		p("cr", "framing/line-endings"),
		p("mixed-endings", "framing/line-endings"),
		p("drop-after=8"),
		p("buffered", "stream/incremental"),
		p("gzip-buffered", "stream/incremental"),
		p("wrong-content-type", "http/content-type"),
		p("no-cache-control", "http/cache-control"),
		p("late-headers", "stream/headers-early"),
		p("no-cors", "http/cors"),
		withWhy(p("no-ids", "resume/ids-present", "lifecycle/finite-end"),
			"without ids a browser reconnects after the end without Last-Event-ID, and the mock serves the stream again from its start"),
		p("dup-ids", "resume/ids-unique"),
		withWhy(p("nul-id", "framing/id", "resume/ids-present", "lifecycle/finite-end"),
			"clients ignore an id with U+0000, so no event has an id they can resume from, and after the end they reconnect without Last-Event-ID and get the stream again from its start"),
		withWhy(p("ignore-last-event-id", "resume/last-event-id", "resume/mid-event", "lifecycle/finite-end"),
			"every reconnect replays from event 0: after a boundary drop, after a mid-event drop, and after the end"),
		withWhy(p("skip-on-resume", "resume/last-event-id", "resume/mid-event"),
			"both resumes lose the event after the id sent"),
		// Two cut points: the second half of the cut event starts inside a
		// field name (a fragment line) or after a line end (a fragment
		// that parses as an event of the wrong type, without its id).
		partial(8),
		partial(10),
		p("rerun-on-reconnect", "lifecycle/finite-end"),
		p("unknown-id-silent", "resume/unknown-id"),
		p("refuse-reconnect", "reconnect/accepted"),
		p("unterminated-final", "framing/terminated"),
		withWhy(p("bad-retry", "framing/retry", "reconnect/retry-advertised"),
			"the only retry field is invalid, so clients get none"),
		p("no-retry", "reconnect/retry-advertised"),
		p("invalid-utf8", "framing/utf8"),
		p("bom-middle", "framing/bom"),
		p("unknown-field", "framing/known-fields"),
		p("no-data-block", "framing/dispatchable"),
		p("stall="+testStall, "stream/heartbeat"),
		p("status=503", "http/status"),
		p("huge-event=100000", "framing/event-size"),
		p("error-after=5"),
	}
}

// disagreements are faults for which this suite expects a different check
// than the mock's FaultInfo.Check claims, with the reason. The test fails
// when the mock changes its claim, so the two stay in step.
var disagreements = map[string]struct{ mock, why string }{
	"drop-after": {"framing/terminated",
		"an abort is a network drop, not a framing bug; the resume after it gets the cut event whole (resume/mid-event passes)"},
}

// TestConformance runs the suite against the compliant mock, legal but
// unusual streams, and every mock fault profile, and asserts that each
// profile fails exactly its checks: the negative control of every check.
//
// Ginkgo runs one suite per process, so all the profiles are one suite: the
// same defineSuite the CLI uses, called with one target per profile (a
// top-level container "profile NAME" each, with the same http, stream,
// framing, resume and reconnect groups), and a per-profile assertion in
// place of the CLI's. One RunSpecs keeps Ginkgo's features for the whole
// table (focus a profile with -ginkgo.focus='profile cr ', filter a group
// with -ginkgo.label-filter=resume, one JUnit report, one interrupt) where a
// subprocess per profile would hide them behind an exit code; the probes of
// up to 8 profiles run at once, so the run takes about 15s.
func TestConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every profile against the mock for a few seconds")
	}
	mock, err := mockserver.Start(mockserver.DefaultConfig(), "")
	if err != nil {
		t.Fatal(err)
	}
	defer mock.Stop()
	legal := httptest.NewServer(legalServer{n: 12})
	defer legal.Close()
	redirect := httptest.NewServer(hostile.Redirector(legal.URL))
	defer redirect.Close()
	servers := map[string]string{
		"chunked":  hostile.StartRaw(t, hostile.BrokenChunked).URL(),
		"length":   hostile.StartRaw(t, hostile.ShortBody).URL(),
		"redirect": redirect.URL,
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// At most a few profiles run at once, so that the machine's load does
	// not turn into the latencies the timing checks measure.
	gate := make(chan struct{}, 8)
	var targets []*target
	for _, pr := range profiles() {
		base := mock.URL
		switch {
		case pr.legal:
			base = legal.URL
		case pr.srv != "":
			base = servers[pr.srv]
		}
		cfg := Config{
			Target:     base + pr.path,
			Method:     pr.method,
			Body:       []byte(pr.body),
			Origin:     testOrigin,
			Idle:       testIdle,
			MaxTime:    testMaxTime,
			FirstEvent: pr.firstEvent,
		}.WithDefaults()
		if err := cfg.Validate(); err != nil {
			t.Fatalf("%s: %v", pr.name, err)
		}
		all := checks.All()
		sess, err := newSession(ctx, cfg, all)
		if err != nil {
			t.Fatal(err)
		}
		sess.gate = gate
		targets = append(targets, &target{
			name:   "profile " + pr.name,
			sess:   sess,
			checks: all,
			assert: expectation(pr),
		})
	}
	defineSuite(targets, 2*time.Minute)
	gomega.RegisterFailHandler(ginkgo.Fail)
	sc, rc := ginkgo.GinkgoConfiguration()
	if dir := os.Getenv("TEST_ARTIFACTS"); dir != "" {
		rc.JUnitReport = filepath.Join(dir, "conformance-negative-controls.junit.xml")
	}
	ginkgo.RunSpecs(t, "ssebench conformance: negative controls", sc, rc)
}

// expectation returns the assertion of profile pr's specs: the expected
// checks are violated (fail for a MUST, warn for a SHOULD), every other
// check passes (strict profiles) or passes or skips.
func expectation(pr profile) func(c *checks.Check, f checks.Finding) {
	return func(c *checks.Check, f checks.Finding) {
		detail := fmt.Sprintf("%s on profile %q: %s", c.ID, pr.name, f.Message)
		switch {
		case slices.Contains(pr.expect, c.ID):
			gomega.Expect(f.Status).To(gomega.Equal(violation(c)), "negative control: "+detail)
		case pr.strict:
			gomega.Expect(f.Status).To(gomega.Equal(checks.Pass), "compliant profile: "+detail)
		default:
			gomega.Expect(f.Status).To(gomega.BeElementOf(checks.Pass, checks.Skip), "not this profile's check: "+detail)
		}
	}
}

// violation is the status a violation of c gets: Fail for a MUST, Warn
// for a SHOULD.
func violation(c *checks.Check) checks.Status {
	if c.Level == checks.Must {
		return checks.Fail
	}
	return checks.Warn
}

// lookup returns the catalogue's check with the given ID, or nil.
func lookup(id string) *checks.Check {
	for _, c := range checks.All() {
		if c.ID == id {
			return c
		}
	}
	return nil
}

// TestProfilesCoverEverything: every check has a negative control, every
// mock fault a profile, and the expected sets agree with the mock's own
// claims except for the documented disagreements.
func TestProfilesCoverEverything(t *testing.T) {
	controlled := map[string]bool{}
	covered := map[string][]string{}
	for _, pr := range profiles() {
		for _, id := range pr.expect {
			if lookup(id) == nil {
				t.Errorf("profile %s expects unknown check %s", pr.name, id)
			}
			controlled[id] = true
		}
		if pr.fault != "" {
			covered[pr.fault] = append(covered[pr.fault], pr.expect...)
		}
		if len(pr.expect) > 1 && pr.why == "" {
			t.Errorf("profile %s expects %d checks without saying why", pr.name, len(pr.expect))
		}
	}
	for _, c := range checks.All() {
		if !controlled[c.ID] {
			t.Errorf("check %s has no negative control", c.ID)
		}
	}
	for _, f := range mockserver.Faults() {
		exp, ok := covered[f.Name]
		if !ok {
			t.Errorf("mock fault %s has no profile", f.Name)
			continue
		}
		if d, ok := disagreements[f.Name]; ok {
			if d.mock != f.Check {
				t.Errorf("mock fault %s now claims %q, the documented disagreement is about %q", f.Name, f.Check, d.mock)
			}
			continue
		}
		if f.Check != "" && !slices.Contains(exp, f.Check) {
			t.Errorf("mock fault %s claims %s; this suite expects %v", f.Name, f.Check, exp)
		}
		if f.Check == "" && len(exp) > 0 {
			t.Errorf("mock fault %s is legal per the mock; this suite expects %v", f.Name, exp)
		}
	}
}

// faultTable renders the README table "fault profile → check that fails".
func faultTable() string {
	desc := map[string]string{}
	for _, f := range mockserver.Faults() {
		desc[f.Name] = f.Description
	}
	var b strings.Builder
	b.WriteString("<!-- Generated by `go test ./conformance -run TestFaultTable -update`; do not edit. -->\n")
	fmt.Fprintf(&b, "Each row is asserted by `go test ./conformance` (TestConformance): the listed checks fail or warn, every other check passes (or skips, with its reason); \"every check passes\" rows allow no skip. Mock profiles are served as `%s&fault=PROFILE`, checked with `--idle %s --origin %s`.\n\n",
		mockStream, testIdle, testOrigin)
	b.WriteString("| profile | what the server does | checks that fail (MUST) or warn (SHOULD) |\n|---|---|---|\n")
	for _, pr := range profiles() {
		name := "`" + pr.name + "`"
		what := desc[pr.fault]
		switch {
		case pr.legal, pr.srv != "":
			name, what = pr.name, pr.what+" (the suite's own test server)"
		case pr.fault == "" && pr.method == "POST":
			name, what = pr.name, "the mock's OpenAI-style route, POST with a JSON body"
		case pr.fault == "":
			name, what = pr.name, "the mock without faults"
		}
		var ids []string
		for _, id := range pr.expect {
			ids = append(ids, fmt.Sprintf("`%s` (%s)", id, violation(lookup(id))))
		}
		got := "none: every check passes"
		if !pr.strict && len(ids) == 0 {
			got = "none (legal)"
			if d, ok := disagreements[pr.fault]; ok {
				got = "none (legal: " + d.why + ")"
			}
		}
		if len(ids) > 0 {
			got = strings.Join(ids, ", ")
			if pr.why != "" {
				got += " — " + pr.why
			}
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", name, strings.ReplaceAll(what, "|", `\|`), got)
	}
	// The reverse index: which profiles are each check's negative control.
	b.WriteString("\n| check | negative control(s) |\n|---|---|\n")
	by := map[string][]string{}
	for _, pr := range profiles() {
		for _, id := range pr.expect {
			by[id] = append(by[id], "`"+pr.name+"`")
		}
	}
	for _, c := range checks.All() {
		sort.Strings(by[c.ID])
		fmt.Fprintf(&b, "| `%s` | %s |\n", c.ID, strings.Join(by[c.ID], ", "))
	}
	return b.String()
}

// TestFaultTable keeps testdata/fault-table.md (pasted into the README) in
// step with the negative-control table; -update rewrites it.
func TestFaultTable(t *testing.T) {
	path := filepath.Join("testdata", "fault-table.md")
	got := faultTable()
	if golden.Update() {
		golden.Check(t, path, []byte(got))
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./conformance -run TestFaultTable -update)", err)
	}
	if string(want) != got {
		t.Errorf("%s is stale: run go test ./conformance -run TestFaultTable -update", path)
	}
}
