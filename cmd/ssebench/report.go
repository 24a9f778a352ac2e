package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/ssebench/ssebench/reports"
	"github.com/ssebench/ssebench/scenarios"
)

func init() {
	register(&command{
		name:    "report",
		summary: "render, merge (shards), gate and compare JSON results",
		run:     runReport,
	})
}

const reportUsage = `[--format text|json|html|junit] [--compare BASE.json] [--max-regression 10%] [--min-delta 1ms]
                       [--threshold EXPR]... [--force] [--step N] [--out FILE] [--junit FILE] [--json FILE] [--html FILE]
                       [--require-all-shards] FILE.json...

Renders the JSON result of 'ssebench run --out'. Several files are the shards
of one run ('ssebench run --shard I/N'): they are merged losslessly first
(histograms merged exactly, counters added, time series aligned on wall time).
'ssebench report merge A.json B.json --out all.json' writes the merged result
(the format defaults to json after "merge"). Files of different plans (the
"plan" id: a hash of the scenario as run, before --shard split it) are not
merged (exit 2) unless --force is given, which merges them with a note; so
are shards of different runs (run ids: 'ssebench run --run-id'). A shard
given by several attempts (a retried pod: 'ssebench run --attempt-id') is
merged once, from the attempt that started last, with a note naming the
attempts left out. A FILE holding *, ? or [ that is not a file is a pattern
(quote it: ssebench report '/results/shard-*.json'); matching nothing is an
error.

--junit, --json and --html write those forms too, besides the --format
output (the merged result, its JUnit, its HTML in one invocation).
--require-all-shards adds the verdict "all shards merged": it fails when
shards of the split are missing (e.g. 2 of 3 merged).

Thresholds: --threshold replaces the file's thresholds. Without it, a single
file keeps the verdicts it was written with, and merged shards are evaluated
once, globally, against the thresholds the shards recorded (and their
scenario's). Exit 1 when a threshold fails.

--compare BASE.json compares the (merged) result against a baseline and
prints the delta table instead of the summary (--format json or junit give
the comparison in that form). Exit 1 on a regression: a latency quantile
worse than the tolerance and significantly so, an error rate up beyond it,
an event rate down beyond it. With --compare only the comparison and the
--threshold flags gate; the verdicts recorded in the files do not.

A capacity result ('ssebench capacity --out') renders as the search (its
answer, steps, HTML charts, JUnit per SLO; exit 1 when no load passed);
--step N renders, gates or merges step N's full result instead.

Exit codes: 0 ok, 1 a threshold failed, a regression, or (when rendering)
no stream of the run succeeded, 2 bad flags or an unreadable, invalid or
unmergeable file (named), 3 the output could not be written.`

// reportConfig is the parsed command line of 'ssebench report'.
type reportConfig struct {
	format  string
	compare string
	compareFlags
	thresholds []string
	out        string
	force      bool
	step       int // --step N: step N of capacity results
	files      []string
	extras     reportExtras
}

func parseReportFlags(e *env, args []string) (*reportConfig, error) {
	c := &reportConfig{format: "text"}
	fs := newFlagSet("report", reportUsage)
	fs.StringVar(&c.format, "format", "text", "output `format`: text, json, html or junit")
	fs.StringVar(&c.compare, "compare", "", "compare with the baseline result `BASE.json`; exit 1 on regression")
	c.compareFlags.register(fs, "--compare")
	fs.Func("threshold", "pass/fail gate `EXPR`, e.g. 'ttft.p99 < 500ms' (repeatable; replaces the file's)", thresholdsFlag(&c.thresholds))
	fs.StringVar(&c.out, "out", "", "write to `FILE` instead of standard output")
	fs.BoolVar(&c.force, "force", false, "merge files of different plans or runs anyway (with a note saying so)")
	fs.IntVar(&c.step, "step", 0, "with capacity results (ssebench capacity --out): render step `N`'s full result instead of the search")
	c.extras.register(fs)
	files, err := parseInterleaved(fs, args)
	if err != nil {
		return nil, err
	}
	c.files = files
	// "ssebench report merge a.json b.json" is the same as
	// listing the files, with JSON as the default format: the merged result.
	if len(files) > 0 && files[0] == "merge" {
		if _, err := os.Stat("merge"); err != nil {
			c.files = files[1:]
			formatSet := false
			fs.Visit(func(f *flag.Flag) { formatSet = formatSet || f.Name == "format" })
			if !formatSet {
				c.format = "json"
			}
		}
	}
	if c.files, err = expandGlobs(c.files); err != nil {
		return nil, err
	}
	switch c.format {
	case "text", "json", "html", "junit":
	default:
		return nil, usagef("--format %q: want text, json, html or junit", c.format)
	}
	if len(c.files) == 0 {
		return nil, usagef("no result files (want FILE.json...; see ssebench report --help)")
	}
	if c.compare != "" && c.format == "html" {
		return nil, usagef("--compare writes text, json or junit, not html")
	}
	for _, o := range append([][2]string{{"--out", c.out}}, c.extras.outputs()...) {
		for _, in := range append([]string{c.compare}, c.files...) {
			if o[1] != "" && in != "" && samePath(in, o[1]) {
				return nil, usagef("%s %s: would overwrite the input %s", o[0], o[1], in)
			}
		}
	}
	return c, nil
}

// samePath reports whether two paths name the same file (lexically).
func samePath(a, b string) bool {
	aa, err1 := filepath.Abs(a)
	bb, err2 := filepath.Abs(b)
	return err1 == nil && err2 == nil && aa == bb
}

func runReport(ctx context.Context, e *env, args []string) error {
	cfg, err := parseReportFlags(e, args)
	if err != nil {
		return err
	}
	var ths []scenarios.Threshold
	for _, expr := range cfg.thresholds {
		t, err := scenarios.ParseThreshold(expr)
		if err != nil {
			return usagef("--threshold: %w", err)
		}
		ths = append(ths, t)
	}
	files, f, capF, err := reportReadMerge(cfg)
	if err != nil {
		return err
	}
	if capF != nil {
		return reportCapacity(e, cfg, capF)
	}

	// Thresholds: given on the command line; else, when rendering, the
	// verdicts the file recorded, or for merged shards the thresholds they
	// recorded, evaluated once on the merged result. A comparison gates on
	// the baseline and on --threshold only.
	switch {
	case len(cfg.thresholds) > 0:
		reports.Evaluate(f, ths)
	case cfg.compare != "":
		f.Thresholds = nil
	case len(files) > 1:
		recorded, bad := recordedThresholds(files)
		if len(bad) > 0 {
			f.Notes = append(f.Notes, "thresholds not re-evaluated (cannot parse): "+strings.Join(bad, "; "))
		}
		reports.Evaluate(f, recorded)
	}
	cfg.extras.checkShards(f)

	// Compare.
	var cmp *reports.Comparison
	if cfg.compare != "" {
		base, err := reports.ReadFile(cfg.compare)
		if err != nil {
			return usagef("--compare: %w", err)
		}
		cmp = reports.Compare(base, f, cfg.compareFlags.options())
		cmp.BaseLabel = cfg.compare
		cmp.CurrentLabel = strings.Join(cfg.files, " + ")
	}

	if err := reportWrite(e, cfg, f, cmp); err != nil {
		return cannotRun(fmt.Errorf("write the report: %w", err))
	}
	return reportGates(cfg, f, cmp)
}

// reportReadMerge reads the files and, when there are several, merges
// them: the files as read, and the one File to report on. Capacity results
// (ssebench capacity --out) come back as capF, to render as a search,
// unless --step picked one step's full result from each of them.
func reportReadMerge(cfg *reportConfig) (files []*reports.File, f, capF *reports.File, err error) {
	files = make([]*reports.File, 0, len(cfg.files))
	for _, path := range cfg.files {
		f, err := reports.ReadFile(path)
		if err != nil {
			return nil, nil, nil, usageErr(err) // names the file
		}
		files = append(files, f)
	}
	if files, capF, err = capacitySteps(files, cfg.files, cfg.step); err != nil || capF != nil {
		return nil, nil, capF, err
	}
	if len(files) == 1 {
		return files, files[0], nil, nil
	}
	if f, err = (reports.MergeOptions{Force: cfg.force}).Merge(files...); err != nil {
		return nil, nil, nil, usagef("%s: %w", strings.Join(cfg.files, ", "), err)
	}
	return files, f, nil, nil
}

// reportWrite renders f (or the comparison) in --format to --out or
// stdout, then the extra outputs.
func reportWrite(e *env, cfg *reportConfig, f *reports.File, cmp *reports.Comparison) error {
	render := func(w io.Writer) error {
		if cmp != nil {
			switch cfg.format {
			case "json":
				return reports.WriteComparisonJSON(w, cmp)
			case "junit":
				return reports.WriteComparisonJUnit(w, cmp)
			}
			if err := reports.WriteComparison(w, cmp); err != nil {
				return err
			}
			if len(f.Thresholds) > 0 {
				fmt.Fprintln(w)
			}
			return reports.WriteThresholds(w, f)
		}
		switch cfg.format {
		case "json":
			return reports.WriteJSON(w, f)
		case "html":
			return reports.WriteHTML(w, f)
		case "junit":
			return reports.WriteJUnit(w, f)
		}
		return reports.WriteText(w, f)
	}
	err := writeOutOrStdout(e, cfg.out, render)
	if err != nil {
		return err
	}
	return cfg.extras.write(f, cmp)
}

// reportGates returns the exit-1 error when a gate failed: no stream
// succeeded (when rendering), a threshold failed, or a regression.
func reportGates(cfg *reportConfig, f *reports.File, cmp *reports.Comparison) error {
	var gates []string
	if cmp == nil {
		if why := reports.Unserved(f); why != "" {
			gates = append(gates, why)
		}
	}
	if msg := thresholdGate(f); msg != "" {
		gates = append(gates, msg)
	}
	if cmp != nil && cmp.Regressed() {
		gates = append(gates, fmt.Sprintf("regressed against the baseline %s (tolerance %g%%): %s",
			cfg.compare, cmp.Tolerance*100, strings.Join(cmp.Regressions(), ", ")))
	}
	if len(gates) > 0 {
		return gateFailed(errors.New(strings.Join(gates, "; ")))
	}
	return nil
}

// recordedThresholds collects the threshold expressions the shards were
// judged by (their verdicts and their scenario's "thresholds"), without
// repeats, parsed. Expressions that do not parse are returned in bad.
func recordedThresholds(files []*reports.File) (ths []scenarios.Threshold, bad []string) {
	seen := map[string]bool{}
	add := func(expr string) {
		expr = strings.TrimSpace(expr)
		if expr == "" || seen[expr] || expr == allShardsExpr {
			return
		}
		seen[expr] = true
		t, err := scenarios.ParseThreshold(expr)
		if err != nil {
			bad = append(bad, expr)
			return
		}
		ths = append(ths, t)
	}
	for _, f := range files {
		var sc struct {
			Thresholds []string `json:"thresholds"`
		}
		if len(f.Scenario) > 0 && json.Unmarshal(f.Scenario, &sc) == nil {
			for _, expr := range sc.Thresholds {
				add(expr)
			}
		}
		// The file's verdicts come before Merge cleared them; read them
		// from the shard files.
		for _, t := range f.Thresholds {
			add(t.Expr)
		}
	}
	return ths, bad
}

// writeOutOrStdout renders to the file path (written atomically) or, when
// path is empty, to stdout, in one write after the whole rendering
// succeeded.
func writeOutOrStdout(e *env, path string, render func(io.Writer) error) error {
	if path != "" {
		return writeFile(path, render)
	}
	var buf bytes.Buffer
	if err := render(&buf); err != nil {
		return err
	}
	_, err := e.stdout.Write(buf.Bytes())
	return err
}
