#!/usr/bin/env bash
# bench/run.sh [SECONDS]: the standard benchmark of est-server, on 127.0.0.1.
#
# Builds (unless SKIP_BUILD=1), starts est-server on a fresh data directory with its limits opened
# for load (no per-identity or per-address enrollment limits), makes tokens, and runs est-load:
#   cacerts, token simpleenroll, mTLS simplereenroll (each on a new TLS connection per request,
#   a full handshake each time) and simplereenroll on kept-alive connections,
# each at the concurrencies in CONCURRENCY (default "1 8 32") for SECONDS (default 10) each,
# after WARMUP seconds (default 5) of unrecorded load.
# Writes bench/results/<date>-java<N>.json and .md (the table) and prints the table.
#   JAVA=/usr/lib/jvm/temurin-25-jdk-amd64/bin/java bench/run.sh   the same on another runtime
#   (server and load generator both; they share the machine's cores).
#   SERVER_TLS=SunJSSE|BCJSSE (default: the server's default, BCJSSE) sets the server's tls.provider;
#   CLIENT_TLS=SunJSSE|BCJSSE (default SunJSSE) est-load's.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-10}
JAVA=${JAVA:-java}
CONCURRENCY=${CONCURRENCY:-"1 8 32"}
SERVER_JAR=est-server/target/est-server.jar
LOAD_JAR=bench/target/est-load.jar

if [ "${SKIP_BUILD:-}" != 1 ]; then
  mvn -q -B -DskipTests package -pl bench -am
fi
JAVA_MAJOR=$("$JAVA" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')
WORK=$(mktemp -d /tmp/estfleet-bench.XXXXXX)
SERVER_PID=
cleanup() { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

"$JAVA" -jar "$SERVER_JAR" init --data "$WORK/server" >/dev/null
# Load from one address, the same identities again and again: open the limits meant for the field.
sed -i -e 's/"enrollmentsPerSourcePerMinute": [0-9]*/"enrollmentsPerSourcePerMinute": 1000000000/' \
       -e 's/"enrollmentsPerIdentityPerHour": [0-9]*/"enrollmentsPerIdentityPerHour": 1000000000/' \
       "$WORK/server/server.json"
if [ -n "${SERVER_TLS:-}" ]; then
  sed -i -e "s/\"provider\": \"[A-Za-z]*\"/\"provider\": \"$SERVER_TLS\"/" "$WORK/server/server.json"
fi
CLIENT_TLS=${CLIENT_TLS:-SunJSSE}
SERVER_TLS_USED=$(sed -n 's/.*"provider": "\([A-Za-z]*\)".*/\1/p' "$WORK/server/server.json")
"$JAVA" -jar "$SERVER_JAR" serve --data "$WORK/server" --port 0 >"$WORK/server.out" 2>"$WORK/server.log" &
SERVER_PID=$!
for _ in $(seq 1 150); do grep -q '^listening on ' "$WORK/server.out" 2>/dev/null && break; sleep 0.2; done
grep -q '^listening on ' "$WORK/server.out" || { echo "est-server did not start:" >&2; cat "$WORK/server.log" >&2; exit 1; }
PORT=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$WORK/server.out")
URL="https://127.0.0.1:$PORT"
TRUST="$WORK/server/ca/root.pem"
echo "est-server on $URL (Java $JAVA_MAJOR); $SECONDS_EACH s per scenario and concurrency" >&2

tokens() { # NAME COUNT: a file of COUNT tokens for devices NAME-1..NAME-COUNT
  "$JAVA" -jar "$SERVER_JAR" token --data "$WORK/server" --device "$1" --count "$2" 2>/dev/null >"$WORK/$1.tokens"
  echo "$WORK/$1.tokens"
}
mkdir -p "$WORK/results"
run() { # NAME CONCURRENCY OPTIONS...
  local name=$1 concurrency=$2; shift 2
  "$JAVA" -jar "$LOAD_JAR" --url "$URL" --trust "$TRUST" --concurrency "$concurrency" --duration "${SECONDS_EACH}s" \
    --warmup "${CLIENT_WARMUP}s" --tls-provider "$CLIENT_TLS" --quiet --json "$WORK/results/$name-c$concurrency.json" "$@" >&2 || echo "($name at concurrency $concurrency: no request succeeded)" >&2
}
# Warm-up, not recorded: the JIT compiles the server's TLS, crypto and enrollment paths; each
# est-load run warms its own for CLIENT_WARMUP seconds before it measures.
WARMUP=${WARMUP:-5}
CLIENT_WARMUP=${CLIENT_WARMUP:-3}
if [ "$WARMUP" != 0 ]; then
  "$JAVA" -jar "$LOAD_JAR" --url "$URL" --trust "$TRUST" --concurrency 8 --duration "${WARMUP}s" --quiet \
    --op cacerts --new-connection-per-request >/dev/null
  "$JAVA" -jar "$LOAD_JAR" --url "$URL" --trust "$TRUST" --concurrency 8 --duration "${WARMUP}s" --quiet \
    --op simplereenroll --tokens "$(tokens warmup 8)" >/dev/null
fi
# Enough tokens for a token scenario that runs at up to TOKEN_RATE enrollments a second.
TOKEN_RATE=${TOKEN_RATE:-400}
files=()
for c in $CONCURRENCY; do
  run cacerts "$c" --op cacerts --new-connection-per-request; files+=("$WORK/results/cacerts-c$c.json")
done
for c in $CONCURRENCY; do
  run token-enroll "$c" --op simpleenroll --new-connection-per-request \
    --tokens "$(tokens "enroll-c$c" $(((SECONDS_EACH + CLIENT_WARMUP) * TOKEN_RATE)))"
  files+=("$WORK/results/token-enroll-c$c.json")
done
for c in $CONCURRENCY; do
  run reenroll-new-connection "$c" --op simplereenroll --new-connection-per-request \
    --tokens "$(tokens "reenroll-c$c" "$c")"
  files+=("$WORK/results/reenroll-new-connection-c$c.json")
done
for c in $CONCURRENCY; do
  run reenroll-keep-alive "$c" --op simplereenroll --tokens "$(tokens "keepalive-c$c" "$c")"
  files+=("$WORK/results/reenroll-keep-alive-c$c.json")
done

mkdir -p bench/results
stamp="$(date -u +%Y-%m-%d)-java$JAVA_MAJOR-server-$SERVER_TLS_USED-client-$CLIENT_TLS"
"$JAVA" -cp "$LOAD_JAR" org.estfleet.bench.load.Report "bench/results/$stamp.json" "bench/results/$stamp.md" \
  "est-server $(git rev-parse --short HEAD 2>/dev/null || echo '?') on Java $JAVA_MAJOR (server TLS $SERVER_TLS_USED, est-load TLS $CLIENT_TLS), $(nproc) cores ($(sed -n 's/^model name\t: //p' /proc/cpuinfo | head -1)), load generator on the same machine, $SECONDS_EACH s per row" \
  "${files[@]}"
echo "written: bench/results/$stamp.json, bench/results/$stamp.md" >&2
