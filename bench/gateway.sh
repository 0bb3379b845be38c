#!/usr/bin/env bash
# bench/gateway.sh [SECONDS]: token enrollment through a gateway, against the same directly at its CA.
#
# Builds (unless SKIP_BUILD=1), starts a CA and a gateway in front of it on 127.0.0.1, each on a
# fresh data directory with the per-identity and per-address enrollment limits opened, and runs
# est-load's token simpleenroll at concurrency 8 on kept-alive connections to the endpoint, for
# SECONDS (default 15) after WARMUP s (default 10) of warm-up: at the CA, then through the
# gateway, twice each. The gateway's JVM compiles for a minute or more under this load on 2 cores
# (it idles while the CA's rows run): WARMUP=60 measures both warm.
# The gateway stores each request and forwards it to the CA before it answers (README "Gateway").
# Writes bench/results/<date>-java<N>-gateway.md. JAVA as for bench/run.sh; GATEWAY_JAVA_OPTS
# (e.g. -XX:StartFlightRecording=filename=gateway.jfr,settings=profile) go to the gateway's JVM.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-15}
WARMUP=${WARMUP:-10}
. bench/lib.sh

server_init
server_start
CA_URL=$URL
GATEWAY="$WORK/gateway"
token=$("$JAVA" -jar "$SERVER_JAR" token --data "$WORK/server" --device gateway-1 --gateway 2>/dev/null)
"$JAVA" -jar "$SERVER_JAR" init --data "$GATEWAY" --gateway --upstream "$CA_URL" \
  --upstream-trust "$WORK/server/ca/root.pem" --token "gateway-1:$token" >/dev/null
sed -i -e 's/"enrollmentsPerSourcePerMinute": [0-9]*/"enrollmentsPerSourcePerMinute": 1000000000/' \
       -e 's/"enrollmentsPerIdentityPerHour": [0-9]*/"enrollmentsPerIdentityPerHour": 1000000000/' \
       "$GATEWAY/server.json"
server_groups "$GATEWAY/server.json"
"$JAVA" ${GATEWAY_JAVA_OPTS:-} -jar "$SERVER_JAR" serve --data "$GATEWAY" --port 0 >"$WORK/gateway.out" 2>"$WORK/gateway.log" &
GATEWAY_PID=$!
trap 'kill "$GATEWAY_PID" 2>/dev/null || true; cleanup' EXIT
started "$WORK/gateway.out" "$GATEWAY_PID" "the gateway"
GATEWAY_URL="https://127.0.0.1:$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$WORK/gateway.out")"
echo "CA on $CA_URL, gateway on $GATEWAY_URL (Java $JAVA_MAJOR)" >&2

files=()
for run in 1 2; do
  for endpoint in ca gateway; do
    URL=$([ "$endpoint" = ca ] && echo "$CA_URL" || echo "$GATEWAY_URL")
    CLIENT_WARMUP=$WARMUP load "token-enroll-keep-alive-$endpoint-$run" 8 "$SECONDS_EACH" --op simpleenroll \
      --tokens "$(tokens "$endpoint-$run" $(((SECONDS_EACH + WARMUP) * 4000)))"
    files+=("$WORK/results/token-enroll-keep-alive-$endpoint-$run-c8.json")
  done
done
report "$(date -u +%Y-%m-%d)-java$JAVA_MAJOR-gateway$GROUPS_NAME$SERVER_GROUPS_NAME" \
  "$SECONDS_EACH s per row after $WARMUP s of warm-up, token simpleenroll on kept-alive connections at concurrency 8, directly at the CA and through a gateway in front of it" \
  "${files[@]}"
