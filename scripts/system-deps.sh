#!/usr/bin/env bash
# Installs the Debian packages the tests and the camera simulator need, only when
# something is missing (idempotent, quiet when everything is present).
#   ffmpeg            - camera simulator (lavfi -> H.264 -> MPEG-TS/UDP) and RTSP pulls
#   kcat              - Kafka readiness probe / manual produce-consume
#   python3-gi + GStreamer RTSP server + plugins - test/fixtures/rtsp_server.py
#                       (must run under Debian's /usr/bin/python3, not pyenv's python3)
#   fonts-dejavu-core - fonts for ffmpeg drawtext overlays
#   chromium          - the dashboard's browser tests (driven by playwright-core)
#   mosquitto (+ mosquitto-clients) - a private MQTT broker per test file (test/mqtt), and
#                       mosquitto_passwd for its password file; the clients for poking at it
set -euo pipefail

PY=/usr/bin/python3
FONT=/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf
GST_PKGS=(python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base
  gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly gstreamer1.0-plugins-bad
  gstreamer1.0-libav)

missing=()
command -v ffmpeg >/dev/null 2>&1 || missing+=(ffmpeg)
command -v kcat >/dev/null 2>&1 || missing+=(kcat)
# Check the bindings *and* the elements the RTSP fixture pipeline uses.
if ! [ -x "$PY" ] || ! "$PY" - >/dev/null 2>&1 <<'PYEOF'
import gi
gi.require_version('Gst', '1.0')
gi.require_version('GstRtspServer', '1.0')
from gi.repository import Gst, GstRtspServer
Gst.init(None)
for e in ('udpsrc', 'tsdemux', 'h264parse', 'rtph264pay'):
    assert Gst.ElementFactory.find(e), e
PYEOF
then
  missing+=("${GST_PKGS[@]}")
  [ -x "$PY" ] || missing+=(python3)
fi
[ -f "$FONT" ] || missing+=(fonts-dejavu-core)
# Dashboard tests drive Debian's Chromium with playwright-core (never a downloaded browser).
[ -x /usr/bin/chromium ] || missing+=(chromium)
# test/mqtt starts its own brokers from Debian's Mosquitto (never a shared one on 1883).
{ [ -x /usr/sbin/mosquitto ] && command -v mosquitto_passwd >/dev/null 2>&1; } || missing+=(mosquitto)
command -v mosquitto_sub >/dev/null 2>&1 || missing+=(mosquitto-clients)

[ ${#missing[@]} -eq 0 ] && exit 0

echo "system-deps: installing missing packages: ${missing[*]}"
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "system-deps: need root (or sudo) to apt-get install: ${missing[*]}" >&2; exit 1; }
  SUDO=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
if ! "${SUDO[@]}" apt-get update -qq; then
  echo "system-deps: apt-get update failed" >&2; exit 1
fi
if ! "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"; then
  echo "system-deps: apt-get install failed for: ${missing[*]}" >&2; exit 1
fi
echo "system-deps: done"
