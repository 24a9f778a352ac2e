#!/usr/bin/env bash
# .ci/bench-swarm.sh: how much does ssebench's client swarm cost?
#
# NOT part of the default CI run (.ci/run): it takes about two minutes, holds
# 10,000 connections and saturates the machine. Run it by hand on an
# otherwise idle machine:
#
#   .ci/bench-swarm.sh            # or: STREAMS=5000 SAT_SECS=10 .ci/bench-swarm.sh
#
# It builds `ssebench` and `sse-bare` (cmd/sse-bare: the least a Go client
# can do to read SSE: net/http GETs, bufio lines, counting data events),
# starts `ssebench mock` (MOCKS processes sharing one loopback port with
# --reuseport), and measures in one go:
#
#  (a) memory: `ssebench run` holding STREAMS (10,000) concurrent idle-ish
#      streams (one event per IDLE_ITL) against the same run holding 1
#      stream; RSS per stream = (RSS(STREAMS) - RSS(1)) / (STREAMS - 1),
#      from VmRSS in steady state and from VmHWM (the peak, GC headroom
#      included), read from /proc/PID/status. Target: <= 32 KiB per stream.
#  (b) throughput: at saturation (the mock with ttft and itl 0 and
#      SAT_TOKENS (10,000) one-token events per stream, streams reopened as
#      they end; SAT_STREAMS (50) streams for SAT_SECS (15) s), the swarm's
#      events/s against sse-bare's on the same mock settings, alternating
#      ROUNDS times. Target: swarm >= 80% of the bare reader. Both share
#      the machine's cores with the mock, so the table also shows each
#      client's CPU time per event.
#
# Limits: one process may hold 20,000 open files, so the 10,000 client
# streams and the 10,000 server sockets live in different processes (the
# swarm and the mocks). Everything binds 127.0.0.1 only. Every process is
# started by this script, stopped by PID on exit (trap), and bounded in time.
#
# Prints a table and exits 0 when both targets are met, 1 when one is
# missed, 2 on a setup failure.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"

PORT=${PORT:-18181}
MOCKS=${MOCKS:-2}
STREAMS=${STREAMS:-10000}
IDLE_SECS=${IDLE_SECS:-30}
IDLE_ITL=${IDLE_ITL:-1s}
SAT_STREAMS=${SAT_STREAMS:-50}
SAT_SECS=${SAT_SECS:-15}
SAT_TOKENS=${SAT_TOKENS:-10000}
ROUNDS=${ROUNDS:-2}
OUT=${OUT:-.ci/out/bench-swarm}

mkdir -p "$OUT"
BIN=$(mktemp -d)
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do
    kill "$p" 2>/dev/null || true
  done
  for p in "${PIDS[@]}"; do
    wait "$p" 2>/dev/null || true
  done
  rm -rf "$BIN"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() { echo "bench-swarm: $*" >&2; exit 2; }
log() { printf '== %s\n' "$*" >&2; }

log "build"
go build -o "$BIN/ssebench" ./cmd/ssebench
go build -o "$BIN/sse-bare" ./cmd/sse-bare

BASE="http://127.0.0.1:$PORT"
if curl -s -o /dev/null --max-time 1 "$BASE/healthz"; then
  die "something already listens on 127.0.0.1:$PORT (set PORT=...)"
fi

log "start $MOCKS mock process(es) on 127.0.0.1:$PORT (SO_REUSEPORT)"
for i in $(seq 1 "$MOCKS"); do
  "$BIN/ssebench" mock --addr "127.0.0.1:$PORT" --reuseport --write-timeout 60s \
    >"$OUT/mock-$i.log" 2>&1 &
  PIDS+=($!)
done
for _ in $(seq 1 100); do
  curl -sf -o /dev/null --max-time 1 "$BASE/healthz" && break
  sleep 0.1
done
curl -sf -o /dev/null --max-time 1 "$BASE/healthz" || die "the mock did not come up (see $OUT/mock-*.log)"

# A scenario with no grace: streams still open when the duration ends are
# cancelled at once, so that runs last exactly their duration.
SCEN="$OUT/bench.yaml"
cat >"$SCEN" <<EOF
name: bench-swarm
url: $BASE/v1/stream
grace: 0s
deadlines:
  first_byte: 60s
  idle: 60s
EOF

# status PID KEY: a /proc/PID/status value in KiB (0 when gone).
status() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
# cputicks PID: utime+stime of PID in clock ticks (empty when gone).
cputicks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || true; }

# supervise PID SECS SAMPLE_AT: waits for PID (killing it after SECS), and sets
# RSS_AT (VmRSS at SAMPLE_AT seconds, KiB), HWM (last VmHWM seen, KiB) and
# TICKS (last CPU ticks seen).
supervise() {
  local pid=$1 limit=$2 at=$3 start now v
  RSS_AT=0 HWM=0 TICKS=0
  start=$(date +%s)
  while kill -0 "$pid" 2>/dev/null; do
    now=$(( $(date +%s) - start ))
    v=$(status "$pid" VmHWM); [ -n "$v" ] && [ "$v" -gt 0 ] && HWM=$v
    v=$(cputicks "$pid"); [ -n "$v" ] && TICKS=$v
    if [ "$RSS_AT" -eq 0 ] && [ "$now" -ge "$at" ]; then
      RSS_AT=$(status "$pid" VmRSS)
    fi
    if [ "$now" -gt "$limit" ]; then
      kill "$pid" 2>/dev/null || true
      echo "bench-swarm: PID $pid outlived ${limit}s, killed" >&2
    fi
    sleep 0.5
  done
  wait "$pid" || true
  forget "$pid"
}

# forget PID: PID was waited for; never signal it again (it may be reused).
forget() {
  local p keep=()
  for p in "${PIDS[@]}"; do
    [ "$p" = "$1" ] || keep+=("$p")
  done
  PIDS=("${keep[@]}")
}

# jsonnum FILE KEY: the first number after "KEY": in FILE.
jsonnum() { grep -o "\"$2\": *[0-9][0-9.e+-]*" "$1" | head -1 | sed 's/.*: *//'; }

# (a) memory ---------------------------------------------------------------
idle_url="$BASE/v1/stream?ttft=0s&itl=$IDLE_ITL&tokens=100000"
mem_run() { # N -> sets RSS_AT, HWM
  local n=$1
  log "memory: $n stream(s), ${IDLE_SECS}s, one event per $IDLE_ITL"
  "$BIN/ssebench" run "$SCEN" --target "$idle_url" --connections "$n" --duration "${IDLE_SECS}s" \
    --quiet --out "$OUT/mem-$n.json" >"$OUT/mem-$n.txt" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  supervise "$pid" $((IDLE_SECS + 60)) $((IDLE_SECS * 3 / 4))
  local started
  started=$(jsonnum "$OUT/mem-$n.json" streams_started)
  [ "${started:-0}" -ge "$n" ] || die "memory run with $n streams started only ${started:-0} (see $OUT/mem-$n.txt)"
}
mem_run 1
rss1=$RSS_AT hwm1=$HWM
mem_run "$STREAMS"
rssN=$RSS_AT hwmN=$HWM
failedN=$(jsonnum "$OUT/mem-$STREAMS.json" streams_failed)
per_rss=$(awk -v a="$rssN" -v b="$rss1" -v n="$STREAMS" 'BEGIN { printf "%.1f", (a - b) / (n - 1) }')
per_hwm=$(awk -v a="$hwmN" -v b="$hwm1" -v n="$STREAMS" 'BEGIN { printf "%.1f", (a - b) / (n - 1) }')

# (b) throughput -----------------------------------------------------------
sat_url="$BASE/v1/stream?ttft=0s&itl=0s&tokens=$SAT_TOKENS"
tck=$(getconf CLK_TCK)
bare_sum=0 swarm_sum=0 bare_cpu=0 swarm_cpu=0 bare_ev=0 swarm_ev=0
for r in $(seq 1 "$ROUNDS"); do
  log "throughput round $r/$ROUNDS: sse-bare, $SAT_STREAMS streams, ${SAT_SECS}s"
  "$BIN/sse-bare" -url "$sat_url" -n "$SAT_STREAMS" -d "${SAT_SECS}s" >"$OUT/bare-$r.json" 2>"$OUT/bare-$r.err" &
  pid=$!; PIDS+=("$pid")
  supervise "$pid" $((SAT_SECS + 30)) 0
  eps=$(jsonnum "$OUT/bare-$r.json" events_per_s); ev=$(jsonnum "$OUT/bare-$r.json" events)
  bare_sum=$(awk -v a="$bare_sum" -v b="$eps" 'BEGIN { print a + b }')
  bare_cpu=$((bare_cpu + TICKS)); bare_ev=$((bare_ev + ${ev%.*}))

  log "throughput round $r/$ROUNDS: ssebench run, $SAT_STREAMS streams, ${SAT_SECS}s"
  "$BIN/ssebench" run "$SCEN" --target "$sat_url" --connections "$SAT_STREAMS" --duration "${SAT_SECS}s" \
    --quiet --out "$OUT/swarm-$r.json" >"$OUT/swarm-$r.txt" 2>&1 &
  pid=$!; PIDS+=("$pid")
  supervise "$pid" $((SAT_SECS + 60)) 0
  eps=$(jsonnum "$OUT/swarm-$r.json" events_per_s); ev=$(jsonnum "$OUT/swarm-$r.json" events)
  swarm_sum=$(awk -v a="$swarm_sum" -v b="$eps" 'BEGIN { print a + b }')
  swarm_cpu=$((swarm_cpu + TICKS)); swarm_ev=$((swarm_ev + ${ev%.*}))
done
bare_eps=$(awk -v s="$bare_sum" -v n="$ROUNDS" 'BEGIN { printf "%.0f", s / n }')
swarm_eps=$(awk -v s="$swarm_sum" -v n="$ROUNDS" 'BEGIN { printf "%.0f", s / n }')
ratio=$(awk -v a="$swarm_eps" -v b="$bare_eps" 'BEGIN { printf "%.1f", (b > 0 ? 100 * a / b : 0) }')
bare_us=$(awk -v c="$bare_cpu" -v e="$bare_ev" -v t="$tck" 'BEGIN { printf "%.2f", (e > 0 ? c / t * 1e6 / e : 0) }')
swarm_us=$(awk -v c="$swarm_cpu" -v e="$swarm_ev" -v t="$tck" 'BEGIN { printf "%.2f", (e > 0 ? c / t * 1e6 / e : 0) }')

mem_ok=$(awk -v x="$per_rss" -v y="$per_hwm" 'BEGIN { print ((x <= 32 && y <= 32) ? "yes" : "NO") }')
tput_ok=$(awk -v r="$ratio" 'BEGIN { print ((r >= 80) ? "yes" : "NO") }')

{
  printf '\nssebench swarm benchmark (%s, %d CPUs, %d mock process(es))\n\n' "$(uname -sr)" "$(nproc)" "$MOCKS"
  printf '%-44s %14s %10s %4s\n' "measure" "value" "target" "ok"
  printf '%-44s %14s %10s %4s\n' "RSS, 1 stream (VmRSS / VmHWM)" "$rss1 / $hwm1 KiB" "" ""
  printf '%-44s %14s %10s %4s\n' "RSS, $STREAMS streams (VmRSS / VmHWM)" "$rssN / $hwmN KiB" "" ""
  printf '%-44s %14s %10s %4s\n' "RSS per stream, VmRSS delta" "$per_rss KiB" "<= 32 KiB" "$mem_ok"
  printf '%-44s %14s %10s %4s\n' "RSS per stream, VmHWM delta" "$per_hwm KiB" "<= 32 KiB" "$mem_ok"
  printf '%-44s %14s %10s %4s\n' "failed streams in the $STREAMS-stream run" "${failedN:-?}" "0" ""
  printf '%-44s %14s %10s %4s\n' "events/s, sse-bare ($SAT_STREAMS streams, mean of $ROUNDS)" "$bare_eps" "" ""
  printf '%-44s %14s %10s %4s\n' "events/s, ssebench swarm" "$swarm_eps" "" ""
  printf '%-44s %14s %10s %4s\n' "swarm / bare" "$ratio %" ">= 80 %" "$tput_ok"
  printf '%-44s %14s %10s %4s\n' "client CPU per event, sse-bare / swarm" "$bare_us / $swarm_us us" "" ""
  printf '\nraw results in %s\n' "$OUT"
} | tee "$OUT/summary.txt"

[ "$mem_ok" = yes ] && [ "$tput_ok" = yes ]
