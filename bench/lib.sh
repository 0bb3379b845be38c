# bench/lib.sh: what bench/run.sh and bench/store-scale.sh share. Sourced, not run.
# Expects JAVA (default java); honours SKIP_BUILD=1, SERVER_TLS, SERVER_GROUPS, CLIENT_TLS and CLIENT_GROUPS
# (see run.sh).

JAVA=${JAVA:-java}
SERVER_JAR=est-server/target/est-server.jar
LOAD_JAR=bench/target/est-load.jar
BENCH_JAR=bench/target/benchmarks.jar
CLIENT_TLS=${CLIENT_TLS:-BCJSSE}
CLIENT_GROUPS=${CLIENT_GROUPS:-}
# est-load's TLS options, and GROUPS_NAME, the part of a result file's name that says the groups
# ("-groups-x25519+secp256r1" for x25519,secp256r1; empty for est-load's default).
CLIENT_OPTIONS=(--tls-provider "$CLIENT_TLS")
GROUPS_NAME=
if [ -n "$CLIENT_GROUPS" ]; then
  CLIENT_OPTIONS+=(--groups "$CLIENT_GROUPS")
  GROUPS_NAME=$(printf '%s' "$CLIENT_GROUPS" | tr -d ' ' | tr ',' '+' | tr '[:upper:]' '[:lower:]')
  GROUPS_NAME="-groups-$GROUPS_NAME"
fi
# SERVER_GROUPS_NAME likewise for the server's tls.namedGroups ("-server-groups-x25519+secp256r1").
SERVER_GROUPS=${SERVER_GROUPS:-}
SERVER_GROUPS_NAME=
if [ -n "$SERVER_GROUPS" ]; then
  SERVER_GROUPS_NAME=$(printf '%s' "$SERVER_GROUPS" | tr -d ' ' | tr ',' '+' | tr '[:upper:]' '[:lower:]')
  SERVER_GROUPS_NAME="-server-groups-$SERVER_GROUPS_NAME"
fi
CLIENT_WARMUP=${CLIENT_WARMUP:-60}

if [ "${SKIP_BUILD:-}" != 1 ]; then
  mvn -q -B -DskipTests package -pl bench -am
fi
JAVA_MAJOR=$("$JAVA" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')
WORK=$(mktemp -d /tmp/estfleet-bench.XXXXXX)
mkdir -p "$WORK/results"
SERVER_PID=
# (A server gone already is no failure: the run's exit status stays the one it stopped with.)
cleanup() { [ -z "$SERVER_PID" ] || kill "$SERVER_PID" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

# server_init: a fresh data directory $WORK/server, its per-identity and per-address enrollment
# limits opened (a load test is one address enrolling the same identities again and again), and
# tls.provider set to SERVER_TLS and tls.namedGroups to SERVER_GROUPS if given. Sets SERVER_TLS_USED.
server_init() {
  "$JAVA" -jar "$SERVER_JAR" init --data "$WORK/server" >/dev/null
  sed -i -e 's/"enrollmentsPerSourcePerMinute": [0-9]*/"enrollmentsPerSourcePerMinute": 1000000000/' \
         -e 's/"enrollmentsPerIdentityPerHour": [0-9]*/"enrollmentsPerIdentityPerHour": 1000000000/' \
         "$WORK/server/server.json"
  if [ -n "${SERVER_TLS:-}" ]; then
    sed -i -e "s/\"provider\": \"[A-Za-z]*\"/\"provider\": \"$SERVER_TLS\"/" "$WORK/server/server.json"
  fi
  SERVER_TLS_USED=$(sed -n 's/.*"provider": "\([A-Za-z]*\)".*/\1/p' "$WORK/server/server.json")
  server_groups "$WORK/server/server.json"
}

# server_groups FILE: tls.namedGroups of the server.json FILE (as init writes it: tls.provider
# last in tls) set to SERVER_GROUPS, if given; est-server judges the list when it starts.
server_groups() {
  [ -n "$SERVER_GROUPS" ] || return 0
  local list; list=$(printf '%s' "$SERVER_GROUPS" | tr -d ' ' | sed 's/,/", "/g')
  sed -i -e "s/\"provider\": \"\([A-Za-z]*\)\"\$/\"provider\": \"\1\", \"namedGroups\": [\"$list\"]/" "$1"
  grep -q '"namedGroups"' "$1" || { echo "SERVER_GROUPS: no tls.provider line to add it after in $1" >&2; exit 2; }
}

# started OUT PID WHAT: waits for the est-server of process PID to say on OUT that it listens;
# if it exits or does not within a minute, prints its log and stops the run (exit 2 when the
# server's was 2: a bad setting, SERVER_GROUPS say).
started() {
  local out=$1 pid=$2 what=$3 rc=1
  for _ in $(seq 1 1200); do
    grep -q '^listening on ' "$out" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  grep -q '^listening on ' "$out" && return 0
  echo "$what did not start:" >&2
  cat "${out%.out}.log" >&2
  if ! kill -0 "$pid" 2>/dev/null; then wait "$pid" || rc=$?; fi
  [ "$rc" = 2 ] && exit 2
  exit 1
}

# server_start [JVM OPTIONS...]: serves $WORK/server on a free port of 127.0.0.1, its JVM given
# the options. Sets URL, TRUST and STARTED_MS (milliseconds from launch to listening).
server_start() {
  local launched; launched=$(date +%s%N)
  "$JAVA" "$@" -jar "$SERVER_JAR" serve --data "$WORK/server" --port 0 >"$WORK/server.out" 2>"$WORK/server.log" &
  SERVER_PID=$!
  started "$WORK/server.out" "$SERVER_PID" est-server
  STARTED_MS=$(( ($(date +%s%N) - launched) / 1000000 ))
  URL="https://127.0.0.1:$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$WORK/server.out")"
  TRUST="$WORK/server/ca/root.pem"
}

# server_stop: stops the server (SIGTERM, its orderly shutdown) and waits for its JVM to exit.
server_stop() {
  kill -TERM "$SERVER_PID"
  wait "$SERVER_PID" || true
  SERVER_PID=
}

# tokens NAME COUNT: a file of COUNT tokens for devices NAME-1..NAME-COUNT; prints its path.
tokens() {
  "$JAVA" -jar "$SERVER_JAR" token --data "$WORK/server" --device "$1" --count "$2" 2>/dev/null >"$WORK/$1.tokens"
  echo "$WORK/$1.tokens"
}

# load NAME CONCURRENCY SECONDS OPTIONS...: one est-load run, its result in $WORK/results/NAME-cCONCURRENCY.json.
load() {
  local name=$1 concurrency=$2 seconds=$3; shift 3
  "$JAVA" -jar "$LOAD_JAR" --url "$URL" --trust "$TRUST" --concurrency "$concurrency" --duration "${seconds}s" \
    --warmup "${CLIENT_WARMUP}s" "${CLIENT_OPTIONS[@]}" --quiet \
    --json "$WORK/results/$name-c$concurrency.json" "$@" >&2 && return 0
  local rc=$?
  if [ "$rc" = 2 ]; then # bad usage (CLIENT_GROUPS, say): every row would fail the same way
    echo "est-load refused its options (above); stopping" >&2
    exit 2
  fi
  echo "($name at concurrency $concurrency: no request succeeded)" >&2
}

# report STAMP TITLE FILES...: bench/results/STAMP.json and .md from est-load results.
report() {
  local stamp=$1 title=$2; shift 2
  mkdir -p bench/results
  "$JAVA" -cp "$LOAD_JAR" org.estfleet.bench.load.Report "bench/results/$stamp.json" "bench/results/$stamp.md" \
    "est-server $(git rev-parse --short HEAD 2>/dev/null || echo '?') on Java $JAVA_MAJOR (server TLS $SERVER_TLS_USED${SERVER_GROUPS:+ accepting key exchange groups $SERVER_GROUPS}, est-load TLS $CLIENT_TLS${CLIENT_GROUPS:+, key exchange groups $CLIENT_GROUPS}), $(nproc) cores ($(sed -n 's/^model name\t: //p' /proc/cpuinfo | head -1)), load generator on the same machine; $title" \
    "$@"
  echo "written: bench/results/$stamp.json, bench/results/$stamp.md" >&2
}
