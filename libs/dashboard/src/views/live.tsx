import { useEffect, useRef, useState } from 'preact/hooks';
import { searchIncidents, type Incident } from '../api.ts';
import { useIncidentEvents } from '../live.ts';
import { isUrgent } from '../format.ts';
import { IncidentCard } from '../components/incident-card.tsx';

/** Incidents newest first, arriving without reload; urgent ones flash and chime. */
export function LiveView() {
  const [items, setItems] = useState<Incident[]>([]);
  const [fresh, setFresh] = useState<Set<string>>(new Set());
  const [error, setError] = useState('');
  const [sound, setSound] = useState(() => localStorage.getItem('vigil.sound') === 'on');
  const soundRef = useRef(sound);
  soundRef.current = sound;

  useEffect(() => {
    searchIncidents(new URLSearchParams({ limit: '50' }))
      .then((page) => setItems((live) => merge(live, page.items)))
      .catch((e: Error) => setError(e.message));
  }, []);

  useIncidentEvents((kind, incidents) => {
    setItems((cur) => merge(cur, incidents));
    if (kind === 'new') {
      setFresh((f) => new Set([...f, ...incidents.map((i) => i.id)]));
      if (soundRef.current && incidents.some((i) => isUrgent(i.severity))) chime();
    }
  });

  const update = (i: Incident) => setItems((cur) => merge(cur, [i]));
  return (
    <section aria-labelledby="live-title">
      <div style="display:flex;align-items:center;gap:1rem">
        <h1 id="live-title">Live incidents</h1>
        <label class="muted" style="margin-left:auto;font-size:.85rem">
          <input
            type="checkbox"
            checked={sound}
            onChange={(e) => {
              const on = (e.target as HTMLInputElement).checked;
              setSound(on);
              localStorage.setItem('vigil.sound', on ? 'on' : 'off');
            }}
          />{' '}
          Sound for high severity
        </label>
      </div>
      {error && <div class="error">{error}</div>}
      {items.length === 0 && !error ? (
        <p class="empty">No incidents yet. They appear here the moment a standing query's answer matches.</p>
      ) : (
        <ul class="incidents" aria-live="polite">
          {items.map((i) => (
            <IncidentCard key={i.id} incident={i} fresh={fresh.has(i.id)} onChange={update} />
          ))}
        </ul>
      )}
    </section>
  );
}

/** Upserts by id and keeps newest first (by window start), at most 200. */
function merge(cur: Incident[], incoming: Incident[]): Incident[] {
  const byId = new Map(cur.map((i) => [i.id, i]));
  for (const i of incoming) byId.set(i.id, { ...byId.get(i.id), ...i });
  return [...byId.values()].sort((a, b) => (a.started_at < b.started_at ? 1 : a.started_at > b.started_at ? -1 : a.id < b.id ? 1 : -1)).slice(0, 200);
}

function chime(): void {
  try {
    const ctx = new AudioContext();
    const o = ctx.createOscillator();
    const g = ctx.createGain();
    o.frequency.value = 880;
    g.gain.setValueAtTime(0.15, ctx.currentTime);
    g.gain.exponentialRampToValueAtTime(0.001, ctx.currentTime + 0.6);
    o.connect(g).connect(ctx.destination);
    o.start();
    o.stop(ctx.currentTime + 0.6);
  } catch {
    /* audio unavailable: the visual cue remains */
  }
}
