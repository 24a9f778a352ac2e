package main

import (
	"flag"
	"fmt"
	"strconv"
	"strings"

	"github.com/ssebench/ssebench/scenarios"
)

// registerDialFlags adds --dial-rate and --dial-burst to run's flags.
func registerDialFlags(fs *flag.FlagSet, c *runConfig) {
	fs.Func("dial-rate", fmt.Sprintf("closed model: open new connections at most at `rate` R/s over the whole run, after --dial-burst at once (default %g/s; overrides load.dial_rate)", scenarios.DefaultDialRate), func(s string) error {
		r, err := scenarios.ParseRate(s)
		if err != nil {
			return err
		}
		if !(r > 0) {
			return fmt.Errorf("want a positive rate such as 1000/s, got %q", s)
		}
		c.dialRate = r
		return nil
	})
	fs.Func("dial-burst", fmt.Sprintf("closed model: open up to `N` connections at once before --dial-rate applies (default %d; overrides load.dial_burst)", scenarios.DefaultDialBurst), func(s string) error {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return fmt.Errorf("want a positive integer, got %q", s)
		}
		c.dialBurst = n
		return nil
	})
}

// applyDialOverrides sets the scenario's dial pacing from the flags. On an
// open-model plan they are refused by Validate, naming load.dial_rate.
func applyDialOverrides(sc *scenarios.Scenario, cfg *runConfig) {
	if cfg.dialRate > 0 {
		sc.Load.DialRate = cfg.dialRate
	}
	if cfg.dialBurst > 0 {
		sc.Load.DialBurst = cfg.dialBurst
	}
}
