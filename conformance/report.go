package conformance

import (
	"time"

	"github.com/ssebench/ssebench/conformance/checks"
	"github.com/ssebench/ssebench/reports"
	"github.com/ssebench/ssebench/scenarios/secret"
)

// outcome is what a spec recorded for its check: the finding, already
// redacted, and how long the spec took.
type outcome struct {
	finding checks.Finding
	took    time.Duration
}

// redactor returns the run's one redaction of free text: every URL in it,
// and every secret value the configuration holds (credential headers, the
// target's user information and secret query values), wherever a server
// or an error message repeats them.
func redactor(cfg Config) *secret.Redactor {
	r := &secret.Redactor{}
	r.AddURL(cfg.Target)
	for k, vs := range cfg.Header {
		for _, v := range vs {
			r.AddHeader(k, v)
		}
	}
	return r
}

// redactFinding returns f with its message and evidence redacted.
func redactFinding(r *secret.Redactor, f checks.Finding) checks.Finding {
	f.Message = r.String(f.Message)
	if f.Evidence != nil {
		ev := *f.Evidence
		ev.Bytes, ev.Detail, ev.Connection = r.String(ev.Bytes), r.String(ev.Detail), r.String(ev.Connection)
		f.Evidence = &ev
	}
	return f
}

// checkResult is the report entry of check c with outcome o.
func checkResult(c *checks.Check, o outcome) reports.ConformanceCheck {
	f := o.finding
	out := reports.ConformanceCheck{
		ID: c.ID, Group: c.Group, Level: string(c.Level), Status: string(f.Status), Message: f.Message,
		Rule: c.Rule, Spec: c.Spec, DurationS: o.took.Seconds(),
	}
	if ev := f.Evidence; ev != nil {
		out.Evidence = &reports.ConformanceEvidence{
			Bytes: ev.Bytes, Offset: ev.Offset, Event: ev.Event, Connection: ev.Connection, Detail: ev.Detail,
		}
	}
	return out
}

// newReport builds the report of the selected checks from the outcomes
// the specs recorded. A check whose spec recorded nothing (the run was
// interrupted before it) is reported as skipped.
func newReport(cfg Config, selected []*checks.Check, found map[string]outcome, started time.Time, took time.Duration) *reports.ConformanceReport {
	r := &reports.ConformanceReport{
		Target:       secret.URL(cfg.Target),
		Method:       cfg.Method,
		Origin:       cfg.Origin,
		Started:      started.UTC().Round(time.Millisecond),
		DurationS:    took.Seconds(),
		MemoryBudget: cfg.MaxMemory,
		Checks:       []reports.ConformanceCheck{},
	}
	for _, c := range selected {
		o, ok := found[c.ID]
		if !ok {
			o.finding = checks.Finding{Status: checks.Skip, Message: "not run (the run was interrupted)"}
		}
		r.Checks = append(r.Checks, checkResult(c, o))
	}
	r.Summarize()
	return r
}
