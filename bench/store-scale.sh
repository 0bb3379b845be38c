#!/usr/bin/env bash
# bench/store-scale.sh [ROWS] [SECONDS]: enrollment against a large issued-certificate store.
#
# Runs the same enrollments twice on 127.0.0.1: on a fresh store, then after LedgerFill has bulk-
# loaded ROWS (default 10,000,000) issued-certificate records into it (a loader, not that many
# enrollments; about 1.1 KB a row on disk). Each time: token simpleenroll on new connections and
# simplereenroll on kept-alive connections, at concurrency 8, for SECONDS (default 10).
# Writes bench/results/<date>-store-scale-java<N>.json and .md. Env as for bench/run.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${1:-10000000}
SECONDS_EACH=${2:-10}
. bench/lib.sh

server_init
files=()
measure() { # TAG
  server_start
  echo "est-server on $URL with $1 filled rows" >&2
  load "token-enroll-$1-rows" 8 "$SECONDS_EACH" --op simpleenroll --new-connection-per-request \
    --tokens "$(tokens "enroll-$1" $(((SECONDS_EACH + CLIENT_WARMUP) * 400)))"
  load "reenroll-keep-alive-$1-rows" 8 "$SECONDS_EACH" --op simplereenroll --tokens "$(tokens "keepalive-$1" 8)"
  files+=("$WORK/results/token-enroll-$1-rows-c8.json" "$WORK/results/reenroll-keep-alive-$1-rows-c8.json")
  kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=
}
measure 0
"$JAVA" -cp "$BENCH_JAR" org.estfleet.bench.store.LedgerFill "$WORK/server/estfleet.db" "$ROWS" "$WORK/server/ca/issuing.pem"
measure "$ROWS"
report "$(date -u +%Y-%m-%d)-store-scale-java$JAVA_MAJOR$GROUPS_NAME$SERVER_GROUPS_NAME" "$SECONDS_EACH s per row, concurrency 8, store empty then $ROWS rows" "${files[@]}"
du -h "$WORK/server/estfleet.db" >&2
