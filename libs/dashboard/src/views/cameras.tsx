import { useEffect, useState } from 'preact/hooks';
import { listCameras, type Camera } from '../api.ts';
import { useCameraEvents } from '../live.ts';
import { ago } from '../format.ts';
import { LiveViewer } from '../components/live-viewer.tsx';

/** Every camera with its latest frame (a few times a second, from frames Vigil already has). */
export function CamerasView() {
  const [cameras, setCameras] = useState<Camera[]>([]);
  const [error, setError] = useState('');
  const [tick, setTick] = useState(0);
  const [open, setOpen] = useState<Camera | null>(null);

  useEffect(() => {
    listCameras().then(setCameras, (e: Error) => setError(e.message));
    const t = setInterval(() => setTick((n) => n + 1), 400);
    return () => clearInterval(t);
  }, []);
  useCameraEvents((updates) =>
    setCameras((cur) => cur.map((c) => {
      const u = updates.find((x) => x.id === c.id);
      return u ? { ...c, status: u.status } : c;
    })),
  );

  return (
    <section aria-labelledby="cams-title">
      <h1 id="cams-title">Cameras</h1>
      {error && <div class="error">{error}</div>}
      {cameras.length === 0 && !error && <p class="empty">No cameras configured.</p>}
      <div class="cameras">
        {cameras.map((c) => {
          const state = c.status?.state ?? 'starting';
          // fpsOut is measured over the last 10 s when the status was sent; before that, show the target.
          const fps = c.status?.fpsOut || c.fps;
          return (
            <button class="camera" data-camera={c.id} data-state={state} onClick={() => setOpen(c)} aria-label={`${c.name ?? c.id}: ${state}. Open live view`}>
              <div class="frame">
                {state === 'offline' ? (
                  <div class="nosignal">no signal</div>
                ) : (
                  <img src={`/api/cameras/${encodeURIComponent(c.id)}/latest.jpg?t=${tick}`} alt="" onError={(e) => ((e.target as HTMLImageElement).style.visibility = 'hidden')} onLoad={(e) => ((e.target as HTMLImageElement).style.visibility = 'visible')} />
                )}
              </div>
              <div class="info">
                <span>
                  <strong>{c.name ?? c.id}</strong> {c.site && <span class="muted">· {c.site}</span>}
                </span>
                <span>
                  <span class={`state state-${state}`}>{state}</span>
                  {typeof fps === 'number' && state !== 'offline' && <span class="muted"> · {fps.toFixed(1)} fps</span>}
                </span>
              </div>
              {c.status?.decode === 'on_demand' && c.status.triggerFps !== undefined && state !== 'offline' && (
                // What the trigger stage sees while the camera is quiet: a long GOP means a slow trigger.
                <div class={`muted trigger-rate${c.status.triggerFps < 0.25 ? ' warn' : ''}`} data-trigger-fps title="on_demand: the trigger stage sees the camera's keyframes">
                  trigger {c.status.triggerFps < 1 ? `1 picture every ${(1 / c.status.triggerFps).toFixed(c.status.triggerFps < 0.1 ? 0 : 1)} s` : `${c.status.triggerFps.toFixed(1)} fps`}
                  {c.status.gopS !== undefined ? ` · GOP ${c.status.gopS} s` : ''}
                </div>
              )}
              {state !== 'online' && c.status?.reason && (
                <div class="reason" data-reason>
                  {c.status.reason}
                  {c.status.since ? ` · since ${ago(c.status.since)}` : ''}
                </div>
              )}
            </button>
          );
        })}
      </div>
      {open && <LiveViewer camera={open} onClose={() => setOpen(null)} />}
    </section>
  );
}
