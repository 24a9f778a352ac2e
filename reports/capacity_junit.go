package reports

import (
	"fmt"
	"io"
	"strconv"
)

// WriteCapacityJUnit writes a capacity search (f.Capacity) as JUnit XML:
// one testsuite "capacity" with one testcase per SLO at the answer (the
// highest passing step; without one, the lowest step run, failing), and a
// testcase "search" that fails when the search found no answer (even --min
// failed, or the generator was the limit), so the JUnit verdict agrees with
// the exit code.
func WriteCapacityJUnit(w io.Writer, f *File) error {
	c := f.Capacity
	if c == nil {
		return fmt.Errorf("not a capacity result (no \"capacity\" object)")
	}
	suite := junitSuite{Name: "capacity", Timestamp: junitTime(f.Started), Time: strconv.FormatFloat(c.WallS, 'f', 3, 64)}
	props := []junitProperty{{"by", c.By}, {"verdict", c.Verdict}, {"answer", c.Answer}}
	if c.MaxPassing != nil {
		props = append(props, junitProperty{"max_passing", c.MaxPassing.String()})
	}
	if c.FirstFailing != nil {
		props = append(props, junitProperty{"first_failing", c.FirstFailing.String()})
	}
	props = append(props, junitProperty{"generator_limited", strconv.FormatBool(c.GeneratorLimited)})
	if c.GeneratorLimited {
		props = append(props, junitProperty{"limit", c.Limit}, junitProperty{"fix", c.Fix})
	}
	suite.Properties = &junitProperties{List: props}

	at := answerStep(c)
	for i, s := range c.SLOs {
		jc := junitCase{Classname: "capacity.slo", Time: "0"}
		switch {
		case at == nil:
			jc.Name = s.Expr
			jc.Failure = &junitFailure{Message: "no step was run", Type: "capacity", Text: c.Answer}
		case i < len(at.Observed):
			jc.Name = fmt.Sprintf("%s at %s", s.Expr, at.Load.String())
			jc.Time = strconv.FormatFloat(at.DurationS, 'f', 3, 64)
			r := at.Observed[i]
			if !r.Pass {
				jc.Failure = thresholdFailure(r)
			} else if c.MaxPassing == nil {
				jc.Failure = &junitFailure{Message: "no load passed: " + c.Answer, Type: "capacity", Text: c.Answer}
			}
			jc.SystemOut = &junitText{Text: fmt.Sprintf("judged as %s: %s on %d samples", s.Judged, r.Observation(), sampleAt(at, i))}
		default:
			jc.Name = fmt.Sprintf("%s at %s", s.Expr, at.Load.String())
			jc.Failure = &junitFailure{Message: at.Why, Type: "capacity", Text: at.Why}
		}
		suite.Cases = append(suite.Cases, jc)
	}
	search := junitCase{Name: "search", Classname: "capacity", Time: suite.Time, SystemOut: &junitText{Text: c.Answer}}
	if c.Verdict != "found" && c.Verdict != "max_passes" {
		search.Failure = &junitFailure{Message: c.Answer, Type: c.Verdict, Text: c.Answer}
	}
	suite.Cases = append(suite.Cases, search)
	for _, jc := range suite.Cases {
		suite.Tests++
		if jc.Failure != nil {
			suite.Failures++
		}
	}
	return writeJUnit(w, junitSuites{Name: "ssebench capacity", Tests: suite.Tests, Failures: suite.Failures, Time: suite.Time, Suites: []junitSuite{suite}})
}

// answerStep is the step the answer rests on: the last passing step at
// MaxPassing, else the lowest-load step that was judged.
func answerStep(c *Capacity) *CapacityStep {
	if c.MaxPassing != nil {
		for i := len(c.Steps) - 1; i >= 0; i-- {
			if st := &c.Steps[i]; st.Pass && st.Load.Value == c.MaxPassing.Value {
				return st
			}
		}
	}
	var best *CapacityStep
	for i := range c.Steps {
		if st := &c.Steps[i]; best == nil || st.Load.Value < best.Load.Value {
			best = st
		}
	}
	return best
}

func sampleAt(st *CapacityStep, i int) int64 {
	if i < len(st.Samples) {
		return st.Samples[i]
	}
	return 0
}
