#!/bin/sh
# Simulated cameras for compose and the dev overlay: one ffmpeg per camera publishes a
# 720p30 H.264 grey test pattern to an RTSP server (mediamtx), restarted if it stops.
#   CAMERAS   space-separated ids; "id:red" draws a red box for 10 s of every minute
#             (from second 20), for a query like "Is there a red object in view?"
#   RTSP_URL  the server to publish to (default rtsp://rtsp:8554); a camera is RTSP_URL/id
#   SIM_DRY_RUN=1  render one second of each camera to nowhere and exit (used by the tests)
set -eu
RTSP_URL="${RTSP_URL:-rtsp://rtsp:8554}"
FONT="${SIM_FONT:-/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf}"

filter_for() { # id, variant
  # The test pattern in grey, so that nothing is red unless the box is drawn.
  f="hue=s=0,drawtext=fontfile=${FONT}:text='$1':x=24:y=24:fontsize=36:fontcolor=white:box=1:boxcolor=black@0.6"
  if [ "$2" = red ]; then
    f="$f,drawbox=x=iw/2-160:y=ih/2-120:w=320:h=240:color=red:t=fill:enable='between(mod(t\,60)\,20\,30)'"
  fi
  printf '%s' "$f"
}

publish() { # id, variant
  vf="$(filter_for "$1" "$2")"
  if [ "${SIM_DRY_RUN:-0}" = 1 ]; then
    ffmpeg -hide_banner -loglevel error -f lavfi -i "testsrc2=size=1280x720:rate=30" -t 1 -vf "$vf" \
      -c:v libx264 -preset ultrafast -pix_fmt yuv420p -f null -
    return
  fi
  while :; do
    ffmpeg -hide_banner -loglevel warning -re -f lavfi -i "testsrc2=size=1280x720:rate=30" -vf "$vf" \
      -c:v libx264 -preset ultrafast -tune zerolatency -g 60 -pix_fmt yuv420p \
      -f rtsp -rtsp_transport tcp "${RTSP_URL}/$1" || true
    echo "camera-sim: $1 stopped; restarting in 2 s" >&2
    sleep 2
  done
}

pids=""
for cam in ${CAMERAS:-dock-1:red street-1}; do
  id="${cam%%:*}"
  variant=""
  [ "$cam" = "$id" ] || variant="${cam#*:}"
  publish "$id" "$variant" &
  pids="$pids $!"
done
trap 'kill $pids 2>/dev/null; exit 0' TERM INT
# shellcheck disable=SC2086
wait $pids
