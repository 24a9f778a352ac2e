package reports

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/ssebench/ssebench/scenarios"
)

// JUnit XML, as CI servers (Jenkins, GitLab, GitHub Actions reporters, Azure
// DevOps) read it: every document this package writes (run, comparison,
// conformance) is valid against the Jenkins xunit plugin's junit-10.xsd
// (tested), with times as plain decimals with at most three fraction
// digits (the schema's Surefire time pattern).
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string           `xml:"name,attr"`
	Tests      int              `xml:"tests,attr"`
	Failures   int              `xml:"failures,attr"`
	Errors     int              `xml:"errors,attr"`
	Skipped    int              `xml:"skipped,attr"`
	Time       string           `xml:"time,attr"`
	Timestamp  string           `xml:"timestamp,attr,omitempty"`
	Properties *junitProperties `xml:"properties,omitempty"`
	Cases      []junitCase      `xml:"testcase"`
}

type junitProperties struct {
	List []junitProperty `xml:"property"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Skipped   *junitSkipped `xml:"skipped,omitempty"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	SystemOut *junitText    `xml:"system-out,omitempty"`
}

type junitSkipped struct {
	Message string `xml:"message,attr"`
}

// junitText is element text written as CDATA, so multi-line output stays
// readable in the file.
type junitText struct {
	Text string `xml:",cdata"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// WriteRunJUnit writes one JUnit document for a run: the suites of
// WriteJUnit and, when cmp is not nil, the baseline suite of
// WriteComparisonJUnit, with the totals of both, so that the JUnit verdict
// agrees with the exit code.
func WriteRunJUnit(w io.Writer, f *File, cmp *Comparison) error {
	doc, err := runJUnit(f)
	if err != nil {
		return err
	}
	if cmp != nil {
		b := comparisonJUnit(cmp)
		doc.Tests += b.Tests
		doc.Failures += b.Failures
		doc.Suites = append(doc.Suites, b.Suites...)
	}
	return writeJUnit(w, doc)
}

// WriteJUnit writes f's verdicts as JUnit XML: a testsuite "thresholds"
// with one testcase per threshold (a failure says the observed value and
// the limit, or why nothing could be observed), and a testsuite "run" with
// one testcase holding the text summary as system-out and the run's
// counters as properties.
//
// The "run" testcase fails only when no stream succeeded (Unserved), as
// the exit code does; other failed streams fail a run only through a
// threshold such as "errors.rate < 1%", so the JUnit verdict always agrees
// with the exit code (a fault-injection scenario expects failures and must
// be able to pass). The degraded property is joined by degraded_reasons
// when the generator limited the numbers.
func WriteJUnit(w io.Writer, f *File) error {
	doc, err := runJUnit(f)
	if err != nil {
		return err
	}
	return writeJUnit(w, doc)
}

// runJUnit builds the document of WriteJUnit.
func runJUnit(f *File) (junitSuites, error) {
	ths := junitSuite{Name: "thresholds", Time: "0", Timestamp: junitTime(f.Started)}
	for _, t := range f.Thresholds {
		tc := junitCase{Name: t.Expr, Classname: "ssebench.thresholds", Time: "0"}
		if !t.Pass {
			tc.Failure = thresholdFailure(t)
			ths.Failures++
		}
		ths.Tests++
		ths.Cases = append(ths.Cases, tc)
	}

	var summary bytes.Buffer
	if err := WriteText(&summary, f); err != nil {
		return junitSuites{}, err
	}
	c := f.Counters
	run := junitSuite{
		Name: "run", Tests: 1, Time: fmtFloat(f.DurationS, 3), Timestamp: junitTime(f.Started),
		Properties: &junitProperties{[]junitProperty{
			{"version", f.Version},
			{"shard", f.Shard},
			{"target", f.Environment.Target},
			{"streams_started", strconv.FormatInt(c.StreamsStarted, 10)},
			{"streams_ok", strconv.FormatInt(c.StreamsOK, 10)},
			{"streams_failed", strconv.FormatInt(c.StreamsFailed, 10)},
			{"streams_cancelled", strconv.FormatInt(c.Cancelled, 10)},
			{"events", strconv.FormatInt(c.Events, 10)},
			{"degraded", strconv.FormatBool(f.Degraded)},
		}},
		Cases: []junitCase{{
			Name: "run", Classname: "ssebench.run", Time: fmtFloat(f.DurationS, 3),
			SystemOut: &junitText{summary.String()},
		}},
	}
	if g := f.Generator; g != nil && len(g.Reasons) > 0 {
		run.Properties.List = append(run.Properties.List, junitProperty{"degraded_reasons", strings.Join(g.Reasons, " | ")})
	}
	run.Properties.List = append(run.Properties.List, shardProperties(f)...)
	if why := Unserved(f); why != "" {
		run.Cases[0].Failure = &junitFailure{Message: why, Type: "no-stream-succeeded", Text: why}
		run.Failures++
	}
	return junitSuites{
		Name: "ssebench", Tests: ths.Tests + run.Tests, Failures: ths.Failures + run.Failures,
		Time: fmtFloat(f.DurationS, 3), Suites: []junitSuite{ths, run},
	}, nil
}

// thresholdFailure explains a failed threshold.
func thresholdFailure(t ThresholdResult) *junitFailure {
	if t.Error != "" {
		return &junitFailure{
			Message: t.Expr + ": " + t.Error,
			Type:    "threshold",
			Text:    fmt.Sprintf("%s could not be evaluated: %s", t.Expr, t.Error),
		}
	}
	msg := fmt.Sprintf("observed %s, limit %s", fmtObserved(t.Observed, t.Unit), limitOf(t.Expr))
	return &junitFailure{Message: msg, Type: "threshold", Text: t.Expr + ": " + msg}
}

// limitOf returns the comparison part of a threshold expression
// ("< 500ms" of "ttft.p99 < 500ms"), parsed again for its exact spelling.
func limitOf(expr string) string {
	if th, err := scenarios.ParseThreshold(expr); err == nil {
		return th.Op.String() + " " + fmtObserved(th.Value, th.Unit)
	}
	return expr
}

// WriteComparisonJUnit writes c as JUnit XML: a testsuite "baseline" with
// one testcase per compared statistic, failing when it regressed.
func WriteComparisonJUnit(w io.Writer, c *Comparison) error {
	return writeJUnit(w, comparisonJUnit(c))
}

// comparisonJUnit builds the document of WriteComparisonJUnit.
func comparisonJUnit(c *Comparison) junitSuites {
	s := junitSuite{Name: "baseline", Time: "0",
		Properties: &junitProperties{[]junitProperty{
			{"base", c.BaseLabel},
			{"current", c.CurrentLabel},
			{"tolerance", fmtFloat(c.Tolerance*100, 1) + "%"},
		}}}
	for _, r := range c.Rows {
		tc := junitCase{Name: r.Name, Classname: "ssebench.baseline", Time: "0"}
		if r.Regressed() {
			msg := comparisonMessage(r, c.Tolerance)
			tc.Failure = &junitFailure{Message: msg, Type: "regression", Text: r.Name + ": " + msg}
			s.Failures++
		}
		s.Tests++
		s.Cases = append(s.Cases, tc)
	}
	return junitSuites{Name: "ssebench", Tests: s.Tests, Failures: s.Failures, Time: "0",
		Suites: []junitSuite{s}}
}

// comparisonMessage explains a regressed row.
func comparisonMessage(r ComparisonRow, tol float64) string {
	if r.Verdict == VerdictMissing {
		return fmt.Sprintf("baseline %s, current run has no samples", fmtObserved(r.Base, r.Unit))
	}
	msg := fmt.Sprintf("current %s vs baseline %s", fmtObserved(r.Current, r.Unit), fmtObserved(r.Base, r.Unit))
	if r.DeltaPct != nil {
		msg += " (" + fmtSigned(*r.DeltaPct, 1) + "%)"
	}
	msg += ", tolerance " + fmtFloat(tol*100, 1) + "%"
	if r.Test != "" && r.Significant {
		msg += ", significant (" + r.Test + ")"
	}
	return msg
}

func writeJUnit(w io.Writer, s junitSuites) error {
	b, err := xml.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("write JUnit: %w", err)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return fmt.Errorf("write JUnit: %w", err)
	}
	if _, err := w.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("write JUnit: %w", err)
	}
	return nil
}

// junitTime formats a timestamp the way JUnit schemas expect (no zone).
func junitTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05")
}
