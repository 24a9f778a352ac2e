package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/ssebench/ssebench/reports"
)

// reportExtras are report's outputs besides the one --format writes, and
// the all-shards gate: what a collector (a Kubernetes Job that merges the
// shards' results) runs in one invocation, the text verdict in its log.
type reportExtras struct {
	junit, json, html string
	requireAll        bool
}

// allShardsExpr is the verdict --require-all-shards adds to the thresholds.
const allShardsExpr = "all shards merged (--require-all-shards)"

func (x *reportExtras) register(fs *flag.FlagSet) {
	fs.StringVar(&x.junit, "junit", "", "also write the JUnit XML to `FILE` (thresholds, the run, the comparison)")
	fs.StringVar(&x.json, "json", "", "also write the (merged) JSON result to `FILE`")
	fs.StringVar(&x.html, "html", "", "also write the HTML report to `FILE`")
	fs.BoolVar(&x.requireAll, "require-all-shards", false, "fail (exit 1) when shards of the split are missing")
}

// outputs lists the extra outputs as flag, path pairs.
func (x *reportExtras) outputs() [][2]string {
	return [][2]string{{"--junit", x.junit}, {"--json", x.json}, {"--html", x.html}}
}

// maxGlobFiles bounds what one pattern may expand to.
const maxGlobFiles = 10000

// expandGlobs replaces every argument that holds a glob pattern (*, ?, [)
// and is not itself a file by the files it matches, sorted, so that a
// container without a shell can pass /results/shard-*.json. A pattern
// that matches nothing, or more than maxGlobFiles, is an error.
func expandGlobs(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		if !strings.ContainsAny(a, "*?[") {
			out = append(out, a)
			continue
		}
		if _, err := os.Stat(a); err == nil {
			out = append(out, a)
			continue
		}
		m, err := filepath.Glob(a)
		switch {
		case err != nil:
			return nil, usagef("%s: %w", a, err)
		case len(m) == 0:
			return nil, usagef("%s: no file matches", a)
		case len(m) > maxGlobFiles:
			return nil, usagef("%s: matches %d files (at most %d)", a, len(m), maxGlobFiles)
		}
		sort.Strings(m)
		out = append(out, m...)
	}
	return out, nil
}

// checkShards adds the --require-all-shards verdict to f's thresholds.
func (x *reportExtras) checkShards(f *reports.File) {
	if !x.requireAll {
		return
	}
	missing, n := reports.MissingShards(f)
	r := reports.ThresholdResult{Expr: allShardsExpr, Observed: float64(n - len(missing)), Pass: len(missing) == 0}
	if !r.Pass {
		r.Error = fmt.Sprintf("merged %d of %d shards; missing %s", n-len(missing), n, strings.Join(missing, ", "))
	}
	f.Thresholds = append(f.Thresholds, r)
}

// write writes the extra outputs that were asked for.
func (x *reportExtras) write(f *reports.File, cmp *reports.Comparison) error {
	for _, o := range []struct {
		flag, path string
		render     func(io.Writer) error
	}{
		{"--junit", x.junit, func(w io.Writer) error { return reports.WriteRunJUnit(w, f, cmp) }},
		{"--json", x.json, func(w io.Writer) error { return reports.WriteJSON(w, f) }},
		{"--html", x.html, func(w io.Writer) error { return reports.WriteHTML(w, f) }},
	} {
		if o.path == "" {
			continue
		}
		if err := writeFile(o.path, o.render); err != nil {
			return fmt.Errorf("%s: %w", o.flag, err)
		}
	}
	return nil
}
