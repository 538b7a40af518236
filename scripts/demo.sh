#!/usr/bin/env bash
# One command from a fresh clone to a running Vigil: installs what it needs, generates two
# simulated cameras with ffmpeg, and runs everything in one process on embedded parts
# (in-process bus, PGlite under ./data). Dashboard: http://localhost:8080. Ctrl-C stops.
# Connect a model server with VIGIL_MODEL_URL=http://host:8000 (NIM or vLLM).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/prepare.sh
bash scripts/demo-clips.sh
exec node bin/vigil.js run --config "${VIGIL_CONFIG:-examples/demo.yaml}"
