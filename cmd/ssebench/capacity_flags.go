package main

import (
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ssebench/ssebench/scenarios"
	"github.com/ssebench/ssebench/scenarios/capacity"
)

// capacityUsage is the synopsis of `ssebench capacity`.
const capacityUsage = `[SCENARIO.yaml] [--target URL] --slo EXPR [--slo EXPR]... [--by connections|rate]
         [--min X --max Y] [--step-duration D] [--warm-up D] [--max-step-duration D] [--resolution 5%]
         [--events PRESET] [--header 'Name: value']... [--source-ips A-B] [--procs N|auto] [--http2] [--insecure]
         [--out FILE.json] [--html FILE] [--junit FILE] [--quiet]

Finds the most load the target sustains within every SLO: --by connections
searches the closed model's concurrent streams, --by rate the open model's
arrivals per second (5/s), with the scenario's request shape (or, with
--target alone, GET of that URL with the generic events preset; the mock
needs --events eventsource). The search doubles the load from --min until a
step fails or --max passes, bisects between the last pass and the first
failure until they are within --resolution, and runs the answer again.
Each step runs --warm-up (excluded from every number), then
--step-duration, extended up to --max-step-duration when a percentile would
rest on too few samples (p99: 1,000). Latency SLOs are judged from the
schedule (ttft as ttft_sched in the open model); a --by rate step passes
only when its backlog does not grow. A step whose generator was degraded
or could not hold the plan proves nothing: the search ends
generator-limited, naming the limit and the fix. --procs N runs every
step as N worker processes, as run --procs does (auto: as many as the
largest step, --max, needs under the open-file limit).

Every flag has an environment variable: SSEBENCH_ and the flag's name in
upper case with - as _ (SSEBENCH_SLO holds several expressions separated
by ;). Precedence: flags > SSEBENCH_* > the scenario's capacity: block >
defaults (--by connections, --min 1, --max 10000, --step-duration 10s,
--warm-up 3s, --max-step-duration 60s, --resolution 5%).

Exit codes: 0 a passing load was found; 1 even --min failed (or no stream
succeeded at any step); 2 usage or scenario error; 3 generator-limited
before an answer, the target could not be reached, or a --procs worker
died; 130 interrupted
(the steps run so far are still written).`

// capacityConfig is what the command line and the environment ask of a
// capacity search. It embeds the run settings that shape the request.
type capacityConfig struct {
	runConfig
	slos                       []string
	by                         string
	min, max                   float64
	minRate, maxRate           bool // written as a rate (5/s)
	minSet, maxSet             bool
	stepDuration, warmUp       time.Duration
	maxStep                    time.Duration
	warmUpSet                  bool
	resolution                 float64
	stepDurationSet, maxStepOK bool
}

// parseCapacityFlags parses `ssebench capacity`'s arguments and SSEBENCH_*
// variables. Problems are usage errors (exit 2) naming the flag.
func parseCapacityFlags(e *env, args []string) (*capacityConfig, error) {
	c := &capacityConfig{runConfig: runConfig{shardIndex: 1, shardCount: 1, args: args}}
	fs := newFlagSet("capacity", capacityUsage)
	fs.StringVar(&c.target, "target", "", "target `URL`: replaces the scenario URL's scheme and host; with a path, the whole URL")
	c.registerSearch(fs)
	fs.Func("events", "event rules `PRESET`: generic, eventsource (the mock's info, add..., finish), openai or custom", func(s string) error {
		p, ok := scenarios.ParsePreset(strings.TrimSpace(s))
		if !ok {
			return fmt.Errorf("%q is not a preset (want generic, eventsource, openai or custom)", s)
		}
		c.events = p
		return nil
	})
	headerErr := c.registerHeader(fs)
	fs.Func("source-ips", "local `addresses` to dial from: a range 127.0.0.2-127.0.0.9, a prefix or a list", func(s string) error {
		ips, err := parseSourceIPs(s)
		c.sourceIPs = ips
		return err
	})
	c.registerProtocolFlags(fs)
	fs.Var(&c.procs, "procs", "run every step as `N` worker processes (1.."+strconv.Itoa(maxProcs)+") merged into one result, as run --procs does, or auto: as many as the largest step (--max) needs under the open-file limit")
	fs.StringVar(&c.out, "out", "", "write the JSON result to `FILE`: the capacity object, and every step's full result")
	fs.StringVar(&c.html, "html", "", "write the HTML report to `FILE`")
	fs.StringVar(&c.junit, "junit", "", "write one JUnit test case per SLO at the answer to `FILE`")
	fs.BoolVar(&c.quiet, "quiet", false, "no progress on stderr (the summary still goes to stdout)")

	pos, err := c.parseArgs(e, fs, args, headerErr)
	if err != nil {
		return nil, err
	}
	switch len(pos) {
	case 0:
	case 1:
		c.scenario = pos[0]
	default:
		return nil, usagef("want at most one scenario file, got %d: %s", len(pos), strings.Join(pos, " "))
	}
	if c.scenario == "" && c.target == "" {
		return nil, usagef("no target: give --target URL (or SSEBENCH_TARGET), or a scenario file")
	}
	if c.target != "" {
		if err := checkTarget(c.target); err != nil {
			return nil, usagef("--target: %w", err)
		}
	}
	return c, nil
}

// registerSearch adds the search's own flags to fs.
func (c *capacityConfig) registerSearch(fs *flag.FlagSet) {
	fs.Func("slo", "objective `EXPR` in the threshold syntax, e.g. 'ttft.p99 < 300ms' (repeatable; replaces the scenario's capacity.slo)", func(s string) error {
		for _, t := range strings.Split(s, ";") {
			if t = strings.TrimSpace(t); t != "" {
				if _, err := scenarios.ParseThreshold(t); err != nil {
					return err
				}
				c.slos = append(c.slos, t)
			}
		}
		return nil
	})
	fs.Func("by", "what to search: `connections` (closed model) or rate (open model)", func(s string) error {
		if s = strings.TrimSpace(s); s != "connections" && s != "rate" {
			return fmt.Errorf("want connections or rate, got %q", s)
		}
		c.by = s
		return nil
	})
	load := func(dst *float64, isRate, set *bool) func(string) error {
		return func(s string) error {
			r, err := scenarios.ParseRate(s)
			if err != nil {
				return err
			}
			if r <= 0 {
				return fmt.Errorf("want a positive number of connections or a rate such as 5/s, got %q", s)
			}
			*dst, *isRate, *set = r, strings.Contains(s, "/"), true
			return nil
		}
	}
	fs.Func("min", "the lowest load `X`: connections (8) or a rate (5/s)", load(&c.min, &c.minRate, &c.minSet))
	fs.Func("max", "the highest load `Y`: connections (512) or a rate (200/s)", load(&c.max, &c.maxRate, &c.maxSet))
	dur := func(dst *time.Duration, set *bool, zeroOK bool) func(string) error {
		return func(s string) error {
			d, err := scenarios.ParseDuration(s)
			if err != nil {
				return err
			}
			if d < 0 || (d == 0 && !zeroOK) {
				return fmt.Errorf("want a positive duration such as 10s, got %q", s)
			}
			*dst, *set = d, true
			return nil
		}
	}
	fs.Func("step-duration", "the measured part of each step, `D` (default 10s)", dur(&c.stepDuration, &c.stepDurationSet, false))
	fs.Func("warm-up", "the warm-up before each step's measured part, `D`, excluded from every number (default 3s)", dur(&c.warmUp, &c.warmUpSet, true))
	fs.Func("max-step-duration", "the longest measured part of a step extended for samples, `D` (default 60s)", dur(&c.maxStep, &c.maxStepOK, false))
	fs.Func("resolution", "bisect until the first failing load is within `P` of the highest passing one (default 5%)", func(s string) error {
		f, err := parsePercent(s)
		if err != nil {
			return err
		}
		if f <= 0 || f >= 1 {
			return fmt.Errorf("want a percentage between 0 and 100 such as 5%%, got %q", s)
		}
		c.resolution = f
		return nil
	})
}

// searchConfig merges the flags over the scenario's capacity: block and
// the defaults. Problems name the flag, or the block's file:line.
func (c *capacityConfig) searchConfig(sc *scenarios.Scenario, file string) (capacity.Config, error) {
	cfg := capacity.Config{Pause: capacity.DefaultPause, WarmUp: capacity.DefaultWarmUp}
	where := "the scenario's capacity: block"
	if b := sc.Capacity; b != nil {
		where = fmt.Sprintf("%s:%d: capacity", file, b.Line)
		cfg.By, cfg.SLOs = capacity.By(b.By), b.SLOs
		cfg.Min, cfg.Max = b.Min, b.Max
		cfg.StepDuration, cfg.MaxStepDuration, cfg.Resolution = b.StepDuration, b.MaxStep, b.Resolution
		if b.WarmUpSet {
			cfg.WarmUp = b.WarmUp
		}
	}
	if c.by != "" {
		cfg.By = capacity.By(c.by)
	}
	if len(c.slos) > 0 {
		cfg.SLOs = nil
		for _, expr := range c.slos {
			t, err := scenarios.ParseThreshold(expr)
			if err != nil {
				return cfg, usagef("--slo: %w", err)
			}
			cfg.SLOs = append(cfg.SLOs, t)
		}
	}
	if len(cfg.SLOs) == 0 {
		return cfg, usagef("no SLO: give --slo EXPR, e.g. --slo 'ttft.p99 < 1s' (or SSEBENCH_SLO, or capacity.slo in the scenario)")
	}
	if cfg.By == "" {
		cfg.By = capacity.Connections
	}
	if c.minSet {
		cfg.Min = c.min
	}
	if c.maxSet {
		cfg.Max = c.max
	}
	if cfg.By == capacity.Connections && (c.minSet && c.minRate || c.maxSet && c.maxRate) {
		return cfg, usagef("--min/--max: a rate (/s) but --by connections: give a number of connections, or --by rate")
	}
	if c.stepDurationSet {
		cfg.StepDuration = c.stepDuration
	}
	if c.warmUpSet {
		cfg.WarmUp = c.warmUp
	}
	if c.maxStepOK {
		cfg.MaxStepDuration = c.maxStep
	}
	if c.resolution > 0 {
		cfg.Resolution = c.resolution
	}
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return cfg, usagef("%s (flags over %s): %w", "capacity settings", where, err)
	}
	return cfg, nil
}
