package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/ssebench/ssebench/mockserver/fleet"
)

// envPrefix starts every environment variable ssebench reads for a flag.
const envPrefix = "SSEBENCH_"

// knownEnv returns the SSEBENCH_* variables some command reads: every
// command is asked for its --help with a getenv that records the names it
// looks up. Each command reads its SSEBENCH_<FLAG> variables before it
// parses its arguments, so this learns exactly the variables of every flag
// of every command, with no list to keep in step. Computed once.
var knownEnv = sync.OnceValue(func() []string {
	// The variables a supervisor sets for its worker processes (mock
	// --procs, run --procs) are read only when set, so --help does not
	// reveal them: name them.
	seen := map[string]bool{fleet.WorkerEnv: true, runWorkerEnv: true}
	dry := &env{
		stdin:  strings.NewReader(""),
		stdout: io.Discard,
		stderr: io.Discard,
		getenv: func(name string) string {
			if strings.HasPrefix(name, envPrefix) {
				seen[name] = true
			}
			return ""
		},
	}
	for _, c := range commands {
		_ = c.run(context.Background(), dry, []string{"--help"})
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
})

// checkEnv fails (exit 2) when the environment holds an SSEBENCH_*
// variable that no ssebench command reads and that is not in also (the
// variables the command's input names, such as a scenario's {{env.NAME}}):
// a misspelt SSEBENCH_CONECTIONS must not be ignored silently. The error
// names the variable (never its value) and the closest known one. A
// variable of another command (SSEBENCH_TOKEN of mock, read by run) is not
// an error: one CI job may set the variables of several commands.
func checkEnv(e *env, also ...string) error {
	if e.environ == nil {
		return nil
	}
	known := knownEnv()
	var unknown []string
	for _, kv := range e.environ() {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, envPrefix) || slices.Contains(known, name) || slices.Contains(also, name) {
			continue
		}
		unknown = append(unknown, name)
	}
	if len(unknown) == 0 {
		return nil
	}
	slices.Sort(unknown)
	var msgs []string
	for _, n := range unknown {
		msgs = append(msgs, fmt.Sprintf("unknown environment variable %s (did you mean %s?)", n, closest(n, known)))
	}
	return usagef("%s; ssebench reads SSEBENCH_<FLAG> for the flags of its commands (see COMMAND --help): unset it or fix its name",
		strings.Join(msgs, "; "))
}

// closest returns the name of names nearest to s by edit distance (the
// first of equals, names being sorted).
func closest(s string, names []string) string {
	best, bestD := "", -1
	for _, n := range names {
		if d := editDistance(s, n); bestD < 0 || d < bestD {
			best, bestD = n, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
