#!/usr/bin/env bash
# Generates the example suite's clips with ffmpeg (once; into examples/tests/clips/):
#   dock-red-pallet.mp4 - 60 s of a loading dock; a red pallet stands in view from 0:12 to
#                         0:20 and from 0:40 to 0:46; a dark truck crosses the lane from 0:28 to 0:31.
#   dock-quiet.mp4      - 30 s of the same dock with nothing in it.
#   dock-flicker.mp4    - 56 s; the red pallet flashes up for half a second at 0:04 and 0:20
#                         (a borderline scene: reflections, a passing cart) and stands in view
#                         from 0:40 to 0:48.
# The labels are in suite.yaml. Re-run after deleting a clip to regenerate it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
mkdir -p clips

# clip NAME SECONDS RED_ENABLE TRUCK_ENABLE
clip() {
  local out="clips/$1.mp4"
  [ -s "$out" ] && return 0
  echo "make-clips: generating $out"
  ffmpeg -hide_banner -loglevel error -y \
    -f lavfi -i "color=c=0x6a6a66:s=640x360:r=25" \
    -f lavfi -i "color=c=0xd01818:s=130x90:r=25" \
    -f lavfi -i "color=c=0x101012:s=300x110:r=25" \
    -t "$2" -filter_complex "\
[0]drawbox=x=0:y=220:w=640:h=54:color=0xd8c020@1:t=fill,noise=alls=6:allf=t[bg];\
[bg][1]overlay=x=250:y=90:enable='$3'[r];\
[r][2]overlay=x='-300+(t-28)*330':y=250:enable='$4',format=yuv420p" \
    -c:v libx264 -preset veryfast -g 25 "$out.tmp.mp4"
  mv "$out.tmp.mp4" "$out"
}

clip dock-red-pallet 60 'between(t,12,20)+between(t,40,46)' 'between(t,28,31)'
clip dock-quiet 30 '0' '0'
clip dock-flicker 56 'between(t,4,4.5)+between(t,20,20.5)+between(t,40,48)' '0'
