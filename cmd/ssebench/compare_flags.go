package main

import (
	"flag"
	"fmt"
	"time"

	"github.com/ssebench/ssebench/reports"
)

// compareFlags are the baseline-comparison flags shared by run and report.
type compareFlags struct {
	maxRegression float64       // fraction, 0.10 for 10%
	minDelta      time.Duration // smallest latency change that counts
}

// register adds --max-regression and --min-delta to fs; against names the
// flag that gives the baseline (--baseline or --compare) in the help text.
func (c *compareFlags) register(fs *flag.FlagSet, against string) {
	c.maxRegression = reports.DefaultMaxRegression
	c.minDelta = reports.DefaultMinDelta
	fs.Func("max-regression", fmt.Sprintf("largest tolerated regression against %s, in `percent` (default 10%%)", against), func(s string) error {
		f, err := parsePercent(s)
		if err != nil {
			return err
		}
		c.maxRegression = f
		return nil
	})
	fs.Func("min-delta", fmt.Sprintf("smallest latency change against %s that can count as a regression, a `duration` (default 1ms; 0 for none)", against), func(s string) error {
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			return fmt.Errorf("%q is not a non-negative duration", s)
		}
		c.minDelta = d
		return nil
	})
}

// options maps the flags to reports.CompareOptions, whose zero values mean
// "the default": an explicit 0 on the command line means "none".
func (c *compareFlags) options() reports.CompareOptions {
	o := reports.CompareOptions{MaxRegression: c.maxRegression, MinDelta: c.minDelta}
	if o.MaxRegression == 0 {
		o.MaxRegression = -1
	}
	if o.MinDelta == 0 {
		o.MinDelta = -1
	}
	return o
}
