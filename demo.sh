#!/usr/bin/env bash
# EST Fleet demo: build, start an est-server with a fresh development CA and an embedded
# database, then enroll and renew a device against it over TLS with curl and openssl.
#   ./demo.sh            build, run the demo, keep the server running until Ctrl-C
#   ./demo.sh --once     the same, then stop the server and exit (used by the tests)
# Environment: PORT (default 8443; 0 picks a free port), DEMO_DIR (default ./demo),
#              SKIP_BUILD=1 to reuse the jars already in */target.
set -euo pipefail
cd "$(dirname "$0")"
ONCE=false
[ "${1:-}" = "--once" ] && ONCE=true
PORT=${PORT:-8443}
DEMO_DIR=${DEMO_DIR:-demo}
SERVER_JAR=est-server/target/est-server.jar
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

if [ "${SKIP_BUILD:-}" != 1 ]; then
  step "Building (mvn package, tests skipped: the test suite is 'mvn verify')"
  mvn -q -B -DskipTests package
fi

step "Creating a data directory with a development CA: $DEMO_DIR/server"
mkdir -p "$DEMO_DIR"
java -jar "$SERVER_JAR" init --data "$DEMO_DIR/server" --force

step "Starting the EST server"
java -jar "$SERVER_JAR" serve --data "$DEMO_DIR/server" --port "$PORT" >"$DEMO_DIR/server.out" 2>"$DEMO_DIR/server.log" &
SERVER_PID=$!
trap 'kill $SERVER_PID 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  grep -q '^listening on ' "$DEMO_DIR/server.out" 2>/dev/null && break
  kill -0 $SERVER_PID 2>/dev/null || { cat "$DEMO_DIR/server.log"; echo "the server did not start" >&2; exit 1; }
  sleep 0.2
done
URL=$(sed -n 's/^listening on //p' "$DEMO_DIR/server.out")
[ -n "$URL" ] || { echo "the server did not report its address" >&2; exit 1; }
PORT=${URL##*:}
EST="https://localhost:$PORT/.well-known/est"
echo "listening on $URL (log: $DEMO_DIR/server.log)"

DEVICE="$DEMO_DIR/device-1"
mkdir -p "$DEVICE"
TRUST="$DEMO_DIR/server/ca/root.pem"

step "A one-time enrollment token for device-1"
TOKEN=$(java -jar "$SERVER_JAR" token --data "$DEMO_DIR/server" --device device-1)
echo "token: $TOKEN"

step "Device: fetch /cacerts, trusting only the server's root"
curl -sS --fail-with-body --cacert "$TRUST" -o "$DEVICE/cacerts.p7.b64" "$EST/cacerts"
openssl base64 -d -in "$DEVICE/cacerts.p7.b64" | openssl pkcs7 -inform DER -print_certs -out "$DEVICE/cacerts.pem"
grep '^subject' "$DEVICE/cacerts.pem"

step "Device: generate a P-256 key and CSR, enroll with the token (/simpleenroll)"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$DEVICE/device.key" \
  -subj /CN=device-1 -outform DER 2>/dev/null | openssl base64 >"$DEVICE/enroll.csr.b64"
curl -sS --fail-with-body --cacert "$TRUST" -u "device-1:$TOKEN" -H 'Content-Type: application/pkcs10' \
  --data-binary @"$DEVICE/enroll.csr.b64" -o "$DEVICE/enroll.p7.b64" "$EST/simpleenroll"
openssl base64 -d -in "$DEVICE/enroll.p7.b64" | openssl pkcs7 -inform DER -print_certs -out "$DEVICE/device.pem"
openssl x509 -in "$DEVICE/device.pem" -noout -subject -serial -enddate

step "Device: renew with a new key, authenticated by the current certificate (/simplereenroll)"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$DEVICE/device.new.key" \
  -subj /CN=device-1 -outform DER 2>/dev/null | openssl base64 >"$DEVICE/renew.csr.b64"
curl -sS --fail-with-body --cacert "$TRUST" --cert "$DEVICE/device.pem" --key "$DEVICE/device.key" \
  -H 'Content-Type: application/pkcs10' --data-binary @"$DEVICE/renew.csr.b64" \
  -o "$DEVICE/renew.p7.b64" "$EST/simplereenroll"
openssl base64 -d -in "$DEVICE/renew.p7.b64" | openssl pkcs7 -inform DER -print_certs -out "$DEVICE/device.new.pem"
openssl x509 -in "$DEVICE/device.new.pem" -noout -subject -serial -enddate

step "Server: what it issued"
grep ' issued serial ' "$DEMO_DIR/server.log" | sed 's/^.*LocalCa - //'

if $ONCE; then
  step "Done (--once): stopping the server"
  exit 0
fi
step "The server keeps running at $URL; press Ctrl-C to stop it"
wait $SERVER_PID
