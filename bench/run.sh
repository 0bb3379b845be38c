#!/usr/bin/env bash
# bench/run.sh [SECONDS]: the standard benchmark of est-server, on 127.0.0.1.
#
# Builds (unless SKIP_BUILD=1), starts est-server on a fresh data directory with its limits opened
# for load (no per-identity or per-address enrollment limits), makes tokens, and runs est-load:
#   cacerts, token simpleenroll, mTLS simplereenroll (each on a new TLS connection per request,
#   a full handshake each time; the mTLS one with REENROLL_IDENTITIES client certificates, default
#   1024, presented in turn) and simplereenroll on kept-alive connections,
# each at the concurrencies in CONCURRENCY (default "1 8 32") for SECONDS (default 10) each,
# after WARMUP seconds (default 15) of unrecorded load of each of the four kinds, and each row
# after CLIENT_WARMUP seconds (default 60) of its own: each est-load run is a new JVM, whose JIT
# compilers keep a core busy for its first minute or more (docs/BENCHMARKS.md, "Warm-up"), so a
# row measured sooner measures the load generator's compiler. Then the token, mTLS and kept-alive
# scenarios run once more in an open loop (est-load --rate) at half the best rate their rows
# reached, from 32 workers: the latency at half load (HALF=0 skips these rows). OVERLOAD=4 adds
# the token and kept-alive scenarios in an open loop at 4 times the best rate their rows reached,
# from 256 workers: offered load beyond capacity, and beyond limits.maxConcurrentRequests (64).
# About 25 minutes in all with OVERLOAD=4. Writes
# bench/results/<date>-java<N>-server-<TLS>-client-<TLS>[-groups-<LIST>][-server-groups-<LIST>].json
# and .md (the table) and
# prints the table.
#   JAVA=/usr/lib/jvm/temurin-25-jdk-amd64/bin/java bench/run.sh   the same on another runtime
#   (server and load generator both; they share the machine's cores).
#   SERVER_TLS=SunJSSE|BCJSSE (default: the server's default, BCJSSE) sets the server's tls.provider;
#   CLIENT_TLS=SunJSSE|BCJSSE (default BCJSSE, the cheaper on a shared machine) est-load's;
#   CLIENT_GROUPS=LIST est-load's key exchange groups (its --groups, e.g. x25519; default its
#   provider's: BCJSSE offers the hybrid X25519MLKEM768 first), named in the result files' names
#   (-groups-x25519+secp256r1 for x25519,secp256r1).
#   SERVER_GROUPS=LIST the server's tls.namedGroups (e.g. x25519,secp256r1: no hybrid key
#   exchange, whatever est-load offers; default the provider's), named -server-groups-LIST.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-10}
CONCURRENCY=${CONCURRENCY:-"1 8 32"}
OVERLOAD=${OVERLOAD:-}
HALF=${HALF:-1}
. bench/lib.sh

server_init
server_start
echo "est-server on $URL (Java $JAVA_MAJOR); $SECONDS_EACH s per scenario and concurrency" >&2

# Enough tokens for a token scenario that runs at up to TOKEN_RATE enrollments a second.
TOKEN_RATE=${TOKEN_RATE:-1000}
# Warm-up, not recorded: the JIT compiles the server's TLS, crypto and enrollment paths; each
# est-load run warms its own for CLIENT_WARMUP seconds before it measures.
WARMUP=${WARMUP:-15}
if [ "$WARMUP" != 0 ]; then
  warm() {
    "$JAVA" -jar "$LOAD_JAR" --url "$URL" --trust "$TRUST" --concurrency 8 --duration "${WARMUP}s" \
      "${CLIENT_OPTIONS[@]}" --quiet "$@" >/dev/null
  }
  warm --op cacerts --new-connection-per-request
  warm --op simpleenroll --new-connection-per-request --tokens "$(tokens warmup-enroll $((WARMUP * TOKEN_RATE)))"
  warm --op simplereenroll --new-connection-per-request --tokens "$(tokens warmup-reenroll 8)"
  warm --op simplereenroll --tokens "$(tokens warmup-keepalive 8)"
fi
files=()
for c in $CONCURRENCY; do
  load cacerts "$c" "$SECONDS_EACH" --op cacerts --new-connection-per-request
  files+=("$WORK/results/cacerts-c$c.json")
done
# peak NAME: the best throughput of the rows of scenario NAME so far (empty if none succeeded).
peak() { cat "$WORK"/results/"$1"-c*.json 2>/dev/null | sed -n 's/.*"throughput": *\([0-9.]*\).*/\1/p' | sort -g | tail -1 || true; }
# half NAME OPTIONS...: scenario NAME in an open loop at half its peak, from 32 workers (below
# limits.maxConnections, 64, at which the server starts closing idle connections).
half() {
  local name=$1; shift
  [ "$HALF" = 1 ] || return 0
  local best; best=$(peak "$name")
  if ! awk "BEGIN { exit !(${best:-0} > 0) }"; then
    echo "($name: no row succeeded, so no half-load row)" >&2
    return 0
  fi
  load "$name-half-peak" 32 "$SECONDS_EACH" --rate "$(awk "BEGIN { print $best / 2 }")" "$@"
  [ ! -f "$WORK/results/$name-half-peak-c32.json" ] || files+=("$WORK/results/$name-half-peak-c32.json")
}
for c in $CONCURRENCY; do
  load token-enroll "$c" "$SECONDS_EACH" --op simpleenroll --new-connection-per-request \
    --tokens "$(tokens "enroll-c$c" $(((SECONDS_EACH + CLIENT_WARMUP) * TOKEN_RATE)))"
  files+=("$WORK/results/token-enroll-c$c.json")
done
half token-enroll --op simpleenroll --new-connection-per-request \
  --tokens "$(tokens enroll-half $(((SECONDS_EACH + CLIENT_WARMUP) * TOKEN_RATE)))"
if [ -n "$OVERLOAD" ]; then
  rate=$(awk "BEGIN { print $(peak token-enroll) * $OVERLOAD }")
  load "token-enroll-${OVERLOAD}x-peak" 256 "$SECONDS_EACH" --op simpleenroll --new-connection-per-request \
    --rate "$rate" --tokens "$(tokens enroll-overload "$(awk "BEGIN { print int(($SECONDS_EACH + $CLIENT_WARMUP) * $rate) + 1 }")")"
  files+=("$WORK/results/token-enroll-${OVERLOAD}x-peak-c256.json")
fi
# mTLS re-enrollment on new connections presents REENROLL_IDENTITIES client certificates in turn,
# more than the JDK's certificate factory keeps (750): the server validates a certificate it has
# not seen lately at each request, as it does when a fleet renews.
IDS=${REENROLL_IDENTITIES:-1024}
for c in $CONCURRENCY; do
  load reenroll-new-connection "$c" "$SECONDS_EACH" --op simplereenroll --new-connection-per-request \
    --identities "$IDS" --tokens "$(tokens "reenroll-c$c" "$IDS")"
  files+=("$WORK/results/reenroll-new-connection-c$c.json")
done
half reenroll-new-connection --op simplereenroll --new-connection-per-request --identities "$IDS" \
  --tokens "$(tokens reenroll-half "$IDS")"
for c in $CONCURRENCY; do
  load reenroll-keep-alive "$c" "$SECONDS_EACH" --op simplereenroll --tokens "$(tokens "keepalive-c$c" "$c")"
  files+=("$WORK/results/reenroll-keep-alive-c$c.json")
done
half reenroll-keep-alive --op simplereenroll --identities 32 --tokens "$(tokens keepalive-half 32)"
if [ -n "$OVERLOAD" ]; then
  rate=$(awk "BEGIN { print $(peak reenroll-keep-alive) * $OVERLOAD }")
  load "reenroll-keep-alive-${OVERLOAD}x-peak" 256 "$SECONDS_EACH" --op simplereenroll --rate "$rate" \
    --identities 32 --tokens "$(tokens keepalive-overload 32)"
  files+=("$WORK/results/reenroll-keep-alive-${OVERLOAD}x-peak-c256.json")
fi

report "$(date -u +%Y-%m-%d)-java$JAVA_MAJOR-server-$SERVER_TLS_USED-client-$CLIENT_TLS$GROUPS_NAME$SERVER_GROUPS_NAME" \
  "$SECONDS_EACH s per row, each after $CLIENT_WARMUP s of warm-up of its est-load process" "${files[@]}"
