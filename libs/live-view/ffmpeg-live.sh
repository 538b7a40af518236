#!/usr/bin/env bash
# ffmpeg for node-rtsp-stream relays. node-rtsp-stream puts every option after `-i URL`,
# so input options travel as `-vigil_in:<option> <value>` pairs (value `true` for a flag) and are moved before -i
# here; and it copies ffmpeg's stderr to ours, so credentials in URLs are redacted first.
set -uo pipefail
ffmpeg=${VIGIL_FFMPEG:-ffmpeg}
input=() rest=()
while [ $# -gt 0 ]; do
  if [[ "$1" == -vigil_in:* ]] && [ $# -ge 2 ]; then
    # A value of "true" marks a flag without a value (e.g. -re).
    if [ "$2" = "true" ]; then input+=("${1#-vigil_in:}"); else input+=("${1#-vigil_in:}" "$2"); fi
    shift 2
  elif [ "$1" = "-vigil_ffmpeg" ] && [ $# -ge 2 ]; then ffmpeg=$2; shift 2
  else rest+=("$1"); shift
  fi
done
exec "$ffmpeg" -nostdin -hide_banner -loglevel error "${input[@]}" "${rest[@]}" \
  2> >(sed -u -E 's#([a-zA-Z][a-zA-Z0-9+.-]*://[^:/@[:space:]]*):[^@/[:space:]]*@#\1:***@#g' >&2)
