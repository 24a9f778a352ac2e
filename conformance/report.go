package conformance

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ssebench/ssebench/conformance/checks"
	"github.com/ssebench/ssebench/scenarios/secret"
)

// Report is the outcome of a conformance run, in catalogue order. It is
// the JSON that `ssebench conform --json` writes.
type Report struct {
	// Tool is "ssebench".
	Tool string `json:"tool"`
	// Version is the producer's version; the caller sets it.
	Version string `json:"version,omitempty"`
	// Target is the checked URL, credentials redacted.
	Target string `json:"target"`
	// Method is the request method.
	Method string `json:"method"`
	// Origin is the --origin the run sent, if any.
	Origin string `json:"origin,omitempty"`
	// Started is when the run began.
	Started time.Time `json:"started"`
	// DurationS is how long the run took, in seconds.
	DurationS float64 `json:"duration_s"`
	// Interrupted is true when the run was interrupted: the checks it did
	// not judge are reported as skipped.
	Interrupted bool `json:"interrupted,omitempty"`
	// Checks holds one result per selected check.
	Checks []Result `json:"checks"`
	// Summary counts the results.
	Summary Summary `json:"summary"`
}

// Result is one check's outcome.
type Result struct {
	// ID is the check's stable ID ("framing/utf8").
	ID string `json:"id"`
	// Level is MUST or SHOULD.
	Level checks.Level `json:"level"`
	// Status is pass, fail (a MUST violated), warn (a SHOULD violated)
	// or skip (not applicable; Message says why).
	Status checks.Status `json:"status"`
	// Message is the one-line reason.
	Message string `json:"message"`
	// Evidence locates the offending bytes; null for a pass or a skip.
	Evidence *checks.Evidence `json:"evidence"`
	// Spec links the section of the HTML standard the rule rests on.
	Spec string `json:"spec"`
	// Group is the check's report group (http, stream, framing, resume,
	// reconnect).
	Group string `json:"group"`
	// Rule states the rule in one line.
	Rule string `json:"rule"`
}

// resultOf is the Result of check c with finding f.
func resultOf(c *checks.Check, f checks.Finding) Result {
	return Result{
		ID: c.ID, Level: c.Level, Status: f.Status, Message: f.Message, Evidence: f.Evidence,
		Spec: c.Spec, Group: c.Group, Rule: c.Rule,
	}
}

// String renders the result in a few lines: status, check, level and
// message, then the evidence and the spec section. Ginkgo's reporters use
// it for the report entry a spec attaches when its check did not pass.
func (r Result) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s (%s): %s", strings.ToUpper(string(r.Status)), r.ID, r.Level, r.Message)
	if ev := r.Evidence; ev != nil {
		if line := evidenceLine(ev); line != "" {
			b.WriteString("\n  evidence: " + line)
		}
		if ev.Detail != "" {
			b.WriteString("\n  " + ev.Detail)
		}
	}
	b.WriteString("\n  spec: " + r.Spec)
	return b.String()
}

// Summary counts results by status. Passed is true when no MUST check
// failed: the exit-0 condition.
type Summary struct {
	// Total is the number of checks run.
	Total int `json:"total"`
	// Pass, Fail, Warn and Skip count the checks by status.
	Pass int `json:"pass"`
	Fail int `json:"fail"`
	Warn int `json:"warn"`
	Skip int `json:"skip"`
	// Passed is true when no MUST check failed.
	Passed bool `json:"passed"`
	// Failed lists the IDs of the failed checks.
	Failed []string `json:"failed"`
	// Warned lists the IDs of the checks that warned.
	Warned []string `json:"warned"`
}

// newReport builds the report of the selected checks from the findings
// recorded by the specs. A check whose spec did not record a finding (the
// run was interrupted before it) is reported as skipped.
func newReport(cfg Config, selected []*checks.Check, found map[string]checks.Finding, started time.Time, took time.Duration) *Report {
	r := &Report{
		Tool:      "ssebench",
		Target:    secret.URL(cfg.Target),
		Method:    cfg.Method,
		Origin:    cfg.Origin,
		Started:   started.UTC().Round(time.Millisecond),
		DurationS: took.Seconds(),
		Checks:    []Result{},
	}
	for _, c := range selected {
		f, ok := found[c.ID]
		if !ok {
			f = checks.Finding{Status: checks.Skip, Message: "not run (the run was interrupted)"}
		}
		r.Checks = append(r.Checks, resultOf(c, f))
	}
	r.Summary = summarize(r.Checks)
	return r
}

func summarize(rs []Result) Summary {
	s := Summary{Total: len(rs), Failed: []string{}, Warned: []string{}}
	for _, r := range rs {
		switch r.Status {
		case checks.Pass:
			s.Pass++
		case checks.Fail:
			s.Fail++
			s.Failed = append(s.Failed, r.ID)
		case checks.Warn:
			s.Warn++
			s.Warned = append(s.Warned, r.ID)
		case checks.Skip:
			s.Skip++
		}
	}
	s.Passed = s.Fail == 0
	return s
}

// WriteJSON writes r as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("conformance: writing the JSON report: %w", err)
	}
	return nil
}

// WriteText writes the console report: the checks grouped as in the
// catalogue, one line each with its status and reason, the evidence and
// spec section under every failure and warning, and a verdict line.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "ssebench conform  %s %s  (%d checks in %.1fs)\n", r.Method, r.Target, len(r.Checks), r.DurationS)
	width := 0
	for _, c := range r.Checks {
		width = max(width, len(c.ID))
	}
	for _, g := range checks.Groups() {
		first := true
		for _, c := range r.Checks {
			if c.Group != g {
				continue
			}
			if first {
				fmt.Fprintf(&b, "\n%s\n", g)
				first = false
			}
			fmt.Fprintf(&b, "  %-4s  %-*s  %s\n", strings.ToUpper(string(c.Status)), width, c.ID, c.Message)
			if c.Status != checks.Fail && c.Status != checks.Warn {
				continue
			}
			pad := strings.Repeat(" ", 8)
			if ev := c.Evidence; ev != nil {
				if line := evidenceLine(ev); line != "" {
					fmt.Fprintf(&b, "%sevidence: %s\n", pad, line)
				}
				if ev.Detail != "" {
					fmt.Fprintf(&b, "%s%s\n", pad, ev.Detail)
				}
			}
			fmt.Fprintf(&b, "%s%s: %s (%s)\n", pad, c.Level, c.Rule, c.Spec)
		}
	}
	s := r.Summary
	verdict := "PASS: every MUST check passed"
	switch {
	case r.Interrupted:
		verdict = "INTERRUPTED: the checks not judged are skipped"
		if s.Fail > 0 {
			verdict += fmt.Sprintf("; %d MUST check(s) failed (%s)", s.Fail, strings.Join(s.Failed, ", "))
		}
	case !s.Passed:
		verdict = fmt.Sprintf("FAIL: %d MUST check(s) failed (%s)", s.Fail, strings.Join(s.Failed, ", "))
	}
	fmt.Fprintf(&b, "\n%s; %d warning(s), %d passed, %d skipped\n", verdict, s.Warn, s.Pass, s.Skip)
	_, err := io.WriteString(w, b.String())
	return err
}
