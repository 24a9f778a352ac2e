package main

import (
	"fmt"
	"strings"

	"github.com/ssebench/ssebench/reports"
)

// thresholdsFlag is the one parser of --threshold (run and report): each
// value holds one expression or several separated by ";", appended to dst
// trimmed; they are parsed (scenarios.ParseThreshold) once all flags are
// read, so a bad one is reported with the others' context.
func thresholdsFlag(dst *[]string) func(string) error {
	return func(s string) error {
		for _, t := range strings.Split(s, ";") {
			if t = strings.TrimSpace(t); t != "" {
				*dst = append(*dst, t)
			}
		}
		return nil
	}
}

// thresholdGate is the one gate message for f's failed thresholds, each
// with what was observed: "2 of 5 thresholds failed: ttft.p99 < 500ms
// (observed 612.0 ms); errors.rate < 1% (observed 4%)". It is "" when none
// failed.
func thresholdGate(f *reports.File) string {
	var failed []string
	for _, t := range f.Thresholds {
		if !t.Pass {
			failed = append(failed, t.Expr+" ("+t.Observation()+")")
		}
	}
	if len(failed) == 0 {
		return ""
	}
	return fmt.Sprintf("%d of %d thresholds failed: %s", len(failed), len(f.Thresholds), strings.Join(failed, "; "))
}
