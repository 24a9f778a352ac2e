package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/ssebench/ssebench/reports"
)

// capacitySteps applies 'report --step N' to the files read: each capacity
// result is replaced by its step N's full result (an ordinary run result,
// rendered, gated and merged as one). Without --step, one capacity result
// is returned as capacity, to be rendered as a search; capacity results do
// not merge with each other or with run results.
func capacitySteps(files []*reports.File, paths []string, step int) (out []*reports.File, capacity *reports.File, err error) {
	for i, f := range files {
		switch {
		case f.Capacity == nil && step > 0:
			return nil, nil, usagef("--step %d: %s is not a capacity result (ssebench capacity --out)", step, paths[i])
		case f.Capacity == nil:
			out = append(out, f)
		case step > 0:
			st, err := f.Capacity.Step(step)
			if err != nil {
				return nil, nil, usagef("--step: %s: %w", paths[i], err)
			}
			if st.Result == nil {
				return nil, nil, usagef("--step %d: %s: the step has no result (the generator could not run it: %s)", step, paths[i], st.Why)
			}
			out = append(out, st.Result)
		case len(files) > 1:
			return nil, nil, usagef("%s is a capacity result: it does not merge with other files; pick one step of each with --step N", paths[i])
		default:
			return nil, f, nil
		}
	}
	return out, nil, nil
}

// reportCapacity renders a capacity result: its summary, HTML, JUnit, or
// the JSON as read. Exit 1 when the search found no passing load.
func reportCapacity(e *env, cfg *reportConfig, f *reports.File) error {
	if cfg.compare != "" || len(cfg.thresholds) > 0 {
		return usagef("a capacity result is rendered as a search: --compare and --threshold apply to one step (--step N)")
	}
	render := func(w io.Writer) error {
		switch cfg.format {
		case "json":
			return reports.WriteJSON(w, f)
		case "html":
			return reports.WriteCapacityHTML(w, f)
		case "junit":
			return reports.WriteCapacityJUnit(w, f)
		}
		return reports.WriteCapacityText(w, f)
	}
	err := writeOutOrStdout(e, cfg.out, render)
	if err != nil {
		return cannotRun(fmt.Errorf("write the report: %w", err))
	}
	if c := f.Capacity; c.Verdict != "found" && c.Verdict != "max_passes" {
		return gateFailed(errors.New(c.Answer))
	}
	return nil
}
