#!/usr/bin/env bash
# .ci/bench-swarm.sh: what does ssebench's client swarm cost, per event and
# per stream, against the least a Go client can do?
#
# NOT part of the default CI run (.ci/run): it takes about seven minutes,
# holds 10,000 connections and saturates the machine. Run it by hand, on a
# machine as idle as you can get (`uptime` is printed beside every figure):
#
#   .ci/bench-swarm.sh
#   STREAMS=5000 SAT_SECS=10 ROUNDS=3 .ci/bench-swarm.sh    # smaller
#
# It builds `ssebench` and `sse-bare` (cmd/sse-bare: net/http GETs, bufio
# lines, counting data events, nothing else), starts `ssebench mock` (MOCKS
# processes sharing one loopback port with --reuseport), and runs ROUNDS (3)
# rounds of:
#
#  (a) throughput at saturation, client-bound: nginx (Debian's nginx-light,
#      which .ci/run installs) serves a static event stream of SAT_TOKENS
#      (10,000) EventSource-style events (event, id, data; one word of
#      text each, some not ASCII) with sendfile, to SAT_STREAMS (50)
#      streams for SAT_SECS (15) s, each re-requested as it ends; sse-bare,
#      then the swarm. nginx costs next to nothing per event, so the
#      client is the bottleneck: it always has a full socket to read. The
#      figure is EVENTS PER CPU-SECOND of the client process: its events
#      divided by its utime+stime (from /proc/PID/stat, sampled every 0.1 s
#      and interpolated) over the same wall-clock window as the events were
#      counted in (the client reports that window: the run's start and
#      duration), so start-up and shutdown are left out for both. GATE:
#      the swarm's median >= sse-bare's median; the ratio within each round
#      is printed too.
#  (b) throughput at the mock's pace, for context (not gated): the same
#      measure against `ssebench mock` with ttft and itl 0 (SAT_TOKENS
#      one-token events per stream, a chunked body, one write per event).
#      Here the mock, not the client, is the bottleneck (it takes most of
#      the CPU), and a client that drains its sockets faster blocks more
#      often and pays more wake-ups per event: the figure says what the
#      clients cost at a server's pace, and events/s only says which
#      client wins the CPU from the mock.
#  (c) memory: the swarm holding STREAMS (10,000) concurrent idle-ish streams
#      (one event per IDLE_ITL, 1 s) for IDLE_SECS (20) s. RSS per stream =
#      (RSS(STREAMS) - RSS(1)) / (STREAMS - 1), with RSS(1) from one run
#      holding 1 stream; from VmRSS at three quarters of the run (steady
#      state) and from VmHWM (the peak, GC headroom included), both from
#      /proc/PID/status. GATE: the median of both <= MAX_KIB (24) KiB.
#
#  (d) CPU per event at a paced load, not gated: PACED_STREAMS (2,000)
#      streams, one event per PACED_ITL (100 ms), for SAT_SECS, sse-bare
#      then the swarm, and the swarm / sse-bare ratio within the round. At
#      this pace a client is woken once per event: the figure is mostly
#      the kernel's read path and the wake-up, plus the per-stream state
#      the client touches after it, cold by then; one run of it swings by
#      a tenth from run to run, hence every round.
#
# and, once, for context (not gated): the same 1-stream/STREAMS memory
# figure for sse-bare.
#
# min/median/max over the rounds are printed for every figure measured in
# the rounds.
#
# Limits: one process may hold 20,000 open files, so the 10,000 client
# streams and the 10,000 server sockets live in different processes (the
# swarm and the mocks). Everything binds and targets 127.0.0.1 only. Every
# process is started by this script, stopped by PID on exit (trap), and
# bounded in time. Needs jq, awk, curl and /usr/sbin/nginx (NGINX_PORT,
# 18182, is its loopback port).
#
# Prints a table (also in $OUT/summary.txt) and exits 0 when both gates are
# met, 1 when one is missed, 2 on a setup failure.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"

PORT=${PORT:-18181}
NGINX_PORT=${NGINX_PORT:-18182}
NGINX=${NGINX:-/usr/sbin/nginx}
MOCKS=${MOCKS:-2}
STREAMS=${STREAMS:-10000}
IDLE_SECS=${IDLE_SECS:-20}
IDLE_ITL=${IDLE_ITL:-1s}
SAT_STREAMS=${SAT_STREAMS:-50}
SAT_SECS=${SAT_SECS:-15}
SAT_TOKENS=${SAT_TOKENS:-10000}
PACED_STREAMS=${PACED_STREAMS:-2000}
PACED_ITL=${PACED_ITL:-100ms}
ROUNDS=${ROUNDS:-3}
MAX_KIB=${MAX_KIB:-24}
OUT=${OUT:-.ci/out/bench-swarm}

for tool in jq awk curl; do
  command -v "$tool" >/dev/null || { echo "bench-swarm: $tool is needed" >&2; exit 2; }
done
[ -x "$NGINX" ] || { echo "bench-swarm: $NGINX is needed (Debian's nginx-light)" >&2; exit 2; }
[ "$ROUNDS" -ge 1 ] && [ "$STREAMS" -ge 2 ] || { echo "bench-swarm: ROUNDS >= 1 and STREAMS >= 2" >&2; exit 2; }

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
log() { printf '== %s  (%s)\n' "$*" "$(loadavg)" >&2; }
loadavg() { local a b c rest; read -r a b c rest </proc/loadavg; echo "load $a $b $c"; }

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

# The static stream nginx serves: SAT_TOKENS events shaped like the mock's
# (a type, an id, one word of text), then a finish event.
NGINX_DIR="$(cd "$OUT" && pwd)/nginx" # absolute: nginx reads relative paths from its prefix
mkdir -p "$NGINX_DIR/www"
awk -v n="$SAT_TOKENS" 'BEGIN {
  split("and heartbeats from the Straße of streaming tokens one by one to a patient client", w, " ")
  printf "retry: 3000\n\n"
  for (i = 1; i <= n; i++) printf "event: add\nid: %d\ndata:  %s\n\n", i, w[1 + i % 15]
  printf "event: finish\ndata: {\"usage\":{\"completion_tokens\":%d}}\n\n", n
}' >"$NGINX_DIR/www/stream.txt"
cat >"$NGINX_DIR/nginx.conf" <<EOF
daemon off;
worker_processes 1;
pid $NGINX_DIR/nginx.pid;
error_log $NGINX_DIR/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  keepalive_requests 1000000;
  client_body_temp_path $NGINX_DIR/client_body;
  proxy_temp_path $NGINX_DIR/proxy;
  fastcgi_temp_path $NGINX_DIR/fastcgi;
  uwsgi_temp_path $NGINX_DIR/uwsgi;
  scgi_temp_path $NGINX_DIR/scgi;
  types { text/event-stream txt; }
  server {
    listen 127.0.0.1:$NGINX_PORT;
    root $NGINX_DIR/www;
  }
}
EOF
NGINX_BASE="http://127.0.0.1:$NGINX_PORT"
if curl -s -o /dev/null --max-time 1 "$NGINX_BASE/"; then
  die "something already listens on 127.0.0.1:$NGINX_PORT (set NGINX_PORT=...)"
fi
log "start nginx on 127.0.0.1:$NGINX_PORT"
"$NGINX" -c "$NGINX_DIR/nginx.conf" -p "$NGINX_DIR" >"$NGINX_DIR/stdout.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do
  curl -sf -o /dev/null --max-time 1 "$NGINX_BASE/stream.txt" && break
  sleep 0.1
done
curl -sf -o /dev/null --max-time 1 "$NGINX_BASE/stream.txt" || die "nginx did not come up (see $NGINX_DIR/error.log)"

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

TCK=$(getconf CLK_TCK)

# status PID KEY: a /proc/PID/status value in KiB (0 when gone).
status() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }

# supervise PID SECS SAMPLE_AT CPUFILE: waits for PID (killing it after
# SECS), appends "EPOCH_SECONDS CPU_TICKS" to CPUFILE every 0.1 s (utime +
# stime from /proc/PID/stat, read without forking), and sets RSS_AT (VmRSS
# at SAMPLE_AT seconds, KiB) and HWM (the last VmHWM seen, KiB).
supervise() {
  local pid=$1 limit=$2 at=$3 cpu=$4 start now line f v i=0
  RSS_AT=0 HWM=0
  : >"$cpu"
  start=${EPOCHREALTIME%.*}
  while kill -0 "$pid" 2>/dev/null; do
    now=$(( ${EPOCHREALTIME%.*} - start ))
    if read -r line 2>/dev/null <"/proc/$pid/stat"; then
      # comm (field 2) of these binaries holds no space: fields split.
      read -r -a f <<<"$line"
      echo "$EPOCHREALTIME $(( f[13] + f[14] ))" >>"$cpu"
    fi
    if [ $((i % 5)) -eq 0 ]; then
      v=$(status "$pid" VmHWM); [ -n "$v" ] && [ "$v" -gt 0 ] && HWM=$v
      if [ "$RSS_AT" -eq 0 ] && [ "$now" -ge "$at" ]; then
        RSS_AT=$(status "$pid" VmRSS)
      fi
    fi
    if [ "$now" -gt "$limit" ]; then
      kill "$pid" 2>/dev/null || true
      echo "bench-swarm: PID $pid outlived ${limit}s, killed" >&2
    fi
    i=$((i + 1))
    sleep 0.1
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

# cpu_between CPUFILE T0 T1: CPU seconds the process used between wall
# times T0 and T1 (epoch seconds), interpolating linearly between samples.
cpu_between() {
  awk -v t0="$2" -v t1="$3" -v tck="$TCK" '
    function at(t,   i) {
      if (t <= ts[1]) return cs[1]
      for (i = 2; i <= n; i++)
        if (ts[i] >= t) return cs[i-1] + (cs[i] - cs[i-1]) * (t - ts[i-1]) / (ts[i] - ts[i-1])
      return cs[n]
    }
    { n++; ts[n] = $1; cs[n] = $2 }
    END {
      if (n < 2 || ts[1] > t0 + 0.5 || ts[n] < t1 - 0.5) { print "NaN"; exit }
      printf "%.4f\n", (at(t1) - at(t0)) / tck
    }' "$1"
}

# stats V...: "min median max" of the values.
stats() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%s %s %s\n", v[1], m, v[NR] }'; }

# bare N SECS URL NAME: runs sse-bare; sets EVENTS, CPU (seconds over the
# window the events were counted in), RSS_AT, HWM.
bare() {
  local n=$1 secs=$2 url=$3 name=$4 t0 t1
  "$BIN/sse-bare" -url "$url" -n "$n" -d "${secs}s" >"$OUT/$name.json" 2>"$OUT/$name.err" &
  local pid=$!
  PIDS+=("$pid")
  supervise "$pid" $((secs + 60)) $((secs * 3 / 4)) "$OUT/$name.cpu"
  EVENTS=$(jq -r '.events' "$OUT/$name.json" 2>/dev/null) || die "sse-bare gave no result (see $OUT/$name.err)"
  t0=$(jq -r '.started_unix' "$OUT/$name.json")
  t1=$(jq -r '.started_unix + .seconds' "$OUT/$name.json")
  CPU=$(cpu_between "$OUT/$name.cpu" "$t0" "$t1")
}

# swarm N SECS URL NAME: runs `ssebench run`; sets the same as bare, and
# STARTED, FAILED.
swarm() {
  local n=$1 secs=$2 url=$3 name=$4 t0 t1
  "$BIN/ssebench" run "$SCEN" --target "$url" --connections "$n" --duration "${secs}s" \
    --quiet --out "$OUT/$name.json" >"$OUT/$name.txt" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  supervise "$pid" $((secs + 60)) $((secs * 3 / 4)) "$OUT/$name.cpu"
  EVENTS=$(jq -r '.counters.events' "$OUT/$name.json" 2>/dev/null) || die "the swarm gave no result (see $OUT/$name.txt)"
  STARTED=$(jq -r '.counters.streams_started' "$OUT/$name.json")
  FAILED=$(jq -r '.counters.streams_failed' "$OUT/$name.json")
  t0=$(date -d "$(jq -r '.started' "$OUT/$name.json")" +%s.%N)
  t1=$(awk -v a="$t0" -v d="$(jq -r '.duration_s' "$OUT/$name.json")" 'BEGIN { printf "%.6f", a + d }')
  CPU=$(cpu_between "$OUT/$name.cpu" "$t0" "$t1")
}

# per_cpu EVENTS CPU: events per CPU-second.
per_cpu() { awk -v e="$1" -v c="$2" 'BEGIN { if (c + 0 > 0) printf "%.0f", e / c; else print "NaN" }'; }
# per_event_us EVENTS CPU: CPU microseconds per event.
per_event_us() { awk -v e="$1" -v c="$2" 'BEGIN { if (e > 0 && c + 0 > 0) printf "%.2f", c * 1e6 / e; else print "NaN" }'; }

# pair WHAT N URL NAME MEASURE UNIT: round $r's run of sse-bare, then of
# the swarm, on N streams of URL for SAT_SECS (results in NAME-bare-$r and
# NAME-swarm-$r); sets B and S to MEASURE (per_cpu or per_event_us) of
# each, and Q to S / B.
pair() {
  local what=$1 n=$2 url=$3 name=$4 measure=$5 unit=$6
  log "round $r/$ROUNDS: $what, sse-bare, $n streams, ${SAT_SECS}s"
  bare "$n" "$SAT_SECS" "$url" "$name-bare-$r"
  B=$("$measure" "$EVENTS" "$CPU")
  echo "   sse-bare: $EVENTS events, $CPU CPU-s: $B $unit" >&2
  log "round $r/$ROUNDS: $what, ssebench run, $n streams, ${SAT_SECS}s"
  swarm "$n" "$SAT_SECS" "$url" "$name-swarm-$r"
  S=$("$measure" "$EVENTS" "$CPU")
  echo "   swarm:    $EVENTS events, $CPU CPU-s: $S $unit (failed $FAILED)" >&2
  Q=$(awk -v a="$S" -v b="$B" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }')
}
# per_stream A B N: (A - B) / (N - 1), one decimal.
per_stream() { awk -v a="$1" -v b="$2" -v n="$3" 'BEGIN { printf "%.1f", (a - b) / (n - 1) }'; }

sat_url="$BASE/v1/stream?ttft=0s&itl=0s&tokens=$SAT_TOKENS"
static_url="$NGINX_BASE/stream.txt"
idle_url="$BASE/v1/stream?ttft=0s&itl=$IDLE_ITL&tokens=100000"
paced_url="$BASE/v1/stream?ttft=0s&itl=$PACED_ITL&tokens=100000"

log "memory baseline: the swarm and sse-bare holding 1 stream, ${IDLE_SECS}s"
swarm 1 "$IDLE_SECS" "$idle_url" mem-swarm-1
[ "${STARTED:-0}" -ge 1 ] || die "the 1-stream run started no stream (see $OUT/mem-swarm-1.txt)"
swarm_rss1=$RSS_AT swarm_hwm1=$HWM
bare 1 "$IDLE_SECS" "$idle_url" mem-bare-1
bare_rss1=$RSS_AT bare_hwm1=$HWM

ratios=() swarm_epcs=() bare_epcs=() rss_per=() hwm_per=() loads=() failed=()
mratios=() mswarm_epcs=() mbare_epcs=()
pratios=() pswarm_us=() pbare_us=()
for r in $(seq 1 "$ROUNDS"); do
  loads+=("$(loadavg)")
  pair "saturation (nginx, client-bound)" "$SAT_STREAMS" "$static_url" sat per_cpu events/CPU-s
  bare_epcs+=("$B") swarm_epcs+=("$S") ratios+=("$Q")
  pair "the mock's pace" "$SAT_STREAMS" "$sat_url" mock per_cpu events/CPU-s
  mbare_epcs+=("$B") mswarm_epcs+=("$S") mratios+=("$Q")

  log "round $r/$ROUNDS: memory, the swarm holding $STREAMS streams, ${IDLE_SECS}s"
  swarm "$STREAMS" "$IDLE_SECS" "$idle_url" "mem-swarm-$r"
  [ "${STARTED:-0}" -ge "$STREAMS" ] || die "memory run $r started only ${STARTED:-0} of $STREAMS streams (see $OUT/mem-swarm-$r.txt)"
  rss_per+=("$(per_stream "$RSS_AT" "$swarm_rss1" "$STREAMS")")
  hwm_per+=("$(per_stream "$HWM" "$swarm_hwm1" "$STREAMS")")
  failed+=("$FAILED")
  echo "   VmRSS $RSS_AT KiB, VmHWM $HWM KiB, failed $FAILED" >&2

  pair "paced (one event per $PACED_ITL)" "$PACED_STREAMS" "$paced_url" paced per_event_us "us per event"
  pbare_us+=("$B") pswarm_us+=("$S") pratios+=("$Q")
done

log "context: sse-bare holding $STREAMS streams, ${IDLE_SECS}s"
bare "$STREAMS" "$IDLE_SECS" "$idle_url" mem-bare-n
bare_rss_per=$(per_stream "$RSS_AT" "$bare_rss1" "$STREAMS")
bare_hwm_per=$(per_stream "$HWM" "$bare_hwm1" "$STREAMS")

read -r bmin bmed bmax <<<"$(stats "${bare_epcs[@]}")"
read -r smin smed smax <<<"$(stats "${swarm_epcs[@]}")"
read -r qmin qmed qmax <<<"$(stats "${ratios[@]}")"
read -r mbmin mbmed mbmax <<<"$(stats "${mbare_epcs[@]}")"
read -r msmin msmed msmax <<<"$(stats "${mswarm_epcs[@]}")"
read -r mqmin mqmed mqmax <<<"$(stats "${mratios[@]}")"
read -r rmin rmed rmax <<<"$(stats "${rss_per[@]}")"
read -r hmin hmed hmax <<<"$(stats "${hwm_per[@]}")"
read -r pbmin pbmed pbmax <<<"$(stats "${pbare_us[@]}")"
read -r psmin psmed psmax <<<"$(stats "${pswarm_us[@]}")"
read -r pqmin pqmed pqmax <<<"$(stats "${pratios[@]}")"
cpu_ok=$(awk -v s="$smed" -v b="$bmed" 'BEGIN { print ((s >= b) ? "yes" : "NO") }')
mem_ok=$(awk -v x="$rmed" -v y="$hmed" -v m="$MAX_KIB" 'BEGIN { print ((x <= m && y <= m) ? "yes" : "NO") }')

{
  printf '\nssebench swarm benchmark (%s, %d CPUs, %d mock process(es), %d rounds)\n' "$(uname -sr)" "$(nproc)" "$MOCKS" "$ROUNDS"
  printf 'load at the start of each round: %s\n\n' "$(IFS=';'; echo "${loads[*]}")"
  printf '%-52s %28s %10s %4s\n' "measure (min / median / max over rounds)" "value" "target" "ok"
  printf '%-52s %28s %10s %4s\n' "events per CPU-second at saturation (nginx), sse-bare" "$bmin / $bmed / $bmax" "" ""
  printf '%-52s %28s %10s %4s\n' "events per CPU-second at saturation (nginx), swarm" "$smin / $smed / $smax" ">= bare" "$cpu_ok"
  printf '%-52s %28s %10s %4s\n' "swarm / sse-bare, within each round" "$qmin / $qmed / $qmax" "" ""
  printf '%-52s %28s %10s %4s\n' "events per CPU-second at the mock's pace, sse-bare" "$mbmin / $mbmed / $mbmax" "" ""
  printf '%-52s %28s %10s %4s\n' "events per CPU-second at the mock's pace, swarm" "$msmin / $msmed / $msmax" "" ""
  printf '%-52s %28s %10s %4s\n' "swarm / sse-bare at the mock's pace, each round" "$mqmin / $mqmed / $mqmax" "" ""
  printf '%-52s %28s %10s %4s\n' "RSS per stream, VmRSS delta ($STREAMS streams)" "$rmin / $rmed / $rmax KiB" "<= $MAX_KIB KiB" "$mem_ok"
  printf '%-52s %28s %10s %4s\n' "RSS per stream, VmHWM delta" "$hmin / $hmed / $hmax KiB" "<= $MAX_KIB KiB" "$mem_ok"
  printf '%-52s %28s %10s %4s\n' "failed streams in the $STREAMS-stream runs" "$(IFS=' '; echo "${failed[*]}")" "0" ""
  printf '%-52s %28s %10s %4s\n' "baseline RSS, 1 stream, swarm (VmRSS / VmHWM)" "$swarm_rss1 / $swarm_hwm1 KiB" "" ""
  printf '%-52s %28s %10s %4s\n' "sse-bare RSS per stream (VmRSS / VmHWM delta)" "$bare_rss_per / $bare_hwm_per KiB" "" ""
  printf '%-52s %28s %10s %4s\n' "CPU per event, $PACED_STREAMS streams at $PACED_ITL, sse-bare" "$pbmin / $pbmed / $pbmax us" "" ""
  printf '%-52s %28s %10s %4s\n' "CPU per event, $PACED_STREAMS streams at $PACED_ITL, swarm" "$psmin / $psmed / $psmax us" "" ""
  printf '%-52s %28s %10s %4s\n' "swarm / sse-bare paced, each round" "$pqmin / $pqmed / $pqmax" "" ""
  printf '\nraw results in %s\n' "$OUT"
} | tee "$OUT/summary.txt"

[ "$cpu_ok" = yes ] && [ "$mem_ok" = yes ]
