package conformance

import (
	"fmt"
	"time"

	"github.com/onsi/ginkgo/v2"

	"github.com/ssebench/ssebench/conformance/checks"
	"github.com/ssebench/ssebench/scenarios/secret"
)

// target is one endpoint the suite checks: its session of probes, the
// selected checks, and what each spec asserts about a finding.
type target struct {
	// name is the top-level container's text.
	name string
	sess *session
	// checks are the selected checks, in catalogue order.
	checks []*checks.Check
	// assert runs inside the spec: it turns a finding into the spec's
	// outcome (Fail, Skip, or nothing for a pass).
	assert func(c *checks.Check, f checks.Finding)
	// record, if set, receives every finding (called before assert) and
	// how long the spec took.
	record func(c *checks.Check, f checks.Finding, took time.Duration)
	// redact scrubs every finding of secrets before it is recorded,
	// asserted or attached (nil: no secrets configured).
	redact *secret.Redactor
}

// sequences describe, for the ordered containers, the probe sequence their
// specs judge.
var sequences = map[string][]checks.Probe{
	checks.GroupResume:    {checks.ProbeMain, checks.ProbeBoundary, checks.ProbeMidEvent, checks.ProbeServerDrop, checks.ProbeUnknownID},
	checks.GroupReconnect: {checks.ProbeMain, checks.ProbeBoundary},
	checks.GroupLifecycle: {checks.ProbeMain, checks.ProbeFiniteEnd},
}

// defineSuite declares the Ginkgo tree for the targets: a BeforeSuite that
// starts every target's probes, then per target one container per group
// and one spec per selected check. The resume and reconnect groups are
// Ordered containers (ContinueOnFailure, so one failing check does not hide
// the next): a BeforeAll waits for their probe sequence and narrates it
// with By, then each spec judges one check over it. Every spec is
// interruptible and bounded by specTimeout.
func defineSuite(targets []*target, specTimeout time.Duration) {
	ginkgo.BeforeSuite(func() {
		for _, t := range targets {
			t.sess.start()
		}
	})
	for _, t := range targets {
		ginkgo.Describe(t.name, func() {
			for _, g := range checks.Groups() {
				var cs []*checks.Check
				for _, c := range t.checks {
					if c.Group == g {
						cs = append(cs, c)
					}
				}
				if len(cs) == 0 {
					continue
				}
				seq, ordered := sequences[g]
				args := []any{}
				if ordered {
					args = append(args, ginkgo.Ordered, ginkgo.ContinueOnFailure)
				}
				args = append(args, func() {
					if ordered {
						ginkgo.BeforeAll(func(ctx ginkgo.SpecContext) {
							narrate(ctx, t.sess, seq, t.redact)
						}, ginkgo.NodeTimeout(specTimeout))
					}
					for _, c := range cs {
						defineSpec(t, c, specTimeout)
					}
				})
				ginkgo.Describe(g, args...)
			}
		})
	}
}

// defineSpec declares the spec of check c for target t.
func defineSpec(t *target, c *checks.Check, timeout time.Duration) {
	ginkgo.It(c.ID, ginkgo.Label(c.Group, string(c.Level)), func(ctx ginkgo.SpecContext) {
		start := time.Now()
		if err := t.sess.wait(ctx, c.Needs...); err != nil {
			// Interrupted, or the probe outlived the spec's timeout: the
			// check could not be judged.
			if t.record != nil {
				t.record(c, checks.Finding{Status: checks.Skip, Message: "not judged: " + err.Error()}, time.Since(start))
			}
			ginkgo.Fail(err.Error())
		}
		f := c.Run(t.sess.snapshot())
		if t.redact != nil {
			f = redactFinding(t.redact, f)
		}
		if t.record != nil {
			t.record(c, f, time.Since(start))
		}
		if f.Status != checks.Pass {
			// Shown on Ginkgo's console when the spec fails (or in verbose
			// mode).
			ginkgo.AddReportEntry(c.ID, checkResult(c, outcome{finding: f}).Finding(), ginkgo.ReportEntryVisibilityFailureOrVerbose)
		}
		t.assert(c, f)
	}, ginkgo.SpecTimeout(timeout))
}

// narrate waits for a sequence's probes and describes, step by step, what
// the prober did, so Ginkgo's report shows the sequence the specs judge;
// r (when not nil) redacts the steps.
func narrate(ctx ginkgo.SpecContext, s *session, seq []checks.Probe, r *secret.Redactor) {
	for _, pr := range seq {
		if !s.need[pr] {
			continue
		}
		if err := s.wait(ctx, pr); err != nil {
			ginkgo.By(err.Error())
			return
		}
		if step := describeProbe(s.snapshot(), pr); step != "" {
			ginkgo.By(r.String(step))
		}
	}
}

// describeProbe says in one line what a probe did and got.
func describeProbe(in *checks.Input, pr checks.Probe) string {
	switch pr {
	case checks.ProbeMain:
		if c := in.Main; c != nil {
			return fmt.Sprintf("read the stream uninterrupted: %s", answer(c))
		}
	case checks.ProbeBoundary:
		return describeResume("read %d events, dropped the connection, reconnected", in.Boundary)
	case checks.ProbeMidEvent:
		return describeResume("read %d events and part of the next, dropped the connection, reconnected", in.MidEvent)
	case checks.ProbeServerDrop:
		if in.ServerDrop != nil {
			return describeResume("the server dropped the connection after %d events; reconnected", in.ServerDrop)
		}
	case checks.ProbeUnknownID:
		if c := in.UnknownID; c != nil {
			return fmt.Sprintf("sent Last-Event-ID: %s: %s", c.LastEventID, answer(c))
		}
	case checks.ProbeFiniteEnd:
		if c := in.FiniteEnd; c != nil {
			if c.LastEventID == "" {
				return fmt.Sprintf("reconnected after the end without Last-Event-ID (the stream has no id): %s", answer(c))
			}
			return fmt.Sprintf("reconnected after the end with Last-Event-ID: %s: %s", c.LastEventID, answer(c))
		}
		if in.FiniteEndReason != "" {
			return "no reconnect after the end: " + in.FiniteEndReason
		}
	}
	return ""
}

func describeResume(format string, p *checks.ResumeProbe) string {
	if p == nil {
		return ""
	}
	s := fmt.Sprintf(format, p.After)
	if p.Resumed == nil {
		return s + " (not attempted: " + p.Reason + ")"
	}
	id := "without Last-Event-ID"
	if p.Resumed.LastEventID != "" {
		id = "with Last-Event-ID: " + p.Resumed.LastEventID
	}
	return fmt.Sprintf("%s %s: %s", s, id, answer(p.Resumed))
}

// answer summarises a capture: "200, 22 events, 1843 bytes, eof after 1.42s".
func answer(c *checks.Capture) string {
	if c.Err != nil {
		return "no response: " + c.Err.Error()
	}
	if c.Status != 200 {
		return fmt.Sprintf("%d, %d bytes", c.Status, len(c.Body))
	}
	return fmt.Sprintf("200, %d events, %d bytes, %s after %s", len(c.Stream().Events), len(c.Visible()), c.End, c.EndAt.Round(time.Millisecond))
}
