#!/usr/bin/env bash
# A short run of every fuzz target (FUZZTIME each, default 20000x: twenty
# thousand inputs, a few seconds here), beyond the seed corpus that
# `go test` replays: a smoke test that the fuzzers start and find nothing
# at once. The budget is a count, not a duration, on purpose: with a
# duration, Go 1.26's fuzz coordinator can report the end of the time
# itself as a failure ("context deadline exceeded", no input written) when
# a worker is still busy at the deadline, as on this loaded 2-core machine
# (FuzzOpenAIChunk at 3s failed a CI run so); a count has no deadline to
# race. Longer fuzzing is a manual job:
#   go test -run '^$' -fuzz '^FuzzReader$' -fuzztime 10m ./conformance/sse
# New crashers land in the package's testdata/fuzz folder: commit them with
# the fix, so `go test` replays them for ever.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-20000x}
targets=$(grep -rl --include='*_test.go' -E '^func Fuzz[A-Za-z0-9_]+\(f \*testing\.F\)' . | grep -v node_modules | sort)
n=0
for file in $targets; do
  pkg=./$(dirname "${file#./}")
  for fn in $(grep -oE '^func Fuzz[A-Za-z0-9_]+' "$file" | sed 's/^func //'); do
    printf '  %-40s %s\n' "$pkg" "$fn"
    go test -run '^$' -fuzz "^${fn}\$" -fuzztime "$fuzztime" -parallel 2 "$pkg" >/tmp/fuzz-$$.log 2>&1 || { cat /tmp/fuzz-$$.log; rm -f /tmp/fuzz-$$.log; exit 1; }
    n=$((n+1))
  done
done
rm -f /tmp/fuzz-$$.log
echo "fuzz smoke: $n targets, $fuzztime each, no failure"
