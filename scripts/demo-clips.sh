#!/usr/bin/env bash
# Generates the demo's simulated camera clips with ffmpeg (once; cached in .cache/demo):
#   dock.mp4   - warehouse dock: a forklift (orange) crosses the walkway every 20 s while a
#                person (blue) stands on it; a conveyor's boxes move, then stall for 6 s.
#   street.mp4 - street corner at dusk: cars cross both ways, a pedestrian crosses.
# Played by Vigil as file:// cameras, looped in real time: no RTSP server needed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out=.cache/demo
mkdir -p "$out"
font=/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf

if [ ! -s "$out/dock.mp4" ]; then
  echo "demo-clips: generating $out/dock.mp4"
  ffmpeg -hide_banner -loglevel error -y \
    -f lavfi -i "color=c=0x5a5a55:s=1280x720:r=25" \
    -f lavfi -i "color=c=0xe08a10:s=260x150:r=25" \
    -f lavfi -i "color=c=0x3050d0:s=40x110:r=25" \
    -f lavfi -i "color=c=0x9a6a3a:s=70x50:r=25" \
    -t 40 -filter_complex "\
[0]drawbox=x=0:y=430:w=1280:h=110:color=0xd8c020@1:t=fill,\
drawbox=x=0:y=470:w=1280:h=30:color=0x3a3a38@1:t=fill,\
drawbox=x=940:y=80:w=300:h=240:color=0x404048@1:t=fill,\
drawbox=x=0:y=600:w=1280:h=60:color=0x2c2c2c@1:t=fill,\
drawtext=fontfile=$font:text='DOCK 1':x=20:y=20:fontsize=28:fontcolor=white[bg];\
[bg][3]overlay=x='mod(100+60*min(mod(t,20),14),1280)':y=605[c1];\
[c1][3]overlay=x='mod(500+60*min(mod(t,20),14),1280)':y=605[c2];\
[c2][3]overlay=x='mod(900+60*min(mod(t,20),14),1280)':y=605[c3];\
[c3][1]overlay=x='-300+mod(t,20)*230':y=380:enable='lt(mod(t,20),8)'[f];\
[f][2]overlay=x=600:y=420:enable='between(mod(t,20),4,14)',format=yuv420p" \
    -c:v libx264 -preset veryfast -g 25 "$out/dock.mp4.tmp.mp4"
  mv "$out/dock.mp4.tmp.mp4" "$out/dock.mp4"
fi

if [ ! -s "$out/street.mp4" ]; then
  echo "demo-clips: generating $out/street.mp4"
  ffmpeg -hide_banner -loglevel error -y \
    -f lavfi -i "color=c=0x23262b:s=1280x720:r=25" \
    -f lavfi -i "color=c=0xc8ccd0:s=180x80:r=25" \
    -f lavfi -i "color=c=0xb02020:s=200x90:r=25" \
    -f lavfi -i "color=c=0xe0e0e0:s=30x70:r=25" \
    -t 30 -filter_complex "\
[0]drawbox=x=0:y=300:w=1280:h=260:color=0x3b3e44@1:t=fill,\
drawbox=x=0:y=425:w=1280:h=8:color=0xd0d0d0@1:t=fill,\
drawbox=x=560:y=300:w=160:h=260:color=0x50545a@1:t=fill,\
drawtext=fontfile=$font:text='STREET CORNER':x=20:y=20:fontsize=28:fontcolor=white[bg];\
[bg][1]overlay=x='-200+mod(t,10)*180':y=330[a];\
[a][2]overlay=x='1300-mod(t+4,15)*120':y=450[b];\
[b][3]overlay=x=620:y='240+mod(t,30)*12':enable='lt(mod(t,30),30)',format=yuv420p" \
    -c:v libx264 -preset veryfast -g 25 "$out/street.mp4.tmp.mp4"
  mv "$out/street.mp4.tmp.mp4" "$out/street.mp4"
fi
