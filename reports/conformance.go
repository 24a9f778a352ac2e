package reports

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// ConformanceSchema is the version of the conformance report's JSON
// (ConformanceReport.Schema). It changes when a field changes meaning or
// goes away; new fields may appear within a version.
const ConformanceSchema = 1

// ConformanceReport is the outcome of one `ssebench conform` run: the one
// model that the console (WriteConformanceText), JSON
// (WriteConformanceJSON), HTML (WriteConformanceHTML) and JUnit
// (WriteConformanceJUnit) renderings are made from, so that they group the
// checks and number the events the same way. Its JSON form is the file
// `ssebench conform --json` writes. Every string in it has been through
// the caller's redaction: renderers print it as it is.
type ConformanceReport struct {
	// Schema is ConformanceSchema.
	Schema int `json:"schema"`
	// Kind is "conformance".
	Kind string `json:"kind"`
	// Tool is "ssebench".
	Tool string `json:"tool"`
	// Version is the producer's version.
	Version string `json:"version,omitempty"`
	// Target is the checked URL, credentials redacted.
	Target string `json:"target"`
	// Method is the request method.
	Method string `json:"method"`
	// Origin is the Origin the run sent, if any.
	Origin string `json:"origin,omitempty"`
	// Started is when the run began.
	Started time.Time `json:"started"`
	// DurationS is how long the run took, in seconds.
	DurationS float64 `json:"duration_s"`
	// MemoryBudget is the run's memory budget in bytes (--max-memory).
	MemoryBudget int64 `json:"memory_budget_bytes,omitempty"`
	// Interrupted is true when the run was interrupted: the checks it did
	// not judge are reported as skipped.
	Interrupted bool `json:"interrupted,omitempty"`
	// Checks holds one entry per check, in catalogue order (grouped).
	Checks []ConformanceCheck `json:"checks"`
	// Summary counts the checks by status.
	Summary ConformanceSummary `json:"summary"`
}

// ConformanceCheck is the result of one catalogue check.
type ConformanceCheck struct {
	// ID is the stable check ID, "group/name" (e.g. "framing/retry").
	ID string `json:"id"`
	// Group is the part of ID before the slash: http, stream, framing,
	// resume, reconnect, lifecycle.
	Group string `json:"group"`
	// Level is "MUST" or "SHOULD".
	Level string `json:"level"`
	// Status is "pass", "fail" (a MUST broken), "warn" (a SHOULD broken)
	// or "skip" (not applicable; Message says why).
	Status string `json:"status"`
	// Message is the one-line reason.
	Message string `json:"message"`
	// Rule states the rule in one line.
	Rule string `json:"rule"`
	// Spec links the section of the standard the rule rests on.
	Spec string `json:"spec"`
	// Evidence locates what a failure or warning is about; null otherwise.
	Evidence *ConformanceEvidence `json:"evidence"`
	// DurationS is how long the check took to judge, waiting for its
	// probes included, in seconds.
	DurationS float64 `json:"duration_s"`
}

// ConformanceEvidence locates the bytes a finding is about.
type ConformanceEvidence struct {
	// Bytes are the first offending bytes (at most 120), escaped as a Go
	// string literal without the quotes: \r, \n, \x00, \xff, \ufeff.
	Bytes string `json:"bytes,omitempty"`
	// Offset is the byte offset of Bytes in the connection's body (after
	// gzip decoding), counted from 0.
	Offset *int64 `json:"offset,omitempty"`
	// Event is the index of the event concerned, counted from 0 in every
	// rendering.
	Event *int `json:"event,omitempty"`
	// Connection names the request the bytes come from: "main", ...
	Connection string `json:"connection,omitempty"`
	// Detail is a second line: measured values, what was expected.
	Detail string `json:"detail,omitempty"`
}

// ConformanceSummary counts the checks by status. Passed is true when no
// MUST check failed: the exit-0 condition.
type ConformanceSummary struct {
	// Total is the number of checks.
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

// Summarize fills r's Schema, Kind, Tool and Summary from its checks.
func (r *ConformanceReport) Summarize() {
	r.Schema, r.Kind, r.Tool = ConformanceSchema, "conformance", "ssebench"
	s := ConformanceSummary{Total: len(r.Checks), Failed: []string{}, Warned: []string{}}
	for _, c := range r.Checks {
		switch c.Status {
		case "pass":
			s.Pass++
		case "fail":
			s.Fail++
			s.Failed = append(s.Failed, c.ID)
		case "warn":
			s.Warn++
			s.Warned = append(s.Warned, c.ID)
		default:
			s.Skip++
		}
	}
	s.Passed = s.Fail == 0
	r.Summary = s
}

// groups returns the checks' groups in the order they first appear.
func (r *ConformanceReport) groups() []string {
	var gs []string
	for _, c := range r.Checks {
		if g := c.group(); len(gs) == 0 || gs[len(gs)-1] != g {
			gs = append(gs, g)
		}
	}
	return gs
}

// group is the check's group: Group, or the prefix of its ID.
func (c ConformanceCheck) group() string {
	if c.Group != "" {
		return c.Group
	}
	g, _, _ := strings.Cut(c.ID, "/")
	return g
}

// WriteConformanceJSON writes r as indented JSON.
func WriteConformanceJSON(w io.Writer, r *ConformanceReport) error {
	g := *r
	if g.Checks == nil {
		g.Checks = []ConformanceCheck{}
	}
	if g.Summary.Failed == nil {
		g.Summary.Failed = []string{}
	}
	if g.Summary.Warned == nil {
		g.Summary.Warned = []string{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(&g); err != nil {
		return fmt.Errorf("reports: writing the conformance JSON: %w", err)
	}
	return nil
}

// EvidenceLine renders where and what: "main, byte 16, event 1: "\xff\n\n"".
// Events are counted from 0.
func (ev *ConformanceEvidence) EvidenceLine() string {
	var parts []string
	if ev.Connection != "" {
		parts = append(parts, ev.Connection)
	}
	if ev.Offset != nil {
		parts = append(parts, fmt.Sprintf("byte %d", *ev.Offset))
	}
	if ev.Event != nil {
		parts = append(parts, fmt.Sprintf("event %d", *ev.Event))
	}
	s := strings.Join(parts, ", ")
	if ev.Bytes != "" {
		if s != "" {
			s += ": "
		}
		s += `"` + ev.Bytes + `"`
	}
	return s
}

// Finding renders a check's finding in a few lines: status, check, level
// and message, then the evidence and the rule with its spec section.
func (c ConformanceCheck) Finding() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s (%s): %s", strings.ToUpper(c.Status), c.ID, c.Level, c.Message)
	if ev := c.Evidence; ev != nil {
		if line := ev.EvidenceLine(); line != "" {
			b.WriteString("\n  evidence: " + line)
		}
		if ev.Detail != "" {
			b.WriteString("\n  " + ev.Detail)
		}
	}
	fmt.Fprintf(&b, "\n  %s: %s (%s)", c.Level, c.Rule, c.Spec)
	return b.String()
}

// WriteConformanceText writes the console report: the checks grouped as
// in the catalogue, one line each with its status and reason, the evidence
// and the rule under every failure and warning, and a verdict line.
func WriteConformanceText(w io.Writer, r *ConformanceReport) error {
	var b strings.Builder
	fmt.Fprintf(&b, "ssebench conform  %s %s  (%d checks in %.1fs)\n", r.Method, r.Target, len(r.Checks), r.DurationS)
	width := 0
	for _, c := range r.Checks {
		width = max(width, len(c.ID))
	}
	for _, g := range r.groups() {
		fmt.Fprintf(&b, "\n%s\n", g)
		for _, c := range r.Checks {
			if c.group() != g {
				continue
			}
			fmt.Fprintf(&b, "  %-4s  %-*s  %s\n", strings.ToUpper(c.Status), width, c.ID, c.Message)
			if c.Status != "fail" && c.Status != "warn" {
				continue
			}
			pad := strings.Repeat(" ", 8)
			if ev := c.Evidence; ev != nil {
				if line := ev.EvidenceLine(); line != "" {
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
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("reports: writing the conformance report: %w", err)
	}
	return nil
}
