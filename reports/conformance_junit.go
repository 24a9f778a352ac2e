package reports

import (
	"io"
)

// WriteConformanceJUnit writes r as JUnit XML, valid against the Jenkins
// xunit plugin's junit-10.xsd: one testsuite per group (http, stream, ...,
// as the console groups them), one testcase per check, named by its ID,
// with classname ssebench.conform.GROUP and the time it took to judge.
//
// A failed MUST check is a <failure> (type MUST): it fails the CI job, as
// it fails the run. A SHOULD check that warned is neither a pass nor a
// failure, and JUnit has no status for it: it is written as <skipped> with
// a message that starts "WARN (SHOULD, not a failure)", because every CI
// reader (Jenkins, GitLab, the GitHub Actions test reporters) lists
// skipped cases with their message where the suite's results are shown,
// while <system-out> is only read case by case, and a <failure> would fail
// a job that the exit code passes. A check that did not apply is
// <skipped> with a message that starts "SKIP". Every case that failed or
// warned also carries its finding (evidence, rule, spec) as <system-out>;
// the suite's skipped count is its skips plus its warnings. Nothing in it
// names a source file or a directory of the machine that ran it.
func WriteConformanceJUnit(w io.Writer, r *ConformanceReport) error {
	doc := junitSuites{Name: "ssebench conform", Time: fmtFloat(r.DurationS, 3)}
	props := &junitProperties{[]junitProperty{
		{"target", r.Target},
		{"method", r.Method},
		{"version", r.Version},
		{"passed", boolString(r.Summary.Passed)},
	}}
	for _, g := range r.groups() {
		if len(doc.Suites) > 0 && doc.Suites[len(doc.Suites)-1].Name == g {
			continue
		}
		s := junitSuite{Name: g, Timestamp: junitTime(r.Started), Properties: props}
		var secs float64
		for _, c := range r.Checks {
			if c.group() != g {
				continue
			}
			tc := junitCase{Name: c.ID, Classname: "ssebench.conform." + g, Time: fmtFloat(c.DurationS, 3)}
			secs += c.DurationS
			switch c.Status {
			case "pass":
				tc.SystemOut = &junitText{c.Finding()}
			case "fail":
				tc.Failure = &junitFailure{Message: c.Level + " " + c.ID + ": " + c.Message, Type: c.Level, Text: c.Finding()}
				s.Failures++
			case "warn":
				tc.Skipped = &junitSkipped{Message: "WARN (" + c.Level + ", not a failure): " + c.Message}
				tc.SystemOut = &junitText{c.Finding()}
				s.Skipped++
			default:
				tc.Skipped = &junitSkipped{Message: "SKIP: " + c.Message}
				s.Skipped++
			}
			s.Tests++
			s.Cases = append(s.Cases, tc)
		}
		s.Time = fmtFloat(secs, 3)
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Suites = append(doc.Suites, s)
	}
	return writeJUnit(w, doc)
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}
