import { useEffect, useRef, useState } from 'preact/hooks';
import { mediaUrl, type Camera } from '../api.ts';

/** Live view of one camera, from the frames Vigil already has (its ingest rate). */
export function LiveViewer(props: { camera: Camera; onClose: () => void }) {
  const ref = useRef<HTMLDivElement>(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const t = setInterval(() => setTick((n) => n + 1), 250);
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && props.onClose();
    addEventListener('keydown', onKey);
    ref.current?.querySelector('button')?.focus();
    return () => {
      clearInterval(t);
      removeEventListener('keydown', onKey);
    };
  }, []);
  return (
    <div class="liveview" role="dialog" aria-modal="true" aria-label={`Live view: ${props.camera.name ?? props.camera.id}`} ref={ref} onClick={(e) => e.target === ref.current && props.onClose()}>
      <div class="box">
        <div style="display:flex;justify-content:space-between;align-items:center;margin-bottom:.5rem">
          <strong>{props.camera.name ?? props.camera.id}</strong>
          <button onClick={props.onClose}>Close</button>
        </div>
        <img src={mediaUrl(`/api/cameras/${encodeURIComponent(props.camera.id)}/latest.jpg?t=${tick}`)} alt={`Latest frame of ${props.camera.id}`} />
      </div>
    </div>
  );
}
