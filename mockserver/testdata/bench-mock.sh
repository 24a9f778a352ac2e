#!/usr/bin/env bash
# Measures the mock server's capacity figures for the notes. Loopback only,
# bounded in time, and every server process it starts is stopped by its PID
# (the Go tests start the mock as a child process and SIGTERM it).
#   idle:       15,000 idle streams (TTFT 1h, heartbeat 15s) held by one
#               mock process; prints its RSS per stream. Needs about 15k open
#               files in this process and in the child (limit here: 20,000).
#   throughput: simple readers drain zero-delay streams from a mock limited
#               to one core (GOMAXPROCS=1, taskset -c 0); prints events/s.
#   micro:      the server's own cost per event, no network (go test -bench).
# Knobs: SSEBENCH_STREAMS (15000), SSEBENCH_READERS (8), SSEBENCH_SECONDS (10).
set -euo pipefail
cd "$(dirname "$0")/../.."
what="${1:-all}"
export SSEBENCH_BENCH=1
case "$what" in
idle | all) go test -count=1 -timeout 5m -run '^TestBenchIdleStreams$' -v ./mockserver/ | grep -E 'bench_test.go|^(---|ok|FAIL)' ;;&
throughput | all) go test -count=1 -timeout 5m -run '^TestBenchThroughput$' -v ./mockserver/ | grep -E 'bench_test.go|^(---|ok|FAIL)' ;;&
micro | all) go test -count=1 -run '^$' -bench '^BenchmarkStreamEvents$' -benchtime 1000000x ./mockserver/ | grep -E '^Benchmark|^ok' ;;
esac
