#!/usr/bin/env bash
# Measures `ssebench mock --procs` for the notes: idle-ish streams (one event
# every 5 s) from one `ssebench run` spread over the mock's workers, the
# spread, the resident memory of all mock processes, and the workers' fd
# marks. Loopback only and bounded in time; the mock is stopped by its
# supervisor's PID (which stops its workers), the run ends by itself.
#   usage: bench-procs.sh [PROCS] [MOCK FLAGS...]
#     bench-procs.sh 3                    # three workers, the default fd limit
#     bench-procs.sh 3 --fd-limit 5200    # three workers that must all pass their high-water mark
#     bench-procs.sh auto --fd-limit 4096 # auto: watch it grow
# Knobs: STREAMS (15000), SECONDS_RUN (60).
set -euo pipefail
cd "$(dirname "$0")/../.."
procs="${1:-3}"
shift || true
streams="${STREAMS:-15000}"
seconds="${SECONDS_RUN:-60}"
tmp="$(mktemp -d)"
bin="$tmp/ssebench"
go build -o "$bin" ./cmd/ssebench

"$bin" mock --procs "$procs" --addr 127.0.0.1:0 --heartbeat 0 "$@" 2>"$tmp/mock.err" &
mock=$!
trap 'kill -TERM "$mock" 2>/dev/null || true; wait "$mock" 2>/dev/null || true; rm -rf "$tmp"' EXIT
for _ in $(seq 100); do
  grep -q 'listening on' "$tmp/mock.err" && break
  sleep 0.1
done
url="$(grep -m1 -o 'http://[0-9.:]*' "$tmp/mock.err")"
echo "mock: $(grep 'listening on' "$tmp/mock.err")"

rss_mb() { # the supervisor and its workers, MiB
  local total=0 p
  for p in "$mock" $(pgrep -P "$mock"); do
    total=$((total + $(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0)))
  done
  echo $((total / 1024))
}
per_worker() { # name -> one line "worker=value ..."
  curl -s "$url/metrics" | awk -v n="$1" '$1 ~ "^"n"{worker=" {sub(/.*worker="/, "", $1); sub(/"}/, "", $1); printf "%s=%s ", $1, $2} END {print ""}'
}
metric() { curl -s "$url/metrics" | awk -v n="$1" '$1 == n {print $2}'; }

before=$(rss_mb)
"$bin" run --quiet --target "$url/v1/stream?ttft=5s&itl=5s&tokens=1000" --connections "$streams" \
  --duration "${seconds}s" --out "$tmp/run.json" >"$tmp/run.out" 2>"$tmp/run.err" &
run=$!
sleep $((seconds * 3 / 4))
echo "idle mock RSS before the run: ${before} MiB"
echo "during the run: mock RSS $(rss_mb) MiB for $(metric 'ssebench_mock_streams_active{endpoint="stream"}') open streams"
echo "  workers serving:       $(metric ssebench_mock_workers)"
echo "  connections by worker: $(per_worker ssebench_mock_worker_connections)"
echo "  open files by worker:  $(per_worker process_open_fds)"
echo "  RSS bytes by process:  $(per_worker process_resident_memory_bytes)"
echo "  high-water marks:      $(per_worker ssebench_mock_worker_open_files_high)"
echo "  pauses by worker:      $(per_worker ssebench_mock_worker_pauses_total)"
echo "  handed off by worker:  $(per_worker ssebench_mock_worker_handed_off_total)"
echo "  handed in by worker:   $(per_worker ssebench_mock_worker_handed_in_total)"
wait "$run" || echo "run exited $?"
echo "run: $(grep -m6 -E 'streams|events' "$tmp/run.out" | tr -s ' ' | tr '\n' ';')"
echo "mock events_total: $(metric 'ssebench_mock_events_total{endpoint="stream"}'), streams_total: $(metric 'ssebench_mock_streams_total{endpoint="stream"}')"
if grep -qi 'too many open files' "$tmp/mock.err"; then echo "EMFILE seen in the mock's log"; fi
grep -v 'listening on' "$tmp/mock.err" | head -20 || true
