#!/usr/bin/env bash
# .ci/bench-100k.sh: 100,000 streams from one command, against the mock as
# several processes, on loopback: do they all open, stay open and count
# exactly?
#
# NOT part of the default CI run (.ci/run): it holds 200,000 sockets and 6
# GiB for about three minutes and saturates the machine. Run it by hand:
#
#   .ci/bench-100k.sh                      # mock --procs 6
#   MOCK_PROCS=auto .ci/bench-100k.sh      # the mock grows its workers
#   STREAMS=30000 .ci/bench-100k.sh        # smaller
#
# It builds ssebench, starts `ssebench mock --procs MOCK_PROCS` on
# 127.0.0.1:PORT (ttft 1 s, itl 5 s: an event every 5 s per stream), and
# runs `ssebench run --procs auto --connections STREAMS --duration 60s`
# with a scenario whose streams carry TOKENS (13) tokens: 1 + 12 x 5 = 61 s
# per stream, so every stream opens, stays open past the 60 s duration and
# ends on its own within the grace (90 s), and no event is in flight when
# the run ends. Every second it sums VmRSS over every ssebench process
# (swarm and mock, parents and workers) from /proc. At the end it compares
# the merged result's events with the mocks' own count
# (ssebench_mock_events_total{endpoint="stream"}, summed over the mock's
# workers by its /metrics). It keeps the mocks' /metrics at the end
# (mock-metrics.txt) and the kernel's TCP counters over the run (nstat.txt:
# listen-queue overflows, SYN cookies, resets), which say why streams
# failed when some did.
#
# Prints a table (also in $OUT/summary.txt) and exits 0 when every stream
# started and ended ok and the counts are equal, 1 otherwise, 2 on a setup
# failure. Everything binds and targets 127.0.0.x only; every process is
# started by this script, bounded in time, and stopped by PID on exit.
# Needs jq and curl.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"

PORT=${PORT:-19200}
STREAMS=${STREAMS:-100000}
MOCK_PROCS=${MOCK_PROCS:-6}
TOKENS=${TOKENS:-13}
OUT=${OUT:-.ci/out/bench-100k}

for tool in jq curl; do
  command -v "$tool" >/dev/null || { echo "bench-100k: $tool is needed" >&2; exit 2; }
done
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
BIN=$(mktemp -d)
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$BIN"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
die() { echo "bench-100k: $*" >&2; exit 2; }

go build -o "$BIN/ssebench" ./cmd/ssebench
BASE="http://127.0.0.1:$PORT"
if curl -s -o /dev/null --max-time 1 "$BASE/healthz"; then
  die "something already listens on 127.0.0.1:$PORT (set PORT=...)"
fi
"$BIN/ssebench" mock --procs "$MOCK_PROCS" --addr "127.0.0.1:$PORT" --ttft 1s --itl 5s --heartbeat 0 \
  >"$OUT/mock.log" 2>&1 &
MOCK=$!
PIDS+=("$MOCK")
for _ in $(seq 1 100); do
  curl -sf -o /dev/null --max-time 1 "$BASE/healthz" && break
  sleep 0.2
done
curl -sf -o /dev/null --max-time 1 "$BASE/healthz" || die "the mock did not come up (see $OUT/mock.log)"

cat >"$OUT/hold.yaml" <<YAML
name: hold-$STREAMS
url: $BASE/v1/stream?tokens=$TOKENS
events: eventsource
grace: 90s
YAML

# sample: every second, the summed VmRSS (KiB) of every process run from
# $BIN/ssebench, until the run ends (at most 400 s).
sample() {
  local i p rss v
  for i in $(seq 1 400); do
    rss=0
    for p in $(pgrep -f "$BIN/ssebench"); do
      v=$(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status" 2>/dev/null || true)
      rss=$((rss + ${v:-0}))
    done
    echo "$rss"
    sleep 1
  done
}
sample >"$OUT/rss.txt" &
SAMPLER=$!
PIDS+=("$SAMPLER")

rm -rf "$OUT/procs"
# The kernel's TCP counters over the run (listen-queue overflows, SYN
# cookies, resets), for when streams fail: nstat keeps its own history
# file, so the second call prints the deltas.
if command -v nstat >/dev/null; then
  export NSTAT_HISTORY="$OUT/.nstat"
  nstat -n >/dev/null 2>&1 || true
fi
set +e
timeout 400 "$BIN/ssebench" run "$OUT/hold.yaml" --procs auto --connections "$STREAMS" --duration 60s \
  --procs-dir "$OUT/procs" --out "$OUT/merged.json" >"$OUT/run.txt" 2>"$OUT/run.err"
rc=$?
set -e
kill "$SAMPLER" 2>/dev/null || true
sleep 1
if command -v nstat >/dev/null; then
  nstat 2>/dev/null | grep -E 'Listen|Syncookies|ReqQFull|TcpExtTCPAbort|TcpAttemptFails|TcpEstabResets|TcpOutRsts|TCPSynRetrans|TCPTimeouts' >"$OUT/nstat.txt" || true
fi
curl -s --max-time 5 "$BASE/metrics" >"$OUT/mock-metrics.txt" || true
mock_events=$(awk '/^ssebench_mock_events_total\{endpoint="stream"\}/ { printf "%.0f", $2 }' "$OUT/mock-metrics.txt")
[ -f "$OUT/merged.json" ] || die "the run wrote no result (exit $rc; see $OUT/run.err)"
read -r started ok failed events < <(jq -r '.counters | "\(.streams_started) \(.streams_ok) \(.streams_failed) \(.events)"' "$OUT/merged.json")
e2e_min=$(awk '$1 == "e2e" { print $3 }' "$OUT/run.txt")
peak=$(sort -n "$OUT/rss.txt" | tail -1)
pass=yes
[ "$rc" -eq 0 ] && [ "$started" -eq "$STREAMS" ] && [ "$ok" -eq "$STREAMS" ] && [ "$failed" -eq 0 ] &&
  [ "$events" = "$mock_events" ] || pass=NO
{
  printf '\nssebench 100k benchmark (%s, %d CPUs, mock --procs %s, %d streams)\n' "$(uname -sr)" "$(nproc)" "$MOCK_PROCS" "$STREAMS"
  printf '%-46s %s\n' "run exit code" "$rc"
  printf '%-46s %s\n' "streams started / ok / failed" "$started / $ok / $failed"
  printf '%-46s %s\n' "events counted / the mocks' count" "$events / $mock_events"
  printf '%-46s %s ms\n' "shortest stream (e2e min)" "$e2e_min"
  printf '%-46s %.2f GiB\n' "peak RSS, all swarm and mock processes" "$(awk -v k="$peak" 'BEGIN { print k / 1048576 }')"
  printf '%-46s %s\n' "every stream ok, counts equal" "$pass"
  printf 'raw results in %s (run.txt: the summary, run.err: the live view, mock-metrics.txt, nstat.txt: the kernel TCP counters over the run)\n' "$OUT"
} | tee "$OUT/summary.txt"
[ "$pass" = yes ]
