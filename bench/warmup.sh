#!/usr/bin/env bash
# bench/warmup.sh [WINDOWS]: est-server's first minute after a start, with and without a Java
# ahead-of-time cache (JEPs 483, 514, 515: classes loaded and linked, and method profiles, from a
# training run). Needs Java 25 or later: JAVA=/usr/lib/jvm/temurin-25-jdk-amd64/bin/java.
#
# Builds (unless SKIP_BUILD=1) and initialises a fresh data directory, then makes the cache with a
# training run: est-server under -XX:AOTCacheOutput with TRAIN seconds (default 20) of each of the
# four kinds of request of bench/run.sh, stopped with SIGTERM (the JVM writes the cache as it
# exits). Then RUNS times (default 2) each, alternating: the server started without the cache and
# with it (-XX:AOTCache), the time from launch to listening, and WINDOWS (default 6) est-load runs
# of 10 s, one after the other, of kept-alive re-enrollment at concurrency 8, each a new est-load
# JVM with new identities (the same in both arms). Writes bench/results/<date>-java<N>-warmup.md.
set -euo pipefail
cd "$(dirname "$0")/.."
WINDOWS=${1:-6}
RUNS=${RUNS:-2}
TRAIN=${TRAIN:-20}
. bench/lib.sh
if [ "$JAVA_MAJOR" -lt 25 ] 2>/dev/null || ! [[ "$JAVA_MAJOR" =~ ^[0-9]+$ ]]; then
  echo "bench/warmup.sh: needs Java 25 or later for -XX:AOTCacheOutput (JAVA is Java $JAVA_MAJOR)" >&2
  exit 2
fi
server_init
CACHE="$WORK/est-server.aot"

server_start -XX:AOTCacheOutput="$CACHE"
train() { "$JAVA" -jar "$LOAD_JAR" --url "$URL" --trust "$TRUST" --concurrency 8 --duration "${TRAIN}s" --quiet "$@" >/dev/null; }
train --op cacerts --new-connection-per-request
train --op simpleenroll --new-connection-per-request --tokens "$(tokens train-enroll $((TRAIN * 400)))"
train --op simplereenroll --new-connection-per-request --identities 64 --tokens "$(tokens train-reenroll 64)"
train --op simplereenroll --tokens "$(tokens train-keepalive 8)"
server_stop
[ -s "$CACHE" ] || { echo "bench/warmup.sh: the training run wrote no cache:" >&2; tail -5 "$WORK/server.log" >&2; exit 1; }
echo "AOT cache: $(du -h "$CACHE" | cut -f1)" >&2

header="| server | run | launch to listening, ms |"
rule="|---|---:|---:|"
for w in $(seq 1 "$WINDOWS"); do header+=" s $(( (w - 1) * 10 ))-$(( w * 10 )), ok/s |"; rule+="---:|"; done
rows=()
for run in $(seq 1 "$RUNS"); do
  for arm in plain aot; do
    if [ "$arm" = aot ]; then server_start -XX:AOTCache="$CACHE"; else server_start; fi
    row="| $([ "$arm" = aot ] && echo "with the AOT cache" || echo "without") | $run | $STARTED_MS |"
    for w in $(seq 1 "$WINDOWS"); do
      result="$WORK/$arm-$run-$w.json"
      "$JAVA" -jar "$LOAD_JAR" --url "$URL" --trust "$TRUST" --concurrency 8 --duration 10s --quiet \
        --op simplereenroll --tokens "$(tokens "$arm-$run-$w" 8)" --json "$result" >/dev/null || true
      row+=" $(sed -n 's/.*"throughput": *\([0-9.]*\).*/\1/p' "$result" 2>/dev/null | head -1) |"
    done
    server_stop
    rows+=("$row")
    echo "$row" >&2
  done
done

out="bench/results/$(date -u +%Y-%m-%d)-java$JAVA_MAJOR-warmup.md"
mkdir -p bench/results
{
  echo "est-server $(git rev-parse --short HEAD 2>/dev/null || echo '?') on Java $JAVA_MAJOR, $(nproc) cores, load generator on the same machine:"
  echo "the first $((WINDOWS * 10)) s after a start, kept-alive re-enrollment at concurrency 8, without and with an AOT cache ($(du -h "$CACHE" | cut -f1)) from a training run of 4 x ${TRAIN} s."
  echo
  echo "$header"
  echo "$rule"
  printf '%s\n' "${rows[@]}"
} >"$out"
cat "$out"
echo "written: $out" >&2
