#!/usr/bin/env bash
# The unit tier: the test files that need no services (no Kafka, PostgreSQL, Redis, NATS,
# RTSP server or browser; ffmpeg and onnxruntime run in-process or as a child) and finish in
# under a minute. This list is the one place that says which files those are; `npm test`
# still runs every file. Type-check with `npm run typecheck`.
#   npm run test:unit
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

files=(
  test/unit/*.test.ts
  test/alerts/units.test.ts
  test/infer/units.test.ts
  test/infer/trigger-stage.test.ts
  test/infer/model-client.test.ts
  test/ingest/units.test.ts
  test/model-server.test.ts
  test/security/edge.test.ts
  test/security/inputs.test.ts
)

# Point every service at a closed port: a file here that reaches for one fails at once
# instead of quietly using whatever runs on this machine.
export VIGIL_TEST_KAFKA=127.0.0.1:1 KAFKA_PORT=1
export VIGIL_TEST_POSTGRES=postgres://postgres@127.0.0.1:1 VIGIL_TEST_REDIS=redis://127.0.0.1:1 VIGIL_TEST_NATS=nats://127.0.0.1:1

echo "test-unit.sh: running ${#files[@]} test files"
node --import tsx --test --test-timeout=60000 "${files[@]}"
