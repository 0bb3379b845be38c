#!/usr/bin/env bash
# EST Fleet demo: build, start an est-server with a fresh development CA and its embedded
# database, enroll a device with the renewal agent, and watch the agent renew it.
#   ./demo.sh            build, run the demo, keep server and agent running until Ctrl-C
#   ./demo.sh --once     the same, stopping both after the first renewal (used by the tests)
# Environment: PORT (default 8443; 0 picks a free port), DEMO_DIR (default ./demo),
#              SKIP_BUILD=1 to reuse the jars already in */target.
# Device certificates live 30 seconds here, so that renewals happen while you watch
# (the default of est-server init is 30 days).
set -euo pipefail
cd "$(dirname "$0")"
ONCE=false
[ "${1:-}" = "--once" ] && ONCE=true
PORT=${PORT:-8443}
DEMO_DIR=${DEMO_DIR:-demo}
SERVER_JAR=est-server/target/est-server.jar
AGENT_JAR=renewal-agent/target/renewal-agent.jar
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
wait_for() { # FILE PATTERN SECONDS PID: wait until FILE has a line matching PATTERN
  for _ in $(seq 1 $(($3 * 5))); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    kill -0 "$4" 2>/dev/null || { echo "process $4 exited; its log:" >&2; cat "$1" >&2; return 1; }
    sleep 0.2
  done
  echo "timed out waiting for '$2' in $1" >&2
  return 1
}

if [ "${SKIP_BUILD:-}" != 1 ]; then
  step "Building (mvn package, tests skipped: the test suite is 'mvn verify')"
  mvn -q -B -DskipTests package
fi

step "Server: a data directory with a development CA ($DEMO_DIR/server)"
mkdir -p "$DEMO_DIR"
rm -rf "$DEMO_DIR/device-1"
java -jar "$SERVER_JAR" init --data "$DEMO_DIR/server" --force --lifetime 30s 2>/dev/null

step "Server: starting"
java -jar "$SERVER_JAR" serve --data "$DEMO_DIR/server" --port "$PORT" >"$DEMO_DIR/server.out" 2>"$DEMO_DIR/server.log" &
SERVER_PID=$!
AGENT_PID=
trap 'kill $AGENT_PID $SERVER_PID 2>/dev/null || true' EXIT
wait_for "$DEMO_DIR/server.out" '^listening on ' 30 $SERVER_PID
PORT=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$DEMO_DIR/server.out")
echo "listening on https://localhost:$PORT (log: $DEMO_DIR/server.log)"

step "Server: a one-time enrollment token for device-1"
TOKEN=$(java -jar "$SERVER_JAR" token --data "$DEMO_DIR/server" --device device-1 2>/dev/null)
echo "$TOKEN"

step "Device: enroll (key on the device, trust anchors from /cacerts, first certificate)"
java -jar "$AGENT_JAR" enroll --state "$DEMO_DIR/device-1" --server "https://localhost:$PORT" \
  --trust "$DEMO_DIR/server/ca/root.pem" --token "device-1:$TOKEN" 2>/dev/null

step "Device: status"
java -jar "$AGENT_JAR" status --state "$DEMO_DIR/device-1"

step "Device: the agent runs, and renews at 2/3 of the lifetime (about 20 s from now)"
java -jar "$AGENT_JAR" run --state "$DEMO_DIR/device-1" >"$DEMO_DIR/agent.out" 2>"$DEMO_DIR/agent.log" &
AGENT_PID=$!
wait_for "$DEMO_DIR/agent.log" 'renewed: ' 90 $AGENT_PID
sed -n 's/^.*Renewer - //p' "$DEMO_DIR/agent.log"
java -jar "$AGENT_JAR" status --state "$DEMO_DIR/device-1"

step "Server: what it issued"
sed -n 's/^.* issued serial /issued serial /p' "$DEMO_DIR/server.log"

if $ONCE; then
  step "Done (--once): stopping the agent and the server"
  exit 0
fi
step "Server and agent keep running; the agent renews every 20 s or so (tail -f $DEMO_DIR/agent.log). Ctrl-C stops both."
wait $AGENT_PID
