#!/usr/bin/env bash
# The whole test suite, from a fresh clone on a fresh machine of this kind: installs system
# packages and npm dependencies, starts Kafka (and PostgreSQL, Redis, NATS if needed), type-
# checks, then runs every test file under test/ with node's test runner, one file at a time.
#   npm test                       everything
#   npm test -- test/unit          only the files under a path
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/prepare.sh
bash scripts/services.sh

kafka_started=0
# A broker already answering (say, one left running by hand) is used as it is.
if ! kcat -L -b "127.0.0.1:${KAFKA_PORT:-9092}" -m 3 >/dev/null 2>&1; then
  bash scripts/kafka.sh start
  kafka_started=1
fi
cleanup() { if [ "$kafka_started" = 1 ] && [ -z "${VIGIL_KEEP_KAFKA:-}" ]; then bash scripts/kafka.sh stop || true; fi; }
trap cleanup EXIT

echo "test.sh: type-checking"
npx tsc -p tsconfig.json

mapfile -t all < <(find "${@:-test}" -name '*.test.ts' | sort)
[ "${#all[@]}" -gt 0 ] || { echo "test.sh: no test files under ${*:-test}" >&2; exit 1; }
# The chaos suite runs last, alone, under its own time limit (its short schedule is ~8 min).
files=(); chaos=()
for f in "${all[@]}"; do case "$f" in *test/chaos/*) chaos+=("$f") ;; *) files+=("$f") ;; esac; done
status=0
if [ "${#files[@]}" -gt 0 ]; then
  echo "test.sh: running ${#files[@]} test files"
  node --import tsx --test --test-concurrency=1 --test-timeout=300000 "${files[@]}" || status=$?
fi
if [ "${#chaos[@]}" -gt 0 ]; then
  echo "test.sh: running the chaos suite (${chaos[*]})"
  node --import tsx --test --test-concurrency=1 --test-timeout=1500000 "${chaos[@]}" || status=$?
fi
exit "$status"
