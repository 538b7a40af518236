import { useEffect, useRef, useState } from 'preact/hooks';
import JSMpeg from '@cycjimmy/jsmpeg-player';
import { type Camera } from '../api.ts';

/**
 * Live view of one camera: the server starts a relay on demand (MPEG-1 in MPEG-TS over
 * a websocket on the API port) and stops it when the last viewer leaves; JSMpeg draws it.
 * Until the first picture arrives, the newest frames Vigil already has are shown.
 */
export function LiveViewer(props: { camera: Camera; onClose: () => void }) {
  const ref = useRef<HTMLDivElement>(null);
  const canvas = useRef<HTMLCanvasElement>(null);
  const [tick, setTick] = useState(0);
  const [playing, setPlaying] = useState(false);
  useEffect(() => {
    const t = setInterval(() => setTick((n) => n + 1), 250);
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && props.onClose();
    addEventListener('keydown', onKey);
    ref.current?.querySelector('button')?.focus();
    const proto = location.protocol === 'https:' ? 'wss' : 'ws';
    // The media session cookie authorises the websocket: no token in the URL.
    const url = `${proto}://${location.host}/api/cameras/${encodeURIComponent(props.camera.id)}/live`;
    const player = new JSMpeg.Player(url, {
      canvas: canvas.current,
      audio: false,
      onVideoDecode: () => setPlaying(true),
    });
    return () => {
      clearInterval(t);
      removeEventListener('keydown', onKey);
      player.destroy(); // closes the websocket: the relay stops once no viewer is left
    };
  }, []);
  return (
    <div class="liveview" role="dialog" aria-modal="true" aria-label={`Live view: ${props.camera.name ?? props.camera.id}`} ref={ref} onClick={(e) => e.target === ref.current && props.onClose()}>
      <div class="box">
        <div style="display:flex;justify-content:space-between;align-items:center;margin-bottom:.5rem">
          <strong>{props.camera.name ?? props.camera.id}</strong>
          <span class="muted">{playing ? 'live' : 'starting live view…'}</span>
          <button onClick={props.onClose}>Close</button>
        </div>
        <canvas ref={canvas} style={playing ? '' : 'display:none'} data-live="stream" />
        {!playing && <img src={`/api/cameras/${encodeURIComponent(props.camera.id)}/latest.jpg?t=${tick}`} alt={`Latest frame of ${props.camera.id}`} />}
      </div>
    </div>
  );
}
