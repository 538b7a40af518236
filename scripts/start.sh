#!/usr/bin/env bash
# Runs Vigil locally on the sample config (examples/vigil.yaml): installs what it needs,
# starts Kafka (and PostgreSQL/Redis/NATS if they are not running), two simulated RTSP
# cameras (a red object appears on dock-1 after 20 s, for 10 s), and all three services.
# The model server is yours: VIGIL_MODEL_URL=http://host:8000 (NIM or vLLM base URL).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/prepare.sh
bash scripts/services.sh
kafka_started=0
if ! kcat -L -b "127.0.0.1:${KAFKA_PORT:-9092}" -m 3 >/dev/null 2>&1; then bash scripts/kafka.sh start; kafka_started=1; fi

node --import tsx test/fixtures/sim-cli.ts --rtsp-port 8554 --camera dock-1:5004:red@20+10 --camera street-1:5006 &
sim=$!
cleanup() {
  kill "$sim" 2>/dev/null || true
  wait "$sim" 2>/dev/null || true
  if [ "$kafka_started" = 1 ]; then bash scripts/kafka.sh stop || true; fi
}
trap cleanup EXIT

if [ -z "${VIGIL_MODEL_URL:-}" ]; then
  cat >&2 <<'NOTE'
start.sh: VIGIL_MODEL_URL is not set, so questions go to http://127.0.0.1:8000.
          Point it at a Cosmos-Reason NIM or vLLM server (VIGIL_MODEL_URL=http://host:8000).
          Until one answers, each window is recorded as a finding with status "error".
NOTE
fi
echo "start.sh: dashboard at http://localhost:8080 — Ctrl-C to stop"
node --initial-old-space-size=128 bin/vigil.js run --config "${VIGIL_CONFIG:-examples/vigil.yaml}"
